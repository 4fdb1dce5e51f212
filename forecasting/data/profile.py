"""Descriptive shape statistics of daily demand series (weekly, seasonal, surges).

Used by ``forecasting data check`` and to compare synthetic data against real series.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MIN_DAYS_FOR_SEASONAL = 365
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class SeriesProfile:
    """Shape statistics of one daily series.

    Attributes:
        weekly_ratio: Busiest weekday's mean over the quietest's (detrended).
        busiest_weekday: Name of the busiest weekday.
        seasonal_ratio: Highest calendar month's mean over the lowest (detrended by year);
            NaN with less than a year of data.
        peak_month: Name of the highest month ("" with less than a year of data).
        surge_rate: Share of days more than ``surge_excess`` above the local weekday baseline.
        cv: Coefficient of variation of the daily values.
    """

    weekly_ratio: float
    busiest_weekday: str
    seasonal_ratio: float
    peak_month: str
    surge_rate: float
    cv: float

    def as_dict(self) -> dict[str, float | str]:
        """Return the profile as a plain dict."""
        return asdict(self)


def _daily(dates: pd.Series, values: pd.Series) -> pd.Series:
    s = pd.Series(np.asarray(values, dtype=float), index=pd.DatetimeIndex(dates)).sort_index()
    return s.asfreq("D")


def _index(series: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(series.index)


def weekday_baseline_ratio(series: pd.Series) -> pd.Series:
    """Return each day's value over its local weekday baseline.

    The baseline is a centred 29-day rolling median times the median weekday factor, so a value
    of 1.25 means a day 25% above what its week and weekday would suggest.

    Args:
        series: Daily values indexed by date (gaps allowed, as NaN).

    Returns:
        The ratio, indexed like ``series``.
    """
    level = series.rolling(29, center=True, min_periods=15).median()
    ratio = series / level
    factor = ratio.groupby(_index(ratio).dayofweek).transform("median")
    return ratio / factor


def weekly_ratio(series: pd.Series) -> tuple[float, str]:
    """Return (busiest weekday mean / quietest weekday mean, busiest weekday name)."""
    level = series.rolling(28, center=True, min_periods=14).mean()
    by_day = (series / level).groupby(_index(series).dayofweek).mean()
    return float(by_day.max() / by_day.min()), WEEKDAYS[int(by_day.to_numpy().argmax())]


def seasonal_ratio(series: pd.Series) -> tuple[float, str]:
    """Return (highest month mean / lowest month mean, peak month), each year scaled by its mean."""
    yearly = series.groupby(_index(series).year).transform("mean")
    scaled = series / yearly
    by_month = scaled.groupby(_index(scaled).month).mean()
    months = by_month.index.to_numpy()
    peak = int(months[by_month.to_numpy().argmax()])
    return float(by_month.max() / by_month.min()), MONTHS[peak - 1]


def surge_rate(series: pd.Series, surge_excess: float = 0.2) -> float:
    """Return the share of days more than ``surge_excess`` above the local weekday baseline."""
    ratio = weekday_baseline_ratio(series).dropna()
    if ratio.empty:
        return float("nan")
    return float((ratio > 1.0 + surge_excess).mean())


def profile_series(dates: pd.Series, values: pd.Series, surge_excess: float = 0.2) -> SeriesProfile:
    """Compute the shape statistics of one daily series.

    Args:
        dates: Dates of the observations.
        values: Observed daily values (e.g. attendances).
        surge_excess: Relative excess over the weekday baseline that counts as a surge.

    Returns:
        The series' profile.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # all-zero series give inf/NaN
        return _profile(_daily(dates, values), surge_excess)


def _profile(s: pd.Series, surge_excess: float) -> SeriesProfile:
    wr, wd = weekly_ratio(s)
    sr, pm = seasonal_ratio(s) if len(s) >= MIN_DAYS_FOR_SEASONAL else (float("nan"), "")
    return SeriesProfile(
        weekly_ratio=wr,
        busiest_weekday=wd,
        seasonal_ratio=sr,
        peak_month=pm,
        surge_rate=surge_rate(s, surge_excess),
        cv=float(s.std() / s.mean()),
    )


def profile_frame(
    frame: pd.DataFrame, value_col: str = "attendances", surge_excess: float = 0.2
) -> pd.DataFrame:
    """Profile every site of a long frame (``site_id``, ``date``, ``value_col``).

    Returns:
        One row per site with the columns of :class:`SeriesProfile`.
    """
    rows = []
    for site, g in frame.groupby("site_id", sort=True, observed=True):
        p = profile_series(g["date"], g[value_col], surge_excess).as_dict()
        rows.append({"site_id": site, **p})
    return pd.DataFrame(rows)
