"""Reliability of surge probabilities: forecast probability against the observed rate."""

from __future__ import annotations

import numpy as np
import pandas as pd


def reliability(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability table: per probability bin, cases, mean forecast and observed rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "outcome": outcome.astype(float)})
    table = frame.groupby("bin").agg(
        cases=("p", "size"), mean_p=("p", "mean"), rate=("outcome", "mean")
    )
    table["low"] = edges[table.index]
    table["high"] = edges[table.index + 1]
    return table.reset_index(drop=True)[["low", "high", "cases", "mean_p", "rate"]]
