"""Log runs: parameters, the full config, a data fingerprint, metrics and artifacts.

Every function here expects MLflow to point at the right store (see :func:`using_store`).
Only aggregates and plots leave the process: never patient identifiers or patient rows.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting import __version__
from forecasting.config import Config

KIND_TAG = "forecasting.kind"
SOURCE_TAG = "mlflow.source.name"
#: What the UI shows as a run's source, instead of MLflow's choice (``sys.argv[0]``: the
#: absolute path of the virtualenv's script, which says where and by whom it was installed).
COMMANDS = {
    "train": "forecasting train",
    "backtest": "forecasting backtest",
    "readmission": "forecasting readmission train",
}
DETAIL_METRICS = ("MAE", "MASE", "pinball", "cov80", "cov90", "brier")
#: Metrics logged per backtest window (one step per cutoff), so the UI draws them as lines.
WINDOW_METRICS = ("pinball", "MAE", "MASE", "cov90", "brier")
CUTOFFS_TAG = "backtest.cutoffs"
MAX_TAG_CHARS = 5000
MAX_PARAM_CHARS = 500


@dataclass(frozen=True)
class TrackedRun:
    """A logged run and, if a model was registered, its version and alias."""

    run_id: str
    model_version: str | None = None
    alias: str | None = None


def metric_key(*parts: object) -> str:
    """``a/b/c`` from parts, each cleaned to the characters MLflow accepts in metric names."""
    return "/".join(re.sub(r"[^A-Za-z0-9_.\- :]+", "_", str(p)) for p in parts if p != "")


def table_metrics(
    table: pd.DataFrame,
    keys: Sequence[str],
    metrics: Sequence[str] | None = None,
    prefix: Sequence[str] = (),
) -> dict[str, float]:
    """Flatten a metric table (one row per group) into ``{prefix/key values/metric: value}``.

    Args:
        table: Output of :func:`forecasting.evaluate.summary.evaluate`.
        keys: Grouping columns whose values go into the name (e.g. ``("horizon",)``), with
            ``horizon`` written ``h<value>`` and ``site_id`` as ``site/<value>``.
        metrics: Metric columns to keep (default: all numeric non-key columns).
        prefix: Leading name parts.
    """
    cols = metrics or [c for c in table.columns if c not in ("model", "horizon", "site_id")]
    out = {}
    for row in table.to_dict(orient="records"):
        names: list[object] = list(prefix)
        for k in keys:
            names += {"horizon": [f"h{row[k]}"], "site_id": ["site", row[k]]}.get(k, [row[k]])
        for col in cols:
            value = float(row[col])
            if np.isfinite(value):
                out[metric_key(*names, col)] = value
    return out


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as ``a.b: text`` (long values are cut to ``MAX_PARAM_CHARS``)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flat_params(value, f"{name}."))
        else:
            text = repr(value) if not isinstance(value, str | int | float | bool) else str(value)
            out[name] = text[:MAX_PARAM_CHARS]
    return out


def log_context(
    cfg: Config, kind: str, params: Mapping[str, Any], fingerprint: Mapping[str, Any]
) -> None:
    """Tags, parameters (own, ``data.*`` fingerprint, ``config.*``) and ``config.yaml``.

    Tags: the kind, the package version, the process (for :mod:`~forecasting.tracking.stale`)
    and a source name of the form ``forecasting <command>``.
    """
    import mlflow
    import yaml

    from forecasting.tracking.stale import process_tags

    config = cfg.model_dump(mode="json")
    mlflow.set_tags(
        {
            KIND_TAG: kind,
            "forecasting.version": __version__,
            SOURCE_TAG: COMMANDS.get(kind, f"forecasting {kind}"),
            **process_tags(),
        }
    )
    mlflow.log_params(
        {
            **flat_params(params),
            **flat_params(fingerprint, "data."),
            # per-site settings can be many: they are in config.yaml in full
            **flat_params({k: v for k, v in config.items() if k != "sites"}, "config."),
        }
    )
    mlflow.log_text(yaml.safe_dump(config, sort_keys=False), "config.yaml")


def demand_tables(bt: pd.DataFrame, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Backtest metric tables: overall, by horizon and by site (per model)."""
    from forecasting.evaluate.summary import evaluate

    return {
        "metrics": evaluate(bt, frame),
        "metrics_by_horizon": evaluate(bt, frame, by=("model", "horizon")),
        "metrics_by_site": evaluate(bt, frame, by=("model", "site_id")),
    }


def demand_metrics(tables: Mapping[str, pd.DataFrame], per_model: bool) -> dict[str, float]:
    """Run metrics from :func:`demand_tables`: all overall, a few per horizon and per site.

    With ``per_model`` names start with the model (``ets/pinball``); otherwise the tables
    must hold one model and names are bare (``pinball``, ``h1/pinball``, ``site/A/MAE``).
    """
    out: dict[str, float] = {}
    for model, overall in tables["metrics"].groupby("model", sort=True):
        prefix = [str(model)] if per_model else []
        by_h = tables["metrics_by_horizon"]
        by_site = tables["metrics_by_site"]
        out.update(table_metrics(overall, [], prefix=prefix))
        out.update(table_metrics(by_h[by_h["model"] == model], ["horizon"], DETAIL_METRICS, prefix))
        site_rows = by_site[by_site["model"] == model]
        out.update(table_metrics(site_rows, ["site_id"], DETAIL_METRICS, prefix))
    return out


def log_demand_artifacts(
    bt: pd.DataFrame,
    frame: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    chart_model: str,
    forecast: pd.DataFrame | None = None,
) -> None:
    """Backtest frame, metric tables, coverage plot and fan charts into the active run.

    Args:
        bt: Backtest frame (forecast frame with ``y``).
        frame: The DemandFrame.
        tables: Output of :func:`demand_tables`.
        chart_model: Model whose backtest fan charts are drawn.
        forecast: Optional forecast of the next days (fan charts under ``plots/forecast``).
    """
    import mlflow

    from forecasting.tracking.artifacts import coverage_plot, fan_charts

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bt.to_csv(root / "backtest.csv", index=False, date_format="%Y-%m-%d", float_format="%.3f")
        for name, table in tables.items():
            table.to_csv(root / f"{name}.csv", index=False, float_format="%.5g")
        coverage_plot(tables["metrics_by_horizon"], root / "plots" / "coverage_by_horizon.png")
        fan_charts(frame, bt[bt["model"] == chart_model], root / "plots" / "backtest")
        if forecast is not None:
            fan_charts(frame, forecast, root / "plots" / "forecast")
        mlflow.log_artifacts(str(root))


def log_backtest_run(
    bt: pd.DataFrame,
    frame: pd.DataFrame,
    cfg: Config,
    params: Mapping[str, Any],
    run_name: str | None = None,
) -> TrackedRun:
    """Log a ``forecasting backtest`` run (several models) in the configured store.

    Args:
        bt: The backtest frame.
        frame: The DemandFrame it ran on.
        cfg: Configuration (store, experiment, the config logged in full).
        params: Run settings (models, horizon, step, windows, …).
        run_name: Name shown in the UI.

    Raises:
        StoreError: If the store is unusable.
    """
    import mlflow

    from forecasting.tracking.datasets import log_demand_datasets
    from forecasting.tracking.fingerprint import frame_fingerprint
    from forecasting.tracking.store import use_experiment, using_store

    tables = demand_tables(bt, frame)
    metric = cfg.mlflow.promotion_metric
    best = str(tables["metrics"].sort_values(metric)["model"].iloc[0])
    with using_store(cfg) as uri:
        use_experiment(cfg.mlflow.experiment, uri)
        with mlflow.start_run(run_name=run_name or "backtest") as run:
            log_context(cfg, "backtest", params, frame_fingerprint(frame))
            mlflow.set_tag("forecasting.best_model", best)
            scored = log_demand_datasets(frame, bt, store_data=False)
            mlflow.log_metrics(demand_metrics(tables, per_model=True), dataset=scored)
            log_window_metrics(bt, frame, per_model=True)
            log_demand_artifacts(bt, frame, tables, chart_model=best)
    return TrackedRun(run.info.run_id)


def window_metrics(bt: pd.DataFrame, frame: pd.DataFrame, per_model: bool) -> tuple[list[Any], str]:
    """Metrics of each backtest window as MLflow metric entities, and the cutoffs tag.

    Step ``i`` is the ``i``-th cutoff (oldest first) and its timestamp is the cutoff day, so
    the UI's charts draw one point per window against step or against time. Names are
    ``window/<metric>`` (``<model>/window/<metric>`` with ``per_model``).

    Returns:
        The metrics, and the text of the :data:`CUTOFFS_TAG` tag (``0=YYYY-MM-DD 1=...``).
    """
    from mlflow.entities import Metric

    from forecasting.evaluate.summary import evaluate

    table = evaluate(bt, frame, by=("model", "cutoff"))
    cuts = sorted(pd.to_datetime(bt["cutoff"]).unique())
    step = {pd.Timestamp(c): i for i, c in enumerate(cuts)}
    out = []
    for row in table.to_dict(orient="records"):
        cutoff = pd.Timestamp(row["cutoff"])
        stamp = int(cutoff.tz_localize("UTC").timestamp() * 1000) if cutoff.tz is None else 0
        prefix = [str(row["model"])] if per_model else []
        for name in WINDOW_METRICS:
            value = float(row[name])
            if np.isfinite(value):
                key = metric_key(*prefix, "window", name)
                out.append(Metric(key, value, stamp, step[cutoff]))
    tag = " ".join(f"{i}={pd.Timestamp(c):%Y-%m-%d}" for i, c in enumerate(cuts))
    return out, tag[:MAX_TAG_CHARS]


def log_window_metrics(bt: pd.DataFrame, frame: pd.DataFrame, per_model: bool) -> None:
    """Log :func:`window_metrics` into the active run, with the cutoffs tag."""
    import mlflow
    from mlflow import MlflowClient

    run = mlflow.active_run()
    if run is None or bt.empty:
        return
    metrics, tag = window_metrics(bt, frame, per_model)
    client = MlflowClient()
    for i in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run.info.run_id, metrics=metrics[i : i + 1000])
    mlflow.set_tag(CUTOFFS_TAG, tag)


def anonymous_example(features: pd.DataFrame) -> pd.DataFrame:
    """One made-up row with each column's median (numbers) or most common value (others).

    Used as a model's input example so that no real patient's row is stored with the model.
    """
    row: dict[str, Any] = {}
    for col in features.columns:
        s = features[col].dropna()
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            row[col] = s.mode().iloc[0] if len(s) else None
        elif pd.api.types.is_integer_dtype(s):
            row[col] = round(float(s.median())) if len(s) else 0
        else:
            row[col] = float(s.median()) if len(s) else float("nan")
    return pd.DataFrame([row]).astype(features.dtypes.to_dict())
