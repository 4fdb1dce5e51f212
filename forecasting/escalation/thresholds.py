"""Surge lines of each site and the chance that forecast attendances cross them.

A site's surge line is ``sites.<id>.surge_threshold`` when the config sets it (the same every
day). Otherwise it is the first of ``thresholds.surge_quantiles`` (default the 90th percentile)
of its daily attendances over the ``surge_lookback_days`` up to the as-of date, and the high
line the last quantile (default 97.5th), never below the surge line.

With ``escalation.weekday_adjusted_lines`` (the default) the percentile is taken after dividing
each day by its weekday's factor (mean of that weekday over the mean day), and multiplied back:
Monday's line sits as far above an ordinary Monday as Thursday's above an ordinary Thursday, so
a predictably busy Monday is not a surge. Without it, lines are flat (as in the backtest
metrics of :mod:`forecasting.evaluate.summary`), and about 40% of Mondays cross them.

Probabilities come from the quantile forecast
(:func:`forecasting.evaluate.metrics.exceedance_probability`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.config import Config
from forecasting.data import schema
from forecasting.errors import InsufficientHistoryError
from forecasting.evaluate.metrics import exceedance_probability
from forecasting.evaluate.summary import surge_thresholds
from forecasting.forecast_frame import QUANTILE_COLUMNS

MIN_THRESHOLD_DAYS = 28
DAYS_PER_YEAR = 365
WEEKDAY = "weekday"
WEEKDAYS = range(7)


def percentile_label(quantile: float) -> str:
    """Return ``0.9`` as ``"90th"``, ``0.975`` as ``"97.5th"``, ``0.01`` as ``"1st"``."""
    pct = f"{quantile * 100:.4g}"
    if "." in pct or pct.endswith(("11", "12", "13")):
        return pct + "th"
    return pct + {"1": "st", "2": "nd", "3": "rd"}.get(pct[-1], "th")


def _window_label(days: int) -> str:
    return "the last year" if days == DAYS_PER_YEAR else f"the last {days} days"


def weekday_factors(attendances: pd.Series, dates: pd.DatetimeIndex) -> np.ndarray:
    """Mean attendances of each weekday (Monday first) over the mean day; 1 where unseen."""
    by_day = attendances.groupby(np.asarray(dates.dayofweek)).mean().reindex(WEEKDAYS)
    factors = (by_day / attendances.mean()).to_numpy(dtype=float)
    return np.where(np.isfinite(factors) & (factors > 0), factors, 1.0)


def weekday_surge_thresholds(
    history: pd.DataFrame, as_of: pd.Timestamp, quantiles: tuple[float, ...], days: int
) -> dict[float, pd.DataFrame]:
    """Weekday-adjusted ``quantiles`` of each site's last ``days`` days up to ``as_of``.

    Returns:
        For each quantile, one row per site (index ``site_id``), one column per weekday
        (0 = Monday).
    """
    window = history[
        (history[schema.DATE] <= as_of) & (history[schema.DATE] > as_of - pd.Timedelta(days=days))
    ]
    rows: dict[float, dict[str, np.ndarray]] = {q: {} for q in quantiles}
    for site, g in window.groupby(schema.SITE, observed=True, sort=True):
        dates = pd.DatetimeIndex(g[schema.DATE])
        factors = weekday_factors(g[schema.TARGET], dates)
        adjusted = g[schema.TARGET].to_numpy(dtype=float) / factors[dates.dayofweek]
        for q, value in zip(quantiles, np.nanquantile(adjusted, quantiles), strict=True):
            rows[q][str(site)] = float(value) * factors
    return {
        q: pd.DataFrame.from_dict(r, orient="index", columns=list(WEEKDAYS))
        for q, r in rows.items()
    }


def _flat(values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({day: values for day in WEEKDAYS})


def surge_lines(history: pd.DataFrame, cfg: Config, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each site's surge line and high line for each weekday, and where they come from.

    Args:
        history: DemandFrame up to ``as_of``.
        cfg: The configuration (``thresholds``, ``escalation`` and per-site lines).
        as_of: The last day the lines may look at.

    Returns:
        Index (``site_id``, ``weekday``); columns ``surge_threshold``, ``surge_threshold_high``,
        ``threshold_source`` and ``threshold_high_source`` (plain words).

    Raises:
        InsufficientHistoryError: If a site without a configured line has fewer than 28 days
            of history in the look-back window.
    """
    t = cfg.thresholds
    days = t.surge_lookback_days
    low_q, high_q = t.surge_quantiles[0], t.surge_quantiles[-1]
    adjusted = cfg.escalation.weekday_adjusted_lines
    if adjusted:
        both = weekday_surge_thresholds(history, as_of, (low_q, high_q), days)
        low, high = both[low_q], both[high_q]
    else:
        low = _flat(surge_thresholds(history, as_of, low_q, days))
        high = _flat(surge_thresholds(history, as_of, high_q, days))
    window = history[history[schema.DATE] > as_of - pd.Timedelta(days=days)]
    counts = window.groupby(schema.SITE, observed=True)[schema.TARGET].count()
    note = ", adjusted for the weekday" if adjusted else ""
    rows = []
    for site in sorted(history[schema.SITE].unique()):
        configured = cfg.site(site).surge_threshold
        n_days = int(counts.get(site, 0))
        if configured is None and n_days < MIN_THRESHOLD_DAYS:
            raise InsufficientHistoryError(
                f"site '{site}' has {n_days} days of attendances in {_window_label(days)} up to "
                f"{as_of:%Y-%m-%d}; a surge line needs at least {MIN_THRESHOLD_DAYS}",
                column=schema.TARGET,
                fix=f"supply more history or set sites.{site}.surge_threshold in the config",
            )
        high_source = f"{percentile_label(high_q)} percentile of {_window_label(days)}{note}"
        for day in WEEKDAYS:
            derived_high = float(high.loc[site, day]) if site in high.index else np.nan
            day_high_source = high_source
            if configured is not None:
                line, source = float(configured), "set in the config"
                if not derived_high > line:  # NaN or not above the configured line
                    derived_high, day_high_source = line, "the configured surge line"
            else:
                line = float(low.loc[site, day])
                source = f"{percentile_label(low_q)} percentile of {_window_label(days)}{note}"
            rows.append(
                {
                    schema.SITE: site,
                    WEEKDAY: day,
                    "surge_threshold": line,
                    "surge_threshold_high": max(derived_high, line),
                    "threshold_source": source,
                    "threshold_high_source": day_high_source,
                }
            )
    return pd.DataFrame(rows).set_index([schema.SITE, WEEKDAY])


def add_surge_risk(rows: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Add each day's lines and ``p_surge`` / ``p_surge_high`` (chance of crossing them).

    Args:
        rows: Forecast rows (``site_id``, ``date`` and the quantile columns).
        lines: Output of :func:`surge_lines`.

    Returns:
        A copy of ``rows`` with the line columns and the two probabilities.
    """
    out = rows.assign(**{WEEKDAY: pd.DatetimeIndex(rows[schema.DATE]).dayofweek})
    out = out.join(lines, on=[schema.SITE, WEEKDAY]).drop(columns=WEEKDAY)
    q = out[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    out["p_surge"] = exceedance_probability(q, out["surge_threshold"].to_numpy(dtype=float))
    out["p_surge_high"] = exceedance_probability(
        q, out["surge_threshold_high"].to_numpy(dtype=float)
    )
    return out


def line_of(lines: pd.DataFrame, site: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """The surge line of ``site`` on each of ``dates``."""
    per_day = lines.xs(site, level=schema.SITE)["surge_threshold"]
    return per_day.reindex(dates.dayofweek).to_numpy(dtype=float)


SURGE_KINDS: tuple[str, ...] = ("capacity", "weekday")
#: What every warning says of both kinds: the kind the levels follow, each kind's line and its
#: P(surge) (recalibrated, and raw as read off the forecast).
SURGE_KIND_COLUMNS: tuple[str, ...] = (
    "surge_kind",
    "capacity_line",
    "p_capacity",
    "weekday_line",
    "p_weekday",
    "p_capacity_raw",
    "p_weekday_raw",
)


def kind_of(cfg: Config) -> str:
    """The kind of surge that drives the levels (``weekday`` or ``capacity``)."""
    return "weekday" if cfg.escalation.weekday_adjusted_lines else "capacity"


def with_kind(cfg: Config, kind: str) -> Config:
    """``cfg`` with the surge lines of ``kind``: ``capacity`` (flat) or ``weekday`` (adjusted)."""
    if kind not in SURGE_KINDS:
        raise ValueError(f"unknown surge kind {kind!r} (known: {', '.join(SURGE_KINDS)})")
    rules = cfg.escalation.model_copy(update={"weekday_adjusted_lines": kind == "weekday"})
    return cfg.model_copy(update={"escalation": rules})


def add_surge_kinds(
    rows: pd.DataFrame, history: pd.DataFrame, cfg: Config, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the surge risk the levels follow and both kinds of surge line, each line made once.

    A *capacity* surge is a day above the site's flat line (its percentile of the look-back
    window, or the configured ``surge_threshold``): what beds and staff can take, the same on
    every weekday. A *weekday* surge is a day unusual for its weekday (the line adjusted for
    the weekday). Adds the columns of :func:`add_surge_risk` for the kind the levels follow
    (:func:`kind_of`), and ``capacity_line``, ``p_capacity``, ``weekday_line``, ``p_weekday``.

    Args:
        rows: Forecast rows (``site_id``, ``date`` and the quantile columns).
        history: DemandFrame up to ``as_of``.
        cfg: The configuration (thresholds and per-site lines).
        as_of: The last day the lines may look at.

    Returns:
        The rows with the risk columns, and the lines of the kind the levels follow.
    """
    by_kind = {kind: surge_lines(history, with_kind(cfg, kind), as_of) for kind in SURGE_KINDS}
    lines = by_kind[kind_of(cfg)]
    out = add_surge_risk(rows, lines)
    base = rows[[schema.SITE, schema.DATE, *QUANTILE_COLUMNS]]
    for kind, kind_lines in by_kind.items():
        risk = out if kind_lines is lines else add_surge_risk(base, kind_lines)
        out[f"{kind}_line"] = risk["surge_threshold"].to_numpy()
        out[f"p_{kind}"] = risk["p_surge"].to_numpy()
    return out, lines
