"""Champion against challenger on the same backtest: tables, the rule, the summary, a chart.

Pure functions of backtest frames (no MLflow): :mod:`forecasting.tracking.review` fetches the
frames and logs what these functions return.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.forecast_frame import QUANTILE_COLUMNS

CHAMPION = "champion"
CHALLENGER = "challenger"
BRIER = "brier"
KEYS = (schema.SITE, "cutoff", schema.DATE, "horizon")
MAX_REASONS = 6
MAX_SITES_CHARTED = 40
DECIMALS = 3  # the precision of the logged backtest.csv


def compare_backtests(
    champion_bt: pd.DataFrame,
    challenger_bt: pd.DataFrame,
    frame: pd.DataFrame,
    metric: str,
) -> pd.DataFrame:
    """Champion and challenger scored on the same rows: overall, per horizon, per site.

    Both backtests are cut to the rows (site, cutoff, day, horizon) they share, so that each
    metric is computed on exactly the same observations.

    Args:
        champion_bt: The champion's backtest frame (one model).
        challenger_bt: The challenger's backtest frame (one model).
        frame: The DemandFrame both were scored on (surge lines and MASE scales).
        metric: The promotion metric (lower is better).

    Returns:
        One row per ``scope`` (``overall``, ``horizon``, ``site``) and ``key`` (``all``, the
        horizon, the site id) with ``n`` and, for ``metric``, ``brier`` and ``MAE``,
        ``<m>_champion``, ``<m>_challenger`` and ``<m>_change`` (relative, challenger vs
        champion).
    """
    from forecasting.evaluate.summary import evaluate

    a = _keyed(champion_bt, CHAMPION)
    b = _keyed(challenger_bt, CHALLENGER)
    shared = a[list(KEYS)].merge(b[list(KEYS)], on=list(KEYS), how="inner")
    both = pd.concat(
        [a.merge(shared, on=list(KEYS)), b.merge(shared, on=list(KEYS))], ignore_index=True
    )
    metrics = list(dict.fromkeys([metric, BRIER, "MAE"]))
    parts = []
    for scope, by in (("overall", ()), ("horizon", ("horizon",)), ("site", (schema.SITE,))):
        table = evaluate(both, frame, by=("model", *by))
        table["key"] = "all" if not by else table[by[0]].astype(str)
        rows = both[both["model"] == CHALLENGER]
        counts = rows[by[0]].astype(str).value_counts() if by else pd.Series({"all": len(rows)})
        wide = table.pivot(index="key", columns="model", values=metrics)
        out = pd.DataFrame({"scope": scope, "key": wide.index.astype(str)})
        out["n"] = [int(counts.get(str(k), 0)) for k in wide.index]
        for m in metrics:
            champ = wide[(m, CHAMPION)].to_numpy(dtype=float)
            chall = wide[(m, CHALLENGER)].to_numpy(dtype=float)
            out[f"{m}_champion"] = champ
            out[f"{m}_challenger"] = chall
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"{m}_change"] = np.where(champ != 0, chall / champ - 1.0, np.nan)
        if scope == "horizon":
            out = out.sort_values("key", key=lambda s: s.astype(int))
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def judge(table: pd.DataFrame, metric: str, tolerance: float, brier_tolerance: float) -> list[str]:
    """Why the challenger must not be promoted; an empty list if it may be.

    The rule: overall, the challenger's ``metric`` must be lower than the champion's; at no
    horizon and no site may it be worse by more than ``tolerance`` (relative, 0.05 = 5%);
    and its surge Brier score may exceed the champion's by at most ``brier_tolerance``
    (absolute) overall and at every horizon (per site, surge days are too few to judge).
    """
    reasons: list[str] = []
    overall = table[table["scope"] == "overall"].iloc[0]
    old, new = float(overall[f"{metric}_champion"]), float(overall[f"{metric}_challenger"])
    if not new < old:
        reasons.append(f"overall {metric} {new:.4g} does not beat the champion's {old:.4g}")
    detail = table[table["scope"].isin(["horizon", "site"])]
    limit = detail[f"{metric}_champion"] * (1.0 + tolerance)
    for _, row in detail[detail[f"{metric}_challenger"] > limit].iterrows():
        reasons.append(
            f"{_where(row)}: {metric} {row[f'{metric}_challenger']:.4g} vs "
            f"{row[f'{metric}_champion']:.4g} ({row[f'{metric}_change']:+.1%}, tolerance "
            f"{tolerance:.0%})"
        )
    rows = table[table["scope"].isin(["overall", "horizon"])]
    worse = rows[rows[f"{BRIER}_challenger"] > rows[f"{BRIER}_champion"] + brier_tolerance]
    for _, row in worse.iterrows():
        new_b, old_b = float(row[f"{BRIER}_challenger"]), float(row[f"{BRIER}_champion"])
        reasons.append(
            f"{_where(row)}: surge Brier {new_b:.4f} vs {old_b:.4f} (+{new_b - old_b:.4f}, "
            f"tolerance {brier_tolerance:g})"
        )
    return reasons


def summary_markdown(
    table: pd.DataFrame,
    metric: str,
    reasons: Sequence[str],
    champion: str,
    challenger: str,
    basis: str,
    tolerance: float,
    brier_tolerance: float,
) -> str:
    """The review in a few lines of Markdown: verdict, basis, overall and per-horizon table."""
    overall = table[table["scope"] == "overall"].iloc[0]
    verdict = (
        "**Passes**: may be promoted."
        if not reasons
        else "**Refused**: " + "; ".join(_shown(reasons)) + "."
    )
    horizons = table[table["scope"] == "horizon"]
    sites = table[table["scope"] == "site"]
    better = int((sites[f"{metric}_challenger"] < sites[f"{metric}_champion"]).sum())
    lines = [
        f"Challenger version {challenger} against champion version {champion}: {verdict}",
        "",
        f"Basis: {basis}. Rule: overall {metric} lower; no horizon or site worse by more than "
        f"{tolerance:.0%}; surge Brier at most {brier_tolerance:g} worse overall and per horizon.",
        "",
        f"| scope | {metric} champion | {metric} challenger | change | Brier champion "
        "| Brier challenger |",
        "|---|---|---|---|---|---|",
        _md_row("overall", overall, metric),
        *[_md_row(f"h{r['key']}", r, metric) for _, r in horizons.iterrows()],
        "",
        f"Sites: the challenger is better on {better} of {len(sites)} ({metric}); per-site "
        "rows are in review/comparison.csv, the chart in review/comparison.png.",
    ]
    return "\n".join(lines)


def comparison_chart(
    table: pd.DataFrame, metric: str, tolerance: float, path: Path, title: str
) -> Path:
    """PNG: ``metric`` and surge Brier by horizon (both models), change per site (bars)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    horizons = table[table["scope"] == "horizon"]
    sites = table[table["scope"] == "site"].sort_values(f"{metric}_change", ascending=False)
    sites = sites.head(MAX_SITES_CHARTED)
    fig: Any
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    h = horizons["key"].astype(int)
    for ax, m, label in ((axes[0], metric, metric), (axes[1], BRIER, "surge Brier")):
        ax.plot(h, horizons[f"{m}_champion"], marker="o", label=CHAMPION, color="tab:blue")
        ax.plot(h, horizons[f"{m}_challenger"], marker="s", label=CHALLENGER, color="tab:orange")
        ax.set_xlabel("horizon (days ahead)")
        ax.set_ylabel(f"{label} (lower is better)")
        ax.set_title(f"{label} by horizon")
        ax.legend(fontsize=8)
    change = sites[f"{metric}_change"].to_numpy(dtype=float) * 100
    colours = ["tab:red" if c > tolerance * 100 else "tab:green" for c in change]
    axes[2].barh(sites["key"].astype(str), change, color=colours)
    axes[2].axvline(tolerance * 100, color="0.4", ls="--", lw=1, label=f"tolerance {tolerance:.0%}")
    axes[2].axvline(0, color="0.2", lw=0.8)
    axes[2].invert_yaxis()
    axes[2].set_xlabel(f"challenger vs champion, {metric} change (%)")
    axes[2].set_title("per site (red: worse beyond tolerance)")
    axes[2].legend(fontsize=8)
    axes[2].tick_params(axis="y", labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def _keyed(bt: pd.DataFrame, label: str) -> pd.DataFrame:
    """Rows with an observed ``y``, typed alike, forecasts at the precision logged.

    ``backtest.csv`` keeps 3 decimals: a backtest held in memory is rounded the same way, so
    that a model compared with its own logged backtest ties exactly (no rounding noise).
    """
    out = bt.dropna(subset=["y"]).copy()
    forecasts = [c for c in ("mean", *QUANTILE_COLUMNS, "y") if c in out]
    out[forecasts] = out[forecasts].astype(float).round(DECIMALS)
    out[schema.SITE] = out[schema.SITE].astype(str)
    out["cutoff"] = pd.to_datetime(out["cutoff"])
    out[schema.DATE] = pd.to_datetime(out[schema.DATE])
    out["horizon"] = out["horizon"].astype(int)
    out["model"] = label
    return out


def _where(row: pd.Series) -> str:
    return {"overall": "overall", "horizon": f"horizon {row['key']}"}.get(
        str(row["scope"]), f"site {row['key']}"
    )


def _shown(reasons: Sequence[str]) -> list[str]:
    if len(reasons) <= MAX_REASONS:
        return list(reasons)
    return [*reasons[:MAX_REASONS], f"and {len(reasons) - MAX_REASONS} more"]


def _md_row(label: str, row: pd.Series, metric: str) -> str:
    return (
        f"| {label} | {row[f'{metric}_champion']:.4g} | {row[f'{metric}_challenger']:.4g} | "
        f"{row[f'{metric}_change']:+.1%} | {row[f'{BRIER}_champion']:.4f} | "
        f"{row[f'{BRIER}_challenger']:.4f} |"
    )
