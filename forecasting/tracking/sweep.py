"""Log a sweep to MLflow: one parent run with the comparison, one child run per configuration.

The parent holds the sweep file (``sweep.yaml``), the comparison table (``comparison.csv``,
``comparison.md``), the metrics per configuration and horizon, the tag ``sweep.best`` (the
best configuration) and its metric ``best_<metric>``. Each child holds its configuration as
parameters, its overall and per-horizon metrics and the tag ``sweep.config``. Only the sweep's
settings and aggregate demand metrics are logged: no data rows, no patient identifiers.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecasting.config import Config
from forecasting.sweep.run import SweepResult

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

KIND = "sweep"
CONFIG_TAG = "sweep.config"
BEST_TAG = "sweep.best"
METRIC_TAG = "sweep.metric"


@dataclass(frozen=True)
class SweepRun:
    """The logged parent run and its children (configuration name -> run id)."""

    run_id: str
    children: dict[str, str]


def log_sweep(
    result: SweepResult,
    frame: pd.DataFrame,
    cfg: Config,
    params: Mapping[str, Any] | None = None,
    run_name: str | None = None,
) -> SweepRun:
    """Log ``result`` as a parent run with one nested child run per configuration.

    Args:
        result: Output of :func:`forecasting.sweep.run_sweep`.
        frame: The DemandFrame it ran on (only its fingerprint is logged).
        cfg: Configuration (store, experiment; logged in full as ``config.yaml``).
        params: Extra parent parameters (e.g. the data file's name).
        run_name: Parent run name; default ``sweep <file name>``.

    Raises:
        StoreError: If the store is unusable.
        PrivacyError: If the comparison table carried a patient identifier column.
    """
    import mlflow
    from mlflow import MlflowClient

    from forecasting.tracking.fingerprint import frame_fingerprint
    from forecasting.tracking.privacy import check_private
    from forecasting.tracking.runs import log_context
    from forecasting.tracking.store import use_experiment, using_store

    check_private(result.table.columns, "the sweep's comparison table")
    spec = result.spec
    b = spec.backtest
    parent_params = {
        "metric": result.metric,
        "configurations": len(spec.configurations),
        **b.model_dump(),
        "sweep_file": Path(spec.source).name,
        **(params or {}),
    }
    name = run_name or f"sweep {Path(spec.source).name}"
    with using_store(cfg) as uri:
        use_experiment(cfg.mlflow.experiment, uri)
        with mlflow.start_run(run_name=name) as parent:
            log_context(cfg, KIND, parent_params, frame_fingerprint(frame))
            best_row = result.table.iloc[0]
            mlflow.set_tags({BEST_TAG: result.best, METRIC_TAG: result.metric})
            value = float(best_row[result.metric])
            if math.isfinite(value):
                mlflow.log_metric(f"best_{result.metric}", value)
            _log_parent_artifacts(result)
            client = MlflowClient(tracking_uri=uri)
            active = mlflow.active_run()
            assert active is not None
            children = {
                row["config"]: _log_child(client, active, row, result, b.model_dump())
                for row in result.table.to_dict(orient="records")
            }
    return SweepRun(parent.info.run_id, children)


def _log_child(
    client: MlflowClient,
    parent: Run,
    row: Mapping[Any, Any],
    result: SweepResult,
    backtest: dict[str, int],
) -> str:
    """One nested run: the configuration's parameters, metrics and tags; its run id.

    Written in one batch (a child of a 500-configuration sweep costs one round trip, not
    one per call), nested under ``parent`` by MLflow's own ``mlflow.parentRunId`` tag.
    """
    from mlflow.entities import Metric, Param

    from forecasting.tracking.runs import DETAIL_METRICS, flat_params, table_metrics
    from forecasting.tracking.stale import process_tags

    config = next(c for c in result.spec.configurations if c.name == row["config"])
    overall = result.table[result.table["config"] == config.name]
    metric_cols = [c for c in overall.columns if c in _metric_columns(result)]
    horizon = result.by_horizon[result.by_horizon["model"] == config.name]
    tags = {
        "mlflow.parentRunId": parent.info.run_id,
        "mlflow.runName": config.name,
        CONFIG_TAG: config.name,
        "sweep.model": config.model,
        "sweep.rank": str(row["rank"]),
        "forecasting.kind": "sweep-config",
        "mlflow.source.name": "forecasting sweep",
        **process_tags(),
    }
    params = flat_params({"model": config.model, **config.overrides, **backtest})
    metrics = table_metrics(overall, [], metric_cols)
    metrics.update(table_metrics(horizon, ["horizon"], DETAIL_METRICS))
    child = client.create_run(
        parent.info.experiment_id, run_name=config.name, tags={k: str(v) for k, v in tags.items()}
    )
    now = int(time.time() * 1000)
    client.log_batch(
        child.info.run_id,
        metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
    )
    client.set_terminated(child.info.run_id)
    return str(child.info.run_id)


def _metric_columns(result: SweepResult) -> list[str]:
    return [c for c in result.by_horizon.columns if c not in ("model", "horizon")]


def _log_parent_artifacts(result: SweepResult) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sweep.yaml").write_text(result.spec.text or "", encoding="utf-8")
        result.table.to_csv(root / "comparison.csv", index=False, float_format="%.5g")
        (root / "comparison.md").write_text(markdown_table(result), encoding="utf-8")
        result.by_horizon.rename(columns={"model": "config"}).to_csv(
            root / "metrics_by_horizon.csv", index=False, float_format="%.5g"
        )
        mlflow.log_artifacts(str(root))


MARKDOWN_METRICS = ("MAE", "pinball", "MASE", "cov90", "brier_skill")


def markdown_table(result: SweepResult) -> str:
    """The comparison as a small Markdown table (rank, configuration, a few metrics)."""
    cols = list(dict.fromkeys([result.metric, *MARKDOWN_METRICS]))
    lines = [
        f"Sweep `{Path(result.spec.source).name}`: best **{result.best}** by {result.metric}.",
        "",
        "| rank | configuration | " + " | ".join(cols) + " |",
        "|---:|---|" + "---:|" * len(cols),
    ]
    for row in result.table.to_dict(orient="records"):
        cells = [_fmt(row.get(c)) for c in cols]
        name = str(row["config"]).replace("|", "\\|")
        lines.append(f"| {row['rank']} | `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: object) -> str:
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return f"{float(value):.4g}"
    return "–"
