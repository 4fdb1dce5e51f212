"""Reasons of each warning in plain sentences: which line, what chance, which drivers.

Drivers come from the site's own history up to the as-of date, never from patient data:

* weekday: the target weekday's mean attendances over the look-back year against the average
  day (mentioned from ``escalation.weekday_min_effect``, and only with flat surge lines: the
  weekday-adjusted lines already allow for it);
* holiday rebound: the first working day after a public holiday (and the weekend around it);
* trend: admissions (attendances without an admissions column) of the last
  ``escalation.trend_window_days`` against the window before (from ``trend_min_change``),
  called "Winter" from November to March;
* recent surge: days above the surge line among the last ``escalation.recent_days``.

Attendance drivers are given when a surge is at least ``pressure_probability`` likely; the
trend whenever the level is 2 or above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.config import Config
from forecasting.data import schema
from forecasting.errors import ConfigError
from forecasting.escalation.advice import MIN_ADVICE_LEVEL
from forecasting.escalation.levels import EPS
from forecasting.escalation.thresholds import percentile_label
from forecasting.escalation.wording import format_occupancy, occupancy_lines, relation
from forecasting.features.calendar import holiday_dates

WINTER_MONTHS = (11, 12, 1, 2, 3)
WEEKEND = 5
DAYS_PER_WEEK = 7
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class SiteContext:
    """What the history says about one site at the as-of date.

    Attributes:
        weekday_effect: Relative attendances of each weekday (Monday 0) against the average day.
        trend_change: Relative change of admissions (or attendances) window on window.
        trend_subject: ``"admissions"`` or ``"attendances"``.
        trend_days: Length of the trend window, days.
        recent_surges: Days above the surge line among the last ``recent_days``.
        recent_days: How many recent days were looked at.
    """

    weekday_effect: tuple[float, ...]
    trend_change: float
    trend_subject: str
    trend_days: int
    recent_surges: int
    recent_days: int


def site_context(
    history: pd.DataFrame, surge_lines: np.ndarray, cfg: Config, as_of: pd.Timestamp
) -> SiteContext:
    """Summarise one site's history (sorted by date, up to ``as_of``) for the reasons.

    Args:
        history: The site's DemandFrame rows.
        surge_lines: The surge line of each history day (aligned with ``history``).
        cfg: The configuration.
        as_of: The as-of date.
    """
    esc = cfg.escalation
    year = history[history[schema.DATE] > as_of - pd.Timedelta(days=365)]
    weekday = pd.DatetimeIndex(year[schema.DATE]).dayofweek
    by_day = year[schema.TARGET].groupby(weekday).mean().reindex(range(DAYS_PER_WEEK))
    effect = (by_day / by_day.mean() - 1.0).fillna(0.0)
    subject = "admissions"
    if subject not in history or history[subject].tail(2 * esc.trend_window_days).isna().any():
        subject = schema.TARGET
    values = history[subject].to_numpy(dtype=float)
    w = esc.trend_window_days
    change = 0.0
    if len(values) >= 2 * w and values[-2 * w : -w].sum() > 0:
        change = float(values[-w:].sum() / values[-2 * w : -w].sum() - 1.0)
    recent = history[schema.TARGET].tail(esc.recent_days).to_numpy(dtype=float)
    recent_lines = np.asarray(surge_lines, dtype=float)[len(history) - len(recent) :]
    return SiteContext(
        weekday_effect=tuple(float(x) for x in effect),
        trend_change=change,
        trend_subject=subject,
        trend_days=w,
        recent_surges=int(np.sum(recent > recent_lines)),
        recent_days=len(recent),
    )


def rebound_days(dates: pd.DatetimeIndex, cfg: Config) -> set[pd.Timestamp]:
    """Which of ``dates`` are the first working day after a public holiday.

    Raises:
        ConfigError: If the configured holiday calendar is unknown.
    """
    if len(dates) == 0:
        return set()
    try:
        hols = set(
            holiday_dates(
                cfg.holidays.country,
                cfg.holidays.subdiv,
                int(dates.min().year) - 1,
                int(dates.max().year),
            )
        )
    except ValueError as exc:
        raise ConfigError(f"key 'holidays': {exc}") from exc
    out = set()
    for day in dates:
        if day.dayofweek >= WEEKEND or day in hols:
            continue
        prev, after_holiday = day - pd.Timedelta(days=1), False
        while prev.dayofweek >= WEEKEND or prev in hols:
            after_holiday = after_holiday or prev in hols
            prev -= pd.Timedelta(days=1)
        if after_holiday:
            out.add(day)
    return out


def _count(n: int) -> str:
    return _WORDS[n] if n < len(_WORDS) else str(n)


def _span(days: int) -> str:
    weeks, rest = divmod(days, DAYS_PER_WEEK)
    return f"{weeks} weeks" if rest == 0 and weeks > 1 else f"{days} days"


def driver_reasons(day: pd.Timestamp, ctx: SiteContext, rebound: bool, cfg: Config) -> list[str]:
    """Sentences on what drives attendances on ``day`` (weekday, rebound, recent surge)."""
    out = []
    effect = ctx.weekday_effect[day.dayofweek]
    # weekday-adjusted lines already allow for the weekday: it is no driver then
    if not cfg.escalation.weekday_adjusted_lines and effect >= cfg.escalation.weekday_min_effect:
        busiest = day.dayofweek == int(np.argmax(ctx.weekday_effect))
        kind = "busiest weekday" if busiest else "a busy weekday"
        out.append(f"{day:%A}: {kind} (+{effect:.0%} on average)")
    if rebound:
        holiday = "bank holiday" if cfg.holidays.country == "GB" else "public holiday"
        out.append(f"Day after a {holiday}: demand usually rebounds")
    if ctx.recent_surges == 1 and ctx.recent_days == 1:
        out.append("Surge yesterday (above the line)")
    elif ctx.recent_surges:
        n = ctx.recent_surges
        out.append(
            f"Surge in the last {ctx.recent_days} days "
            f"({_count(n)} day{'s' if n > 1 else ''} above the line)"
        )
    return out


def trend_reason(day: pd.Timestamp, ctx: SiteContext, cfg: Config) -> list[str]:
    """A sentence on a rising admissions trend, if it is large enough."""
    if ctx.trend_change < cfg.escalation.trend_min_change:
        return []
    text = f"{ctx.trend_subject} trending up (+{ctx.trend_change:.0%} over {_span(ctx.trend_days)})"
    if day.month in WINTER_MONTHS:
        return [f"Winter: {text}"]
    return [text[0].upper() + text[1:]]


def risk_reasons(row: pd.Series, cfg: Config) -> list[str]:
    """Sentences on the surge chances and forecast occupancy of one warning row."""
    t, e = cfg.thresholds, cfg.escalation
    out = []
    if row["p_surge"] >= e.pressure_probability:
        out.append(
            f"{row['p_surge']:.0%} chance attendances exceed the surge line of "
            f"{row['surge_threshold']:.0f} ({row['threshold_source']})"
        )
    if row["p_surge_high"] >= e.pressure_probability:
        out.append(
            f"{row['p_surge_high']:.0%} chance they exceed the high line of "
            f"{row['surge_threshold_high']:.0f} ({row['threshold_high_source']})"
        )
    occ = float(row["occupancy"])
    lines = occupancy_lines(cfg)
    for line, name in zip(lines, ("severe line", "ceiling", "comfort line"), strict=True):
        if occ >= line - EPS:  # the level rules' tolerance: 0.92 + 0.05 is 0.97
            # the figure that decided the level: 0.924 is "92.4%", above the 92% ceiling
            out.append(
                f"Forecast occupancy {format_occupancy(occ, lines)} is {relation(occ, line)} "
                f"the {format_occupancy(line, (line,))} {name}"
            )
            break
    high = float(row["occupancy_q_high"])
    if high >= t.occupancy_ceiling and row["level"] >= MIN_ADVICE_LEVEL:
        out.append(
            f"Occupancy could reach {format_occupancy(high, lines)} if attendances run high "
            f"every day ({percentile_label(e.upper_quantile)} percentile)"
        )
    return out


def explain(frame: pd.DataFrame, contexts: dict[str, SiteContext], cfg: Config) -> list[list[str]]:
    """Reasons of every warning row (needs the risk, occupancy and level columns).

    Args:
        frame: Warning rows: ``site_id``, ``date``, ``level``, probabilities, occupancy.
        contexts: Each site's :class:`SiteContext`.
        cfg: The configuration.

    Returns:
        One list of sentences per row, in row order.
    """
    dates = pd.DatetimeIndex(frame[schema.DATE])
    rebounds = rebound_days(pd.DatetimeIndex(dates.unique()), cfg)
    out = []
    for (_, row), day in zip(frame.iterrows(), dates, strict=True):
        if row["level"] <= 1:
            comfort = cfg.thresholds.occupancy_comfort
            out.append(
                [
                    f"Flow maintained: {row['p_surge']:.0%} chance of a surge and forecast "
                    f"occupancy {format_occupancy(float(row['occupancy']), (comfort,))}, below "
                    f"the {format_occupancy(comfort, (comfort,))} comfort line"
                ]
            )
            continue
        ctx = contexts[row[schema.SITE]]
        reasons = risk_reasons(row, cfg)
        if row["p_surge"] >= cfg.escalation.pressure_probability:
            reasons += driver_reasons(day, ctx, day in rebounds, cfg)
        reasons += trend_reason(day, ctx, cfg)
        out.append(reasons)
    return out
