"""The replay as a picture: what happened, the surge line, and which surges were warned."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecasting.data import schema

MAX_SITES = 8


def _alerts(rows: pd.DataFrame, level: int) -> pd.DataFrame:
    """Per target day: observed y, its surge line, whether any warning reached ``level``."""
    days = rows.dropna(subset=["y"]).sort_values("issued")
    return days.groupby(schema.DATE, sort=True).agg(
        y=("y", "last"),
        line=("surge_line", "last"),
        warned=("level", lambda s: bool((s >= level).any())),
    )


def plot_replay(replay: pd.DataFrame, path: str | Path, model: str, level: int = 3) -> Path:
    """Draw each site's replay (up to 8 sites) into one PNG.

    Green dots are surge days warned at ``level`` or above, red dots surges missed, orange
    crosses warned days without a surge (false alarms).

    Args:
        replay: Replay rows (:data:`forecasting.replay.REPLAY_COLUMNS`).
        path: PNG to write (atomically).
        model: The model whose warnings are drawn.
        level: Warnings at this level or above are alerts.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from forecasting.io import atomic_path

    rows = replay[replay["model"] == model]
    sites = sorted(rows[schema.SITE].astype(str).unique())[:MAX_SITES]
    fig, axes = plt.subplots(len(sites), 1, figsize=(11, 2.6 * len(sites)), squeeze=False)
    for ax, site in zip(axes[:, 0], sites, strict=True):
        a = _alerts(rows[rows[schema.SITE].astype(str) == site], level)
        surge = a["y"] > a["line"]
        ax.plot(a.index, a["y"], color="0.35", lw=0.9, label="attendances")
        ax.step(
            a.index, a["line"], where="mid", color="tab:red", lw=0.8, ls="--", label="surge line"
        )
        hit, miss, false = a[surge & a["warned"]], a[surge & ~a["warned"]], a[~surge & a["warned"]]
        ax.plot(hit.index, hit["y"], "o", color="tab:green", ms=5, label="surge warned")
        ax.plot(miss.index, miss["y"], "o", color="tab:red", ms=5, label="surge missed")
        ax.plot(false.index, false["y"], "x", color="tab:orange", ms=5, label="false alarm")
        ax.set_title(
            f"{site}: level ≥ {level} warnings of {model}, replayed day by day", fontsize=10
        )
        ax.set_ylabel("attendances")
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=5)
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return target
