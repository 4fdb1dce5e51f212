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

import dataclasses
import hashlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace
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
    """statsmodels results (:func:`fit_site`, models pickled before :class:`_Filtered`), a
    :class:`_Filtered` (:class:`ETSForecaster` after fit or update) or ``None``
    (:func:`fit_params`)."""


@dataclass(frozen=True)
class _Filtered:
    """The end of a filter pass with fixed parameters: what the forecasts need.

    Replaces the statsmodels results object of a filter pass (whose construction computes a
    numerical covariance of the parameters, most of an update's cost).

    Attributes:
        level: Level state after the last day.
        trend: Trend state after the last day (0 without trend).
        seasonal: The last ``season`` seasonal states, oldest first (the last is the last day's).
        mse: Mean squared one-step error over the pass (statsmodels' ``mse``).
        nobs: Days filtered.
        alpha: Level smoothing.
        beta: Trend smoothing (0 without trend).
        gamma: Seasonal smoothing.
        phi: Trend damping (1 undamped).
    """

    level: float
    trend: float
    seasonal: np.ndarray
    mse: float
    nobs: int
    alpha: float
    beta: float
    gamma: float
    phi: float

    @property
    def model(self) -> SimpleNamespace:
        """``model.nobs``, the days filtered, where statsmodels results have it."""
        return SimpleNamespace(nobs=self.nobs)

    def forecast(self, steps: int) -> np.ndarray:
        """Mean forecasts (log scale) of the next ``steps`` days, as statsmodels' ``forecast``."""
        return forecast_filtered(self, steps)[0]


def _smoothing(fit: _SiteFit) -> tuple[float, float, float, float]:
    """``(alpha, beta, gamma, phi)`` of a fit (``beta = 0``, ``phi = 1`` without trend)."""
    p = np.asarray(fit.params, dtype=float)
    if fit.trend is None:
        return float(p[0]), 0.0, float(p[1]), 1.0
    return float(p[0]), float(p[1]), float(p[2]), float(p[3]) if fit.damped else 1.0


def filter_site(y: np.ndarray, fit: _SiteFit, season: int = 7) -> _Filtered:
    """Run the ETS filter over ``y`` with the fitted parameters; keep the final states."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yhat, states = _model(y, fit.trend, fit.damped, season).smooth(fit.params, return_raw=True)
    states = np.asarray(states, dtype=float)
    resid = np.asarray(y, dtype=float) - np.asarray(yhat, dtype=float)
    alpha, beta, gamma, phi = _smoothing(fit)
    return _Filtered(
        level=float(states[-1, 0]),
        trend=float(states[-1, 1]) if fit.trend is not None else 0.0,
        seasonal=states[-season:, -1].copy(),
        mse=float(np.sum(resid**2) / len(resid)),
        nobs=len(resid),
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        phi=phi,
    )


def forecast_filtered(state: _Filtered, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (log scale) of the 1..``horizon``-step forecasts from ``state``.

    The additive-error ETS forecast and its exact variance (Hyndman & Athanasopoulos, class 1:
    ``sigma2 * (1 + sum_{j<h} c_j^2)`` with ``c_j = alpha + beta * (phi + ... + phi^j) +
    gamma * [j % season == 0]``), as statsmodels' ``get_prediction`` computes them.
    """
    season = len(state.seasonal)
    h = np.arange(1, horizon + 1)
    damp = np.cumsum(state.phi ** np.arange(1, horizon + 1))  # phi + ... + phi^h
    mu = state.level + damp * state.trend + state.seasonal[(h - 1) % season]
    c = state.alpha + state.beta * damp[: horizon - 1]
    c = c + state.gamma * (h[: horizon - 1] % season == 0)
    var = state.mse * (1.0 + np.r_[0.0, np.cumsum(c**2)])
    return mu, var


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


_FIT_CACHE: OrderedDict[bytes, _SiteFit] = OrderedDict()
_FIT_CACHE_LOCK = threading.Lock()  # sites may be fitted on threads
FIT_CACHE_SIZE = 4096
"""Estimates remembered by :func:`fit_params` (the hybrid and the ETS members of the ensemble
estimate the same ETS on the same series: the second gets the first's parameters)."""


def fit_params(y: np.ndarray, season: int = 7) -> _SiteFit:
    """The ETS candidates fitted to one site's log1p series, the best by AICc; no results.

    The parameters and the AICc are those of statsmodels' fitted results (the same
    optimisation); only the results object (its numerical covariance matrix) is not built. A
    pure function of ``y`` and ``season``: repeated calls with the same series return the
    remembered estimate (a copy).
    """
    y = np.ascontiguousarray(y, dtype=float)
    key = (
        hashlib.blake2b(y.tobytes(), digest_size=16).digest() + repr((season, CANDIDATES)).encode()
    )
    with _FIT_CACHE_LOCK:
        hit = _FIT_CACHE.get(key)
        if hit is not None:
            _FIT_CACHE.move_to_end(key)
    if hit is not None:
        return dataclasses.replace(hit, params=hit.params.copy())
    best = _fit_best(y, season)
    with _FIT_CACHE_LOCK:
        _FIT_CACHE[key] = best
        while len(_FIT_CACHE) > FIT_CACHE_SIZE:
            _FIT_CACHE.popitem(last=False)
    return dataclasses.replace(best, params=best.params.copy())


def _fit_best(y: np.ndarray, season: int) -> _SiteFit:
    from statsmodels.tools.eval_measures import aicc

    from forecasting.models.regressors import single_thread

    best: _SiteFit | None = None
    best_aicc = np.inf
    with single_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped in CANDIDATES:
            try:
                model = _model(y, trend, damped, season)
                params = np.asarray(model.fit(disp=False, return_params=True), dtype=float)
                # as ETSResults: df_model = free parameters + 1 (the scale)
                crit = aicc(model.loglike(params), model.nobs, len(params) + 1)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(crit) and crit < best_aicc:
                best_aicc = crit
                best = _SiteFit(trend, damped, params, None)
    if best is None:
        raise ValueError("no ETS candidate could be fitted")
    return best


def fit_site(y: np.ndarray, season: int = 7) -> _SiteFit:
    """Fit the candidate ETS models to one site's log1p series; keep the best by AICc.

    As :func:`fit_params`, with the filter pass over ``y`` in ``results`` (a
    :class:`_Filtered`: forecasts from the last day, ``forecast`` and ``model.nobs`` as the
    statsmodels results of the best candidate have them).
    """
    fit = fit_params(y, season)
    fit.results = filter_site(y, fit, season)
    return fit


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
        calendar: Remove annual Fourier and holiday effects before smoothing (the default,
            as the registry's ``ets``; ``False`` gives plain ETS, named ``ets-plain``).
        fourier_k: Annual harmonics when ``calendar`` is on.
        country: Public-holiday country (``holidays`` code).
        subdiv: Its subdivision, or ``None``.
    """

    latest_segment_only = True  # per site, from the latest segment

    def __init__(
        self,
        season: int = 7,
        max_history_days: int = 1100,
        calendar: bool = True,
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

    @property
    def name(self) -> str:
        """``ets`` with the calendar adjustment, ``ets-plain`` without (unless set)."""
        return getattr(self, "_name", None) or ("ets" if self.calendar else "ets-plain")

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

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
            f.results = filter_site(y, f, self.season)  # no statsmodels results (bounded cost)

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        from forecasting.models.naive import seasonal_naive

        fallbacks = {**getattr(self, "fallbacks_", {}), **getattr(self, "short_", {})}
        frames = [seasonal_naive(self.history_, horizon, self.season, sites=fallbacks)]
        z = norm.ppf(QUANTILES)
        for site, g in self.history_.groupby(schema.SITE, sort=True):
            if str(site) in fallbacks:
                continue
            fit = self.fits_[str(site)]
            if isinstance(fit.results, _Filtered):
                mu, var = forecast_filtered(fit.results, horizon)
                sd = np.sqrt(var)
            else:  # a model pickled with statsmodels results, not updated since
                res = fit.results
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
