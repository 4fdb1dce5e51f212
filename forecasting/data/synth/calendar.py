"""England's calendar for the generator: bank holidays and approximate school holidays."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

WEEKEND = 5  # dayofweek >= 5 is Saturday or Sunday


def bank_holidays(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Return England's bank holidays (including substitute days) within ``dates``' years.

    Args:
        dates: The days of the series.

    Returns:
        The bank holidays, as midnight timestamps.
    """
    import holidays

    years = range(int(dates.min().year), int(dates.max().year) + 1)
    days = holidays.country_holidays("GB", subdiv="ENG", years=years)
    return pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in days))


def bank_holiday_mask(dates: pd.DatetimeIndex) -> np.ndarray:
    """Return a boolean mask: is each day an England bank holiday?"""
    return np.asarray(dates.isin(bank_holidays(dates)))


def rebound_mask(dates: pd.DatetimeIndex, holiday: np.ndarray) -> np.ndarray:
    """Return a mask of the first working day after each run of bank holidays and weekends.

    The catch-up day after Easter Monday is the Tuesday; after Christmas and Boxing Day on a
    weekday it is the 27th (or the next weekday).

    Args:
        dates: Consecutive days.
        holiday: Bank-holiday mask aligned with ``dates``.

    Returns:
        The mask, aligned with ``dates``.
    """
    working = ~holiday & (np.asarray(dates.dayofweek) < WEEKEND)
    out = np.zeros(len(dates), dtype=bool)
    pending = False
    for i in range(len(dates)):
        if holiday[i]:
            pending = True
        elif working[i] and pending:
            out[i] = True
            pending = False
    return out


def _easter(year: int) -> date:
    from dateutil.easter import easter

    return easter(year)


def _monday_on_or_before(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _last_monday(year: int, month: int) -> date:
    last = (pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)).date()
    return _monday_on_or_before(last)


def school_holiday_periods(year: int) -> list[tuple[date, date]]:
    """Return approximate England state-school holidays of one calendar year (inclusive).

    Terms differ by local authority; these dates follow the common pattern: a February
    half-term week, two weeks around Easter, the late-May half-term, summer from about the
    20th of July to the first days of September, an October half-term and Christmas.

    Args:
        year: Calendar year.

    Returns:
        ``(first_day, last_day)`` pairs, in date order.
    """
    feb = _monday_on_or_before(date(year, 2, 17))
    easter = _easter(year)
    may = _last_monday(year, 5)
    summer_start = date(year, 7, 20) + timedelta(days=(5 - date(year, 7, 20).weekday()) % 7)
    summer_end = date(year, 9, 1) + timedelta(days=(6 - date(year, 9, 1).weekday()) % 7)
    october = _last_monday(year, 10)
    return [
        (date(year, 1, 1), date(year, 1, 3)),
        (feb, feb + timedelta(days=4)),
        (easter - timedelta(days=9), easter + timedelta(days=8)),
        (may, may + timedelta(days=4)),
        (summer_start, summer_end),
        (october, october + timedelta(days=4)),
        (date(year, 12, 20), date(year, 12, 31)),
    ]


def school_holiday_mask(dates: pd.DatetimeIndex) -> np.ndarray:
    """Return a boolean mask: does each day fall in an (approximate) school holiday?"""
    out = np.zeros(len(dates), dtype=bool)
    for year in range(int(dates.min().year), int(dates.max().year) + 1):
        for first, last in school_holiday_periods(year):
            out |= np.asarray((dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last)))
    return out


def back_to_school_mask(dates: pd.DatetimeIndex, days: int = 14) -> np.ndarray:
    """Return a mask of the first ``days`` days after the summer holidays end.

    Children's respiratory attendances (asthma, colds) rise when schools reopen in September.
    """
    out = np.zeros(len(dates), dtype=bool)
    for year in range(int(dates.min().year), int(dates.max().year) + 1):
        summer_end = school_holiday_periods(year)[4][1]
        start = pd.Timestamp(summer_end) + pd.Timedelta(days=1)
        out |= np.asarray((dates >= start) & (dates < start + pd.Timedelta(days=days)))
    return out
