"""Write an evaluation to files: metrics, subgroups, a calibration plot and a TRIPOD+AI summary.

Everything written is aggregate (no episode or patient rows). :func:`run_summary` returns the
flat metrics and the plot paths, so a tracking module can log a run without knowing these files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.io import atomic_path, atomic_write_text
from forecasting.readmission.bundle import RiskBundle
from forecasting.readmission.train import Evaluation

METRIC_COLUMNS = (
    "auroc",
    "auprc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
    "observed",
    "expected",
    "n",
    "events",
)


def metrics_table(evaluation: Evaluation) -> pd.DataFrame:
    """Return one row per model with the headline metrics (chosen model last)."""
    names = sorted(evaluation.metrics, key=lambda m: (m == evaluation.model, m))
    rows = [{"model": m, **{k: evaluation.metrics[m][k] for k in METRIC_COLUMNS}} for m in names]
    return pd.DataFrame(rows)


def calibration_plot(evaluation: Evaluation, path: str | Path) -> Path:
    """Draw observed against predicted risk by decile for each model, and write a PNG.

    Args:
        evaluation: The evaluation to plot.
        path: The PNG to write (atomically).

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hist) = plt.subplots(2, 1, figsize=(6, 7), height_ratios=(3, 1), sharex=True)
    top = 0.0
    for name, table in evaluation.calibration.items():
        m = evaluation.metrics[name]
        label = f"{name} (AUROC {m['auroc']:.3f}, slope {m['calibration_slope']:.2f})"
        ax.plot(table["mean_risk"], table["observed"], marker="o", label=label)
        top = max(top, float(table["mean_risk"].max()), float(table["observed"].max()))
    top = min(1.0, top * 1.1 + 0.01)
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="ideal")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_ylabel("observed 30-day readmission rate")
    ax.set_title("Calibration by risk decile (held-out patients)")
    ax.legend(loc="upper left", fontsize=8)
    hist.hist(evaluation.risks[evaluation.model], bins=40, range=(0, top), color="grey")
    hist.set_xlabel(f"predicted risk ({evaluation.model})")
    hist.set_ylabel("episodes")
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return target


def _fmt(value: float, digits: int = 3) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}")
    )


def _markdown(frame: pd.DataFrame, digits: dict[str, int]) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    lines = [head, rule]
    for _, row in frame.iterrows():
        cells = [
            _fmt(row[c], digits.get(c, 3))
            if isinstance(row[c], float | int | np.floating)
            else str(row[c])
            for c in frame.columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tripod_summary(evaluation: Evaluation, bundle: RiskBundle) -> str:
    """Return a short TRIPOD+AI-style performance summary in Markdown."""
    meta = bundle.metadata
    digits = {"n": 0, "events": 0}
    sub = evaluation.subgroups.loc[
        :,
        ["variable", "level", "n", "events", "observed", "expected", "auroc", "calibration_slope"],
    ]
    return "\n".join(
        [
            "# Readmission model: held-out performance (TRIPOD+AI items 23-26)",
            "",
            f"- Outcome: `{bundle.columns.label}` = `{bundle.columns.positive}` "
            "(readmission within 30 days of discharge).",
            f"- Model: {evaluation.model}; features: {len(bundle.features.columns_)}; "
            f"training episodes: {meta.get('n_train_episodes', '?'):,} "
            f"({meta.get('n_train_patients', '?'):,} patients, event rate "
            f"{meta.get('train_event_rate', float('nan')):.3f}).",
            f"- Validation: {meta.get('holdout', 0):.0%} of patients held out (all their "
            "episodes); no patient in both parts.",
            f"- Excluded: {meta.get('excluded_death_or_hospice', 0):,} discharges to death or "
            "hospice.",
            "",
            "## Overall",
            "",
            _markdown(metrics_table(evaluation), digits),
            "",
            "## By subgroup",
            "",
            _markdown(sub, digits),
            "",
            "Calibration intercept 0 and slope 1 are ideal. The slope is left blank where a "
            "subgroup has fewer than 10 events (or non-events); subgroups under 30 episodes "
            "are not shown.",
            "",
        ]
    )


def write_report(
    evaluation: Evaluation, bundle: RiskBundle, out_dir: str | Path
) -> dict[str, Path]:
    """Write the evaluation's files into ``out_dir`` and return their paths by kind.

    Files: ``metrics.csv``, ``subgroups.csv``, ``calibration.png``, ``metrics.json``, ``report.md``.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": folder / "metrics.csv",
        "subgroups": folder / "subgroups.csv",
        "calibration_plot": folder / "calibration.png",
        "metrics_json": folder / "metrics.json",
        "report": folder / "report.md",
    }
    atomic_write_text(paths["metrics"], metrics_table(evaluation).to_csv(index=False))
    atomic_write_text(paths["subgroups"], evaluation.subgroups.to_csv(index=False))
    calibration_plot(evaluation, paths["calibration_plot"])
    atomic_write_text(paths["metrics_json"], json.dumps(evaluation.metrics, indent=2) + "\n")
    atomic_write_text(paths["report"], tripod_summary(evaluation, bundle))
    return paths


def run_summary(
    evaluation: Evaluation, paths: dict[str, Path] | None = None
) -> tuple[dict[str, float], dict[str, Path]]:
    """Return flat metrics (``<model>.<metric>``) and the plot paths, for experiment tracking.

    Args:
        evaluation: A training run's or an evaluation's result.
        paths: The files of :func:`write_report`, if written.

    Returns:
        ``(metrics, plots)``: finite metrics only; plots maps a name to a PNG path.
    """
    metrics: dict[str, float] = {}
    for model, values in evaluation.metrics.items():
        for key, value in values.items():
            if value is not None and math.isfinite(value):
                metrics[f"{model}.{key}"] = float(value)
    plots = {k: p for k, p in (paths or {}).items() if p.suffix == ".png"}
    return metrics, plots


def evaluation_payload(evaluation: Evaluation) -> dict[str, Any]:
    """Return the evaluation as JSON-ready data (metrics and subgroup rows)."""
    return {
        "model": evaluation.model,
        "metrics": evaluation.metrics,
        "subgroups": evaluation.subgroups.to_dict(orient="records"),
    }
