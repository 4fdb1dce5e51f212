"""Stage 2 of the replay: each issue day's forecast through the warning rules, as ``daily`` would.

On each issue day the rules see the demand data up to that day only; later rows reach them only
as planned electives (known in advance), never attendances, admissions or beds. Surge
probabilities are recalibrated on the outcomes of the replay's own earlier warnings, as
``forecasting daily`` does with its warning history. Sites without a
bed count (in the data or the config) are replayed on surge risk alone: occupancy is left
empty and cannot raise a level.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecasting.config import Config, SiteSettings
from forecasting.data import schema
from forecasting.escalation.thresholds import SURGE_KIND_COLUMNS

Progress = Callable[[int], None]
PLANNED = "electives_planned"
# beds so many that occupancy can never reach a level: the surge-only replay of a bedless site
SURGE_ONLY_BEDS = 10**9

WARNING_ROWS: tuple[str, ...] = (
    "site_id",
    "issued",
    "date",
    "horizon",
    "model",
    "level",
    "p_surge",
    "p_surge_high",
    "surge_line",
    "surge_line_high",
    *SURGE_KIND_COLUMNS,
    "attendances_mean",
    "attendances_q0.05",
    "attendances_q0.95",
    "occupancy",
    "y",
)


def bedless_sites(frame: pd.DataFrame, cfg: Config) -> list[str]:
    """Sites with no bed count in the data and none in the config."""
    sites = sorted(frame[schema.SITE].astype(str).unique())
    with_beds: set[str] = set()
    if "beds" in frame:
        has = frame.dropna(subset=["beds"])
        with_beds = set(has[schema.SITE].astype(str))
    return [s for s in sites if s not in with_beds and cfg.site(s).beds is None]


def surge_only_config(cfg: Config, sites: list[str]) -> Config:
    """``cfg`` with ``sites`` given beds no occupancy can fill (levels from surge risk only)."""
    update = {
        s: cfg.sites.get(s, SiteSettings()).model_copy(update={"beds": SURGE_ONLY_BEDS})
        for s in sites
    }
    return cfg.model_copy(update={"sites": {**cfg.sites, **update}})


def visible_on(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """What the morning job knows on ``day``: the data up to it, and later planned electives."""
    past = frame[frame[schema.DATE] <= day]
    if PLANNED not in frame:
        return past
    later = frame.loc[frame[schema.DATE] > day, [schema.SITE, schema.DATE, PLANNED]]
    later = later.assign(**{schema.TARGET: np.nan})
    return pd.concat([past, later], ignore_index=True)


def replay_warnings(
    frame: pd.DataFrame,
    forecasts: pd.DataFrame,
    cfg: Config,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The warnings each issue day's forecast gives, with what then happened (``y``).

    Args:
        frame: The DemandFrame the forecasts were made from.
        forecasts: Stacked forecast frames of one model (``cutoff`` = issue day).
        cfg: Configuration: thresholds, escalation rules, sites.
        progress: Called with 1 after each issue day.

    Returns:
        One row per site, issue day and target day;
        ``y`` is empty for target days beyond the data. (:data:`WARNING_ROWS`)
    """
    from forecasting.escalation import assess
    from forecasting.escalation.recalibrate import learn_recalibration

    bedless = bedless_sites(frame, cfg)
    rules = surge_only_config(cfg, bedless) if bedless else cfg
    min_surges = cfg.escalation.recalibrate_min_surges
    parts: list[pd.DataFrame] = []
    for cutoff, f in forecasts.groupby("cutoff", sort=True):
        day = pd.Timestamp(str(cutoff))
        seen = visible_on(frame, day)
        # as `daily` learns from its history of warnings
        earlier = pd.concat(parts, ignore_index=True) if parts else None
        recalibration = learn_recalibration(earlier, seen, day, min_surges)
        w = assess(f, seen, rules, as_of=day, recalibration=recalibration)
        parts.append(w.drop(columns=["reasons", "advice"]))
        if progress:
            progress(1)
    out = pd.concat(parts, ignore_index=True).rename(
        columns={
            "as_of": "issued",
            "surge_threshold": "surge_line",
            "surge_threshold_high": "surge_line_high",
        }
    )
    out.loc[out[schema.SITE].isin(bedless), "occupancy"] = np.nan
    truth = frame[[schema.SITE, schema.DATE, schema.TARGET]].rename(columns={schema.TARGET: "y"})
    truth = truth.assign(**{schema.SITE: truth[schema.SITE].astype(str)})
    out = out.merge(truth, on=[schema.SITE, schema.DATE], how="left")
    return out[list(WARNING_ROWS)]
