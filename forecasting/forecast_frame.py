"""The forecast frame contract: columns, quantile levels and checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
QUANTILE_COLUMNS: tuple[str, ...] = tuple(f"q{q:g}" for q in QUANTILES)
KEY_COLUMNS: tuple[str, ...] = ("site_id", "cutoff", "date", "horizon", "model")
FORECAST_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "mean", *QUANTILE_COLUMNS)


def sort_quantiles(frame: pd.DataFrame) -> pd.DataFrame:
    """Make quantile columns monotone by sorting each row's values (fixes crossing).

    Returns:
        A copy of ``frame`` with monotone quantiles.
    """
    out = frame.copy()
    cols = list(QUANTILE_COLUMNS)
    out[cols] = np.sort(out[cols].to_numpy(dtype=float), axis=1)
    return out


def is_monotone(frame: pd.DataFrame) -> bool:
    """Whether every row's quantiles are non-decreasing."""
    values = frame[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    return bool(np.all(np.diff(values, axis=1) >= -1e-9))
