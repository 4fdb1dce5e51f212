"""Held-out calibration shared by the tree models: the split and per-horizon error statistics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def calibration_split(meta: pd.DataFrame, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the calibration rows (last ``days`` cutoffs) and of the rows to fit on.

    The fit rows have targets on or before the first calibration cutoff, so the calibration
    model never sees a day it is scored on.

    Args:
        meta: Meta columns of the design rows (``cutoff``, ``date``).
        days: Length of the calibration window in days of cutoffs.

    Returns:
        ``(train, cal)`` boolean masks.
    """
    last = meta["cutoff"].max()
    cal = (meta["cutoff"] > last - pd.Timedelta(days=days)).to_numpy()
    first_cal = meta.loc[cal, "cutoff"].min()
    train = (meta["date"] <= first_cal).to_numpy()
    return train, cal


def per_horizon(
    errors: np.ndarray,
    horizons: np.ndarray,
    max_horizon: int,
    stat: Callable[[np.ndarray], np.ndarray | float],
) -> np.ndarray:
    """``stat`` of the errors of each horizon 1..max_horizon (all errors where one is missing)."""
    rows = []
    for k in range(1, max_horizon + 1):
        e = errors[horizons == k] if np.any(horizons == k) else errors
        rows.append(stat(e))
    return np.asarray(rows, dtype=float)
