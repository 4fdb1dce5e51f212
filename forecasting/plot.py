"""Plots people would rather look at than read: the forecast fan chart."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecasting.data import schema

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def save_png(fig: Figure, path: str | Path, dpi: int = 90) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically, close it and return the path."""
    import matplotlib.pyplot as plt

    from forecasting.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return target


def fan_chart(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    site: str,
    days: int = 56,
    threshold: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot a site's recent history and its forecast with 50/80/90% bands.

    Args:
        history: DemandFrame with the observed days.
        forecast: Forecast frame (one model; the latest cutoff of the site is drawn).
        site: Site to draw.
        days: Days of history before the cutoff to show.
        threshold: Optional surge threshold, drawn as a dashed line.
        ax: Axes to draw on (a new figure if ``None``).

    Returns:
        The axes.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4))
    f = forecast[forecast[schema.SITE].astype(str) == str(site)]
    f = f[f["cutoff"] == f["cutoff"].max()].sort_values(schema.DATE)
    h = history[history[schema.SITE].astype(str) == str(site)]
    h = h[h[schema.DATE] > pd.Timestamp(f["cutoff"].iloc[0]) - pd.Timedelta(days=days)]
    ax.plot(h[schema.DATE], h[schema.TARGET], color="0.3", lw=1.2, label="observed")
    style: dict[str, Any] = {"color": "tab:blue", "lw": 0}
    for lo, hi, alpha in (
        ("q0.05", "q0.95", 0.15),
        ("q0.1", "q0.9", 0.25),
        ("q0.25", "q0.75", 0.4),
    ):
        ax.fill_between(f[schema.DATE], f[lo], f[hi], alpha=alpha, **style)
    ax.plot(f[schema.DATE], f["mean"], color="tab:blue", lw=1.8, label="forecast (mean)")
    if "y" in f:
        ax.plot(f[schema.DATE], f["y"], "o", color="black", ms=3, label="actual")
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", ls="--", lw=1, label="surge threshold")
    ax.set_title(f"{site}: attendances, forecast with 50/80/90% intervals")
    ax.set_ylabel("attendances per day")
    ax.legend(loc="upper left", fontsize=8)
    ax.figure.autofmt_xdate()
    return ax
