"""Parse the cells of one episode column: numbers, age bands, sex, admission type, labels.

Each parser takes the raw column (text as read from a file, or typed) and the 1-based data row
numbers, and raises :class:`~forecasting.errors.DataValueError` naming the first bad row. Id
values are never quoted in messages (they may identify a patient); other values are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from forecasting.data.messages import reject_rows
from forecasting.data.parse import MISSING_TOKENS, is_missing, parse_numbers, per_unique
from forecasting.errors import DataValueError

#: Cell texts read as "no value" in episode files (adds UCI's "?" to the package's tokens).
EPISODE_MISSING = MISSING_TOKENS | {"?", "unknown/invalid", "not available", "not mapped"}
_AGE_BAND = re.compile(r"^\s*[\[(]?\s*(\d+(?:\.\d+)?)\s*[-–,]\s*(\d+(?:\.\d+)?)\s*[\])]?\s*$")
_AGE_PLUS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*\+\s*$")
MAX_AGE = 120.0


def missing_mask(series: pd.Series) -> np.ndarray:
    """Return the cells holding no value (NaN, empty, or a token of :data:`EPISODE_MISSING`)."""
    return is_missing(series, EPISODE_MISSING)


def as_text(series: pd.Series) -> pd.Series:
    """Return stripped text values, ``None`` where missing (numbers written without ``.0``)."""
    missing = missing_mask(series)

    def render(values: pd.Series) -> np.ndarray:
        out = []
        for value in values:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out.append(str(value).strip())
        return np.asarray(out, dtype=object)

    text = per_unique(series, render, "").astype(object)
    text[missing] = None
    return pd.Series(text, index=series.index, dtype=object)


def map_unique(series: pd.Series, func: Callable[[Any], Any]) -> np.ndarray:
    """Apply ``func`` once per distinct value (``None`` for missing cells), as objects."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[: len(uniques)] = [func(value) for value in uniques]
    mapped[-1] = None
    return mapped[codes]


def to_float(value: object) -> float:
    """Return a cell as a float (NaN if it is not a number)."""
    try:
        return float(str(value).strip()) if not isinstance(value, float | int) else float(value)
    except ValueError:
        return np.nan


def blank_to_none(series: pd.Series, missing: np.ndarray) -> pd.Series:
    """Return the column as objects with ``None`` in the ``missing`` cells."""
    values = series.to_numpy(dtype=object).copy()
    values[missing] = None
    return pd.Series(values, index=series.index, dtype=object)


def parse_ids(
    series: pd.Series, rows: np.ndarray, *, column: str, path: str | None, unique: bool
) -> np.ndarray:
    """Parse an id column as text: no empty cell and, if ``unique``, no repeated id."""
    text = as_text(series)
    empty = text.isna().to_numpy()
    reject_rows(
        empty,
        "id is empty",
        rows,
        None,
        column=column,
        fix="fill in the id or remove the row",
        path=path,
    )
    values = text.to_numpy(dtype=object)
    if unique:
        repeated = pd.Series(values).duplicated(keep="first").to_numpy()
        reject_rows(
            repeated,
            "episode id repeats an earlier row's id",
            rows,
            None,
            column=column,
            fix="give each discharge its own id (one row per discharge), or drop duplicates",
            path=path,
        )
    return values


def parse_count(
    series: pd.Series, rows: np.ndarray, *, column: str, path: str | None, max_count: float
) -> np.ndarray:
    """Parse a non-negative count or duration (missing: NaN)."""
    clean = series.where(~missing_mask(series), "") if series.dtype == object else series
    return parse_numbers(clean, rows, column=column, path=path, required=False, max_count=max_count)


def _age_values(values: pd.Series) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        text = str(value)
        band, plus = _AGE_BAND.match(text), _AGE_PLUS.match(text)
        if band:
            out[i] = (float(band.group(1)) + float(band.group(2))) / 2.0
        elif plus:
            out[i] = float(plus.group(1)) + 5.0
        else:
            out[i] = pd.to_numeric(text.strip(), errors="coerce")
    return out


def parse_age(series: pd.Series, rows: np.ndarray, *, column: str, path: str | None) -> np.ndarray:
    """Parse ages in years, or age bands (``[70-80)``: 75; ``90+``: 95)."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        ages = pd.to_numeric(series).astype(float).to_numpy()
    else:
        missing = missing_mask(series)
        ages = np.where(missing, np.nan, per_unique(series, _age_values, np.nan))
        bad = ~missing & np.isnan(ages)
        reject_rows(
            bad,
            "age '{value}' is not a number or an age band",
            rows,
            series,
            column=column,
            path=path,
            fix="write ages in years (e.g. 74) or bands like [70-80)",
        )
    wrong = (ages < 0) | (ages > MAX_AGE)
    reject_rows(
        wrong,
        f"age '{{value}}' is outside 0-{MAX_AGE:.0f} years",
        rows,
        series,
        column=column,
        path=path,
        fix="check the value: ages are in years (not months or a birth year)",
    )
    return ages


def parse_sex(series: pd.Series) -> np.ndarray:
    """Return ``"F"``, ``"M"``, ``"other"``, or ``None`` for missing."""
    text = as_text(series)

    def one(value: object) -> str | None:
        if value is None:
            return None
        low = str(value).lower()
        if low in {"f", "female", "woman", "w", "2"}:
            return "F"
        if low in {"m", "male", "man", "1"}:
            return "M"
        return "other"

    return map_unique(text, one)


def parse_emergency(series: pd.Series, extra: tuple[str, ...] = ()) -> np.ndarray:
    """Return 1.0 for emergency (non-elective) admissions, 0.0 for elective, NaN if unknown.

    Words (see :data:`~forecasting.readmission.columns.EMERGENCY_VALUES`) match anywhere in the
    cell; numeric codes are read with the UCI code book; ``extra`` adds emergency values.
    """
    from forecasting.readmission.columns import (
        ELECTIVE_VALUES,
        EMERGENCY_CODES,
        EMERGENCY_VALUES,
    )

    text = as_text(series)
    emergency = {v.lower() for v in extra}

    def one(value: object) -> float:
        if value is None:
            return np.nan
        low = str(value).lower()
        if low in emergency or low in EMERGENCY_CODES:
            return 1.0
        if low.startswith("non") and "elective" in low:
            return 1.0
        if low in ELECTIVE_VALUES or "elective" in low:
            return 0.0
        if any(word in low for word in EMERGENCY_VALUES):
            return 1.0
        return np.nan

    return np.asarray(map_unique(text, one), dtype=float)


def excluded_destination(series: pd.Series, extra: tuple[str, ...] = ()) -> np.ndarray:
    """Flag discharges to death or hospice (words, UCI codes, or ``extra`` values)."""
    from forecasting.readmission.columns import (
        EXCLUDED_DESTINATION_CODES,
        EXCLUDED_DESTINATION_WORDS,
    )

    text = as_text(series)
    listed = {v.lower() for v in extra}
    codes = set(EXCLUDED_DESTINATION_CODES)

    def one(value: object) -> bool:
        if value is None:
            return False
        low = str(value).lower()
        if low in listed or low in codes:
            return True
        return any(word in low for word in EXCLUDED_DESTINATION_WORDS)

    return np.asarray(map_unique(text, one), dtype=object) == True  # noqa: E712


def parse_label(
    series: pd.Series, rows: np.ndarray, *, column: str, positive: str, path: str | None
) -> np.ndarray:
    """Return 1.0 where the label is ``positive`` (as text or number), 0.0 elsewhere, NaN if empty.

    Raises:
        DataValueError: No row has the positive value (the message lists the values seen).
    """
    text = as_text(series)
    missing = text.isna().to_numpy()
    target = positive.strip()
    number = pd.to_numeric(pd.Series([target]), errors="coerce").iloc[0]
    values = text.fillna("")
    hit = (values == target).to_numpy()
    if not np.isnan(number):
        hit |= (pd.to_numeric(values, errors="coerce") == number).to_numpy()
    if (~missing).any() and not hit.any():
        seen = ", ".join(repr(v) for v in sorted(set(values[~missing]))[:6])
        raise DataValueError(
            f"no row has the positive label value {target!r} (values: {seen})",
            path=path,
            column=column,
            fix="pass the value meaning 'readmitted within 30 days' with --positive",
        )
    return np.where(missing, np.nan, hit.astype(float))
