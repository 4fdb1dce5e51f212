"""30-day readmission risk: episode data, LACE, calibrated models, explanations, operations.

Typical use::

    from forecasting import readmission as rx

    cols = rx.EpisodeColumns(episode_id="encounter_id", patient_id="patient_nbr",
                             label="readmitted", positive="<30")
    episodes = rx.load_episodes("diabetic_data.csv.gz", cols)
    run = rx.train_readmission(episodes, cols)          # LACE, logistic, LightGBM
    rx.save_bundle(run.bundle, "models/readmission/latest.joblib")
    risk = rx.score_episodes(run.bundle, episodes)  # episode_id, risk, risk_band, lace, reasons

The names below load on first use, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EpisodeColumns": "forecasting.readmission.columns",
    "load_columns": "forecasting.readmission.columns",
    "load_episodes": "forecasting.readmission.load",
    "to_episode_frame": "forecasting.readmission.load",
    "charlson_index": "forecasting.readmission.charlson",
    "charlson_conditions": "forecasting.readmission.charlson",
    "lace_points": "forecasting.readmission.lace",
    "EpisodeFeatures": "forecasting.readmission.features",
    "LaceRisk": "forecasting.readmission.models",
    "LogisticRisk": "forecasting.readmission.models",
    "LightGBMRisk": "forecasting.readmission.models",
    "patient_split": "forecasting.readmission.split",
    "train_readmission": "forecasting.readmission.train",
    "score_episodes": "forecasting.readmission.train",
    "evaluate_bundle": "forecasting.readmission.train",
    "RiskBundle": "forecasting.readmission.bundle",
    "save_bundle": "forecasting.readmission.bundle",
    "load_bundle": "forecasting.readmission.bundle",
    "bundle_params": "forecasting.readmission.bundle",
    "risk_metrics": "forecasting.readmission.metrics",
    "subgroup_metrics": "forecasting.readmission.metrics",
    "write_report": "forecasting.readmission.report",
    "run_summary": "forecasting.readmission.report",
    "calibration_plot": "forecasting.readmission.report",
    "expected_readmissions": "forecasting.readmission.operations",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'forecasting.readmission' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
