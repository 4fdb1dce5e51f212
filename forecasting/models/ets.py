"""Exponential smoothing (ETS) per site, via statsmodels, on the log scale.

Segments (winter-only data): the model fits, updates and predicts from each site's latest
segment (run of consecutive days; :class:`~forecasting.models.base.Forecaster` keeps it). A
state-space filter cannot skip an eight-month gap without imputing across it, so it learns from
the current segment. An update whose latest segment starts after the fitted one re-runs the
filter, with the fitted parameters, from the new segment's first day in phase with the fit's
first day, so the weekly shape stays on its weekdays. A latest segment shorter than
:data:`~forecasting.models.base.MIN_SEGMENT_DAYS` gets the seasonal naive forecast (a
:class:`~forecasting.errors.SeriesFallbackWarning`) until it is long enough.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from forecasting.data import schema
from forecasting.errors import DataError
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import (
    Forecaster,
    degenerate_reason,
    future_dates,
    short_segment_reason,
    sites_to_refilter,
    warn_fallbacks,
)

# (trend, damped) candidates; seasonality is always additive weekly on log1p counts
CANDIDATES: tuple[tuple[str | None, bool], ...] = ((None, False), ("add", True))

ROLL_WINDOW_FACTOR = 2
"""An update filters from the fit's first day while that window is at most this many times
``max_history_days``; beyond, its start moves forward by whole seasons (bounded cost)."""


def in_phase_start(anchor: pd.Timestamp, earliest: pd.Timestamp, season: int) -> pd.Timestamp:
    """The first day on or after ``earliest`` that is a whole number of seasons from ``anchor``.

    The fitted initial seasonal states of ETS belong to the weekday of the day the parameters
    were estimated from (``anchor``): a filter with those parameters must start on a day in the
    same phase, or the weekly shape lands on the wrong weekdays.
    """
    days = (pd.Timestamp(earliest) - pd.Timestamp(anchor)).days
    return pd.Timestamp(anchor) + pd.Timedelta(days=season * -(-days // season))


def roll_start(
    anchor: pd.Timestamp, first: pd.Timestamp, last: pd.Timestamp, season: int, max_days: int
) -> pd.Timestamp:
    """Where an update's filter starts.

    The fit's first day (``anchor``) if the history still holds it and the window up to ``last``
    stays within ``max_days``; otherwise the nearest later day in phase with it (a whole number
    of seasons on), so the weekly shape keeps its weekdays.
    """
    earliest = max(pd.Timestamp(first), pd.Timestamp(last) - pd.Timedelta(days=max_days - 1))
    if earliest <= pd.Timestamp(anchor) <= pd.Timestamp(last):
        return pd.Timestamp(anchor)
    return in_phase_start(anchor, earliest, season)


@dataclass
class _SiteFit:
    trend: str | None
    damped: bool
    params: np.ndarray
    results: Any


def _model(y: np.ndarray, trend: str | None, damped: bool, season: int) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(
        pd.Series(y),
        error="add",
        trend=trend,
        damped_trend=damped,
        seasonal="add",
        seasonal_periods=season,
    )


def fit_site(y: np.ndarray, season: int = 7) -> _SiteFit:
    """Fit the candidate ETS models to one site's log1p series; keep the best by AICc."""
    from threadpoolctl import threadpool_limits

    best: _SiteFit | None = None
    best_aicc = np.inf
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped in CANDIDATES:
            try:
                res = _model(y, trend, damped, season).fit(disp=False)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(res.aicc) and res.aicc < best_aicc:
                best_aicc = res.aicc
                best = _SiteFit(trend, damped, np.asarray(res.params), res)
    if best is None:
        raise ValueError("no ETS candidate could be fitted")
    return best


class ETSForecaster(Forecaster):
    """ETS(A, N|Ad, A) with weekly seasonality on log1p counts, chosen per site by AICc.

    Working on the log scale makes seasonality and errors multiplicative and keeps the
    intervals positive and right-skewed. The mean is the log-normal mean of the forecast.

    With ``calendar=True`` the annual cycle (``fourier_k`` harmonics) and public holidays are
    estimated on the log scale from week-on-week differences (robust to level shifts),
    removed before ETS, and added back to the forecast: ETS alone has no annual season. The
    annual terms need a year of days in the estimation window; a shorter window (a winter
    segment) removes the holiday effects only.

    ``update`` keeps the parameters, initial states included, and re-runs the filter from the
    first day of the fit's window (the day those initial states belong to) to the new last day,
    so a model rolled forward by any number of days forecasts exactly as the fitted filter
    continued. Past ``ROLL_WINDOW_FACTOR * max_history_days`` days the start moves forward by
    whole seasons only, which keeps the weekly shape on its weekdays and bounds the cost.

    Args:
        season: Season length in days.
        max_history_days: Fit on at most this many recent days (bounds fit time).
        calendar: Remove annual Fourier and holiday effects before smoothing.
        fourier_k: Annual harmonics when ``calendar`` is on.
        country: Public-holiday country (``holidays`` code).
        subdiv: Its subdivision, or ``None``.
    """

    name = "ets"
    latest_segment_only = True  # per site, from the latest segment

    def __init__(
        self,
        season: int = 7,
        max_history_days: int = 1100,
        calendar: bool = False,
        fourier_k: int = 3,
        country: str = "GB",
        subdiv: str | None = "ENG",
    ) -> None:
        self.season = season
        self.max_history_days = max_history_days
        self.calendar = calendar
        self.fourier_k = fourier_k
        self.country = country
        self.subdiv = subdiv

    def _regressors(self, dates: pd.DatetimeIndex) -> np.ndarray:
        from forecasting.models.regressors import calendar_regressors

        return calendar_regressors(
            dates, fourier_k=self.fourier_k, country=self.country, subdiv=self.subdiv
        ).to_numpy()

    def _site_series(self, site: str, g: pd.DataFrame, estimate: bool = False) -> np.ndarray:
        """log1p series of one site (its latest segment), calendar effects removed.

        With ``estimate`` the trailing ``max_history_days`` (the fit's window, whose first day is
        kept in ``starts_``, and the calendar coefficients in ``betas_``); otherwise the days
        from :func:`roll_start` on.
        """
        from forecasting.models.regressors import calendar_coefficients

        if estimate:
            g = g.iloc[-self.max_history_days :]
            self.starts_[site] = pd.Timestamp(g[schema.DATE].iloc[0])
        else:
            dates = g[schema.DATE]
            start = roll_start(
                self.starts_[site],
                dates.iloc[0],
                dates.iloc[-1],
                self.season,
                ROLL_WINDOW_FACTOR * self.max_history_days,
            )
            g = g[dates >= start]
        y = g[schema.TARGET].to_numpy(dtype=float)
        z = np.log1p(np.nan_to_num(y, nan=float(np.nanmean(y))))
        if self.calendar:
            X = self._regressors(pd.DatetimeIndex(g[schema.DATE]))
            if estimate:
                self.betas_[site] = calendar_coefficients(z, X, self.fourier_k)
            z = z - X @ self.betas_[site]
        return z

    def _fit(self, history: pd.DataFrame) -> None:
        self.fallbacks_: dict[str, str] = {}
        self.short_: dict[str, str] = {}
        self.fits_: dict[str, _SiteFit] = {}
        self.betas_: dict[str, np.ndarray] = {}
        self.starts_: dict[str, pd.Timestamp] = {}
        for site, g in history.groupby(schema.SITE, sort=True):
            self._fit_site(str(site), g)
        warn_fallbacks(self.name, {**self.fallbacks_, **self.short_})

    def _fit_site(self, site: str, g: pd.DataFrame) -> None:
        """Estimate one site, or record why it gets the seasonal naive forecast.

        A latest segment too short is recorded in ``short_`` (the site is fitted once its
        segment is long enough); a degenerate series or a failed fit in ``fallbacks_``.
        """
        short = short_segment_reason(len(g))
        if short is not None:
            self.short_[site] = short
            return
        reason = degenerate_reason(g[schema.TARGET].to_numpy()[-self.max_history_days :])
        if reason is not None:
            self.fallbacks_[site] = reason
            return
        y = self._site_series(site, g, estimate=True)
        try:
            self.fits_[site] = fit_site(y, self.season)
        except DataError:
            raise
        except Exception as exc:  # one site's failure must not end a national run
            self.fallbacks_[site] = f"ETS could not be fitted: {exc}"

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a model pickled before ``starts_`` existed gets its fit's first days back.

        Such a model was pickled after ``fit`` (training registers it then), so ``history_``
        is the fit's history and its trailing window starts where the parameters belong.
        """
        self.__dict__.update(state)
        if "fits_" in state and "starts_" not in state and "history_" in state:
            self.starts_ = {
                str(site): pd.Timestamp(g[schema.DATE].iloc[-self.max_history_days :].iloc[0])
                for site, g in self.history_.groupby(schema.SITE, sort=True)
            }

    def _update(self, history: pd.DataFrame) -> None:
        """Re-run the filter with the fitted parameters, from the fit's first day.

        No re-estimation; the fitted initial states stay on the weekdays they were estimated on
        (a later segment is filtered from its first day in phase with them). A site never fitted
        (new, or whose segment was too short) is fitted now; a site whose latest segment is too
        short gets the seasonal naive forecast until it is long enough.
        """
        for site, g in sites_to_refilter(self, history):
            y = self._site_series(site, g)
            f = self.fits_[site]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f.results = _model(y, f.trend, f.damped, self.season).smooth(f.params)

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        from forecasting.models.naive import seasonal_naive

        fallbacks = {**getattr(self, "fallbacks_", {}), **getattr(self, "short_", {})}
        frames = [seasonal_naive(self.history_, horizon, self.season, sites=fallbacks)]
        z = norm.ppf(QUANTILES)
        for site, g in self.history_.groupby(schema.SITE, sort=True):
            if str(site) in fallbacks:
                continue
            res = self.fits_[str(site)].results
            n = int(res.model.nobs)
            pred = res.get_prediction(start=n, end=n + horizon - 1)
            mu = np.asarray(pred.predicted_mean, dtype=float)
            sd = np.sqrt(np.asarray(pred.forecast_variance, dtype=float))
            last = pd.Timestamp(g[schema.DATE].iloc[-1])
            if self.calendar:
                mu = mu + self._regressors(future_dates(last, horizon)) @ self.betas_[str(site)]
            frame = pd.DataFrame(
                {
                    "site_id": str(site),
                    "cutoff": last,
                    "date": future_dates(last, horizon),
                    "horizon": np.arange(1, horizon + 1),
                    "mean": np.expm1(mu + sd**2 / 2),
                }
            )
            frame[list(QUANTILE_COLUMNS)] = np.expm1(mu[:, None] + sd[:, None] * z[None, :])
            frames.append(frame)
        return pd.concat([f for f in frames if len(f)], ignore_index=True).sort_values(
            ["site_id", "date"], ignore_index=True
        )
