"""The weekly seasonal naive baseline every report compares to.

Segments (winter-only data): the forecast and its error quantiles come from each site's latest
segment (run of consecutive days) only, never from days before a gap.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.segments import has_segments, latest_segment
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
    latest_segment_only = True  # per site, from the latest segment

    def __init__(self, season: int = 7, error_window: int = 365) -> None:
        self.season = season
        self.error_window = error_window

    def _fit(self, history: pd.DataFrame) -> None:
        self.n_sites_ = history[schema.SITE].nunique()

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        return seasonal_naive(self.history_, horizon, self.season, self.error_window)


def seasonal_naive(
    history: pd.DataFrame,
    horizon: int,
    season: int = 7,
    error_window: int = 365,
    sites: Collection[str] | None = None,
) -> pd.DataFrame:
    """The seasonal naive forecast frame (no ``model`` column) of ``history``'s sites.

    Also the fallback of the other models for a site they cannot forecast: missing or
    non-finite counts are carried forward (zero before the first observed day), so the
    forecast is always finite. Only each site's latest segment is used: a segment shorter than
    a season repeats its last value where the same weekday is not in it.

    Args:
        history: A DemandFrame sorted by site and date.
        horizon: Days ahead.
        season: Season length in days.
        error_window: Days of history whose errors set the intervals.
        sites: Only these sites; all if ``None``.
    """
    frames = []
    if has_segments(history):
        history = latest_segment(history)
    for site, g in history.groupby(schema.SITE, sort=True):
        if sites is not None and str(site) not in sites:
            continue
        raw = pd.Series(g[schema.TARGET].to_numpy(dtype=float))
        y = raw.where(np.isfinite(raw)).ffill().fillna(0.0).to_numpy()
        last = pd.Timestamp(g[schema.DATE].iloc[-1])
        h = np.arange(1, horizon + 1)
        k = -(-h // season)  # seasons back so the source day is observed
        source = len(y) - 1 + h - season * k
        point = np.where(source >= 0, y[np.maximum(source, 0)], y[-1])
        q = np.empty((horizon, len(QUANTILES)))
        recent = y[-error_window:]
        for i, kk in enumerate(k):
            lag = season * kk
            err = recent[lag:] - recent[:-lag] if len(recent) > lag else np.zeros(1)
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
    if not frames:
        return pd.DataFrame(
            columns=["site_id", "cutoff", "date", "horizon", "mean", *QUANTILE_COLUMNS]
        )
    return pd.concat(frames, ignore_index=True)
