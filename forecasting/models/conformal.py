"""Held-out calibration shared by the tree models: the split and per-horizon error statistics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def calibration_split(meta: pd.DataFrame, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the calibration rows (last ``days`` cutoffs) and of the rows to fit on.

    The fit rows have targets on or before the first calibration cutoff, so the calibration
    model never sees a day it is scored on. When that leaves nothing to fit on (a history
    shorter than the window, say the first weeks of a winter segment), the calibration
    window shrinks to the later half of the cutoffs (in-sample if even that leaves nothing).

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
    if train.any() or len(meta) == 0:
        return train, cal
    first = meta["cutoff"].min()
    half = max((last - first).days // 2, 1)
    if half >= days:
        return cal, cal
    return calibration_split(meta, half)


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
