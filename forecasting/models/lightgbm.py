"""A global LightGBM model over all sites, direct multi-horizon, with calibrated quantiles.

Segments (winter-only data): the model learns from every segment (run of consecutive days) of
every site; its design rows never span a gap (:class:`~forecasting.features.builder.
DirectFeatures`: features whose lookback leaves the cutoff's segment are missing, targets stay
in it) and it predicts from each site's latest segment.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from forecasting.features.builder import DirectFeatures
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import Forecaster
from forecasting.models.conformal import calibration_split, per_horizon

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "verbose": -1,
    "n_jobs": 1,
}


class LightGBMForecaster(Forecaster):
    """Global LightGBM on level-scaled targets; one model for all sites and horizons.

    The target is the day's count over the cutoff's 28-day level, so sites of any size share
    one model (``site_id`` is also a categorical feature). Quantiles come either from
    conformal ratios (``y / mean`` on held-out recent cutoffs, per horizon) or from separate
    quantile-objective models.

    Args:
        max_horizon: Largest horizon the model is trained for.
        features: The design builder (default: calendar, England holidays, lags).
        intervals: ``"conformal"`` or ``"quantile"``.
        calibration_days: Most recent cutoffs held out to calibrate conformal quantiles.
        params: LightGBM parameters (merged over ``DEFAULT_PARAMS``).
        stride: Use every ``stride``-th cutoff for training (thins large panels).
        recency_halflife: If set, weight training rows by 0.5 ** (age in days / this).
        seed: Random seed.
    """

    name = "lightgbm"

    def __init__(
        self,
        max_horizon: int = 14,
        features: DirectFeatures | None = None,
        intervals: Literal["conformal", "quantile"] = "conformal",
        calibration_days: int = 91,
        params: dict[str, object] | None = None,
        stride: int = 1,
        recency_halflife: float | None = None,
        seed: int = 0,
    ) -> None:
        self.max_horizon = max_horizon
        self.features = features
        self.intervals = intervals
        self.calibration_days = calibration_days
        self.params = params
        self.stride = stride
        self.recency_halflife = recency_halflife
        self.seed = seed

    def _builder(self) -> DirectFeatures:
        return self.features or DirectFeatures()

    def _model(self, **extra: Any) -> Any:
        import lightgbm as lgb

        params: dict[str, Any] = {
            **DEFAULT_PARAMS,
            **(self.params or {}),
            "random_state": self.seed,
            **extra,
        }
        return lgb.LGBMRegressor(**params)

    def _design(self, X: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        X["site"] = pd.Categorical(meta["site_id"].astype(str), categories=self.sites_)
        return X

    def _fit(self, history: pd.DataFrame) -> None:
        builder = self._builder()
        X, y, meta = builder.training_rows(history, self.max_horizon, self.stride)
        ok = np.isfinite(meta["level"].to_numpy()) & (meta["level"].to_numpy() > 0)
        X, y, meta = X[ok].reset_index(drop=True), y[ok], meta[ok].reset_index(drop=True)
        self.sites_ = sorted(history["site_id"].astype(str).unique())
        ratio = y / meta["level"].to_numpy()
        D = self._design(X, meta)
        w = self._weights(meta)
        if self.intervals == "quantile":
            self.quantile_models_ = {
                q: self._model(objective="quantile", alpha=q).fit(D, ratio, sample_weight=w)
                for q in QUANTILES
            }
            self.ratio_quantiles_ = None
        else:
            self.ratio_quantiles_ = self._conformal(D, ratio, meta, w)
        self.model_ = self._model(objective="regression").fit(D, ratio, sample_weight=w)

    def _weights(self, meta: pd.DataFrame) -> np.ndarray | None:
        if not self.recency_halflife:
            return None
        age = (meta["date"].max() - meta["date"]).dt.days.to_numpy(dtype=float)
        return np.power(0.5, age / self.recency_halflife)

    def _conformal(
        self, D: pd.DataFrame, ratio: np.ndarray, meta: pd.DataFrame, w: np.ndarray | None
    ) -> np.ndarray:
        """Quantiles of y / prediction on the last ``calibration_days`` cutoffs, per horizon."""
        train, cal = calibration_split(meta, self.calibration_days)
        wt = None if w is None else w[train]
        model = self._model(objective="regression").fit(D[train], ratio[train], sample_weight=wt)
        errors = ratio[cal] / np.maximum(model.predict(D[cal]), 1e-6)
        h = meta.loc[cal, "horizon"].to_numpy()
        return per_horizon(errors, h, self.max_horizon, lambda e: np.quantile(e, QUANTILES))

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        if horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} exceeds max_horizon {self.max_horizon}; refit")
        X, meta = self._builder().prediction_rows(self.history_, horizon, future)
        D = self._design(X, meta)
        level = meta["level"].to_numpy()
        mean_ratio = np.maximum(self.model_.predict(D), 0.0)
        out = meta.drop(columns="level").copy()
        out["mean"] = mean_ratio * level
        if self.ratio_quantiles_ is not None:
            factors = self.ratio_quantiles_[meta["horizon"].to_numpy() - 1]
            q = out["mean"].to_numpy()[:, None] * factors
        else:
            q = np.column_stack([self.quantile_models_[a].predict(D) for a in QUANTILES])
            q = q * level[:, None]
        out[list(QUANTILE_COLUMNS)] = q
        return out
