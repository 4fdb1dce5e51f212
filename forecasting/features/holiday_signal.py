"""Which public-holiday calendar the data itself follows: a check of the configured one.

A public holiday moves demand: the day differs from the same weekday one and two weeks before
and after. For each candidate calendar, the holidays it has and the configured calendar has not
(and the other way round) are compared with ordinary days by that log ratio on the panel's
daily total. A candidate is suggested when its own holidays stand out clearly (two-sided
Mann-Whitney test, p < :data:`SUGGEST_P`) and the configured calendar's own do not
(p > :data:`CONFIGURED_P`); each side needs :data:`MIN_HOLIDAYS` days. Christmas to 2 January
is left out: every candidate shares it.

The test is cautious and a hint, not an answer: on the benchmark data it names US for Iowa,
NL for Bern (Swiss data whose days off do not follow England's) and nothing for Wales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.features.calendar import holiday_dates

CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("GB", "ENG"),
    ("GB", "SCT"),
    ("GB", "NIR"),
    ("IE", None),
    ("US", None),
    ("CA", None),
    ("AU", None),
    ("NZ", None),
    ("CH", None),
    ("DE", None),
    ("FR", None),
    ("NL", None),
    ("ES", None),
    ("IT", None),
)
"""Calendars compared with the configured one."""

SUGGEST_P = 0.02
CONFIGURED_P = 0.1
MIN_HOLIDAYS = 5
"""Fewest holidays of a calendar's own in the data before it can be suggested."""
MIN_DAYS = 365
DEFAULT_CALENDAR = ("GB", "ENG")
"""The calendar used when none is configured (``forecasting.config.DEFAULT_HOLIDAYS``)."""


@dataclass(frozen=True)
class CalendarCheck:
    """What the data says about the holiday calendar.

    Attributes:
        configured: The calendar in use, e.g. ``"GB-ENG"``.
        suggested: Another calendar the data follows more clearly, or ``None``.
        configured_p: p-value of the configured calendar's own holidays (1.0 if none).
        suggested_p: p-value of the suggested calendar's own holidays.
        n_holidays: Own holidays of the suggested calendar in the data.
    """

    configured: str
    suggested: str | None
    configured_p: float = 1.0
    suggested_p: float = 1.0
    n_holidays: int = 0


def calendar_label(country: str, subdiv: str | None) -> str:
    """``GB-ENG`` style label of a calendar."""
    return f"{country}-{subdiv}" if subdiv else country


def _log_ratios(total: pd.Series, holidays: pd.DatetimeIndex) -> pd.Series:
    """Log ratio of each day's total to the median of the same weekday +-1, 2 weeks.

    Neighbours that are ``holidays`` (of any calendar tried) are left out of the median.
    """
    y = total.asfreq("D")
    plain = y.where(~y.index.isin(holidays))
    near = pd.concat([plain.shift(k) for k in (-14, -7, 7, 14)], axis=1)
    enough = near.notna().sum(axis=1) >= 2
    ratio = ((y + 1.0) / (near.median(axis=1) + 1.0)).apply(np.log)
    return ratio[enough & y.notna()]


def _holidays(country: str, subdiv: str | None, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    days = holiday_dates(country, subdiv, int(index[0].year), int(index[-1].year))
    inside = (days >= index[0] + pd.Timedelta(days=14)) & (
        days <= index[-1] - pd.Timedelta(days=14)
    )
    days = days[inside]
    christmas = ((days.month == 12) & (days.day >= 24)) | ((days.month == 1) & (days.day <= 2))
    return days[~christmas]


def _at(ratios: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    return ratios[ratios.index.isin(days)].to_numpy()


def _p_value(own: np.ndarray, ordinary: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    if len(own) < MIN_HOLIDAYS:
        return 1.0
    return float(mannwhitneyu(own, ordinary, alternative="two-sided").pvalue)


def check_calendar(
    frame: pd.DataFrame,
    country: str,
    subdiv: str | None,
    candidates: tuple[tuple[str, str | None], ...] = CANDIDATES,
) -> CalendarCheck:
    """Compare the configured calendar with the candidates on ``frame`` (a DemandFrame).

    Args:
        frame: Demand data; the daily total over sites is used.
        country: Configured country code.
        subdiv: Configured subdivision, or ``None``.
        candidates: Other calendars to try.

    Returns:
        The check; ``suggested`` is ``None`` when the data is shorter than a year or no
        candidate is clearly better.
    """
    configured = calendar_label(country, subdiv)
    total = frame.groupby(schema.DATE)[schema.TARGET].sum()
    total.index = pd.DatetimeIndex(total.index)
    if len(total) < MIN_DAYS:
        return CalendarCheck(configured, None)
    mine = _holidays(country, subdiv, total.index)
    all_days = mine
    for c, s in candidates:
        all_days = all_days.union(_holidays(c, s, total.index))
    ratios = _log_ratios(total, all_days)
    ordinary = ratios[~ratios.index.isin(all_days)].to_numpy()
    best: CalendarCheck = CalendarCheck(configured, None)
    for c, s in candidates:
        label = calendar_label(c, s)
        if label == configured:
            continue
        theirs = _holidays(c, s, total.index)
        own = _at(ratios, mine.difference(theirs))
        if len(own) < MIN_HOLIDAYS:  # a calendar that only adds days cannot be told apart
            continue
        own_p = _p_value(own, ordinary)
        their_days = theirs.difference(mine)
        their_p = _p_value(_at(ratios, their_days), ordinary)
        if their_p < SUGGEST_P and own_p > CONFIGURED_P and their_p < best.suggested_p:
            best = CalendarCheck(configured, label, own_p, their_p, len(their_days))
    return best


def calendar_message(check: CalendarCheck, default: bool) -> str:
    """One line for ``data check``: the calendar used and, if any, the suggested one."""
    line = f"Holiday calendar: {check.configured}" + (" (the default)" if default else "")
    if check.suggested is None:
        return line + "."
    return (
        f"{line}, but the data's days off fit {check.suggested} better ({check.n_holidays} of "
        f"its holidays move demand, p={check.suggested_p:.1g}; {check.configured}'s own do "
        f"not, p={check.configured_p:.2f}). Fix: pass your data's calendar with --holidays "
        f"(e.g. --holidays {check.suggested}) or set holidays in the config; "
        "`forecasting data holidays` lists them."
    )


def warn_if_other_calendar(frame: pd.DataFrame, country: str, subdiv: str | None) -> CalendarCheck:
    """Check the calendar; warn when it is the default and the data suggests another.

    Warns:
        HolidayCalendarWarning: The calendar is the default (England) and another fits the
            data clearly better (see :func:`check_calendar`).
    """
    import warnings

    from forecasting.errors import HolidayCalendarWarning

    result = check_calendar(frame, country, subdiv)
    default = (country, subdiv) == DEFAULT_CALENDAR
    if default and result.suggested is not None:
        warnings.warn(HolidayCalendarWarning(calendar_message(result, default)), stacklevel=2)
    return result
