"""Bed occupancy forecasts: a global LightGBM on segment-aware features, 1..7 days ahead.

The model predicts the change of the occupancy ratio from the cutoff,
``y[t+h] / beds[t+h] - y[t] / beds[t]`` (``target="ratio"``; ``"change"`` is the change of beds
occupied over the cutoff's beds, ``"level"`` the target day's ratio), for every trust and
horizon at once (direct strategy, the horizon is a feature). The forecast of beds occupied is
``(y[t] / beds[t] + change) * beds[t]``. It learns from all segments (winters) of all sites;
every feature reads the cutoff's segment only (:mod:`forecasting.features.occupancy`).

Quantiles are conformal. With ``calibration="folds"`` (default) the out-of-sample errors come
from ``calibration_folds`` extra fits, each leaving one of the latest winters (July–June years
of the target day) out of training and predicting it; only rows whose cutoff is at least
``calibration_min_since`` days into its segment are kept (the forecast rows of a winter in
progress, not its first days with few features). With ``calibration="latest"`` (split
conformal) a second model fitted on all but the most recent ``calibration_cutoffs`` cutoff days
predicts those. The per-horizon distribution of the errors (occupancy points, divided by the
site's recent volatility when ``normalize`` is set) is added to the forecast. The same error
distribution gives exceedance probabilities (:meth:`OccupancyForecaster.predict_occupancy`).

Beds open are held flat at the cutoff's value: forecast occupancy = forecast occupied / beds
open at the cutoff. Escalation beds open and close with demand, so beds and occupied move
together; the ratio target learns that (occupied over fixed beds would overstate swings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecasting.data.schema import DATE, SITE
from forecasting.features.occupancy import (
    DEFAULT_EXOGENOUS,
    BedsChange,
    ExogenousRates,
    OccupancyDesign,
    OccupancyLags,
    SameWeekdayChange,
    SegmentTransform,
    WeekdayStep,
    WinterCalendar,
)
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import Forecaster

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 100,
    "subsample": 0.7,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "verbose": -1,
    "n_jobs": 1,
}
#: Levels of the stored conformal error distribution (for quantiles and probabilities).
GRID: np.ndarray = np.linspace(0.0025, 0.9975, 200)
VOL_FLOOR = 0.005
#: Training changes are clipped to +-this (occupancy points): reporting errors (a day with
#: a handful of beds) must not steer a squared-error fit.
TARGET_CLIP = 0.3
THRESHOLDS: tuple[float, ...] = (0.92, 0.95, 0.97)
#: Fewest errors for an occupancy bin of its own (else the horizon's pool).
MIN_BIN_ROWS = 200


class OccupancyForecaster(Forecaster):
    """Global direct multi-horizon LightGBM for beds occupied, with conformal quantiles.

    Args:
        max_horizon: Largest horizon (days).
        calibration: ``"folds"`` (leave-one-winter-out errors of the latest winters) or
            ``"latest"`` (split conformal on the most recent cutoff days).
        calibration_cutoffs: With ``"latest"``: most recent cutoff days held out.
        calibration_folds: With ``"folds"``: number of latest winters, one fit each.
        calibration_min_since: With ``"folds"``: keep error rows whose cutoff is at least this
            many days into its segment (all rows when too few).
        occupancy_bins: Inner edges of occupancy-at-the-cutoff bins: errors are pooled per
            horizon and bin (Mondrian conformal; a bin with fewer than ``MIN_BIN_ROWS`` errors
            uses the horizon's pool). Empty: per horizon only.
        target: ``"ratio"`` (default: change of the occupancy ratio, occupied / open at the
            target day minus at the cutoff), ``"change"`` (change of beds occupied over the
            cutoff's beds) or ``"level"`` (occupancy ratio at the target day).
        normalize: Divide conformal errors by each row's recent volatility (``vol14``).
        christmas: Use the Christmas / bank-holiday calendar features.
        exogenous: Optional pressure columns used when present (per-bed rates).
        params: LightGBM parameters (merged over ``DEFAULT_PARAMS``).
        stride: Use every ``stride``-th cutoff of each segment for training.
        country: ``holidays`` country code.
        subdiv: Its subdivision code.
        seed: Random seed.
    """

    name = "occupancy"

    def __init__(
        self,
        max_horizon: int = 7,
        calibration: Literal["folds", "latest"] = "folds",
        calibration_cutoffs: int = 42,
        calibration_folds: int = 3,
        calibration_min_since: int = 21,
        occupancy_bins: Sequence[float] = (),
        target: Literal["ratio", "change", "level"] = "ratio",
        normalize: bool = False,
        christmas: bool = True,
        exogenous: Sequence[str] = DEFAULT_EXOGENOUS,
        params: dict[str, Any] | None = None,
        stride: int = 1,
        country: str = "GB",
        subdiv: str | None = "ENG",
        seed: int = 0,
    ) -> None:
        self.max_horizon = max_horizon
        self.calibration = calibration
        self.calibration_cutoffs = calibration_cutoffs
        self.calibration_folds = calibration_folds
        self.calibration_min_since = calibration_min_since
        self.occupancy_bins = tuple(occupancy_bins)
        self.target = target
        self.normalize = normalize
        self.christmas = christmas
        self.exogenous = tuple(exogenous)
        self.params = params
        self.stride = stride
        self.country = country
        self.subdiv = subdiv
        self.seed = seed

    def design(self) -> OccupancyDesign:
        """The feature design this model uses."""
        transforms: tuple[SegmentTransform, ...] = (
            OccupancyLags(),
            SameWeekdayChange(),
            WeekdayStep(),
            BedsChange(),
            ExogenousRates(self.exogenous),
        )
        calendar = WinterCalendar(self.country, self.subdiv, christmas=self.christmas)
        return OccupancyDesign(transforms=transforms, calendar=calendar)

    def _model(self, **extra: Any) -> Any:
        import lightgbm as lgb

        params = {**DEFAULT_PARAMS, **(self.params or {}), "random_state": self.seed, **extra}
        return lgb.LGBMRegressor(**params)

    def _fit(self, history: pd.DataFrame) -> None:
        X, count_change, meta = self.design().training_rows(history, self.max_horizon, self.stride)
        target = self._target(count_change, meta)
        ok = np.isfinite(target)
        X, target = X[ok].reset_index(drop=True), target[ok]
        meta = meta[ok].reset_index(drop=True)
        if len(X) == 0:
            raise ValueError(
                "no training rows: every segment is a single day. Fix: pass longer history"
            )
        self.features_ = list(X.columns)
        target = np.clip(target, -TARGET_CLIP, TARGET_CLIP)
        self.model_ = self._model().fit(X, self._to_fit(target, meta))
        self.errors_ = self._conformal(X, target, meta)

    def _target(self, count_change: np.ndarray, meta: pd.DataFrame) -> np.ndarray:
        """The change the model predicts (occupancy points), per ``target``."""
        if self.target == "change":
            return count_change
        now = (meta["y_last"] / meta["scale"]).to_numpy(dtype=float)
        return (meta["y"] / meta["scale_y"]).to_numpy(dtype=float) - now

    def _offset(self, meta: pd.DataFrame) -> np.ndarray:
        """What turns the fitted target into the change: 0, or the last occupancy (level)."""
        if self.target != "level":
            return np.zeros(len(meta))
        return (meta["y_last"] / meta["scale"]).to_numpy(dtype=float)

    def _to_fit(self, change: np.ndarray, meta: pd.DataFrame) -> np.ndarray:
        return change + self._offset(meta)

    def _change(self, model: Any, X: pd.DataFrame, meta: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(X), dtype=float) - self._offset(meta)

    def _conformal(self, X: pd.DataFrame, target: np.ndarray, meta: pd.DataFrame) -> np.ndarray:
        """Per-horizon quantile grid of held-out errors (occupancy points, maybe normalized)."""
        found = self._fold_errors(X, target, meta) if self.calibration == "folds" else None
        errors, h, now = found if found is not None else self._latest_errors(X, target, meta)
        b = np.digitize(now, self.occupancy_bins)
        grid = np.zeros((self.max_horizon, len(self.occupancy_bins) + 1, len(GRID)))
        for k in range(1, self.max_horizon + 1):
            e = errors[h == k] if np.any(h == k) else errors
            bk = b[h == k] if np.any(h == k) else b
            for j in range(grid.shape[1]):
                inside = e[bk == j]
                grid[k - 1, j] = np.quantile(inside if len(inside) >= MIN_BIN_ROWS else e, GRID)
        return grid

    def _grids(self, meta: pd.DataFrame) -> np.ndarray:
        """Each prediction row's error grid (by horizon and occupancy bin at the cutoff)."""
        now = (meta["y_last"] / meta["scale"]).to_numpy(dtype=float)
        b = np.digitize(np.nan_to_num(now, nan=0.0), self.occupancy_bins)
        return np.asarray(self.errors_[meta["horizon"].to_numpy() - 1, b])

    def _latest_errors(
        self, X: pd.DataFrame, target: np.ndarray, meta: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split conformal: errors on the latest ``calibration_cutoffs`` cutoff days."""
        cutoffs = np.sort(meta["cutoff"].unique())
        first = cutoffs[max(0, len(cutoffs) - self.calibration_cutoffs)]
        cal = (meta["cutoff"] >= first).to_numpy()
        train = (meta[DATE] < first).to_numpy()
        if train.sum() < 50 or cal.sum() < 20:  # too little history: in-sample errors
            train, cal = np.ones(len(X), bool), np.ones(len(X), bool)
        return self._held_out(X, target, meta, train, cal)

    def _fold_errors(
        self, X: pd.DataFrame, target: np.ndarray, meta: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Leave-one-winter-out errors of the latest winters (None: fewer than two winters)."""
        win_date, win_cut = _winter(meta[DATE]), _winter(meta["cutoff"])
        winters = np.unique(win_date)
        if len(winters) < 2:
            return None
        since = X["days_since_start"].to_numpy(dtype=float)
        errors, horizons, levels = [], [], []
        for w in winters[-(self.calibration_folds + 1) : -1]:
            hold = win_date == w
            train = (win_date != w) & (win_cut != w)
            if train.sum() < 50 or hold.sum() < 20:
                continue
            keep = hold & (since >= self.calibration_min_since)
            cal = keep if keep.sum() >= 20 * self.max_horizon else hold
            e, h, now = self._held_out(X, target, meta, train, cal)
            errors.append(e)
            horizons.append(h)
            levels.append(now)
        if not errors:
            return None
        return np.concatenate(errors), np.concatenate(horizons), np.concatenate(levels)

    def _held_out(
        self,
        X: pd.DataFrame,
        target: np.ndarray,
        meta: pd.DataFrame,
        train: np.ndarray,
        cal: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Errors, horizons and occupancy at the cutoff on ``cal`` of a model fit on ``train``."""
        model = self._model().fit(X[train], self._to_fit(target[train], meta[train]))
        change = self._change(model, X[cal], meta[cal].reset_index(drop=True))
        errors = (target[cal] - change) / self._spread(X[cal])
        now = (meta.loc[cal, "y_last"] / meta.loc[cal, "scale"]).to_numpy(dtype=float)
        return errors, meta.loc[cal, "horizon"].to_numpy(), now

    def _spread(self, X: pd.DataFrame) -> np.ndarray:
        if not self.normalize:
            return np.ones(len(X))
        vol = X["vol14"].to_numpy(dtype=float)
        fallback = np.nanmedian(vol) if np.isfinite(vol).any() else 0.02
        return np.maximum(np.where(np.isfinite(vol), vol, fallback), VOL_FLOOR)

    def _rows(self, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
        """Prediction rows: design, meta, mean change and spread (occupancy points)."""
        if horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} exceeds max_horizon {self.max_horizon}; refit")
        X, meta = self.design().prediction_rows(self.history_, horizon)
        X = X[self.features_]
        return X, meta, self._change(self.model_, X, meta), self._spread(X)

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        del future
        _, meta, change, spread = self._rows(horizon)
        return self._frame(meta, change, spread)

    def _frame(self, meta: pd.DataFrame, change: np.ndarray, spread: np.ndarray) -> pd.DataFrame:
        scale = meta["scale"].to_numpy(dtype=float)
        y_last = meta["y_last"].to_numpy(dtype=float)
        out = meta[[SITE, "cutoff", DATE, "horizon"]].copy()
        out["mean"] = y_last + change * scale
        grid = self._grids(meta)
        levels = np.interp(QUANTILES, GRID, np.arange(len(GRID)))
        for col, pos in zip(QUANTILE_COLUMNS, levels, strict=True):
            e = np.array([np.interp(pos, np.arange(len(GRID)), g) for g in grid])
            out[col] = y_last + (change + e * spread) * scale
        return out

    def predict_occupancy(
        self, horizon: int, thresholds: Sequence[float] = THRESHOLDS
    ) -> pd.DataFrame:
        """The forecast frame plus occupancy (forecast / beds open at the cutoff) and P(occ >= x).

        Args:
            horizon: Days ahead.
            thresholds: Occupancy lines for the exceedance probabilities.

        Returns:
            The forecast frame with ``beds``, ``occupancy``, ``occupancy_q*`` and
            ``p_occupancy_ge_{x}`` columns (NaN occupancy where beds are unknown).
        """
        self._check_fitted()
        _, meta, change, spread = self._rows(horizon)
        out = self._frame(meta, change, spread)
        out["model"] = self.name
        beds = meta["beds_last"].to_numpy(dtype=float)
        beds = np.where(beds > 0, beds, np.nan)
        out["beds"] = beds
        out["occupancy"] = out["mean"] / beds
        for col in QUANTILE_COLUMNS:
            out[f"occupancy_{col}"] = out[col] / beds
        scale = meta["scale"].to_numpy(dtype=float)
        center = meta["y_last"].to_numpy(dtype=float) / scale + change
        grid = self._grids(meta)
        for x in thresholds:
            needed = (x * beds / scale - center) / spread
            out[f"p_occupancy_ge_{x:g}"] = exceedance(grid, needed)
        return out


def _winter(dates: pd.Series) -> np.ndarray:
    """Winter of each date: the year of its July–June season."""
    d = pd.DatetimeIndex(dates)
    return np.where(d.month >= 7, d.year, d.year - 1)


def exceedance(grid: np.ndarray, needed: np.ndarray) -> np.ndarray:
    """P(error >= needed) per row from each row's quantile grid of errors (NaN stays NaN)."""
    p = np.full(len(needed), np.nan)
    for i, (g, v) in enumerate(zip(grid, needed, strict=True)):
        if np.isfinite(v):
            p[i] = 1.0 - float(np.interp(v, g, GRID, left=0.0, right=1.0))
    return p
