"""Train the demand model: backtest it, fit it on all data, log everything, register it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from forecasting.config import Config
from forecasting.evaluate.backtest import Progress
from forecasting.executors import Executor
from forecasting.models.base import Forecaster

STEP = 7
REFIT_EVERY = 4


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train_demand_model`.

    Attributes:
        run_id: The MLflow run.
        model_version: Registered version of ``cfg.mlflow.model_name``.
        alias: ``champion`` (first model under the name) or ``challenger``, as read back from
            the registry when the run ended; ``None`` if a concurrent run took it since.
        metrics: Overall backtest metrics of the model (``pinball``, ``MAE``, …).
        model: The forecaster fitted on all the data.
        forecast: Its forecast of the next ``cfg.horizon`` days.
    """

    run_id: str
    model_version: str | None
    alias: str | None
    metrics: dict[str, float]
    model: Forecaster
    forecast: pd.DataFrame


def train_demand_model(
    frame: pd.DataFrame,
    cfg: Config,
    model: str = "ensemble",
    windows: int | None = None,
    progress: Progress | None = None,
    register: bool = True,
    backtest_frame: pd.DataFrame | None = None,
    executor: Executor | None = None,
) -> TrainResult:
    """Backtest a registry model, fit it on all of ``frame``, log the run and register it.

    The backtest (``windows`` weekly cutoffs, re-estimated every 4) gives the metrics that
    promotion compares. The run logs parameters, the config, a data fingerprint, metrics
    overall / per horizon / per site, fan charts, coverage by horizon, feature importance,
    the backtest frame and the model (a pyfunc taking a DemandFrame).

    Args:
        frame: A validated DemandFrame.
        cfg: Configuration (horizon, holidays, ``mlflow`` section).
        model: Registry model name (``forecasting.models.MODELS``).
        windows: Backtest cutoffs (default ``cfg.mlflow.backtest_windows``).
        progress: Called with the number of tasks done (:func:`training_tasks` in all):
            backtest chunks and the final fit's parts (an ensemble's members).
        register: Register the model under ``cfg.mlflow.model_name``.
        backtest_frame: A backtest already run on ``frame`` (e.g. by the demo): its rows of
            ``model`` are logged instead of running a new one (``windows`` is then ignored).
        executor: Runs the backtest chunks and the final fit's parts together (serial if
            ``None``); every executor gives the same model and metrics.

    Raises:
        StoreError: If the store is unusable (checked before any work).
        DataError: If the data is too short for the backtest.
        ValueError: If ``backtest_frame`` has no rows of ``model``.
    """
    import mlflow

    from forecasting.evaluate.backtest import join_truth, plan_backtest
    from forecasting.executors import SerialExecutor
    from forecasting.models import make_model
    from forecasting.models.fitting import assemble, fit_parts
    from forecasting.tracking.fingerprint import frame_fingerprint
    from forecasting.tracking.pyfunc import log_demand_model
    from forecasting.tracking.registry import alias_of, assign_alias, client_for
    from forecasting.tracking.runs import demand_metrics, demand_tables, log_context
    from forecasting.tracking.runs import log_demand_artifacts as log_artifacts
    from forecasting.tracking.store import (
        check_store,
        resolve_tracking_uri,
        use_experiment,
        using_store,
    )

    check_store(resolve_tracking_uri(cfg), configured=bool(cfg.mlflow.tracking_uri))
    h, hol = cfg.horizon, cfg.holidays
    windows = windows or cfg.mlflow.backtest_windows
    template = make_model(model, h, hol.country, hol.subdiv)
    plan = None
    if backtest_frame is not None:
        bt = backtest_frame[backtest_frame["model"] == model].reset_index(drop=True)
        if bt.empty:
            raise ValueError(f"backtest_frame has no rows of model '{model}'")
        windows = int(bt["cutoff"].nunique())
    else:
        plan = plan_backtest(frame, {model: template}, h, STEP, windows, REFIT_EVERY)
    chunks = plan.tasks if plan is not None else []
    parts = fit_parts(template)
    items: list[TrainTask] = [("chunk", t) for t in chunks] + [("fit", p) for p in parts]
    done = (executor or SerialExecutor()).map(train_task, items, frame, progress=progress)
    if plan is not None:
        bt = join_truth(frame, plan, done[: len(chunks)])
    fitted = assemble(template, frame, done[len(chunks) :])
    forecast = fitted.predict(h)
    tables = demand_tables(bt, frame)
    params: dict[str, Any] = {
        "model": model,
        "horizon": h,
        "backtest.windows": windows,
        # a backtest handed in was run by the caller: its settings are theirs
        "backtest.step": STEP if backtest_frame is None else "caller's",
        "backtest.refit_every": REFIT_EVERY if backtest_frame is None else "caller's",
        "model_params": _model_params(fitted),
    }
    name = cfg.mlflow.model_name if register else None
    version = alias = None
    with using_store(cfg, check=False) as uri:
        use_experiment(cfg.mlflow.experiment, uri)
        with mlflow.start_run(run_name=f"train {model}") as run:
            log_context(cfg, "train", params, frame_fingerprint(frame))
            info = log_demand_model(fitted, frame, h, registered_model_name=name)
            metrics = demand_metrics(tables, per_model=False)
            mlflow.log_metrics(metrics, model_id=info.model_id)
            log_artifacts(bt, frame, tables, chart_model=model, forecast=forecast)
            _log_importance(fitted)
            if name and info.registered_model_version is not None:
                version = str(info.registered_model_version)
                assign_alias(client_for(uri), name, version, uri)
                mlflow.set_tags({"registered_model": name, "registered_version": version})
        if name and version is not None:
            alias = alias_of(client_for(uri), name, version)
    overall = {k: v for k, v in metrics.items() if "/" not in k}
    return TrainResult(run.info.run_id, version, alias, overall, fitted, forecast)


TrainTask = tuple[str, Any]
"""One task of a training run: ``("chunk", ChunkTask)`` or ``("fit", model part)``."""


def train_task(frame: pd.DataFrame, task: TrainTask) -> Any:
    """Run one training task on ``frame``: a backtest chunk, or one part of the final fit."""
    from forecasting.evaluate.backtest import chunk_task
    from forecasting.models.fitting import fit_part

    kind, item = task
    return chunk_task(frame, item) if kind == "chunk" else fit_part(frame, item)


def training_tasks(model: str, windows: int) -> int:
    """How many tasks :func:`train_demand_model` runs for ``model`` (its progress total)."""
    from forecasting.models import make_model
    from forecasting.models.fitting import fit_parts

    return -(-windows // REFIT_EVERY) + len(fit_parts(make_model(model)))


def _model_params(model: Forecaster) -> dict[str, Any]:
    """Constructor parameters; members of an ensemble by their names."""
    params = model.get_params()
    members = params.pop("members", None)
    if members:
        params["members"] = {m.name: m.get_params() for m in members}
    return params


def _log_importance(model: Forecaster) -> None:
    import tempfile
    from pathlib import Path

    import mlflow

    from forecasting.tracking.artifacts import feature_importance, importance_plot

    importance = feature_importance(model)
    if importance is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        importance.to_csv(root / "feature_importance.csv", index=False, float_format="%.5g")
        importance_plot(importance, root / "plots" / "feature_importance.png")
        mlflow.log_artifacts(str(root))
