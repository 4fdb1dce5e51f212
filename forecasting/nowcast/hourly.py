"""Load and validate an hourly arrivals file into a tidy frame.

The frame has one row per site and hour: ``site_id`` (str), ``timestamp`` (the start of the
hour) and ``arrivals`` (non-negative count). Sub-hourly rows are added up to hours. A file
names its columns as it likes: the loader takes the names (``HourlyColumns``); a timestamp may
come from one column or from a day column plus an hour (0..23) or clock-time column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.errors import DataValueError, SchemaError

SITE = "site_id"
TIME = "timestamp"
ARRIVALS = "arrivals"
HOURLY_COLUMNS = (SITE, TIME, ARRIVALS)


@dataclass(frozen=True)
class HourlyColumns:
    """Where the hourly frame's columns come from in a file.

    Attributes:
        site: Column with the site id; ``None`` means the file is one site (``site_name``).
        time: Column with the timestamp, or with the hour/clock time when ``date`` is given.
        date: Column with the day, when the time of day is in a separate column.
        target: Column with the arrivals count.
        site_name: Site id used when ``site`` is ``None``.
    """

    site: str | None = SITE
    time: str = TIME
    date: str | None = None
    target: str = ARRIVALS
    site_name: str = "site"


def _find(
    frame: pd.DataFrame, name: str, option: str, path: str | None, fix: str | None = None
) -> str:
    """The file's column called ``name`` (exact, else the only case-insensitive match)."""
    if name in frame.columns:
        return name
    folded = [c for c in frame.columns if str(c).casefold() == name.casefold()]
    if len(folded) == 1:
        return str(folded[0])
    shown = ", ".join(map(str, frame.columns[:12]))
    raise SchemaError(
        f"no column '{name}' (columns: {shown})",
        path=path,
        column=name,
        fix=fix or f"name the right column with {option}",
    )


def _first_bad(mask: np.ndarray, rows: pd.Index) -> int | None:
    """1-based data row of the first True in ``mask``, if any."""
    hits = np.flatnonzero(mask)
    if not len(hits):
        return None
    row = rows[hits[0]]
    return int(row) if isinstance(row, int | np.integer) else int(hits[0]) + 1


def _timestamps(raw: pd.DataFrame, cols: HourlyColumns, path: str | None) -> pd.Series:
    time_col = _find(raw, cols.time, "--time-col", path)
    if cols.date is None:
        text = raw[time_col].astype("string").str.strip()
        stamps = pd.to_datetime(text, errors="coerce", format="mixed")
        bad_col = time_col
    else:
        date_col = _find(raw, cols.date, "--date-col", path)
        days = pd.to_datetime(
            raw[date_col].astype("string").str.strip(), errors="coerce", format="mixed"
        )
        clock = raw[time_col].astype("string").str.strip()
        hours = pd.to_numeric(clock, errors="coerce")
        as_hour = hours.notna() & (hours >= 0) & (hours <= 23) & (hours == hours.round())
        offset = pd.to_timedelta(hours.where(as_hour), unit="h")
        text_clock = pd.to_timedelta(
            clock.where(~as_hour).str.replace(r"^(\d{1,2}:\d{2})$", r"\1:00", regex=True),
            errors="coerce",
        )
        stamps = days.dt.normalize() + offset.fillna(text_clock)
        bad_col = f"{date_col}' + '{time_col}"
        if days.isna().any():
            bad_col = date_col
    bad = stamps.isna().to_numpy()
    if bad.any():
        row = _first_bad(bad, raw.index)
        value = raw[time_col if cols.date is None else bad_col.split("'")[0]].iloc[
            int(np.flatnonzero(bad)[0])
        ]
        raise DataValueError(
            f"cannot read the time {str(value)!r}",
            path=path,
            row=row,
            column=bad_col,
            fix="use YYYY-MM-DD HH:MM timestamps, or --date-col with an hour (0-23) --time-col",
        )
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps


def to_hourly_frame(
    raw: pd.DataFrame, columns: HourlyColumns | None = None, path: str | Path | None = None
) -> pd.DataFrame:
    """Map and validate a raw table into the hourly frame.

    Args:
        raw: The file's rows (cells may be strings), indexed by 1-based data row.
        columns: Where each column comes from; default ``site_id, timestamp, arrivals``.
        path: The file, named in errors.

    Returns:
        ``site_id, timestamp, arrivals``: sorted, one row per site and hour (sub-hourly rows
        added up).

    Raises:
        SchemaError: A column is missing.
        DataValueError: A time cannot be read, a count is missing, negative or not a number,
            or the same site and time appear twice.
    """
    cols = columns or HourlyColumns()
    where = None if path is None else str(path)
    stamps = _timestamps(raw, cols, where)
    target = _find(raw, cols.target, "--target-col", where)
    counts = pd.to_numeric(raw[target].astype("string").str.strip(), errors="coerce")
    bad = (counts.isna() | (counts < 0) | ~np.isfinite(counts.fillna(0))).to_numpy()
    if bad.any():
        value = raw[target].iloc[int(np.flatnonzero(bad)[0])]
        raise DataValueError(
            f"arrivals {str(value)!r} is not a non-negative count",
            path=where,
            row=_first_bad(bad, raw.index),
            column=target,
            fix="give a whole number >= 0 in every row (0 for an hour without arrivals)",
        )
    if cols.site is None:
        sites = pd.Series(cols.site_name, index=raw.index, dtype="string")
    else:
        fix = "name the site column with --site-col, or give --site-name NAME for a one-site file"
        site_col = _find(raw, cols.site, "--site-col", where, fix)
        sites = raw[site_col].astype("string").str.strip()
    frame = pd.DataFrame(
        {SITE: sites.astype(str).to_numpy(), TIME: stamps.to_numpy(), ARRIVALS: counts.to_numpy()},
        index=raw.index,
    )
    dup = frame.duplicated([SITE, TIME], keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataValueError(
            f"site '{frame[SITE].iloc[i]}' has the time {frame[TIME].iloc[i]} twice",
            path=where,
            row=_first_bad(dup, raw.index),
            fix="keep one row per site and time (or map --site-col if the file has several sites)",
        )
    frame[TIME] = frame[TIME].dt.floor("h")
    out = frame.groupby([SITE, TIME], sort=True)[ARRIVALS].sum().reset_index()
    out[ARRIVALS] = out[ARRIVALS].astype(float)
    return pd.DataFrame(out.reset_index(drop=True))


def load_hourly(path: str | Path, columns: HourlyColumns | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file of hourly arrivals into the hourly frame.

    Args:
        path: The file.
        columns: Where each column comes from.

    Returns:
        The hourly frame (see :func:`to_hourly_frame`).

    Raises:
        DataError: The file cannot be read, or a column or value is wrong (one line naming the
            file, the row or column and the fix).
    """
    from forecasting.data.load import read_table

    return to_hourly_frame(read_table(path), columns, path)
