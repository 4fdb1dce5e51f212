"""Aggregate sub-daily rows (hourly timestamps) to one row per site and day.

Counts are added up per site and day; stock-like counts (beds open, beds occupied) and
exogenous columns (temperature) are averaged; ``imputed`` is True if any row was. A site's
first or last day with fewer rows than its usual day is partial (the extract started or ended
mid-day): it is dropped, with a :class:`~forecasting.data.notices.PartialDayWarning`, so that a
half day does not look like a collapse in demand. Short days inside the series are kept and
named in the same warning.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from forecasting.data.messages import _count, format_list, warn_at_caller
from forecasting.data.notices import PartialDayWarning
from forecasting.data.schema import DATE, IMPUTED, SITE, TARGET

__all__ = ["RESAMPLE_CHOICES", "Resample", "resample_daily"]

Resample = Literal["daily"]
RESAMPLE_CHOICES: tuple[str, ...] = ("daily",)

#: Count columns that are snapshots (how many at a moment), averaged rather than added up.
STOCK_COLUMNS = frozenset({"beds", "beds_occupied"})

_ROWS = "__rows__"
_FIRST_ROW = "__first_row__"


def _short(rows: pd.Series, usual: pd.Series) -> pd.Series:
    """Tell which days have fewer rows than usual (one hour of slack for clock changes)."""
    slack = np.where(usual >= 23, 1, 0)
    return rows < usual - slack


def _describe(days: pd.DataFrame) -> list[str]:
    """Describe short days as "site 2024-01-31 (13 of 24 rows)"."""
    return [
        f"'{row[SITE]}' {row[DATE]:%Y-%m-%d} ({int(row[_ROWS])} of {int(row['usual'])} rows)"
        for _, row in days.iterrows()
    ]


def resample_daily(
    frame: pd.DataFrame,
    stamps: np.ndarray,
    rows: np.ndarray,
    *,
    counts: list[str],
    path: str | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Aggregate a parsed frame to one row per site and day.

    Args:
        frame: Parsed rows: ``site_id``, ``date`` (the day of each row), ``attendances``, other
            numeric columns and ``imputed``.
        stamps: The full timestamp of each row (several per day for hourly data).
        rows: File row numbers aligned with ``frame``.
        counts: Optional count columns present (added up, except :data:`STOCK_COLUMNS`).
        path: File named in the warning.

    Returns:
        The daily frame (sorted by site and date, fresh index) and, for each of its rows, the
        file row number of the day's first row.
    """
    flows = [TARGET, *(c for c in counts if c not in STOCK_COLUMNS)]
    means = [c for c in frame.columns if c not in (SITE, DATE, IMPUTED, *flows)]
    work = frame.reset_index(drop=True)
    work[_FIRST_ROW] = rows
    work["__stamp__"] = pd.to_datetime(stamps)
    grouped = work.groupby([SITE, DATE], sort=True)
    daily = grouped[flows].sum(min_count=1)
    if means:
        daily = daily.join(grouped[means].mean())
    daily[IMPUTED] = grouped[IMPUTED].any() if IMPUTED in work else False
    daily[_FIRST_ROW] = grouped[_FIRST_ROW].min()
    daily[_ROWS] = grouped["__stamp__"].nunique()
    daily = daily.reset_index()

    daily["usual"] = daily.groupby(SITE)[_ROWS].transform("median")
    short = _short(daily[_ROWS], daily["usual"])
    position = daily.groupby(SITE).cumcount()
    size = daily.groupby(SITE)[DATE].transform("size")
    edge = short & ((position == 0) | (position == size - 1)) & (size > 1)
    inner = short & ~edge
    parts = []
    if edge.any():
        dropped = _describe(daily[edge])
        parts.append(
            f"dropped {_count(int(edge.sum()), 'partial first or last day')} "
            f"({format_list(dropped)})"
        )
    if inner.any():
        kept = _describe(daily[inner])
        parts.append(
            f"kept {_count(int(inner.sum()), 'day')} with fewer rows than usual, whose totals "
            f"may be low ({format_list(kept)})"
        )
    if parts:
        warn_at_caller(PartialDayWarning, "resampled to days: " + "; ".join(parts), path)
    daily = daily[~edge]
    first_rows = daily[_FIRST_ROW].to_numpy(dtype=np.int64)
    out = daily.drop(columns=[_FIRST_ROW, _ROWS, "usual"]).reset_index(drop=True)
    return out[[c for c in frame.columns if c in out.columns]], first_rows
