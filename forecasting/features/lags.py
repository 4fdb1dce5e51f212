"""Lag and rolling features per forecast horizon, computed only from data up to the cutoff.

For a cutoff index ``c`` (the last observed day) and horizon ``h`` (target day ``c + h``),
every feature reads ``y[:c + 1]`` only; a lookback before ``y[0]`` is missing (NaN). The
builder passes one segment (run of consecutive days) at a time, so no feature spans a gap.
Values are scaled by the cutoff's 28-day level so one global model can serve sites of any size.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVEL_WINDOW = 28


def rolling_level(y: np.ndarray, window: int = LEVEL_WINDOW) -> np.ndarray:
    """Trailing mean of the last ``window`` days at each index (NaN until half is seen)."""
    return pd.Series(y).rolling(window, min_periods=window // 2).mean().to_numpy()


@dataclass(frozen=True)
class LagFeatures:
    """Cutoff-relative lags: recent means, same-weekday lags, last year's same day.

    Attributes:
        windows: Trailing mean windows (days), each scaled by the level.
        same_weekday_weeks: How many recent same-weekday values to average.
        yearly: Whether to add the value 364 days before the target (same weekday).
        ewm_alphas: Smoothing factors of exponentially weighted means of the
            weekday-adjusted series (recent level, quick to follow shifts).
    """

    windows: tuple[int, ...] = (7, 91)
    same_weekday_weeks: int = 4
    yearly: bool = True
    ewm_alphas: tuple[float, ...] = ()

    @property
    def name(self) -> str:
        """Self-describing name."""
        w = "-".join(str(x) for x in self.windows)
        name = f"lags_mean{w}_sameweekday{self.same_weekday_weeks}"
        name += "_year" if self.yearly else ""
        return name + "".join(f"_ewm{a:g}" for a in self.ewm_alphas)

    @property
    def columns(self) -> list[str]:
        """Names of the features :meth:`fill` writes (``transform``'s columns but ``level``)."""
        cols = ["log_level", "last_rel", *[f"mean{w}_rel" for w in self.windows]]
        cols += ["std28_rel", "trend_28_vs_prev28", *[f"ewm{a:g}_rel" for a in self.ewm_alphas]]
        cols += ["sameweekday_last_rel", f"sameweekday_mean{self.same_weekday_weeks}_rel"]
        return cols + (["lastyear_rel", "lastyear_level_rel"] if self.yearly else [])

    def prepare(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """The per-day series (rolling means, level, ...) every row of one segment reads."""
        y = np.asarray(y, dtype=float)
        s = pd.Series(y)
        out = {"y": y, "level": rolling_level(y)}
        for w in self.windows:
            out[f"mean{w}"] = s.rolling(w, min_periods=max(1, w // 2)).mean().to_numpy()
        out["std"] = s.rolling(LEVEL_WINDOW, min_periods=LEVEL_WINDOW // 2).std().to_numpy()
        if self.ewm_alphas:
            adjusted = pd.Series(y / _weekday_factor(y))
            for a in self.ewm_alphas:
                out[f"ewm{a:g}"] = adjusted.ewm(alpha=a, adjust=True).mean().to_numpy()
        return out

    def fill(
        self,
        series: dict[str, np.ndarray],
        cutoffs: np.ndarray,
        horizons: np.ndarray,
        out: np.ndarray,
    ) -> np.ndarray:
        """Write the features of (cutoff, horizon) pairs into ``out``'s columns, in order.

        Values are computed in float64 and cast to ``out``'s dtype (float32 in the builder).

        Args:
            series: :meth:`prepare` of the segment.
            cutoffs: Index of the last observed day of each row.
            horizons: Days ahead of each row (>= 1).
            out: ``(len(cutoffs), len(self.columns))`` array to fill.

        Returns:
            The cutoffs' 28-day level (float64), the scale of the features.
        """
        c = np.asarray(cutoffs, dtype=np.int64)
        h = np.asarray(horizons, dtype=np.int64)
        for j, values in enumerate(self._values(series, c, h)):
            out[:, j] = values
        return series["level"][c]

    def _values(
        self, series: dict[str, np.ndarray], c: np.ndarray, h: np.ndarray
    ) -> Iterator[np.ndarray]:
        """The feature columns in :attr:`columns` order (float64)."""
        y, level_all = series["y"], series["level"]
        level = level_all[c]
        yield np.log1p(level)
        yield y[c] / level
        for w in self.windows:
            yield series[f"mean{w}"][c] / level
        yield series["std"][c] / level
        yield level / _take(level_all, c - LEVEL_WINDOW)
        for a in self.ewm_alphas:
            yield series[f"ewm{a:g}"][c] / level
        weeks_back = -(-h // 7)  # ceil(h / 7): first same-weekday day at or before the cutoff
        same = np.stack(
            [_take(y, c + h - 7 * (weeks_back + j)) for j in range(self.same_weekday_weeks)]
        )
        yield same[0] / level
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # none in a short segment: NaN
            yield np.nanmean(same, axis=0) / level
        if self.yearly:
            yield _take(y, c + h - 364) / level
            yield _take(level_all, c - 364 + 0 * h) / level

    def transform(self, y: np.ndarray, cutoffs: np.ndarray, horizons: np.ndarray) -> pd.DataFrame:
        """Compute the features of (cutoff, horizon) pairs of one site's daily series.

        Args:
            y: The site's contiguous daily values (one segment).
            cutoffs: Index of the last observed day of each row.
            horizons: Days ahead of each row (>= 1).

        Returns:
            One row per pair (float64); ``level`` is the cutoff's 28-day mean (the scale of
            the rest).
        """
        series = self.prepare(y)
        c = np.asarray(cutoffs, dtype=np.int64)
        h = np.asarray(horizons, dtype=np.int64)
        out: dict[str, np.ndarray] = {"level": series["level"][c]}
        out.update(zip(self.columns, self._values(series, c, h), strict=True))
        return pd.DataFrame(out)


def _take(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values[idx]`` with NaN where ``idx`` is negative (before the series starts)."""
    idx = np.asarray(idx)
    out = np.full(idx.shape, np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def _weekday_factor(y: np.ndarray) -> np.ndarray:
    """Trailing weekday factor: each day's same-weekday mean over 8 weeks / the 56-day mean.

    Uses only days up to and including each index.
    """
    s = pd.Series(y)
    same = sum(s.shift(7 * k) for k in range(8)) / 8
    overall = s.rolling(56, min_periods=56).mean()
    factor = (same / overall).to_numpy()
    return np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)
