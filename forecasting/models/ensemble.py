"""Combine several models by averaging their means and quantiles (Vincentization)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.models.base import Forecaster
from forecasting.models.combination import (
    MemberFit,
    ValidationPlan,
    fit_member,
    interval_scale,
    recent_weights,
)

_KEYS = ["site_id", "cutoff", "date", "horizon"]
WEIGHTINGS = ("equal", "recent")


class EnsembleForecaster(Forecaster):
    """Weighted average of member forecasts, quantile by quantile.

    Averaging quantiles (rather than mixing distributions) keeps them monotone and tends to
    give sharper, well-calibrated intervals when members' errors are not perfectly correlated.

    The members get the whole history (each keeps the segments it needs).

    Args:
        members: Unfitted member models.
        weights: One fixed weight per member (normalised); used when ``weighting="equal"``
            (``None``: equal weights).
        name: Model name in the forecast frame.
        weighting: ``"equal"`` (the fixed ``weights``) or ``"recent"``: per site and horizon,
            weights proportional to ``loss ** -power`` of each member's pinball loss over the
            last ``validation_windows`` weekly cutoffs before the end of the training history
            (:mod:`forecasting.models.combination`). Histories too short for that (or with
            gaps) fall back to ``weights``.
        power: Exponent of the loss in the recent weights (0 = equal; larger = sharper).
        validation_windows: Validation cutoffs, ``validation_step`` days apart.
        validation_step: Days between validation cutoffs.
        max_horizon: Days forecast from each validation cutoff.
        refit_after_validation: Fit each member again on the whole history after its
            validation windows (twice the fitting cost) instead of rolling it forward.
        calibrate: Rescale the combined quantiles' distance from the median by one factor
            learned on the validation windows (:func:`~forecasting.models.combination.
            interval_scale`), moved ``calibration_shrink`` of the way from 1.
        calibration_shrink: How far to trust the learned factor (0 to 1).
    """

    def __init__(
        self,
        members: Sequence[Forecaster],
        weights: Sequence[float] | None = None,
        name: str = "ensemble",
        weighting: str = "equal",
        power: float = 4.0,
        validation_windows: int = 12,
        validation_step: int = 7,
        max_horizon: int = 7,
        refit_after_validation: bool = False,
        calibrate: bool = False,
        calibration_shrink: float = 0.5,
    ) -> None:
        self.members = members
        self.weights = weights
        self.name = name
        self.weighting = weighting
        self.power = power
        self.validation_windows = validation_windows
        self.validation_step = validation_step
        self.max_horizon = max_horizon
        self.refit_after_validation = refit_after_validation
        self.calibrate = calibrate
        self.calibration_shrink = calibration_shrink

    def plan(self) -> ValidationPlan:
        """Where the members' validation windows fall (none unless ``weighting="recent"``).

        Raises:
            ValueError: If ``weighting`` is not one of :data:`WEIGHTINGS`.
        """
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        windows = self.validation_windows if self.weighting == "recent" else 0
        return ValidationPlan(
            windows, self.validation_step, self.max_horizon, self.refit_after_validation
        )

    def _w(self) -> np.ndarray:
        w = np.ones(len(self.members)) if self.weights is None else np.asarray(self.weights, float)
        return w / w.sum()

    def _fit(self, history: pd.DataFrame) -> None:
        plan = self.plan()
        self._set_members([fit_member(history, m, plan) for m in self.members])

    def _set_members(self, fits: Sequence[MemberFit]) -> None:
        self.members_ = [f.model for f in fits]
        validations = [f.validation for f in fits]
        self.interval_scale_ = 1.0
        if any(v.empty for v in validations):
            self.site_weights_ = pd.DataFrame(columns=range(len(fits)), dtype=float)
            return
        self.site_weights_ = recent_weights(validations, self.power)
        if self.calibrate:
            combined = self._combine([v.sort_values(_KEYS) for v in validations])
            self.interval_scale_ = interval_scale(combined, self.calibration_shrink)

    def fit_from_members(
        self, history: pd.DataFrame, fitted: Sequence[Forecaster | MemberFit]
    ) -> Self:
        """Fit from members already fitted on ``history`` (e.g. in parallel, by an executor).

        ``fitted`` holds, per member, what :func:`~forecasting.models.combination.fit_member`
        returns for :meth:`plan` (or, without validation windows, the member fitted on
        ``history``). The result is the same as :meth:`fit`.

        Raises:
            ValueError: If ``fitted`` does not match ``members`` one for one, by type.
        """
        fits = [f if isinstance(f, MemberFit) else MemberFit(f, pd.DataFrame()) for f in fitted]
        kinds = [type(m) for m in self.members]
        if [type(f.model) for f in fits] != kinds:
            raise ValueError(f"fitted members must be {[k.__name__ for k in kinds]}, in order")
        self.target_role_ = str(history.attrs.get("target_role", "attendances"))
        self.history_ = self._history(history)
        self._set_members(fits)
        self.fitted_ = True
        return self

    def _update(self, history: pd.DataFrame) -> None:
        for m in self.members_:
            m.update(history)

    def weights_for(self, sites: pd.Series, horizons: pd.Series) -> np.ndarray:
        """Member weights (rows: members) for each forecast row's site and horizon."""
        fixed = np.repeat(self._w()[:, None], len(sites), axis=1)
        learned = getattr(self, "site_weights_", None)
        if learned is None or learned.empty:
            return fixed
        keys = pd.MultiIndex.from_arrays([sites.astype(str), horizons.astype(int)])
        found = learned.reindex(keys).to_numpy(dtype=float).T
        return np.where(np.isfinite(found), found, fixed)

    def _combine(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        """The weighted quantile average of member frames (rows matched on the keys)."""
        cols = ["mean", *QUANTILE_COLUMNS]
        keys = frames[0][_KEYS].astype({"site_id": str})
        for f in frames[1:]:
            keys = keys.merge(f[_KEYS].astype({"site_id": str}), on=_KEYS)
        index = pd.MultiIndex.from_frame(keys)
        aligned = [f.astype({"site_id": str}).set_index(_KEYS).reindex(index) for f in frames]
        out = keys.reset_index(drop=True)
        stacked = np.stack([a[cols].to_numpy(dtype=float) for a in aligned])
        w = self.weights_for(out["site_id"], out["horizon"])
        out[cols] = np.einsum("mn,mnc->nc", w, stacked)
        if "y" in aligned[0]:
            out["y"] = aligned[0]["y"].to_numpy()
        return out

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        frames = [m.predict(horizon, future).sort_values(_KEYS) for m in self.members_]
        out = self._combine(frames)
        scale = float(getattr(self, "interval_scale_", 1.0))
        if scale != 1.0:
            q = out[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
            med = out["q0.5"].to_numpy(dtype=float)[:, None]
            out[list(QUANTILE_COLUMNS)] = med + scale * (q - med)
        return out
