"""A fingerprint of the data a run saw: a content hash and a few counts, never rows."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype


def frame_fingerprint(
    frame: pd.DataFrame, date_column: str | None = "date", site_column: str | None = "site_id"
) -> dict[str, str | int]:
    """Identify a data set without revealing it.

    The hash covers every value (columns in name order, rows in a canonical order), so the
    same data gives the same hash whatever the row or column order of the file. Only
    aggregates leave this function: no identifiers, no rows.

    Args:
        frame: The data (a DemandFrame, an episodes table, …).
        date_column: Column whose first and last day are reported (skipped if absent).
        site_column: Column whose distinct values are counted (skipped if absent).

    Returns:
        ``sha256``, ``n_rows``, ``n_columns`` and, when the columns exist, ``start``, ``end``
        (ISO days) and ``n_sites``.
    """
    canon = frame.set_axis([str(c) for c in frame.columns], axis=1)
    cols = sorted(canon.columns)
    canon = canon[cols].copy()
    for col in cols:
        if is_numeric_dtype(canon[col]):
            canon[col] = canon[col].astype("float64")  # 100 and 100.0 are the same data
        elif not is_datetime64_any_dtype(canon[col]):
            canon[col] = canon[col].astype(str)  # mixed objects, categories: compare as text
    canon = canon.sort_values(cols, kind="mergesort", na_position="first")
    digest = hashlib.sha256(",".join(cols).encode())
    for col in cols:
        hashed = pd.util.hash_pandas_object(canon[col], index=False).to_numpy(dtype=np.uint64)
        digest.update(hashed.tobytes())
    out: dict[str, str | int] = {
        "sha256": digest.hexdigest(),
        "n_rows": len(frame),
        "n_columns": len(cols),
    }
    if date_column and date_column in frame and len(frame):
        dates = pd.to_datetime(frame[date_column])
        out["start"] = f"{dates.min():%Y-%m-%d}"
        out["end"] = f"{dates.max():%Y-%m-%d}"
    if site_column and site_column in frame:
        out["n_sites"] = int(frame[site_column].nunique())
    return out
