"""The replay as a picture: what happened, the surge line, and which surges were warned."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecasting.data import schema

MAX_SITES = 8
MIN_BIN_CASES = 30


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

    from forecasting.plot import save_png

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
    return save_png(fig, path)


def plot_reliability(replay: pd.DataFrame, path: str | Path, model: str) -> Path:
    """Reliability diagram of P(surge), raw and recalibrated, for both kinds of surge.

    Points are drawn for bins with at least 30 cases, sized by their count; the shaded band is
    the diagonal ± 0.05.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from forecasting.plot import save_png
    from forecasting.replay.reliability import reliability
    from forecasting.replay.score import KINDS, surge_outcomes

    rows = replay[replay["model"] == model]
    fig, axes = plt.subplots(1, len(KINDS), figsize=(10, 4.4), squeeze=False)
    for ax, kind in zip(axes[0], KINDS, strict=True):
        scored = surge_outcomes(rows, kind)
        outcome = scored["surge"].to_numpy(dtype=float)
        ax.fill_between([0, 1], [-0.05, 0.95], [0.05, 1.05], color="0.9", label="± 0.05")
        ax.plot([0, 1], [0, 1], color="0.5", lw=0.8)
        for column, label, colour in (
            (f"p_{kind}_raw", "raw", "tab:blue"),
            (f"p_{kind}", "recalibrated", "tab:green"),
        ):
            table = reliability(scored[column].to_numpy(dtype=float), outcome)
            table = table[table["cases"] >= MIN_BIN_CASES]
            ax.plot(table["mean_p"], table["rate"], "-o", color=colour, label=label, ms=4)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{kind} surges: forecast P vs observed rate", fontsize=10)
        ax.set_xlabel("forecast probability (bin mean)")
        ax.set_ylabel("observed surge rate")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Reliability of {model}'s surge probabilities (bins with ≥ 30 cases)")
    fig.tight_layout()
    return save_png(fig, path)
