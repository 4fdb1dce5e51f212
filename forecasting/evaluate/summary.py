"""Metric tables over a backtest frame: overall, per horizon, per site, and surge skill."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.evaluate import metrics as m
from forecasting.forecast_frame import QUANTILE_COLUMNS


def surge_thresholds(
    history: pd.DataFrame, first_cutoff: pd.Timestamp, quantile: float = 0.9, days: int = 365
) -> pd.Series:
    """Per-site surge threshold: the ``quantile`` of the ``days`` days up to ``first_cutoff``."""
    h = history[
        (history[schema.DATE] <= first_cutoff)
        & (history[schema.DATE] > first_cutoff - pd.Timedelta(days=days))
    ]
    return h.groupby(schema.SITE, observed=True)[schema.TARGET].quantile(quantile)


def mase_scales(history: pd.DataFrame, first_cutoff: pd.Timestamp, season: int = 7) -> pd.Series:
    """Per-site in-sample seasonal naive MAE over the history before ``first_cutoff``."""
    h = history[history[schema.DATE] <= first_cutoff].sort_values([schema.SITE, schema.DATE])
    return h.groupby(schema.SITE, observed=True)[schema.TARGET].apply(
        lambda s: m.seasonal_naive_scale(s.to_numpy(), season)
    )


def add_surge_columns(
    bt: pd.DataFrame, history: pd.DataFrame, quantile: float = 0.9, days: int = 365
) -> pd.DataFrame:
    """Add ``threshold``, ``p_surge`` (P(Y > threshold)) and ``surge`` (observed) columns."""
    thr = surge_thresholds(history, bt["cutoff"].min(), quantile, days)
    out = bt.copy()
    out["threshold"] = out[schema.SITE].map(thr).astype(float)
    q = out[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    out["p_surge"] = m.exceedance_probability(q, out["threshold"].to_numpy())
    out["surge"] = (out["y"] > out["threshold"]).astype(int)
    return out


def _scores(g: pd.DataFrame, scale: pd.Series, alert_cutoff: float) -> dict[str, float]:
    y, mean = g["y"].to_numpy(), g["mean"].to_numpy()
    q = g[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    site_scale = g[schema.SITE].map(scale).to_numpy(dtype=float)
    # a site constant in its history (all zero, say) has no naive error to scale by: left out
    usable = np.isfinite(site_scale) & (site_scale > 0)
    scaled_err = np.abs(y - mean)[usable] / site_scale[usable]
    alerts = m.alert_scores(g["p_surge"], g["surge"], alert_cutoff)
    return {
        "MAE": m.mae(y, mean),
        "RMSE": m.rmse(y, mean),
        "MAPE": m.mape(y, mean),
        "MASE": float(np.mean(scaled_err)) if scaled_err.size else float("nan"),
        "pinball": m.pinball(y, q),
        "cov80": m.coverage(y, g["q0.1"], g["q0.9"]),
        "cov90": m.coverage(y, g["q0.05"], g["q0.95"]),
        "brier": m.brier(g["p_surge"], g["surge"]),
        "brier_skill": m.brier_skill(g["p_surge"], g["surge"]),
        "precision": alerts["precision"],
        "recall": alerts["recall"],
        "F1": alerts["f1"],
        # per 30 forecast days: rows, so overlapping windows (step < horizon) are not inflated
        "false_alarms_30d": alerts["false_alarms"] * 30.0 / max(len(g), 1),
    }


def evaluate(
    bt: pd.DataFrame,
    history: pd.DataFrame,
    by: Sequence[str] = ("model",),
    alert_cutoff: float = 0.5,
    surge_quantile: float = 0.9,
) -> pd.DataFrame:
    """Metric table of a backtest frame, one row per group in ``by``.

    Args:
        bt: Backtest frame (forecast frame with ``y``).
        history: The DemandFrame the backtest ran on (for MASE scales and surge thresholds).
        by: Grouping columns, e.g. ``("model",)`` or ``("model", "horizon")``.
        alert_cutoff: Probability at which a surge alert is raised.
        surge_quantile: Quantile of the last year that defines a surge day.

    Returns:
        MAE, RMSE, MAPE, MASE (over the sites whose history is not constant), pinball,
        80%/90% coverage, surge Brier and its skill against a
        constant 0.1, precision/recall/F1 of alerts and false alarms per 30 forecast days.
    """
    scored = add_surge_columns(bt.dropna(subset=["y"]), history, surge_quantile)
    scale = mase_scales(history, bt["cutoff"].min())
    rows = []
    for key, g in scored.groupby(list(by), sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, keys, strict=True)), **_scores(g, scale, alert_cutoff)})
    return pd.DataFrame(rows)
