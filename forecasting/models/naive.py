"""The weekly seasonal naive baseline every report compares to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import Forecaster, future_dates


class SeasonalNaive(Forecaster):
    """Tomorrow is like the same weekday last week; intervals from its own past errors.

    Quantiles add the empirical quantiles of the seasonal-naive errors ``y[t] - y[t - 7k]``
    over the last ``error_window`` days of history (``k`` weeks back, as the horizon needs).

    Args:
        season: Season length in days.
        error_window: Days of history whose errors set the intervals.
    """

    name = "snaive"

    def __init__(self, season: int = 7, error_window: int = 365) -> None:
        self.season = season
        self.error_window = error_window

    def _fit(self, history: pd.DataFrame) -> None:
        self.n_sites_ = history[schema.SITE].nunique()

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        frames = []
        for site, g in self.history_.groupby(schema.SITE, sort=True):
            y = g[schema.TARGET].to_numpy(dtype=float)
            last = pd.Timestamp(g[schema.DATE].iloc[-1])
            h = np.arange(1, horizon + 1)
            k = -(-h // self.season)  # seasons back so the source day is observed
            point = y[len(y) - 1 + h - self.season * k]
            q = np.empty((horizon, len(QUANTILES)))
            recent = y[-self.error_window :]
            for i, kk in enumerate(k):
                lag = self.season * kk
                err = recent[lag:] - recent[:-lag] if len(recent) > lag else np.zeros(1)
                err = err[np.isfinite(err)]
                q[i] = point[i] + np.quantile(err, QUANTILES)
            frame = pd.DataFrame(
                {
                    "site_id": str(site),
                    "cutoff": last,
                    "date": future_dates(last, horizon),
                    "horizon": h,
                    "mean": point,
                }
            )
            frame[list(QUANTILE_COLUMNS)] = q
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
