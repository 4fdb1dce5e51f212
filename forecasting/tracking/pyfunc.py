"""The demand model as an MLflow model: a pyfunc that takes a DemandFrame, returns forecasts."""

from __future__ import annotations

import contextlib
import copy
import io
import pickle
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from forecasting.data import schema
from forecasting.errors import NotFittedError
from forecasting.models.base import Forecaster
from forecasting.trust import HASH_TAG, sha256_bytes

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

FORECASTER_ARTIFACT = "forecaster"
FORECASTER_FILE = "forecaster.pkl"
EXAMPLE_DAYS = 56
EXAMPLE_SITES = 2
# third-party packages the model needs at load time (``forecasting`` itself must be installed)
RUNTIME_PACKAGES = (
    "mlflow",
    "pandas",
    "numpy",
    "scikit-learn",
    "lightgbm",
    "statsmodels",
    "holidays",
    "pydantic",
)


class DemandPyfunc(PythonModel):
    """Pyfunc wrapper of a fitted :class:`Forecaster`.

    ``predict`` rolls the model forward on the given DemandFrame (``update``: new history, same
    parameters) and forecasts ``horizon`` days after each site's last date.

    Args:
        horizon: Days ahead when the caller passes no ``horizon`` parameter.
    """

    def __init__(self, horizon: int = 7) -> None:
        self.horizon = horizon

    def load_context(self, context: Any) -> None:
        """Unpickle the forecaster from the model's artifacts."""
        with open(context.artifacts[FORECASTER_ARTIFACT], "rb") as handle:
            self.model_: Forecaster = pickle.load(handle)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Forecast frame for the sites and history in ``model_input`` (a DemandFrame).

        Raises:
            NotFittedError: If the wrapper was used without loading a model.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("DemandPyfunc has no model. Fix: load it with mlflow.pyfunc.")
        horizon = int((params or {}).get("horizon", self.horizon))
        model = copy.deepcopy(self.model_)  # a call never changes the loaded model
        return model.update(model_input).predict(horizon)


def pip_requirements() -> list[str]:
    """Pinned versions of :data:`RUNTIME_PACKAGES` as installed (no slow inference)."""
    return [f"{name}=={metadata.version(name)}" for name in RUNTIME_PACKAGES]


def input_example(frame: pd.DataFrame) -> pd.DataFrame:
    """A small DemandFrame: the last ``EXAMPLE_DAYS`` days of the first ``EXAMPLE_SITES`` sites."""
    cols = list(schema.REQUIRED_COLUMNS)
    sites = sorted(frame[schema.SITE].astype(str).unique())[:EXAMPLE_SITES]
    ex = frame.loc[frame[schema.SITE].astype(str).isin(sites), cols].copy()
    ex[schema.SITE] = ex[schema.SITE].astype(str)
    ex[schema.TARGET] = ex[schema.TARGET].astype(float)  # counts may arrive as floats
    last = ex[schema.DATE].max()
    ex = ex[ex[schema.DATE] > last - pd.Timedelta(days=EXAMPLE_DAYS)]
    return ex.sort_values([schema.SITE, schema.DATE]).reset_index(drop=True)


def log_demand_model(
    model: Forecaster,
    frame: pd.DataFrame,
    horizon: int,
    registered_model_name: str | None = None,
    name: str = "model",
) -> ModelInfo:
    """Log a fitted forecaster as a pyfunc model in the active run (and register it).

    The SHA-256 of the pickled forecaster is kept as a tag (:data:`HASH_TAG`) of the run and
    of the registered version: :func:`~forecasting.tracking.champion.load_champion` checks
    every copy against it before unpickling.

    Args:
        model: The fitted forecaster (pickled as the model's artifact).
        frame: Its training DemandFrame (for the input example; no rows beyond it are kept).
        horizon: Default forecast horizon of the pyfunc.
        registered_model_name: Register the model under this name (a new version).
        name: Name of the model in the run.

    Returns:
        MLflow's model info (``model_uri``, ``registered_model_version``, …).
    """
    import mlflow
    from mlflow.models import infer_signature

    model._check_fitted()
    example = input_example(frame)
    output = model.predict(horizon).head(EXAMPLE_SITES * horizon)
    # MLflow prints registration chatter straight to stderr; the CLI says what happened itself
    with (
        tempfile.TemporaryDirectory() as tmp,
        warnings.catch_warnings(),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        # MLflow's hints (integer columns, cloudpickle) are about choices made on purpose here
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(example, output, params={"horizon": horizon})
        path = Path(tmp) / FORECASTER_FILE
        data = pickle.dumps(model)
        path.write_bytes(data)
        digest = sha256_bytes(data)
        mlflow.set_tag(HASH_TAG, digest)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=DemandPyfunc(horizon),
            artifacts={FORECASTER_ARTIFACT: str(path)},
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )
    if registered_model_name and info.registered_model_version is not None:
        mlflow.MlflowClient().set_model_version_tag(
            registered_model_name, str(info.registered_model_version), HASH_TAG, digest
        )
    return info
