"""Combine the day-ahead prior with the arrivals so far into today's predictive total.

Each row describes one day at one hour of issue: ``hour``, ``observed`` (arrivals before the
hour), ``share`` (the usual share of the day by then), ``prior`` and ``prior_sdlog`` (the
day-ahead forecast's mean and log-scale spread); fitting also needs ``total``. Parameters are
learned per hour of issue from past days only. Two combiners:

* :class:`ShrinkageNowcaster` — a regression of ``log(total / prior)`` on the log surprise so
  far, ``log((observed + 1) / (prior * share + 1))``, with a log-normal error per hour;
* :class:`GammaPoissonNowcaster` — a Bayesian update: the day's level ``lambda`` (times the
  prior) has a Gamma prior of mean 1 and variance ``kappa * prior_sdlog**2``; arrivals are
  over-dispersed Poisson (dispersion ``phi``) with mean ``lambda * prior * share``; the
  remaining arrivals' predictive is moment-matched to a Gamma. ``phi`` and ``kappa`` are
  chosen per hour by the log score on past days.

Both shrink the projection ``observed / share`` towards the prior, more early in the day.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

import numpy as np
import pandas as pd
from scipy import stats

from forecasting.errors import NotFittedError

ROW_COLUMNS = ("hour", "observed", "share", "prior", "prior_sdlog")
PHI_GRID = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 48.0)
KAPPA_GRID = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
MIN_ROWS = 10


def log_surprise(rows: pd.DataFrame) -> np.ndarray:
    """``log((observed + 1) / (prior * share + 1))``: how far the day runs from its prior."""
    expected = rows["prior"].to_numpy(float) * rows["share"].to_numpy(float)
    return np.log1p(rows["observed"].to_numpy(float)) - np.log1p(expected)


class Nowcaster(ABC):
    """Base class: per-hour parameters; ``fit`` returns self; fitted attributes end in ``_``."""

    def fit(self, rows: pd.DataFrame) -> Self:
        """Learn per-hour parameters from past days' rows (with ``total``)."""
        params: dict[int, tuple[float, ...]] = {}
        usable = rows.dropna(subset=[*ROW_COLUMNS, "total"])
        for hour in sorted(set(usable["hour"].astype(int))):
            g = usable[usable["hour"] == hour]
            if len(g) >= MIN_ROWS:
                params[hour] = self._fit_hour(g)
        self.params_ = params
        return self

    def _hours(self, rows: pd.DataFrame) -> np.ndarray:
        """The fitted hour of issue nearest each row's hour."""
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet. Fix: call fit(rows) before predict."
            )
        if not self.params_:
            raise NotFittedError(f"{type(self).__name__} learned nothing: too few past days.")
        known = np.array(sorted(self.params_))
        hours = rows["hour"].to_numpy(int)
        return known[np.abs(known[None, :] - hours[:, None]).argmin(axis=1)]

    def _params(self, rows: pd.DataFrame) -> np.ndarray:
        return np.array([self.params_[int(h)] for h in self._hours(rows)], dtype=float)

    @abstractmethod
    def _fit_hour(self, rows: pd.DataFrame) -> tuple[float, ...]: ...

    @abstractmethod
    def mean(self, rows: pd.DataFrame) -> np.ndarray:
        """Expected total of each row's day."""

    @abstractmethod
    def quantiles(self, rows: pd.DataFrame, levels: np.ndarray) -> np.ndarray:
        """Quantiles of each row's total (rows x levels), never below the arrivals so far."""

    @abstractmethod
    def p_above(self, rows: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
        """P(total > line) for each row."""


class ShrinkageNowcaster(Nowcaster):
    """``log(total / prior) = a_h + b_h * log surprise + N(0, s_h^2)`` per hour of issue."""

    def _fit_hour(self, rows: pd.DataFrame) -> tuple[float, ...]:
        x = log_surprise(rows)
        y = np.log(rows["total"].to_numpy(float) / rows["prior"].to_numpy(float))
        design = np.column_stack([np.ones_like(x), x])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        scale = float(np.sqrt(np.sum(resid**2) / max(len(y) - 2, 1)))
        return float(coef[0]), float(coef[1]), max(scale, 1e-3)

    def _loc_scale(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        p = self._params(rows)
        loc = np.log(rows["prior"].to_numpy(float)) + p[:, 0] + p[:, 1] * log_surprise(rows)
        return loc, p[:, 2]

    def mean(self, rows: pd.DataFrame) -> np.ndarray:
        """Expected total (log-normal mean), at least the arrivals so far."""
        loc, scale = self._loc_scale(rows)
        return np.maximum(np.exp(loc + scale**2 / 2), rows["observed"].to_numpy(float))

    def quantiles(self, rows: pd.DataFrame, levels: np.ndarray) -> np.ndarray:
        """Log-normal quantiles, floored at the arrivals so far."""
        loc, scale = self._loc_scale(rows)
        z = stats.norm.ppf(np.asarray(levels, float))
        q = np.exp(loc[:, None] + scale[:, None] * z[None, :])
        return np.maximum(q, rows["observed"].to_numpy(float)[:, None])

    def p_above(self, rows: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
        """P(total > line); 1 once the arrivals so far exceed the line."""
        loc, scale = self._loc_scale(rows)
        p = stats.norm.sf((np.log(np.maximum(lines, 1e-9)) - loc) / scale)
        return np.where(rows["observed"].to_numpy(float) > lines, 1.0, p)


class EmpiricalShrinkageNowcaster(ShrinkageNowcaster):
    """:class:`ShrinkageNowcaster` with the past days' residuals as the error distribution.

    Heavy tails (holidays, storms) then widen only the side they occur on, instead of the
    normal's spread on both sides.
    """

    def _fit_hour(self, rows: pd.DataFrame) -> tuple[float, ...]:
        params = super()._fit_hour(rows)
        x = log_surprise(rows)
        y = np.log(rows["total"].to_numpy(float) / rows["prior"].to_numpy(float))
        hour = int(rows["hour"].iloc[0])
        self.residuals_[hour] = np.sort(y - params[0] - params[1] * x)
        return params

    def fit(self, rows: pd.DataFrame) -> Self:
        """Learn per-hour coefficients and keep each hour's residuals."""
        self.residuals_: dict[int, np.ndarray] = {}
        return super().fit(rows)

    def _draws(self, rows: pd.DataFrame) -> list[np.ndarray]:
        """Each row's predictive log totals: its location plus each past residual."""
        loc, _ = self._loc_scale(rows)
        return [loc[i] + self.residuals_[int(h)] for i, h in enumerate(self._hours(rows))]

    def mean(self, rows: pd.DataFrame) -> np.ndarray:
        """Expected total over the past residuals, at least the arrivals so far."""
        means = np.array([np.mean(np.exp(d)) for d in self._draws(rows)])
        return np.maximum(means, rows["observed"].to_numpy(float))

    def quantiles(self, rows: pd.DataFrame, levels: np.ndarray) -> np.ndarray:
        """Empirical quantiles, floored at the arrivals so far."""
        grid = np.asarray(levels, float)
        q = np.exp(np.array([np.quantile(d, grid) for d in self._draws(rows)]))
        return np.maximum(q, rows["observed"].to_numpy(float)[:, None])

    def p_above(self, rows: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
        """Share of past residuals that would put the total above the line."""
        logs = np.log(np.maximum(np.asarray(lines, float), 1e-9))
        p = np.array([np.mean(d > logs[i]) for i, d in enumerate(self._draws(rows))])
        return np.where(rows["observed"].to_numpy(float) > lines, 1.0, p)


class GammaPoissonNowcaster(Nowcaster):
    """Bayesian update of the day's level (Gamma prior, over-dispersed Poisson arrivals).

    Args:
        phi_grid: Candidate dispersions of the arrivals (1 is Poisson).
        kappa_grid: Candidate scalings of the prior's log-variance.
    """

    def __init__(
        self,
        phi_grid: tuple[float, ...] = PHI_GRID,
        kappa_grid: tuple[float, ...] = KAPPA_GRID,
    ) -> None:
        self.phi_grid = phi_grid
        self.kappa_grid = kappa_grid

    @staticmethod
    def _remaining(
        rows: pd.DataFrame, phi: np.ndarray, kappa: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the arrivals still to come."""
        mu = rows["prior"].to_numpy(float)
        s = np.clip(rows["share"].to_numpy(float), 0.0, 1.0)
        n = rows["observed"].to_numpy(float)
        a = 1.0 / (kappa * np.maximum(rows["prior_sdlog"].to_numpy(float), 1e-3) ** 2)
        alpha = a + n / phi
        beta = a + mu * s / phi
        rest = mu * (1.0 - s)
        mean = rest * alpha / beta
        var = phi * mean + rest**2 * alpha / beta**2
        return mean, np.maximum(var, 1e-9)

    @staticmethod
    def _gamma(mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shape = np.maximum(mean, 1e-9) ** 2 / var
        scale = var / np.maximum(mean, 1e-9)
        return shape, scale

    def _fit_hour(self, rows: pd.DataFrame) -> tuple[float, ...]:
        rest = rows["total"].to_numpy(float) - rows["observed"].to_numpy(float)
        best = (np.inf, 1.0, 1.0)
        ones = np.ones(len(rows))
        for phi in self.phi_grid:
            for kappa in self.kappa_grid:
                mean, var = self._remaining(rows, phi * ones, kappa * ones)
                shape, scale = self._gamma(mean, var)
                # a remaining count of 0 sits at the edge: score it half a count up
                loss = -np.sum(stats.gamma.logpdf(np.maximum(rest, 0.5), shape, scale=scale))
                if loss < best[0]:
                    best = (loss, phi, kappa)
        return best[1], best[2]

    def _dist(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        p = self._params(rows)
        mean, var = self._remaining(rows, p[:, 0], p[:, 1])
        return self._gamma(mean, var)

    def mean(self, rows: pd.DataFrame) -> np.ndarray:
        """Arrivals so far plus the posterior mean of the rest."""
        p = self._params(rows)
        rest, _ = self._remaining(rows, p[:, 0], p[:, 1])
        return rows["observed"].to_numpy(float) + rest

    def quantiles(self, rows: pd.DataFrame, levels: np.ndarray) -> np.ndarray:
        """Arrivals so far plus the Gamma quantiles of the rest."""
        shape, scale = self._dist(rows)
        grid = np.asarray(levels, float)[None, :]
        q = stats.gamma.ppf(grid, shape[:, None], scale=scale[:, None])
        return rows["observed"].to_numpy(float)[:, None] + q

    def p_above(self, rows: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
        """P(arrivals so far + rest > line)."""
        shape, scale = self._dist(rows)
        need = np.asarray(lines, float) - rows["observed"].to_numpy(float)
        return np.where(need < 0, 1.0, stats.gamma.sf(np.maximum(need, 0.0), shape, scale=scale))


class TomorrowUpdate:
    """Carry part of today's surprise into tomorrow: ``next_prior * exp(rho * log(T / prior))``.

    ``rho`` (in [0, 1]) is the least-squares slope through the origin of tomorrow's log error
    on today's, over past days.
    """

    def fit(self, today_error: np.ndarray, tomorrow_error: np.ndarray) -> Self:
        """Learn ``rho`` from paired log errors of past days (NaN pairs skipped)."""
        ok = np.isfinite(today_error) & np.isfinite(tomorrow_error)
        x, y = today_error[ok], tomorrow_error[ok]
        denom = float(np.sum(x**2))
        self.rho_ = float(np.clip(np.sum(x * y) / denom, 0.0, 1.0)) if denom > 0 else 0.0
        return self

    def predict(self, next_prior: np.ndarray, today_log_error: np.ndarray) -> np.ndarray:
        """Tomorrow's updated expected total."""
        if not hasattr(self, "rho_"):
            raise NotFittedError("TomorrowUpdate is not fitted yet. Fix: call fit first.")
        return np.asarray(next_prior, float) * np.exp(self.rho_ * np.asarray(today_log_error))


COMBINERS: dict[str, type[Nowcaster]] = {
    "shrinkage": ShrinkageNowcaster,
    "empirical": EmpiricalShrinkageNowcaster,
    "bayes": GammaPoissonNowcaster,
}
