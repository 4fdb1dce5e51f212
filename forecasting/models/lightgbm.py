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

from forecasting.features.builder import SITE_COLUMN, DirectFeatures
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


class Booster:
    """A trained LightGBM booster with the two members of ``LGBMRegressor`` the code uses.

    ``predict`` and ``booster_`` (feature names and importances); trained by
    :meth:`LightGBMForecaster._train` on a dataset binned beforehand, whose raw design is
    already freed (``LGBMRegressor.fit`` would hold it for the whole training).
    """

    def __init__(self, booster: Any) -> None:
        self.booster_ = booster

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of the rows of ``X`` (columns in training order)."""
        return np.asarray(self.booster_.predict(X))


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

    def _params(self, **extra: Any) -> dict[str, Any]:
        """LightGBM parameters (names of the scikit-learn API; LightGBM resolves aliases)."""
        return {**DEFAULT_PARAMS, **(self.params or {}), "random_state": self.seed, **extra}

    def _fit(self, history: pd.DataFrame) -> None:
        """Fit on float32 designs built only for the rows each model needs.

        Targets and meta come first (no features). Then the conformal sub-model's rows, its
        calibration rows and finally all rows are each built into one float32 matrix, which
        is dropped as soon as LightGBM has binned it (before any tree is grown): the peak is
        one float32 design plus its binned copy, not several float64 copies.
        """
        builder = self._builder()
        self.sites_ = sorted(history["site_id"].astype(str).unique())
        y, meta = builder.training_meta(history, self.max_horizon, self.stride)
        level = meta["level"].to_numpy()
        ok = np.isfinite(level) & (level > 0)
        ratio = y[ok] / level[ok]
        meta = pd.DataFrame({c: meta[c].to_numpy()[ok] for c in ("cutoff", "date", "horizon")})
        del y, level
        w = self._weights(meta)
        if self.intervals == "quantile":
            del meta
            data = self._dataset(history, ok, ratio, w)
            self.quantile_models_ = {
                q: self._train(data, objective="quantile", alpha=q) for q in QUANTILES
            }
            self.ratio_quantiles_ = None
        else:
            self.ratio_quantiles_ = self._conformal(history, ok, ratio, meta, w)
            del meta
            data = self._dataset(history, ok, ratio, w)
        self.model_ = self._train(data, objective="regression")

    def _matrix(self, history: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """The float32 design of the given training rows, with the site code as last column."""
        X, _, _ = self._builder().training_matrix(
            history, self.max_horizon, self.stride, rows=rows, sites=self.sites_, with_meta=False
        )
        return X

    def _names(self) -> list[str]:
        return [*self._builder().columns, SITE_COLUMN]

    def _dataset(
        self, history: pd.DataFrame, rows: np.ndarray, target: np.ndarray, w: np.ndarray | None
    ) -> Any:
        """LightGBM's binned dataset of the given training rows (mask over all rows).

        The float32 design is only referenced here: LightGBM bins it (``construct``) and lets
        it go (``free_raw_data``), so it is freed before training starts.
        """
        import lightgbm as lgb

        data = lgb.Dataset(
            self._matrix(history, rows),
            label=target,
            weight=w,
            feature_name=self._names(),
            categorical_feature=[SITE_COLUMN],
            params=self._params(),
            free_raw_data=True,
        )
        return data.construct()

    def _train(self, data: Any, **extra: Any) -> Booster:
        """Train on a constructed dataset (as ``LGBMRegressor(**params).fit`` would)."""
        import lightgbm as lgb

        params = self._params(**extra)
        rounds = int(params.pop("n_estimators", 100))
        return Booster(lgb.train(params, data, num_boost_round=rounds))

    def _design(self, X: np.ndarray, meta: pd.DataFrame) -> Any:
        """``X``, or for a model pickled before the float32 design its pandas design."""
        if isinstance(self.model_, Booster):
            return X
        D = pd.DataFrame(X[:, :-1], columns=self._builder().columns)
        D[SITE_COLUMN] = pd.Categorical(meta["site_id"].astype(str), categories=self.sites_)
        return D

    def _weights(self, meta: pd.DataFrame) -> np.ndarray | None:
        if not self.recency_halflife:
            return None
        age = (meta["date"].max() - meta["date"]).dt.days.to_numpy(dtype=float)
        return np.power(0.5, age / self.recency_halflife)

    def _conformal(
        self,
        history: pd.DataFrame,
        ok: np.ndarray,
        ratio: np.ndarray,
        meta: pd.DataFrame,
        w: np.ndarray | None,
    ) -> np.ndarray:
        """Quantiles of y / prediction on the last ``calibration_days`` cutoffs, per horizon.

        ``ok`` is the mask of the usable rows among all training rows; ``ratio``, ``meta`` and
        ``w`` are of the usable rows.
        """
        train, cal = calibration_split(meta, self.calibration_days)
        wt = None if w is None else w[train]
        data = self._dataset(history, _within(ok, train), ratio[train], wt)
        model = self._train(data, objective="regression")
        del data
        cal_design = self._matrix(history, _within(ok, cal))
        errors = ratio[cal] / np.maximum(model.predict(cal_design), 1e-6)
        h = meta["horizon"].to_numpy()[cal]
        return per_horizon(errors, h, self.max_horizon, lambda e: np.quantile(e, QUANTILES))

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        if horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} exceeds max_horizon {self.max_horizon}; refit")
        X, meta = self._builder().prediction_matrix(
            self.history_, horizon, future, sites=self.sites_
        )
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


def _within(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The mask over all rows of the rows selected by ``inner`` among those of ``outer``."""
    out = np.zeros(len(outer), dtype=bool)
    out[outer] = inner
    return out
