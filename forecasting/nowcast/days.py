"""The hourly frame as one row per site and day: 24 hourly counts, totals, complete days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.nowcast.hourly import ARRIVALS, SITE, TIME

HOURS = 24
DATE = "date"


def day_matrix(hourly: pd.DataFrame, through: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per site and day (every day from the site's first to its last, or ``through``).

    Args:
        hourly: The hourly frame (``site_id, timestamp, arrivals``).
        through: Extend each site's days to this day (e.g. the as-of day, whose later hours
            are not known yet); rows after it are dropped.

    Returns:
        Index ``(site_id, date)``; columns ``0..23``: arrivals in each hour, NaN where the
        file has no row.
    """
    work = hourly[[SITE, TIME, ARRIVALS]].copy()
    work[DATE] = work[TIME].dt.normalize()
    work["hour"] = work[TIME].dt.hour
    if through is not None:
        work = work[work[DATE] <= pd.Timestamp(through).normalize()]
    wide = work.pivot_table(
        index=[SITE, DATE], columns="hour", values=ARRIVALS, aggfunc="sum", dropna=False
    )
    wide = wide.reindex(columns=range(HOURS))
    frames = []
    for site, g in wide.groupby(level=SITE, sort=True):
        days = g.index.get_level_values(DATE)
        last = days.max() if through is None else pd.Timestamp(through).normalize()
        full = pd.date_range(days.min(), last, freq="D")
        index = pd.MultiIndex.from_arrays([[site] * len(full), full], names=[SITE, DATE])
        frames.append(g.reindex(index))
    if not frames:
        return pd.DataFrame(columns=range(HOURS), index=pd.MultiIndex.from_arrays([[], []]))
    out = pd.concat(frames)
    out.columns = list(range(HOURS))
    return out.astype(float)


def complete(matrix: pd.DataFrame) -> pd.Series:
    """Whether each day has all 24 hours."""
    return matrix.notna().all(axis=1)


def totals(matrix: pd.DataFrame) -> pd.Series:
    """Each day's total arrivals (NaN for a day with a missing hour)."""
    return matrix.sum(axis=1, min_count=HOURS).where(complete(matrix))


def arrivals_before(matrix: pd.DataFrame, hour: int) -> pd.Series:
    """Arrivals in hours ``[0, hour)`` of each day (NaN if one of those hours is missing)."""
    if hour <= 0:
        return pd.Series(0.0, index=matrix.index)
    part = matrix.iloc[:, :hour]
    return part.sum(axis=1).where(part.notna().all(axis=1))


def cumulative(matrix: pd.DataFrame) -> np.ndarray:
    """Arrivals before each hour ``0..24`` (shape ``days x 25``; NaN propagates)."""
    values = matrix.to_numpy(dtype=float)
    out = np.zeros((len(values), HOURS + 1))
    out[:, 1:] = np.cumsum(values, axis=1)
    return out
