"""Probability calibration: Platt scaling or isotonic regression, chosen by measurement.

:func:`choose_calibrator` takes out-of-fold risks (from models that never saw the episode's
patient), fits both calibrators on one half of the patients and measures the Brier score on
the other half, both ways round, and keeps the better method (Platt on a tie: it is smoother and
keeps the ranking). The kept method is then refitted on all out-of-fold risks.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from forecasting.errors import NotFittedError

Method = Literal["platt", "isotonic"]
_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """Return the log-odds of probabilities (clipped away from 0 and 1)."""
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Return the logistic function of log-odds."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def fit_logistic_1d(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None = None,
    slope: bool = True,
    iterations: int = 50,
) -> tuple[float, float]:
    """Fit ``logit P(y=1) = a + b x (+ offset)`` by Newton's method (no penalty).

    Args:
        x: The covariate.
        y: 0/1 outcomes.
        offset: A fixed term added to the linear predictor (for calibration-in-the-large).
        slope: Fit ``b``; if False, ``b`` is 0 (intercept only).
        iterations: Newton steps at most.

    Returns:
        ``(a, b)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    off = np.zeros_like(x) if offset is None else np.asarray(offset, dtype=float)
    design = np.column_stack([np.ones_like(x), x]) if slope else np.ones((len(x), 1))
    rate = np.clip(y.mean(), _EPS, 1 - _EPS)
    beta = np.zeros(design.shape[1])
    beta[0] = np.log(rate / (1 - rate)) - (off.mean() if offset is not None else 0.0)
    for _ in range(iterations):
        p = sigmoid(design @ beta + off)
        grad = design.T @ (y - p)
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1]) if slope else 0.0


class Calibrator:
    """Map raw risks to calibrated probabilities with Platt scaling or isotonic regression.

    Args:
        method: ``"platt"`` (logistic on the log-odds) or ``"isotonic"``.
    """

    def __init__(self, method: Method = "platt") -> None:
        self.method = method

    def fit(self, risk: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on raw risks and 0/1 outcomes; returns self."""
        if self.method == "platt":
            self.coef_ = fit_logistic_1d(logit(risk), y)
        else:
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip")
            self.isotonic_ = iso.fit(np.asarray(risk, dtype=float), np.asarray(y, dtype=float))
        return self

    def transform(self, risk: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        if not hasattr(self, "coef_") and not hasattr(self, "isotonic_"):
            raise NotFittedError("Calibrator is not fitted: call fit(risk, y) first")
        if self.method == "platt":
            a, b = self.coef_
            return sigmoid(a + b * logit(risk))
        return np.asarray(self.isotonic_.predict(np.asarray(risk, dtype=float)), dtype=float)


def choose_calibrator(
    risk: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int = 0
) -> tuple[Calibrator, dict[str, float]]:
    """Pick Platt or isotonic calibration by the Brier score on held-out patients.

    Args:
        risk: Out-of-fold raw risks.
        y: 0/1 outcomes.
        groups: Patient ids: the two halves never share a patient.
        seed: Seed of the split into halves.

    Returns:
        The chosen calibrator fitted on all ``risk``, and the held-out Brier score of each
        method (``{"platt": ..., "isotonic": ...}``).
    """
    risk = np.asarray(risk, dtype=float)
    y = np.asarray(y, dtype=float)
    ids = pd.Series(np.asarray(groups))
    patients = np.sort(ids.unique())
    half = np.random.default_rng(seed).permutation(len(patients))[: len(patients) // 2]
    first = ids.isin(set(patients[half])).to_numpy()
    scores: dict[str, float] = {}
    for method in ("platt", "isotonic"):
        errors = []
        for fit_on in (first, ~first):
            cal = Calibrator(method).fit(risk[fit_on], y[fit_on])
            errors.append(np.mean((cal.transform(risk[~fit_on]) - y[~fit_on]) ** 2))
        scores[method] = float(np.mean(errors))
    best: Method = "isotonic" if scores["isotonic"] < scores["platt"] else "platt"
    return Calibrator(best).fit(risk, y), scores
