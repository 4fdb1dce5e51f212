"""Warnings as JSON-ready records and as a flat, CSV-ready table."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

DATE_COLUMNS = ("as_of", "date")
INT_COLUMNS = (
    "horizon",
    "level",
    "electives_planned",
    "electives_deferrable",
    "electives_to_review",
)
DEFAULT_DIGITS = 1
#: Shares keep 3 decimals: probabilities, occupancy and the day's usual share so far
SHARE_DIGITS = 3
_SHARE_PREFIXES = ("p_", "occupancy", "own_normal", "usual_share")
NESTED = "p_nested"  # values inside a dict column (parameters) are shares or small rates
REASON_SEPARATOR = "; "


def _plain(column: str, value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, dict):  # e.g. parameters: name -> {value, band, points}
        return {str(k): _plain(NESTED, v) for k, v in value.items()}
    if column in INT_COLUMNS:
        return None if value is None or math.isnan(float(value)) else round(float(value))
    if isinstance(value, bool | str) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        digits = SHARE_DIGITS if column.startswith(_SHARE_PREFIXES) else DEFAULT_DIGITS
        return round(value, digits)
    return value


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Warnings as a list of plain dicts: ISO dates, Python numbers, ``reasons`` a list.

    Probabilities and occupancy keep 3 decimals, counts 1; ``json.dumps`` takes the result.
    """
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): _plain(str(k), v) for k, v in row.items()})
    return out


def to_flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Warnings as a flat table for CSV: ISO dates, reasons joined with ``"; "``."""
    records = to_records(frame)
    flat = pd.DataFrame(records, columns=list(frame.columns))
    if "reasons" in flat:
        flat["reasons"] = [REASON_SEPARATOR.join(r) for r in flat["reasons"]]
    for col in flat.columns:
        if flat[col].map(lambda v: isinstance(v, dict)).any():
            flat[col] = [json.dumps(v) if isinstance(v, dict) else v for v in flat[col]]
    return flat
