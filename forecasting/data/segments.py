"""Segments: the runs of consecutive days of a site's series.

Winter-only data (the NHS winter sitreps) has a gap of about eight months every year. The loader
fills short gaps (up to ``segment_gap_days``, default 14) and leaves longer ones as missing rows,
so in a loaded DemandFrame every missing day between two rows of a site is a segment boundary:
no imputation, lag or rolling window may span it. These helpers find and describe the runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data.schema import DATE, SITE

#: Default longest gap (days) the loader imputes; a longer gap splits a series into segments.
DEFAULT_SEGMENT_GAP_DAYS = 14


def segment_ids(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> np.ndarray:
    """Number the runs of consecutive days of one site's sorted dates.

    Args:
        dates: One site's days, sorted ascending, unique.

    Returns:
        An int array, 0 for the first run, rising by one after every missing day.
    """
    days = pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[D]").astype(np.int64)
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    breaks = np.diff(days) > 1
    return np.concatenate([[0], np.cumsum(breaks)]).astype(np.int64)


def segment_starts(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> np.ndarray:
    """Index (within the site's rows) of the first row of each row's segment."""
    ids = segment_ids(dates)
    if len(ids) == 0:
        return ids
    first = np.concatenate([[True], ids[1:] != ids[:-1]])
    starts = np.flatnonzero(first)
    return starts[ids]


def with_segments(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` sorted by site and date with an int ``segment`` column per site."""
    out = frame.sort_values([SITE, DATE]).reset_index(drop=True)
    ids = np.zeros(len(out), dtype=np.int64)
    for _, index in out.groupby(SITE, sort=False, observed=True).indices.items():
        ids[index] = segment_ids(out[DATE].to_numpy()[index])
    out["segment"] = ids
    return out


def latest_segment(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep each site's last run of consecutive days (the one its forecasts start from)."""
    if frame.empty:
        return frame
    out = with_segments(frame)
    last = out.groupby(SITE, sort=False, observed=True)["segment"].transform("max")
    return out.loc[out["segment"] == last].drop(columns="segment").reset_index(drop=True)


def has_segments(frame: pd.DataFrame) -> bool:
    """Whether any site of ``frame`` has a missing day between its first and last rows."""
    if frame.empty:
        return False
    spans = frame.groupby(SITE, sort=False, observed=True)[DATE].agg(["min", "max", "size"])
    expected = (spans["max"] - spans["min"]).dt.days + 1
    return bool((expected > spans["size"]).any())


def segment_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per site and segment: ``site_id, segment, start, end, days``."""
    cols = [SITE, "segment", "start", "end", "days"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    out = with_segments(frame)
    table = (
        out.groupby([SITE, "segment"], sort=True, observed=True)[DATE]
        .agg(start="min", end="max", days="size")
        .reset_index()
    )
    return table[cols]
