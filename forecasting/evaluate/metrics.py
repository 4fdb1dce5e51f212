"""Forecast metrics as plain functions of arrays, and of the forecast frame.

Point metrics take observed ``y`` and forecasts; probabilistic metrics take the quantile matrix
(one column per level in :data:`forecasting.forecast_frame.QUANTILES`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from forecasting.forecast_frame import QUANTILES

Array = npt.ArrayLike


def _f(x: Array) -> np.ndarray:
    return np.asarray(x, dtype=float)


def mae(y: Array, yhat: Array) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(_f(y) - _f(yhat))))


def rmse(y: Array, yhat: Array) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((_f(y) - _f(yhat)) ** 2)))


def mape(y: Array, yhat: Array) -> float:
    """Mean absolute percentage error in percent, over days with ``y > 0``."""
    y_, p = _f(y), _f(yhat)
    keep = y_ > 0
    return float(100 * np.mean(np.abs(y_[keep] - p[keep]) / y_[keep]))


def seasonal_naive_scale(history: Array, season: int = 7) -> float:
    """In-sample MAE of the seasonal naive forecast: the MASE denominator."""
    h = _f(history)
    h = h[~np.isnan(h)]
    if len(h) <= season:
        return float("nan")
    return float(np.mean(np.abs(h[season:] - h[:-season])))


def mase(y: Array, yhat: Array, scale: float) -> float:
    """Mean absolute scaled error: MAE over the in-sample seasonal naive MAE ``scale``."""
    return mae(y, yhat) / scale


def pinball(y: Array, quantiles: Array, levels: Sequence[float] = QUANTILES) -> float:
    """Mean pinball (quantile) loss over all rows and quantile levels.

    Args:
        y: Observed values, shape (n,).
        quantiles: Forecast quantiles, shape (n, len(levels)).
        levels: The quantile levels of the columns.
    """
    y_ = _f(y)[:, None]
    q = _f(quantiles)
    tau = np.asarray(levels, dtype=float)[None, :]
    diff = y_ - q
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def coverage(y: Array, lower: Array, upper: Array) -> float:
    """Share of observations inside ``[lower, upper]``."""
    y_ = _f(y)
    return float(np.mean((y_ >= _f(lower)) & (y_ <= _f(upper))))


def exceedance_probability(
    quantiles: Array, threshold: Array, levels: Sequence[float] = QUANTILES
) -> np.ndarray:
    """P(Y > threshold) from quantile forecasts.

    Inside the quantile range the CDF is interpolated linearly between quantiles; beyond it an
    exponential tail is fitted to the two outermost quantiles on that side, so probabilities
    keep falling smoothly instead of stopping at 0.05 or 0.95.

    Args:
        quantiles: Shape (n, k), non-decreasing along each row.
        threshold: Scalar or shape (n,).
        levels: The k quantile levels, increasing.

    Returns:
        Probabilities, shape (n,).
    """
    q = np.atleast_2d(_f(quantiles))
    n = q.shape[0]
    t = np.broadcast_to(_f(threshold), (n,))
    tau = np.asarray(levels, dtype=float)
    eps = 1e-9
    out = np.empty(n)
    above = t >= q[:, -1]
    below = t < q[:, 0]
    inside = ~above & ~below
    # upper tail: exponential fitted to the two highest quantiles
    scale_hi = np.maximum(q[:, -1] - q[:, -2], eps) / np.log((1 - tau[-2]) / (1 - tau[-1]))
    out[above] = (1 - tau[-1]) * np.exp(-(t[above] - q[above, -1]) / scale_hi[above])
    scale_lo = np.maximum(q[:, 1] - q[:, 0], eps) / np.log(tau[1] / tau[0])
    out[below] = 1 - tau[0] * np.exp(-(q[below, 0] - t[below]) / scale_lo[below])
    if inside.any():
        qi, ti = q[inside], t[inside]
        # the largest level whose quantile is <= t, so flat stretches resolve upward
        j = np.clip((qi <= ti[:, None]).sum(axis=1) - 1, 0, len(tau) - 2)
        rows = np.arange(len(ti))
        lo, hi = qi[rows, j], qi[rows, j + 1]
        width = hi - lo
        frac = np.where(width < eps, 0.0, (ti - lo) / np.where(width < eps, 1.0, width))
        out[inside] = 1 - (tau[j] + frac * (tau[j + 1] - tau[j]))
    return out


def brier(p: Array, outcome: Array) -> float:
    """Brier score of probabilities ``p`` for binary outcomes."""
    return float(np.mean((_f(p) - _f(outcome)) ** 2))


def brier_skill(p: Array, outcome: Array, reference: float = 0.1) -> float:
    """Brier skill score against a constant reference probability (default 0.1)."""
    ref = brier(np.full(np.shape(_f(outcome)), reference), outcome)
    return 1.0 - brier(p, outcome) / ref


def alert_scores(p: Array, outcome: Array, cutoff: float = 0.5) -> dict[str, float]:
    """Precision, recall and F1 of alerts raised when ``p >= cutoff``.

    Returns:
        ``precision``, ``recall``, ``f1``, ``alerts`` and ``false_alarms`` (counts as floats).
        Undefined ratios (no alerts, or no events) are NaN.
    """
    alert = _f(p) >= cutoff
    event = _f(outcome) > 0.5
    tp = float(np.sum(alert & event))
    fp = float(np.sum(alert & ~event))
    fn = float(np.sum(~alert & event))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    if tp + fn == 0:
        f1 = float("nan")  # no events: F1 undefined
    elif tp == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "alerts": tp + fp,
        "false_alarms": fp,
    }


def false_alarms_per_30_days(p: Array, outcome: Array, n_days: float, cutoff: float = 0.5) -> float:
    """False alarms per 30 days of one series: false alerts over ``n_days`` distinct days."""
    return alert_scores(p, outcome, cutoff)["false_alarms"] * 30.0 / n_days
