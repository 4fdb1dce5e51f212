"""Files people want to look at in a run: fan charts, coverage by horizon, feature importance."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.models.base import Forecaster

MAX_FAN_CHARTS = 12


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "site"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def fan_charts(
    history: pd.DataFrame, forecast: pd.DataFrame, out_dir: Path, max_sites: int = MAX_FAN_CHARTS
) -> list[Path]:
    """One PNG fan chart per site (the first ``max_sites`` sites), latest cutoff of one model.

    Args:
        history: The DemandFrame.
        forecast: Forecast frame of one model (a backtest adds the observed points).
        out_dir: Folder to write ``fan_<site>.png`` into.
        max_sites: Cap on the number of charts.

    Returns:
        The files written.
    """
    from forecasting.plot import fan_chart

    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for site in sorted(forecast[schema.SITE].astype(str).unique())[:max_sites]:
        fig: Any = fan_chart(history, forecast, site=site).figure
        path = out_dir / f"fan_{_safe(site)}.png"
        fig.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def coverage_plot(by_horizon: pd.DataFrame, path: Path) -> Path:
    """Empirical 80% and 90% interval coverage by horizon, one line per model.

    Args:
        by_horizon: Metric table with ``model``, ``horizon``, ``cov80``, ``cov90``.
        path: PNG file to write.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for (model, g), marker in zip(by_horizon.groupby("model", sort=True), "osd^vx*+", strict=False):
        g = g.sort_values("horizon")
        ax.plot(g["horizon"], g["cov80"], marker=marker, label=f"{model} 80%")
        ax.plot(g["horizon"], g["cov90"], marker=marker, ls=":", label=f"{model} 90%")
    ax.axhline(0.8, color="0.5", lw=1, ls="--")
    ax.axhline(0.9, color="0.5", lw=1, ls="--")
    ax.set_xlabel("horizon (days ahead)")
    ax.set_ylabel("share of days inside the interval")
    ax.set_title("Interval coverage by horizon (dashed: nominal)")
    ax.legend(fontsize=8, loc="lower left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def feature_importance(model: Forecaster) -> pd.DataFrame | None:
    """Gain importance of every LightGBM booster inside ``model`` (members included).

    Returns:
        Columns ``model``, ``feature``, ``gain``, ``share`` (of the model's total gain),
        or ``None`` if the model has no tree booster.
    """
    rows = []
    for label, est in _boosters(model):
        booster = est.booster_
        gains = booster.feature_importance(importance_type="gain")
        total = float(gains.sum()) or 1.0
        for feature, gain in zip(booster.feature_name(), gains, strict=True):
            rows.append({"model": label, "feature": feature, "gain": float(gain)})
            rows[-1]["share"] = float(gain) / total
    if not rows:
        return None
    return pd.DataFrame(rows).sort_values(["model", "gain"], ascending=[True, False])


def _boosters(model: Any, label: str | None = None) -> list[tuple[str, Any]]:
    label = label or str(getattr(model, "name", type(model).__name__))
    found = []
    est = getattr(model, "model_", None)
    if est is not None and hasattr(est, "booster_"):
        found.append((label, est))
    for member in getattr(model, "members_", []) or []:
        found += _boosters(member, f"{label}/{getattr(member, 'name', type(member).__name__)}")
    return found


def importance_plot(importance: pd.DataFrame, path: Path, top: int = 20) -> Path:
    """Horizontal bars of the ``top`` features by share of gain, per booster."""
    plt = _pyplot()
    groups = list(importance.groupby("model", sort=True))
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 0.3 * top + 1.5))
    for ax, (label, g) in zip(np.atleast_1d(axes).ravel(), groups, strict=True):
        g = g.nlargest(top, "share").iloc[::-1]
        ax.barh(g["feature"], g["share"], color="tab:blue")
        ax.set_title(f"{label}: feature importance (share of gain)", fontsize=9)
        ax.tick_params(labelsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path
