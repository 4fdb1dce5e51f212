"""Discrimination and calibration of readmission risks, overall and by subgroup (TRIPOD+AI).

* AUROC (C-statistic) and AUPRC (average precision) for discrimination;
* Brier score;
* calibration intercept (calibration-in-the-large: ``logit P(y) = a + logit(p)``, 0 is ideal)
  and slope (``logit P(y) = a + b logit(p)``, 1 is ideal; below 1: risks too extreme);
* observed and expected (mean risk) event rates, and their ratio O/E.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from forecasting.readmission.calibration import fit_logistic_1d, logit
from forecasting.readmission.values import blank_to_none

AGE_BANDS = (0, 18, 45, 65, 80, 200)
MIN_EVENTS = 10  # subgroups with fewer events (or non-events) get no AUROC or slope


def risk_metrics(y: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """Return the discrimination and calibration metrics of risks against 0/1 outcomes.

    Args:
        y: Observed outcomes (0/1).
        risk: Predicted probabilities.

    Returns:
        ``n``, ``events``, ``observed``, ``expected``, ``o_e``, ``auroc``, ``auprc``,
        ``brier``, ``calibration_intercept`` and ``calibration_slope`` (NaN where undefined:
        one outcome only, or fewer than :data:`MIN_EVENTS` of either).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=float)
    p = np.asarray(risk, dtype=float)
    events = float(y.sum())
    out = {
        "n": float(len(y)),
        "events": events,
        "observed": float(y.mean()) if len(y) else np.nan,
        "expected": float(p.mean()) if len(y) else np.nan,
        "brier": float(np.mean((p - y) ** 2)) if len(y) else np.nan,
    }
    out["o_e"] = out["observed"] / out["expected"] if out["expected"] else np.nan
    enough = min(events, len(y) - events) >= MIN_EVENTS
    both = 0 < events < len(y)
    out["auroc"] = float(roc_auc_score(y, p)) if both else np.nan
    out["auprc"] = float(average_precision_score(y, p)) if both else np.nan
    z = logit(p)
    in_the_large = fit_logistic_1d(np.zeros_like(z), y, offset=z, slope=False)[0]
    out["calibration_intercept"] = in_the_large if both else np.nan
    out["calibration_slope"] = fit_logistic_1d(z, y)[1] if enough else np.nan
    return out


def calibration_table(y: np.ndarray, risk: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Group episodes into risk deciles (equal counts) and compare mean risk with the event rate.

    Returns:
        One row per bin: ``bin``, ``n``, ``mean_risk``, ``observed``.
    """
    p = np.asarray(risk, dtype=float)
    ranks = pd.Series(p).rank(method="first").to_numpy()
    which = np.minimum((ranks - 1) * bins // max(len(p), 1), bins - 1).astype(int)
    frame = pd.DataFrame({"bin": which, "risk": p, "y": np.asarray(y, dtype=float)})
    table = frame.groupby("bin").agg(
        n=("y", "size"), mean_risk=("risk", "mean"), observed=("y", "mean")
    )
    return table.reset_index()


def age_band(age: pd.Series) -> pd.Series:
    """Return age bands (``0-17``, ``18-44``, ``45-64``, ``65-79``, ``80+``; missing: None)."""
    labels = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(AGE_BANDS[:-1])]
    labels.append(f"{AGE_BANDS[-2]}+")
    bands = pd.cut(age.astype(float), bins=list(AGE_BANDS), right=False, labels=labels)
    return blank_to_none(bands.astype(object), bands.isna().to_numpy())


def subgroup_columns(episodes: pd.DataFrame) -> dict[str, pd.Series]:
    """Return the subgroup variables present: age band, sex, race/ethnicity, site, admission."""
    out: dict[str, pd.Series] = {}
    if "age" in episodes:
        out["age_band"] = age_band(episodes["age"])
    for col in ("sex", "race", "site_id"):
        if col in episodes:
            out[col] = episodes[col].astype(object)
    if "emergency" in episodes:
        kind = episodes["emergency"].map({1.0: "emergency", 0.0: "elective"})
        out["admission"] = blank_to_none(kind.astype(object), kind.isna().to_numpy())
    return out


def subgroup_metrics(episodes: pd.DataFrame, risk: np.ndarray, min_size: int = 30) -> pd.DataFrame:
    """Return the metrics of :func:`risk_metrics` for each subgroup (TRIPOD+AI fairness checks).

    Args:
        episodes: The evaluated EpisodeFrame (with ``label``).
        risk: Predicted risks aligned with ``episodes``.
        min_size: Subgroups with fewer episodes are left out (small groups are noise and
            could single out people).

    Returns:
        One row per subgroup level: ``variable``, ``level`` and the metrics.
    """
    y = episodes["label"].to_numpy(dtype=float)
    p = np.asarray(risk, dtype=float)
    rows = []
    for variable, values in subgroup_columns(episodes).items():
        text = values.fillna("missing").astype(str).to_numpy()
        for level in sorted(set(text)):
            mask = text == level
            if mask.sum() < min_size:
                continue
            rows.append({"variable": variable, "level": level, **risk_metrics(y[mask], p[mask])})
    # no subgroup large enough: the same columns, no rows
    columns = ["variable", "level", *risk_metrics(np.array([0.0, 1.0]), np.array([0.5, 0.5]))]
    return pd.DataFrame(rows, columns=columns)
