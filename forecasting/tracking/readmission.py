"""Log a readmission training run: generic, so the readmission package can call it as is."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.config import Config
from forecasting.tracking.privacy import check_private
from forecasting.tracking.runs import (
    TrackedRun,
    anonymous_example,
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
    held_out: pd.DataFrame | None = None,
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
        episodes: The episodes table: used only for the data fingerprint and a schema-only
            dataset (column names and types, counts of episodes, patients and events).
        register: Register ``model`` (or ``model_file``, the bundle) under
            ``cfg.mlflow.readmission_model_name``; the first version becomes champion, later
            ones challenger.
        held_out: The held-out episodes: logged as a schema-only ``evaluation`` dataset
            (counts only, never rows).
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
            _log_datasets(features, episodes, held_out)
            if model_file is not None:
                mlflow.log_artifact(str(model_file), artifact_path="model")
                sidecar = sidecar_path(model_file)
                if sidecar.is_file():  # the bundle's hash travels with it
                    mlflow.log_artifact(str(sidecar), artifact_path="model")
                if register and model is None:
                    version = _register_bundle(client_for(uri), name, run, Path(model_file))
            if model is not None:
                info = _log_sklearn(model, features, name if register else None)
                if register and info.registered_model_version is not None:
                    version = str(info.registered_model_version)
            if version is not None:
                client = client_for(uri)
                alias = assign_alias(client, name, version, uri)
                _describe(client, name, version, params, metrics, fingerprint, held_out)
    return TrackedRun(run.info.run_id, version, alias)


def _register_bundle(client: Any, name: str, run: Any, model_file: Path) -> str:
    """Register the run's ``model/`` folder (the bundle and its hash) as a version of ``name``."""
    from mlflow.exceptions import MlflowException

    from forecasting.trust import HASH_TAG, sha256_file

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = f"{run.info.artifact_uri.rstrip('/')}/model"
    digest = sha256_file(model_file)
    version = client.create_model_version(
        name, source=source, run_id=run.info.run_id, tags={HASH_TAG: digest}
    )
    return str(version.version)


def _log_datasets(
    features: pd.DataFrame | None, episodes: pd.DataFrame | None, held_out: pd.DataFrame | None
) -> None:
    """Schema-only datasets: training episodes and held-out episodes (counts, never rows)."""
    import mlflow

    from forecasting.tracking.datasets import schema_only_dataset
    from forecasting.tracking.fingerprint import frame_fingerprint

    table = features if features is not None else episodes
    if table is None:
        return
    for context, frame, label in (
        ("training", episodes if episodes is not None else table, "episodes"),
        ("evaluation", held_out, "held-out episodes"),
    ):
        if frame is None:
            continue
        counts = _counts(frame)
        digest = str(frame_fingerprint(frame, None, None)["sha256"])[:12]
        shown = table if context == "training" else frame
        name = f"{label} (schema only, {counts['episodes']:,} episodes)"
        mlflow.log_input(schema_only_dataset(shown, name, counts, digest), context=context)


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    out = {"episodes": len(frame)}
    if "patient_id" in frame:
        out["patients"] = int(frame["patient_id"].nunique())
    for col in ("label", "readmitted_30d"):
        if col in frame and pd.api.types.is_numeric_dtype(frame[col]):
            out["events"] = int(frame[col].fillna(0).sum())
            break
    return out


def _describe(
    client: Any,
    name: str,
    version: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    fingerprint: Mapping[str, Any],
    held_out: pd.DataFrame | None,
) -> None:
    """Tags (data range, counts, metrics) and a description of a readmission version."""
    shown = {k: float(v) for k, v in metrics.items() if "/" not in k}
    tags = {
        "model": str(params.get("model", "")),
        "data.start": str(fingerprint.get("start", "")),
        "data.end": str(fingerprint.get("end", "")),
        "data.episodes": str(fingerprint.get("n_rows", "")),
        "data.sha256": str(fingerprint.get("sha256", "")),
    }
    if held_out is not None:
        tags["holdout.episodes"] = str(len(held_out))
        if "patient_id" in held_out:
            tags["holdout.patients"] = str(held_out["patient_id"].nunique())
    tags.update({f"metric.{k}": f"{v:.4g}" for k, v in list(shown.items())[:20]})
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    lines = [
        f"**{tags['model'] or 'readmission model'}**: 30-day readmission risk, trained on "
        f"{tags['data.episodes'] or '?'} episodes discharged {tags['data.start'] or '?'} to "
        f"{tags['data.end'] or '?'} (data sha256 {tags['data.sha256'][:12]}).",
    ]
    if held_out is not None:
        lines += ["", f"Held out: {tags['holdout.episodes']} episodes (patient-grouped)."]
    if shown:
        lines += ["", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in list(shown.items())[:20]]
    client.update_model_version(name, version, description="\n".join(lines))


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
