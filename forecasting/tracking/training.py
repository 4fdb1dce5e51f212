"""Train the demand model: backtest it, fit it on all data, log everything, register it."""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecasting import __version__
from forecasting.config import Config
from forecasting.evaluate.backtest import Progress
from forecasting.executors import Executor
from forecasting.models.base import Forecaster
from forecasting.tracking.errors import RegistrationSkippedWarning
from forecasting.tracking.protocol import (
    REFIT_EVERY,
    STEP,
    BacktestProtocol,
    backtest_protocol,
)

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

TRAIN_KEY_TAG = "forecasting.train_key"


def train_key(
    fingerprint: dict[str, Any],
    params: dict[str, Any],
    protocol: BacktestProtocol,
    cfg: Config,
    backtest_sha: str = "",
) -> str:
    """A hash of what makes a trained model: data, parameters, backtest, holidays, version."""
    spec = {
        "data": fingerprint.get("sha256"),
        "backtest": backtest_sha,
        "params": {k: repr(v) for k, v in params.items()},
        "cutoffs": protocol.cutoffs_text,
        "holidays": cfg.holidays.model_dump(mode="json"),
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


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
        registered: ``False`` when registration was skipped because a version with the same
            data fingerprint and parameters exists (``model_version`` is that version).
    """

    run_id: str
    model_version: str | None
    alias: str | None
    metrics: dict[str, float]
    model: Forecaster
    forecast: pd.DataFrame
    registered: bool = True


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
    from forecasting.tracking.datasets import log_demand_datasets
    from forecasting.tracking.fingerprint import frame_fingerprint
    from forecasting.tracking.pyfunc import log_demand_model
    from forecasting.tracking.registry import (
        CHALLENGER,
        alias_of,
        assign_alias,
        client_for,
        describe_version,
        find_same_version,
    )
    from forecasting.tracking.runs import (
        CUTOFFS_TAG,
        demand_metrics,
        demand_tables,
        log_context,
        log_window_metrics,
    )
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
    protocol = backtest_protocol(bt, h, REFIT_EVERY if backtest_frame is None else None)
    params: dict[str, Any] = {
        "model": model,
        "horizon": h,
        "backtest.windows": windows,
        # a backtest handed in was run by the caller: its step is read from its cutoffs
        "backtest.step": protocol.step if protocol.step is not None else "none (one cutoff)",
        "backtest.refit_every": protocol.refit_every or "unknown (backtest run by the caller)",
        "model_params": _model_params(fitted),
    }
    fingerprint = frame_fingerprint(frame)
    key = train_key(fingerprint, params, protocol, cfg, str(frame_fingerprint(bt)["sha256"]))
    name = cfg.mlflow.model_name if register else None
    version = alias = None
    same: ModelVersion | None = None
    with using_store(cfg, check=False) as uri:
        client = client_for(uri)
        if name:
            same = find_same_version(client, name, key)
        use_experiment(cfg.mlflow.experiment, uri)
        with mlflow.start_run(run_name=f"train {model}") as run:
            log_context(cfg, "train", params, fingerprint)
            mlflow.set_tags({CUTOFFS_TAG: protocol.cutoffs_text, TRAIN_KEY_TAG: key})
            registered = name if same is None else None
            info = log_demand_model(fitted, frame, h, registered_model_name=registered)
            metrics = demand_metrics(tables, per_model=False)
            scored = log_demand_datasets(frame, bt)
            mlflow.log_metrics(metrics, model_id=info.model_id, dataset=scored)
            log_window_metrics(bt, frame, per_model=False)
            log_artifacts(bt, frame, tables, chart_model=model, forecast=forecast)
            _log_importance(fitted)
            if name and same is not None:
                version = str(same.version)
                mlflow.set_tags({"registered_model": name, "registered_version": version})
                mlflow.set_tag("registration", f"skipped: same as version {version}")
            elif name and info.registered_model_version is not None:
                version = str(info.registered_model_version)
                assign_alias(client, name, version, uri)
                mlflow.set_tags({"registered_model": name, "registered_version": version})
                sites = frame["site_id"].astype(str).unique().tolist()
                describe_version(
                    client, name, version, model, fingerprint, protocol, metrics, key, sites
                )
        if name and version is not None:
            alias = alias_of(client, name, version)
        if name and same is None and alias == CHALLENGER and version is not None:
            _review(cfg, client, uri, name, version, frame, bt)
    if same is not None:
        warnings.warn(
            f"{name} version {version} already holds this model (same data fingerprint "
            f"{fingerprint['sha256']!s:.12} and parameters): not registered again; "
            f"this run ({run.info.run_id}) is logged without a new version",
            RegistrationSkippedWarning,
            stacklevel=2,
        )
    overall = {k: v for k, v in metrics.items() if "/" not in k}
    return TrainResult(
        run.info.run_id, version, alias, overall, fitted, forecast, registered=same is None
    )


def _review(
    cfg: Config,
    client: Any,
    uri: str,
    name: str,
    version: str,
    frame: pd.DataFrame,
    bt: pd.DataFrame,
) -> None:
    """Review a new challenger now, so the comparison is in the UI before anyone promotes.

    A review that cannot be made (the champion cannot be re-scored on this data) does not
    fail the training: the reason goes into the version's tags and description, and
    ``promote`` refuses with the same reason.
    """
    from forecasting.tracking.errors import TrackingError
    from forecasting.tracking.registry import set_review_description
    from forecasting.tracking.review import VERDICT_TAG, review_version

    try:
        review_version(cfg, client, uri, name, version, frame=frame, bt=bt)
    except TrackingError as exc:
        reason = " ".join(str(exc).split())
        client.set_model_version_tag(name, version, VERDICT_TAG, f"not reviewed: {reason}"[:5000])
        set_review_description(client, name, version, f"Not reviewed: {reason}")


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
