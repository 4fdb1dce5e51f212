"""Parse raw columns into typed arrays: numbers, dates, site ids, flags and the as-of day.

Each parser accepts text cells (as read from a file) or an already-typed column, and raises a
:class:`~forecasting.errors.DataValueError` naming the first bad row and value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from forecasting.data.messages import _count, _show, reject_rows, rows_error, warn_at_caller
from forecasting.data.notices import FractionalCountWarning
from forecasting.errors import DataValueError

#: Cell texts read as "no value" in numeric columns (compared case-insensitively).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_TRUE = frozenset({"true", "t", "yes", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "0", "0.0", ""})
_NUMBER_FIX = "write plain numbers: digits with '.' for decimals, no units or thousands separators"


def _is_text(series: pd.Series) -> bool:
    """Tell whether a column holds strings or other Python objects (not a typed column)."""
    return ptypes.is_object_dtype(series.dtype) or ptypes.is_string_dtype(series.dtype)


def per_unique(
    series: pd.Series, parse: Callable[[pd.Series], np.ndarray], fill: object
) -> np.ndarray:
    """Apply ``parse`` to the distinct values of a column only, and spread the result back.

    Files repeat dates, site ids and counts many times; parsing each distinct value once keeps
    a million-row file fast. ``fill`` is the result for NaN/None cells.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    parsed = np.asarray(parse(pd.Series(uniques, dtype=object)))
    return np.concatenate([parsed, np.array([fill], dtype=parsed.dtype)])[codes]


def is_missing(series: pd.Series, tokens: frozenset[str] = MISSING_TOKENS) -> np.ndarray:
    """Return a mask of cells holding no value (NaN/None or a missing token)."""
    if not _is_text(series):
        return series.isna().to_numpy()
    return per_unique(
        series,
        lambda values: values.astype(str).str.strip().str.lower().isin(tokens).to_numpy(bool),
        True,
    )


def _text_to_float(values: pd.Series) -> np.ndarray:
    """Parse distinct text values as floats (NaN where they are not numbers)."""
    text = values.astype(str).str.strip()
    return pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()


def parse_numbers(
    series: pd.Series,
    rows: np.ndarray,
    *,
    column: str,
    path: str | None,
    required: bool,
    max_count: float | None,
    target: bool = False,
) -> np.ndarray:
    """Parse a numeric column; ``max_count`` set means it holds counts (non-negative, bounded).

    ``required`` refuses empty cells; ``target`` (with ``required`` False) marks the column to
    forecast, whose empty cells are missing days: only the fix of an error mentions that.
    """
    if ptypes.is_bool_dtype(series.dtype) or ptypes.is_numeric_dtype(series.dtype):
        missing = series.isna().to_numpy()
        values = pd.to_numeric(series).astype("float64").to_numpy()
    else:
        missing = is_missing(series)
        values = np.where(missing, np.nan, per_unique(series, _text_to_float, np.nan))
        bad = ~missing & np.isnan(values)
        reject_rows(
            bad,
            "value '{value}' is not a number",
            rows,
            series,
            column=column,
            fix=_NUMBER_FIX,
            path=path,
        )
    if required and missing.any():
        raise rows_error(
            DataValueError,
            "value is empty",
            rows[missing],
            ["" for _ in range(int(missing.sum()))],
            column=column,
            fix="fill in the count, or remove the row (the gap policy handles missing days)",
            path=path,
        )
    with np.errstate(invalid="ignore"):
        infinite = ~missing & ~np.isfinite(values)
        reject_rows(
            infinite,
            "value '{value}' is not a finite number",
            rows,
            series,
            column=column,
            fix=(
                "replace it with the real count, or remove the row (gap policy 'fill' imputes "
                "the missing day)"
                if required or target
                else "replace it with the real value, or leave the cell empty"
            ),
            path=path,
        )
        if max_count is None:
            return values
        negative = values < 0
        reject_rows(
            negative,
            "negative count '{value}'",
            rows,
            series,
            column=column,
            fix="counts cannot be negative: correct the value or remove the row",
            path=path,
        )
        absurd = values > max_count
        reject_rows(
            absurd,
            f"count '{{value}}' is implausibly large (more than {max_count:,.0f} a day)",
            rows,
            series,
            column=column,
            fix="check the value (a typo, or a running total?); if it is real, raise max_count",
            path=path,
        )
    return values


def warn_fractional(
    values: np.ndarray,
    rows: np.ndarray,
    series: pd.Series,
    *,
    column: str,
    path: str | None,
) -> None:
    """Warn, naming the first row, when a count column holds values that are not whole numbers.

    Counts such as ``12.5`` are kept (typed frames and averaged counts are legitimate input),
    but they often betray a wrong column (averages, rates) or a decimal-mark mix-up, so the
    user hears about it by file, row and column.
    """
    with np.errstate(invalid="ignore"):
        fractional = np.isfinite(values) & (np.abs(values - np.round(values)) > 1e-9)
    if not fractional.any():
        return
    bad = np.flatnonzero(fractional)
    first = int(bad[0])
    shown = _show(series.iloc[first])
    others = f" ({_count(len(bad) - 1, 'more such row')})" if len(bad) > 1 else ""
    where = f"{path}, " if path else ""
    warn_at_caller(
        FractionalCountWarning,
        f"{where}row {int(rows[first])}, column '{column}': count '{shown}' is not a whole "
        f"number{others}; kept as given. Fix: if the column holds averages or rates, supply "
        "daily totals; if '.' separates thousands, re-export with plain digits",
        None,
    )


def _try_numbers(
    series: pd.Series, rows: np.ndarray, *, column: str, path: str | None
) -> np.ndarray | None:
    """Parse an unmapped column as numbers, or return ``None`` if it is not numeric or empty."""
    if ptypes.is_datetime64_any_dtype(series.dtype):
        return None
    if _is_text(series):
        missing = is_missing(series)
        if (~missing & np.isnan(per_unique(series, _text_to_float, np.nan))).any():
            return None
    values = parse_numbers(series, rows, column=column, path=path, required=False, max_count=None)
    return None if np.isnan(values).all() else values


def _parse_date_values(values: pd.Series) -> np.ndarray:
    """Parse distinct date values: ISO strings, or date/datetime objects (NaT otherwise)."""
    parsed = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    is_text = values.map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
    is_day = values.map(lambda value: isinstance(value, date | np.datetime64)).to_numpy(bool)
    text = values.where(is_text, "").astype(str).str.strip()
    iso = is_text & text.str.match(_ISO_DATE).to_numpy(dtype=bool)
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso], format="ISO8601", errors="coerce").to_numpy(
            dtype="datetime64[ns]"
        )
    if is_day.any():
        parsed[is_day] = pd.to_datetime(values[is_day], errors="coerce").to_numpy(
            dtype="datetime64[ns]"
        )
    return parsed


def _parse_dates(
    series: pd.Series,
    rows: np.ndarray,
    *,
    column: str,
    path: str | None,
    allow_time: bool = False,
) -> np.ndarray:
    """Parse ISO days (or midnight timestamps) into ``datetime64[ns]`` values.

    Args:
        series: The raw date column.
        rows: File row numbers aligned with ``series``.
        column: Column named in errors.
        path: File named in errors.
        allow_time: Keep times of day (the caller resamples to days); else a time of day is
            an error that suggests ``--resample daily``.
    """
    if ptypes.is_datetime64_any_dtype(series.dtype):
        stamps = series.reset_index(drop=True)
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):
            stamps = stamps.dt.tz_localize(None)
        missing = stamps.isna().to_numpy()
        bad = np.zeros(len(series), dtype=bool)
    else:
        missing = is_missing(series, frozenset({""}))
        parsed = per_unique(series, _parse_date_values, np.datetime64("NaT", "ns"))
        stamps = pd.Series(parsed)
        bad = ~missing & np.isnat(parsed)
    reject_rows(
        missing,
        "date is empty",
        rows,
        None,
        column=column,
        fix="fill in the date (YYYY-MM-DD) or remove the row",
        path=path,
    )
    reject_rows(
        bad,
        "date '{value}' is not an ISO date (YYYY-MM-DD)",
        rows,
        series,
        column=column,
        fix="write dates as YYYY-MM-DD, e.g. 2024-01-31 (re-save the file with ISO dates)",
        path=path,
    )
    values = stamps.astype("datetime64[ns]")
    if allow_time:
        return values.to_numpy()
    timed = (values != values.dt.normalize()).to_numpy()
    reject_rows(
        timed,
        "timestamp '{value}' has a time of day: the data looks hourly",
        rows,
        series,
        column=column,
        fix="aggregate to days: pass --resample daily (adds up each site's rows per day; "
        "means for temperature-like columns), or supply one row per site and day",
        path=path,
    )
    return values.to_numpy()


def _parse_sites(
    series: pd.Series, rows: np.ndarray, *, column: str, path: str | None
) -> np.ndarray:
    """Parse site identifiers as stripped strings; empty ids are an error."""
    missing = is_missing(series, frozenset({""}))
    reject_rows(
        missing,
        "site id is empty",
        rows,
        None,
        column=column,
        fix="fill in the site id or remove the row",
        path=path,
    )
    if ptypes.is_float_dtype(series.dtype) and bool((series % 1 == 0).all()):
        series = series.astype("int64")
    return per_unique(
        series, lambda values: values.astype(str).str.strip().to_numpy(dtype=object), ""
    )


def _parse_flags(
    series: pd.Series, rows: np.ndarray, *, column: str, path: str | None
) -> np.ndarray:
    """Parse an ``imputed`` column given in the input (True/False, 1/0, yes/no)."""
    if ptypes.is_bool_dtype(series.dtype):
        return series.fillna(False).to_numpy(dtype=bool)
    text = series.astype("string").str.strip().str.lower().fillna("")
    truthy = text.isin(_TRUE).to_numpy(dtype=bool)
    bad = ~truthy & ~text.isin(_FALSE).to_numpy(dtype=bool)
    reject_rows(
        bad,
        "flag '{value}' is not true or false",
        rows,
        series,
        column=column,
        fix="write True or False (or remove the column)",
        path=path,
    )
    return truthy


def _as_of_day(as_of: date | str | None) -> pd.Timestamp:
    """Return the as-of day as a midnight timestamp (default: today)."""
    if as_of is None:
        return pd.Timestamp(date.today())
    if isinstance(as_of, datetime):
        return pd.Timestamp(as_of.date())
    if isinstance(as_of, date):
        return pd.Timestamp(as_of)
    try:
        return pd.Timestamp(date.fromisoformat(str(as_of).strip()))
    except ValueError:
        raise DataValueError(
            f"as-of date '{_show(as_of)}' is not an ISO date",
            fix="pass --as-of YYYY-MM-DD",
        ) from None
