"""The saved readmission model: features, model, LACE baseline, risk bands and metadata.

A bundle holds no patient rows and no identifiers: column names, categorical levels seen at
least ``min_category_count`` times, fitted parameters, and aggregate figures only. It is
written with joblib through a temporary file (never half-written). ``score`` uses the last
trained bundle, by default :data:`DEFAULT_MODEL_PATH` (relative to the working folder).

A joblib file is a pickle: loading it runs code. So :func:`save_bundle` writes the bundle's
SHA-256 beside it (``<file>.sha256``, ``sha256sum`` format), and :func:`load_bundle` loads a
file only if that hash matches and neither file can be written by anyone but its owner (the
current user, or root for a model installed by an administrator).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.errors import DataFileError
from forecasting.readmission.columns import EpisodeColumns
from forecasting.readmission.features import EpisodeFeatures
from forecasting.readmission.models import LaceRisk, LightGBMRisk, LogisticRisk
from forecasting.trust import (
    check_private,
    read_sidecar,
    sha256_bytes,
    sidecar_path,
    sidecar_text,
    write_private_bytes,
)

DEFAULT_MODEL_PATH = Path("models") / "readmission" / "latest.joblib"
FORMAT_VERSION = 1
BANDS = ("low", "medium", "high")


@dataclass
class RiskBundle:
    """Everything ``score`` and ``evaluate`` need, nothing that identifies a patient.

    Attributes:
        columns: The column mapping used in training (names only).
        features: The fitted feature builder.
        model: The fitted risk model.
        lace: The fitted LACE baseline (for comparisons in ``evaluate``).
        band_cutoffs: Risks at which ``medium`` and ``high`` start (training quantiles).
        metadata: Non-identifying facts: sizes, rates, settings, held-out metrics.
    """

    columns: EpisodeColumns
    features: EpisodeFeatures
    model: LaceRisk | LogisticRisk | LightGBMRisk
    lace: LaceRisk
    band_cutoffs: tuple[float, float]
    metadata: dict[str, Any] = field(default_factory=dict)

    def risk_band(self, risk: np.ndarray) -> np.ndarray:
        """Return ``low``, ``medium`` or ``high`` for each risk."""
        index = np.searchsorted(np.asarray(self.band_cutoffs), np.asarray(risk), side="right")
        return np.asarray(BANDS, dtype=object)[index]


def bundle_params(bundle: RiskBundle) -> dict[str, str | float | int]:
    """Return the bundle's settings as flat, non-identifying parameters (e.g. for MLflow).

    Args:
        bundle: A trained bundle.

    Returns:
        ``model``, the column roles (``role.<name>``), the model settings (``param.<name>``),
        calibration, band cutoffs and training sizes.
    """
    meta = bundle.metadata
    out: dict[str, str | float | int] = {
        "model": bundle.model.name,
        "label": str(bundle.columns.label),
        "positive": bundle.columns.positive,
        "n_features": len(bundle.features.columns_),
        "band_medium_from": round(float(bundle.band_cutoffs[0]), 6),
        "band_high_from": round(float(bundle.band_cutoffs[1]), 6),
    }
    for role, column in sorted(bundle.features.source_.items()):
        out[f"role.{role}"] = column
    for key in ("n_train_episodes", "n_train_patients", "train_event_rate", "holdout", "seed"):
        if key in meta:
            out[key] = meta[key]
    model = bundle.model
    if isinstance(model, LightGBMRisk):
        from forecasting.readmission.models import LIGHTGBM_PARAMS

        for key, value in {**LIGHTGBM_PARAMS, **(model.params or {})}.items():
            out[f"param.{key}"] = value
        out["param.n_trees"] = model.n_trees_
        out["calibration"] = model.calibrator_.method if model.calibrator_ else "none"
    elif isinstance(model, LogisticRisk):
        out["param.C"] = model.C
    return out


def save_bundle(bundle: RiskBundle, path: str | Path = DEFAULT_MODEL_PATH) -> Path:
    """Write the bundle atomically with joblib, and its SHA-256 beside it; return its path."""
    import joblib

    target = Path(path)
    buffer = io.BytesIO()
    joblib.dump({"format": FORMAT_VERSION, "bundle": bundle}, buffer, compress=3)
    digest = write_private_bytes(target, buffer.getvalue())
    write_private_bytes(sidecar_path(target), sidecar_text(target, digest).encode())
    return target


def load_bundle(path: str | Path = DEFAULT_MODEL_PATH) -> RiskBundle:
    """Read a bundle written by :func:`save_bundle`, after checking it (see the module).

    Raises:
        DataFileError: The file is missing or is not a readmission model bundle.
        UntrustedModelError: The file or its ``.sha256`` is missing, writable by others, owned
            by another user, or the hash does not match: nothing was unpickled.
    """
    import joblib

    file = Path(path)
    if not file.is_file():
        raise DataFileError(
            "no trained readmission model here",
            path=file,
            fix="run `forecasting readmission train` first, or pass --model FILE",
        )
    data = _checked_bytes(file)
    try:
        content = joblib.load(io.BytesIO(data))
    except Exception as error:  # unpickling raises many types; any failure means unusable
        raise DataFileError(
            f"not a readable model bundle ({type(error).__name__})",
            path=file,
            fix="train again with `forecasting readmission train`",
        ) from None
    if not isinstance(content, dict) or not isinstance(content.get("bundle"), RiskBundle):
        raise DataFileError(
            "not a readmission model bundle",
            path=file,
            fix="pass the .joblib file written by `forecasting readmission train`",
        )
    return content["bundle"]


def _checked_bytes(file: Path) -> bytes:
    """The file's bytes, once its owner, permissions and recorded hash are checked."""
    from forecasting.errors import UntrustedModelError

    sidecar = sidecar_path(file)
    check_private(file, "model file", allow_root=True)
    expected = read_sidecar(file)
    if expected is None:
        raise UntrustedModelError(
            f"model file {file} has no {sidecar.name} beside it, so it was not loaded (a model "
            "file is code). Fix: train it again with `forecasting readmission train`; if you "
            f"trust this file, record its hash: sha256sum {file} > {sidecar}"
        )
    check_private(sidecar, "model hash file", allow_root=True)
    data = file.read_bytes()  # hashed and loaded from the same bytes: no swap in between
    if sha256_bytes(data) != expected:
        raise UntrustedModelError(
            f"model file {file} does not match the SHA-256 in {sidecar} (changed since it was "
            "saved), so it was not loaded. Fix: train it again with `forecasting readmission "
            "train`, or restore the file you trust"
        )
    return data


def summarise_training(bundle: RiskBundle, episodes: pd.DataFrame) -> dict[str, Any]:
    """Return aggregate, non-identifying facts about training episodes for the metadata."""
    return {
        "n_train_episodes": len(episodes),
        "n_train_patients": int(episodes["patient_id"].nunique()),
        "train_event_rate": round(float(episodes["label"].mean()), 6),
        "features": list(bundle.features.columns_),
    }
