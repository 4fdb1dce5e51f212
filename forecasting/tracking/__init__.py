"""MLflow tracking and the model registry: the only part of the package that imports mlflow.

Importing this package is cheap; MLflow is loaded on first use of a helper::

    from forecasting import tracking

    result = tracking.train_demand_model(frame, cfg, model="ets")
    runs = tracking.search_runs(cfg)  # a DataFrame of runs, metrics and parameters
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrackingError": "forecasting.tracking.errors",
    "StoreError": "forecasting.tracking.errors",
    "NoChampionError": "forecasting.tracking.errors",
    "PromotionRefusedError": "forecasting.tracking.errors",
    "PrivacyError": "forecasting.tracking.errors",
    "RegistryUnavailableWarning": "forecasting.tracking.errors",
    "RegistrationSkippedWarning": "forecasting.tracking.errors",
    "resolve_tracking_uri": "forecasting.tracking.store",
    "using_store": "forecasting.tracking.store",
    "check_store": "forecasting.tracking.store",
    "frame_fingerprint": "forecasting.tracking.fingerprint",
    "TrackedRun": "forecasting.tracking.runs",
    "log_backtest_run": "forecasting.tracking.runs",
    "log_readmission_run": "forecasting.tracking.readmission",
    "TrainResult": "forecasting.tracking.training",
    "train_demand_model": "forecasting.tracking.training",
    "DemandPyfunc": "forecasting.tracking.pyfunc",
    "Promotion": "forecasting.tracking.registry",
    "LoadedChampion": "forecasting.tracking.champion",
    "load_champion": "forecasting.tracking.champion",
    "promote": "forecasting.tracking.library",
    "Review": "forecasting.tracking.review",
    "review_version": "forecasting.tracking.review",
    "search_runs": "forecasting.tracking.library",
    "load_model": "forecasting.tracking.library",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'forecasting.tracking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
