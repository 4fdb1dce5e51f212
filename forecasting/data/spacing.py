"""Refuse data whose dates are not daily (weekly, monthly, ...) before gaps are filled.

A monthly file looks like a daily one with 97% of its days missing: filling those gaps would
invent nearly all of the data, and a backtest on it runs for a long time and means nothing.
The spacing of a site is the median gap between its consecutive distinct dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data.messages import format_list
from forecasting.data.schema import DATE, SITE
from forecasting.errors import DataValueError

__all__ = ["check_daily_spacing", "describe_spacing", "site_spacing"]

#: A site whose median gap between dates is at least this many days is not daily.
NOT_DAILY_DAYS = 2

_NAMED_SPACINGS = (
    (7, 7, "weekly"),
    (14, 14, "fortnightly"),
    (28, 31, "monthly"),
    (89, 92, "quarterly"),
    (365, 366, "yearly"),
)


def describe_spacing(days: float) -> str:
    """Name a spacing in days: ``"weekly"``, ``"monthly"``, ... or ``"every 3 days"``.

    Args:
        days: The median gap between consecutive dates.

    Returns:
        A short description for a message.
    """
    for low, high, name in _NAMED_SPACINGS:
        if low <= days <= high:
            return name
    return f"every {days:g} days"


def site_spacing(frame: pd.DataFrame) -> pd.DataFrame:
    """Measure each site's spacing of dates.

    Args:
        frame: A frame with ``site_id`` and day-valued ``date`` columns (repeats allowed).

    Returns:
        One row per site with at least two distinct dates, indexed by site (sorted):
        ``spacing`` (median gap in days), ``dates`` (distinct dates) and ``span`` (days from
        the first to the last date, inclusive).
    """
    keys = frame[[SITE, DATE]].drop_duplicates().sort_values([SITE, DATE], kind="stable")
    gaps = keys.groupby(SITE, sort=True)[DATE].diff().dt.days
    keys = keys.assign(gap=gaps.to_numpy())
    stats = keys.groupby(SITE, sort=True).agg(
        spacing=("gap", "median"), dates=(DATE, "size"), first=(DATE, "min"), last=(DATE, "max")
    )
    stats = stats[stats["dates"] >= 2]
    span = (stats["last"] - stats["first"]).dt.days + 1
    return stats.assign(span=span)[["spacing", "dates", "span"]]


def check_daily_spacing(frame: pd.DataFrame, *, column: str, path: str | None) -> None:
    """Raise if the sites' dates are weekly, monthly or otherwise coarser than daily.

    Args:
        frame: A frame with ``site_id`` and day-valued ``date`` columns.
        column: The date column, named in the error.
        path: The file, named in the error.

    Raises:
        DataValueError: Naming the spacing found, the sites concerned and the fix.
    """
    stats = site_spacing(frame)
    coarse = stats[stats["spacing"] >= NOT_DAILY_DAYS]
    if coarse.empty:
        return
    typical = float(np.median(coarse["spacing"]))
    kind = describe_spacing(typical)
    invented = 1 - coarse["dates"].sum() / coarse["span"].sum()
    example = str(coarse.index[0])
    sites = (
        f"site '{example}'"
        if len(stats) == 1
        else f"{len(coarse)} of {len(stats)} sites, e.g. '{example}'"
    )
    others = ""
    if len(coarse) < len(stats):
        daily = [str(site) for site in stats.index.difference(coarse.index)]
        others = f"; daily: {format_list(daily)}"
    raise DataValueError(
        f"dates are {kind}, not daily (median gap {typical:g} days between consecutive dates "
        f"at {sites}{others}); treating them as daily would invent {invented:.0%} of the days",
        path=path,
        column=column,
        fix="supply one row per site and day (daily totals); forecasts are daily, so "
        f"{kind} totals cannot be used",
    )
