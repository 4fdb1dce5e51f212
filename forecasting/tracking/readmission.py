"""Log a readmission training run: generic, so the readmission package can call it as is."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.config import Config
from forecasting.tracking.runs import (
    TrackedRun,
    anonymous_example,
    check_private,
    log_context,
    metric_key,
)

TABLE_SUFFIXES = (".csv", ".parquet")


def log_readmission_run(
    cfg: Config,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: Iterable[str | Path] = (),
    model: Any | None = None,
    model_file: str | Path | None = None,
    features: pd.DataFrame | None = None,
    episodes: pd.DataFrame | None = None,
    register: bool = True,
    run_name: str | None = None,
) -> TrackedRun:
    """Log a readmission model's training run and register the model.

    Args:
        cfg: Configuration (store, experiment, ``readmission_model_name``).
        params: Training settings (nested mappings become ``a.b`` parameters).
        metrics: Flat metrics, e.g. ``{"auroc": 0.68, "brier": 0.09, "auroc/site/RAA": 0.7}``.
        artifacts: Files to attach (plots, calibration tables). CSV/Parquet tables are refused
            if they carry an identifier column.
        model: A fitted scikit-learn compatible classifier, logged as an MLflow sklearn model.
        model_file: Or an already serialised model file, attached under ``model/`` (with its
            ``.sha256`` if there is one beside it).
        features: The training feature table: used only for the signature and a made-up
            one-row input example (column medians / most common values), never stored.
        episodes: The episodes table: used only for the data fingerprint.
        register: Register ``model`` under ``cfg.mlflow.readmission_model_name``.
        run_name: Name shown in the UI.

    Returns:
        The run id and, if registered, the version and its alias (``champion`` for the first).

    Raises:
        PrivacyError: If features or a table artifact carry patient identifiers.
        StoreError: If the store is unusable.
    """
    import mlflow

    from forecasting.tracking.fingerprint import frame_fingerprint
    from forecasting.tracking.registry import assign_alias, client_for
    from forecasting.tracking.store import use_experiment, using_store
    from forecasting.trust import sidecar_path

    paths = [Path(p) for p in artifacts]
    for path in paths:
        if path.suffix.lower() in TABLE_SUFFIXES:
            check_private(_table_columns(path), f"artifact {path}")
    if features is not None:
        check_private(features.columns, "the feature table")
    fingerprint = {} if episodes is None else frame_fingerprint(episodes, "discharge_date")
    name = cfg.mlflow.readmission_model_name
    version = alias = None
    with using_store(cfg) as uri:
        use_experiment(cfg.mlflow.experiment, uri)
        with mlflow.start_run(run_name=run_name or "readmission train") as run:
            log_context(cfg, "readmission", params, fingerprint)
            mlflow.log_metrics({metric_key(*k.split("/")): float(v) for k, v in metrics.items()})
            for path in paths:
                mlflow.log_artifact(str(path))
            if model_file is not None:
                mlflow.log_artifact(str(model_file), artifact_path="model")
                sidecar = sidecar_path(model_file)
                if sidecar.is_file():  # the bundle's hash travels with it
                    mlflow.log_artifact(str(sidecar), artifact_path="model")
            if model is not None:
                info = _log_sklearn(model, features, name if register else None)
                if register and info.registered_model_version is not None:
                    version = str(info.registered_model_version)
                    alias = assign_alias(client_for(uri), name, version, uri)
    return TrackedRun(run.info.run_id, version, alias)


def _table_columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return list(pd.read_csv(path, nrows=0).columns)


def _log_sklearn(model: Any, features: pd.DataFrame | None, registered: str | None) -> Any:
    import mlflow
    from mlflow.models import infer_signature

    from forecasting.tracking.pyfunc import pip_requirements

    # the pyfunc returns probabilities: that is what scoring needs
    predict_fn = "predict_proba" if hasattr(model, "predict_proba") else "predict"
    example = signature = None
    if features is not None:
        example = anonymous_example(features)
        with warnings.catch_warnings():  # MLflow's hint on integer columns: they are counts
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(example, getattr(model, predict_fn)(example))
    return mlflow.sklearn.log_model(
        sk_model=model,
        name="model",
        pyfunc_predict_fn=predict_fn,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        registered_model_name=registered,
    )
