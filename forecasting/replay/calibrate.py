"""Recalibrated surge probabilities, learned only from outcomes known before each issue day.

Exceedance probabilities read off forecast quantiles are poorly calibrated in the tails. Here a
logistic regression of the observed surge on ``logit(p)`` and the horizon is refitted every
``refit_days`` issue days on the rows whose target day was already observed (pooled over
sites), and applied to the next days' raw probabilities. Until ``min_surges`` surges are known
the raw probability is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data import schema

EPS = 1e-3


def _design(p: np.ndarray, horizon: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.column_stack([np.log(q / (1 - q)), horizon])


def online_calibration(
    rows: pd.DataFrame,
    kind: str,
    refit_days: int = 7,
    min_surges: int = 15,
) -> np.ndarray:
    """Recalibrated ``p_<kind>`` of every row, each from earlier outcomes only.

    Args:
        rows: Replay rows of one model (``issued``, ``date``, ``horizon``, ``y``, the kind's
            line and probability).
        kind: ``capacity`` or ``weekday``.
        refit_days: Refit the calibration every this many issue days.
        min_surges: Surges (and non-surges) needed before recalibrating.

    Returns:
        Probabilities aligned with ``rows``.
    """
    from sklearn.linear_model import LogisticRegression

    p = rows[f"p_{kind}"].to_numpy(dtype=float)
    out = p.copy()
    y = rows["y"].to_numpy(dtype=float)
    observed = np.isfinite(y)
    surge = np.where(observed, y > rows[f"{kind}_line"].to_numpy(dtype=float), False)
    x = _design(p, rows["horizon"].to_numpy(dtype=float))
    issued = pd.to_datetime(rows["issued"]).to_numpy()
    dates = pd.to_datetime(rows[schema.DATE]).to_numpy()
    days = np.unique(issued)
    for start in range(0, len(days), refit_days):
        first, last = days[start], days[min(start + refit_days, len(days)) - 1]
        block = (issued >= first) & (issued <= last)
        known = observed & (dates <= first)
        positives = int(surge[known].sum())
        if positives < min_surges or int(known.sum()) - positives < min_surges:
            continue
        model = LogisticRegression(C=1.0).fit(x[known], surge[known])
        out[block] = model.predict_proba(x[block])[:, 1]
    return out


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
