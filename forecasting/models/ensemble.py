"""Combine several models by averaging their means and quantiles (Vincentization)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.models.base import Forecaster, clone

_KEYS = ["site_id", "cutoff", "date", "horizon"]


class EnsembleForecaster(Forecaster):
    """Weighted average of member forecasts, quantile by quantile.

    Averaging quantiles (rather than mixing distributions) keeps them monotone and tends to
    give sharper, well-calibrated intervals when members' errors are not perfectly correlated.

    The members get the whole history (each keeps the segments it needs).

    Args:
        members: Unfitted member models.
        weights: One weight per member (normalised); equal weights if ``None``.
        name: Model name in the forecast frame.
    """

    def __init__(
        self,
        members: Sequence[Forecaster],
        weights: Sequence[float] | None = None,
        name: str = "ensemble",
    ) -> None:
        self.members = members
        self.weights = weights
        self.name = name

    def _w(self) -> np.ndarray:
        w = np.ones(len(self.members)) if self.weights is None else np.asarray(self.weights, float)
        return w / w.sum()

    def _fit(self, history: pd.DataFrame) -> None:
        self.members_ = [clone(m).fit(history) for m in self.members]

    def fit_from_members(self, history: pd.DataFrame, fitted: Sequence[Forecaster]) -> Self:
        """Fit from members already fitted on ``history`` (e.g. in parallel, by an executor).

        The result is the same as :meth:`fit` (which fits the members one after another).

        Raises:
            ValueError: If ``fitted`` does not match ``members`` one for one, by type.
        """
        kinds = [type(m) for m in self.members]
        if [type(m) for m in fitted] != kinds:
            raise ValueError(f"fitted members must be {[k.__name__ for k in kinds]}, in order")
        self.target_role_ = str(history.attrs.get("target_role", "attendances"))
        self.history_ = self._history(history)
        self.members_ = list(fitted)
        self.fitted_ = True
        return self

    def _update(self, history: pd.DataFrame) -> None:
        for m in self.members_:
            m.update(history)

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        cols = ["mean", *QUANTILE_COLUMNS]
        frames = [m.predict(horizon, future).sort_values(_KEYS) for m in self.members_]
        out = frames[0][_KEYS].reset_index(drop=True)
        stacked = np.stack([f[cols].to_numpy(dtype=float) for f in frames])
        out[cols] = np.tensordot(self._w(), stacked, axes=1)
        return out
