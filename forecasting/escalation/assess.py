"""From a demand forecast to recommended escalation warnings: the pipeline.

``assess`` runs small named steps, one site-day per row::

    inputs checked -> surge lines -> surge risk -> occupancy -> levels -> advice -> reasons

Each step lives in its own module (``thresholds``, ``occupancy``, ``levels``, ``advice``,
``reasons``) and documents its rule there. Levels are recommendations; the declared level stays
a human decision.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from forecasting.config import Config
from forecasting.data import schema
from forecasting.escalation.advice import deferrable_electives, electives_to_review
from forecasting.escalation.errors import ForecastMismatchError
from forecasting.escalation.inputs import (
    check_config_sites,
    forecast_rows,
    prepare_history,
    resolve_as_of,
)
from forecasting.escalation.levels import LEVEL_NAMES, recommend_levels
from forecasting.escalation.occupancy import WARMUP_DAYS, los_kernel, site_occupancy
from forecasting.escalation.reasons import explain, site_context
from forecasting.escalation.recalibrate import Recalibration
from forecasting.escalation.thresholds import (
    SURGE_KIND_COLUMNS,
    SURGE_KINDS,
    add_surge_kinds,
    kind_of,
    line_of,
)
from forecasting.escalation.wording import review_advice
from forecasting.forecast_frame import QUANTILE_COLUMNS

WARNING_COLUMNS: tuple[str, ...] = (
    "site_id",
    "as_of",
    "date",
    "horizon",
    "model",
    "level",
    "level_name",
    "attendances_mean",
    "attendances_q0.05",
    "attendances_q0.95",
    "surge_threshold",
    "surge_threshold_high",
    "p_surge",
    "p_surge_high",
    *SURGE_KIND_COLUMNS,
    "admissions_mean",
    "electives_planned",
    "electives_deferrable",
    "electives_to_review",
    "beds",
    "occupancy",
    "occupancy_q_high",
    "reasons",
    "advice",
)


def days_needed(sites: list[str], cfg: Config) -> int:
    """Days of history the steps look at: surge lines, trend, conversion and bed stays."""
    longest_stay = max(
        len(los_kernel(float(getattr(cfg.site(s), f) or 1.0)))
        for s in sites
        for f in ("mean_los_emergency", "mean_los_elective")
    )
    e = cfg.escalation
    windows = (cfg.thresholds.surge_lookback_days, 2 * e.trend_window_days, longest_stay)
    return max(windows) + WARMUP_DAYS + e.conversion_window_days


def by_site(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a frame into one frame per site."""
    return {str(site): g for site, g in frame.groupby(schema.SITE, sort=True)}


def add_occupancy(
    rows: pd.DataFrame,
    past: dict[str, pd.DataFrame],
    plan: dict[str, pd.DataFrame],
    cfg: Config,
) -> pd.DataFrame:
    """Step: admissions, planned electives, beds and occupancy of every site's forecast days."""
    parts = []
    for site, g in by_site(rows).items():
        empty = past[site].iloc[:0]
        parts.append(site_occupancy(g, past[site], plan.get(site, empty), cfg, site))
    return pd.concat(parts, ignore_index=True)


def add_advice(frame: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Step: deferrable electives, electives to review and the advice sentence."""
    out = frame.copy()
    out["electives_deferrable"] = deferrable_electives(
        out["electives_planned"], cfg.electives.deferrable_share
    )
    out["electives_to_review"] = 0
    ceiling = cfg.thresholds.occupancy_ceiling
    for site, g in out.groupby(schema.SITE, sort=True):
        kernel = los_kernel(float(cfg.site(str(site)).mean_los_elective or 1.0))
        out.loc[g.index, "electives_to_review"] = electives_to_review(
            g["occupancy_q_high"] * g["beds"],
            g["beds"],
            g["electives_deferrable"],
            g["level"],
            kernel,
            ceiling,
        )
    protected = cfg.electives.protected
    out["advice"] = [
        review_advice(int(n), int(d), protected, ceiling)
        for n, d in zip(out["electives_to_review"], out["electives_deferrable"], strict=True)
    ]
    return out


def recalibrated(
    frame: pd.DataFrame, recalibration: Recalibration | None, kind: str, day: pd.Timestamp
) -> pd.DataFrame:
    """Step: keep each kind's raw P(surge) as ``p_<kind>_raw`` and recalibrate ``p_<kind>``.

    ``p_surge`` and ``surge_kind`` follow the kind the levels follow.
    """
    out = frame.copy()
    horizon = (pd.DatetimeIndex(out[schema.DATE]) - day).days.to_numpy()
    for k in SURGE_KINDS:
        out[f"p_{k}_raw"] = out[f"p_{k}"]
        if recalibration is not None:
            out[f"p_{k}"] = recalibration.apply(k, out[f"p_{k}_raw"].to_numpy(float), horizon)
    out["p_surge"] = out[f"p_{kind}"]
    out["surge_kind"] = kind
    return out


def assess(
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    cfg: Config,
    as_of: date | str | pd.Timestamp | None = None,
    recalibration: Recalibration | None = None,
) -> pd.DataFrame:
    """Turn a demand forecast into recommended escalation warnings, one row per site-day.

    Args:
        forecast: Forecast frame (one model) made from ``history`` up to ``as_of``.
        history: DemandFrame; rows after ``as_of`` are used only for planned electives.
        cfg: The configuration (sites, thresholds, escalation rules, electives).
        as_of: Last day of data the warnings may use; ``None`` is the last day in ``history``.
        recalibration: Learned from earlier warnings' outcomes
            (:func:`forecasting.escalation.recalibrate.learn_recalibration`); ``None`` keeps
            the probabilities read off the forecast.

    Returns:
        The columns of :data:`WARNING_COLUMNS`; ``reasons`` is a list of sentences. Only target
        days within ``cfg.horizon`` days after ``as_of`` are kept.

    Raises:
        EmptyDataError: If the history or the forecast is empty.
        AsOfError: If ``as_of`` lies outside the data.
        UnknownSiteError: If a configured site is not in the data.
        ForecastMismatchError: If the forecast does not fit the history.
        MissingBedsError: If a site has no bed count in the data or the config.
        InsufficientHistoryError: If a site has too little history for its surge line.
    """
    data = prepare_history(history)
    day = resolve_as_of(data, as_of)
    check_config_sites(data, cfg)
    past, plan = data[data[schema.DATE] <= day], data[data[schema.DATE] > day]
    # only the days the steps look at, counted back from each site's own last day
    keep = pd.Timedelta(days=days_needed(sorted(past[schema.SITE].unique()), cfg))
    past = past[past[schema.DATE] > past.groupby(schema.SITE)[schema.DATE].transform("max") - keep]
    rows = forecast_rows(forecast, past)
    past_by_site = by_site(past)
    frame, lines = add_surge_kinds(rows, past, cfg, day)
    frame = recalibrated(frame, recalibration, kind_of(cfg), day)
    frame = add_occupancy(frame, past_by_site, by_site(plan), cfg)
    frame["as_of"] = day
    frame["horizon"] = (frame[schema.DATE] - day).dt.days
    frame = frame[(frame["horizon"] >= 1) & (frame["horizon"] <= cfg.horizon)]
    if frame.empty:
        raise ForecastMismatchError(
            f"the forecast has no days after the as-of date {day:%Y-%m-%d}",
            column=schema.DATE,
            fix="forecast from data up to the as-of date",
        )
    frame = frame.reset_index(drop=True)
    frame["level"] = recommend_levels(
        frame["p_surge"], frame["p_surge_high"], frame["occupancy"], cfg
    )
    frame["level_name"] = frame["level"].map(LEVEL_NAMES)
    frame = add_advice(frame, cfg)
    contexts = {}
    for site in frame[schema.SITE].unique():
        own = past_by_site[str(site)]
        own_lines = line_of(lines, site, pd.DatetimeIndex(own[schema.DATE]))
        contexts[str(site)] = site_context(own, own_lines, cfg, day)
    frame["reasons"] = explain(frame, contexts, cfg)
    frame = frame.rename(
        columns={"mean": "attendances_mean", **{q: f"attendances_{q}" for q in QUANTILE_COLUMNS}}
    )
    return frame[list(WARNING_COLUMNS)]
