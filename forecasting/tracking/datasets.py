"""Data a run used, as MLflow datasets (the UI's Datasets column and panel).

Demand frames (site, day, counts) are aggregates, not patient data: they are logged as pandas
datasets (schema, profile, a digest of every value) and, for re-scoring at promotion, as a
Parquet artifact. Readmission episodes are patient data: only their schema (no rows) and a few
counts are logged, as a metadata-only dataset.

Every function here expects an active run (see :func:`~forecasting.tracking.store.using_store`).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecasting.data import schema
from forecasting.tracking.fingerprint import frame_fingerprint
from forecasting.tracking.privacy import check_private

if TYPE_CHECKING:
    from mlflow.data.dataset import Dataset

DATA_ARTIFACT = "data/demand.parquet"
DIGEST_CHARS = 12
TRAINING = "training"
BACKTEST = "backtest"


def backtest_truth(frame: pd.DataFrame, bt: pd.DataFrame) -> pd.DataFrame:
    """The observed rows the backtest scored: each site's target on each forecast day."""
    days = bt[[schema.SITE, schema.DATE]].drop_duplicates()
    days = days.assign(**{schema.SITE: days[schema.SITE].astype(str)})
    rows = frame[[schema.SITE, schema.DATE, schema.TARGET]]
    rows = rows.assign(**{schema.SITE: rows[schema.SITE].astype(str)})
    out = rows.merge(days, on=[schema.SITE, schema.DATE], how="inner")
    return out.sort_values([schema.SITE, schema.DATE]).reset_index(drop=True)


def demand_dataset(frame: pd.DataFrame, name: str, source: str | None = None) -> Dataset:
    """A pandas dataset of a demand frame; its digest covers every value (not 10,000 rows)."""
    from mlflow.data.pandas_dataset import from_pandas

    check_private(frame.columns, f"dataset '{name}'")
    digest = str(frame_fingerprint(frame)["sha256"])[:DIGEST_CHARS]
    target = schema.TARGET if schema.TARGET in frame else None
    resolved = _source(source)
    if resolved is None:
        return from_pandas(frame, name=name, targets=target, digest=digest)
    return from_pandas(frame, source=resolved, name=name, targets=target, digest=digest)


def log_demand_datasets(frame: pd.DataFrame, bt: pd.DataFrame, store_data: bool = True) -> Any:
    """Log the training data (``training``) and the scored backtest days (``backtest``).

    With ``store_data`` the frame is also stored as :data:`DATA_ARTIFACT` (the datasets'
    source), so that a later promotion can re-score the champion on exactly this data.

    Returns:
        The backtest dataset (metrics may be linked to it).
    """
    import mlflow

    run = mlflow.active_run()
    source = None
    if store_data and run is not None:
        source = f"{run.info.artifact_uri.rstrip('/')}/{DATA_ARTIFACT}"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(DATA_ARTIFACT).name
            frame.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=str(Path(DATA_ARTIFACT).parent))
    start, end = _range(frame)
    sites = int(frame[schema.SITE].nunique())
    training = demand_dataset(frame, f"demand {sites} sites {start}..{end}", source)
    truth = backtest_truth(frame, bt)
    cuts = sorted(pd.to_datetime(bt["cutoff"]).unique())
    name = f"backtest {len(cuts)} cutoffs {_day(cuts[0])}..{_day(cuts[-1])}" if cuts else "backtest"
    scored = demand_dataset(truth, name, source)
    mlflow.log_input(training, context=TRAINING)
    mlflow.log_input(scored, context=BACKTEST)
    return scored


def schema_only_dataset(
    table: pd.DataFrame, name: str, counts: Mapping[str, int | float], digest: str | None = None
) -> Dataset:
    """A metadata-only dataset of ``table``: column names and types, and ``counts``; no row.

    Identifier columns are left out of the schema. The profile holds ``counts`` only
    (aggregates such as episodes, patients, events).
    """
    import json

    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types.utils import _infer_schema

    from forecasting.tracking.privacy import PRIVATE_COLUMNS

    class SchemaOnlyDataset(MetaDataset):
        """A :class:`MetaDataset` whose profile is a few counts."""

        @property
        def profile(self) -> Any | None:
            return dict(counts)

        def to_dict(self) -> dict[str, str]:
            return {**super().to_dict(), "profile": json.dumps(dict(counts))}

    cols = [c for c in table.columns if str(c).lower() not in PRIVATE_COLUMNS]
    empty = table[cols].head(0).copy()
    for col in empty.columns:  # text, categories and dates: strings in the schema
        if not pd.api.types.is_numeric_dtype(empty[col]) or pd.api.types.is_bool_dtype(empty[col]):
            empty[col] = empty[col].astype(str)
    source = CodeDatasetSource(tags={"mlflow.source.name": "forecasting readmission train"})
    return SchemaOnlyDataset(source, name=name, digest=digest, schema=_infer_schema(empty))


def load_run_data(client: Any, run_id: str, dest: str | Path) -> pd.DataFrame | None:
    """The demand frame a training run stored (:data:`DATA_ARTIFACT`), or ``None``."""
    from mlflow.exceptions import MlflowException

    try:
        path = client.download_artifacts(run_id, DATA_ARTIFACT, str(dest))
    except (MlflowException, OSError):
        return None
    frame = pd.read_parquet(path)
    frame[schema.DATE] = pd.to_datetime(frame[schema.DATE])
    return frame


def _source(uri: str | None) -> Any:
    if uri is None:
        return None
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.exceptions import MlflowException

    try:
        with warnings.catch_warnings():  # "can be interpreted in multiple ways": all local
            warnings.simplefilter("ignore", UserWarning)
            return resolve_dataset_source(uri)
    except MlflowException:
        return None


def _range(frame: pd.DataFrame) -> tuple[str, str]:
    dates = pd.to_datetime(frame[schema.DATE])
    return _day(dates.min()), _day(dates.max())


def _day(value: Any) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"
