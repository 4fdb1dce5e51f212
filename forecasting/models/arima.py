"""Seasonal ARIMA per site (statsmodels SARIMAX) with calendar regressors.

Model, per site, on ``z = log1p(attendances)`` (the default ``transform``)::

    z_t = x_t' beta + u_t,    u_t ~ SARIMA(p, d, q)(P, D, Q)_7

``x_t`` holds a constant, ``fourier_k`` sine/cosine pairs of the annual cycle (period 365.25 days,
on a continuous time axis so there is no jump at New Year) and two public-holiday dummies
(``holiday``; ``after_holiday``: the day after a holiday that is not itself one), taken from the
``holidays`` package for ``country``/``subdiv``. The weekly shape comes from the seasonal SARIMA
part (period 7), the annual shape from the Fourier terms.

Estimation is two-step, for speed and robustness: ``beta`` by least squares on the lag-7
differenced series (which removes the weekly shape and any level shift, e.g. COVID), the constant
as the mean remainder; then the SARIMA parameters by maximum likelihood with ``beta`` held fixed.
Joint estimation of all parameters was 4-5x slower on 1,100 days and often failed to converge
(the constant and the near-unit seasonal AR root fight each other), with worse forecasts.

Order search (``search=True``): each candidate of ``orders`` is fitted on the same window and the
lowest AIC wins; every candidate's likelihood skips the same first ``max(d + 7 D)`` days, so AICs
of differenced and undifferenced candidates are computed on the same observations. Converged
candidates beat non-converged ones. If every candidate fails (an exception or non-finite
likelihood), :data:`FALLBACK_ORDERS` are tried in turn, and if those fail too (a constant or
all-zero series), a seasonal random walk in log space (plus regressors) whose variance is computed
in closed form, without the optimiser: every site with enough days gets a forecast. Warnings raised
inside fits are suppressed but counted (:meth:`ArimaForecaster.diagnostics`).

Forecast distribution: the Gaussian predictive distribution of ``z`` (``mu``, ``sigma``), mapped
back through the inverse transform. Quantiles are therefore asymmetric and positive. ``mean`` is
the mean of the implied log-normal, ``expm1(mu + sigma**2 / 2)``: the expectation, which is what
adds up over days and sites for capacity planning; the median is ``q0.5`` (``expm1(mu)``). The
interval ignores parameter uncertainty.

Segments (winter-only data): each site is fitted, rolled forward and forecast from its latest
segment (run of consecutive days), which :class:`~forecasting.models.base.Forecaster` keeps: a
state-space filter cannot skip an eight-month gap without imputing across it, so the model learns
from the current segment (a winter of about 100 days has no annual Fourier terms, see
:data:`MIN_DAYS_FOR_ANNUAL`). A site whose latest segment (or whole history) has fewer than
:data:`MIN_OBSERVATIONS` days gets the seasonal naive forecast (a
:class:`~forecasting.errors.SeriesFallbackWarning`) until it is long enough, unless no site at
all can be fitted and none has earlier segments: then the data is too short
(:class:`~forecasting.errors.InsufficientHistoryError`).

Each site is fitted by the pure function :func:`fit_site` and rolled forward by
:func:`update_site` (a Kalman filter pass with the parameters unchanged), so an executor (joblib,
Dask) can dispatch sites; :class:`ArimaForecaster` loops over sites serially. BLAS is limited to one
thread around fits (see DESIGN "Known traps").
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from forecasting.data import schema
from forecasting.errors import DataError, ForecastingError, InsufficientHistoryError
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import Forecaster, future_dates, warn_fallbacks
from forecasting.models.regressors import calendar_regressors, weekly_difference_regression

Order = tuple[int, int, int]
SeasonalOrder = tuple[int, int, int, int]
OrderPair = tuple[Order, SeasonalOrder]

WEEK = 7
YEAR_DAYS = 365.25
MIN_OBSERVATIONS = 28
"""Fewest non-missing days a site needs in its window."""
MIN_SIGMA2 = 1e-6
"""Innovation variances (log scale) below this mark a degenerate fit (a constant series); it is
also the floor of the last-resort model's variance."""
MIN_DAYS_FOR_ANNUAL = 365
"""Below this many days in the window the annual Fourier terms are left out (not identifiable)."""

DEFAULT_ORDERS: tuple[OrderPair, ...] = (
    ((1, 0, 1), (1, 0, 1, WEEK)),
    ((1, 0, 0), (1, 0, 1, WEEK)),
    ((2, 0, 2), (1, 0, 1, WEEK)),
    ((0, 1, 1), (0, 1, 1, WEEK)),
    ((1, 1, 1), (0, 1, 1, WEEK)),
)
"""Candidates of the order search; the first is the order used when ``search=False``."""

FALLBACK_ORDERS: tuple[OrderPair, ...] = (
    ((0, 1, 1), (0, 1, 1, WEEK)),
    ((0, 0, 0), (0, 1, 0, WEEK)),
)
"""Simpler orders tried, in turn, when no requested order could be fitted."""

TRANSFORMS = ("log1p", "boxcox", "none")

GRADIENT_TOLERANCE = 1e-4
"""L-BFGS stops when every projected gradient of the mean log-likelihood is below this
(scipy's default is 1e-5). On 40 Welsh series and the 7 health boards (8 and 16 weekly
windows) it cut the fit's CPU by a third with MAE and pinball loss unchanged or slightly better
(experiments/scale/PROFILE.md)."""


@dataclass(frozen=True)
class ArimaParams:
    """Settings of the per-site fit (what :func:`fit_site` needs besides the data).

    Attributes:
        orders: Candidate ``((p, d, q), (P, D, Q, s))`` pairs.
        search: Try every candidate and keep the lowest AIC; otherwise fit the first only.
        fourier_k: Number of annual sine/cosine pairs (0 = none).
        country: ``holidays`` country code of the public holidays.
        subdiv: ``holidays`` subdivision code, or ``None``.
        max_history_days: Only the last this many days of a site's history are used.
        transform: ``"log1p"`` (default), ``"boxcox"`` (lambda by maximum likelihood on
            ``y + 1`` per site) or ``"none"``.
        maxiter: Iteration cap of the likelihood optimiser (L-BFGS).
    """

    orders: tuple[OrderPair, ...] = DEFAULT_ORDERS
    search: bool = True
    fourier_k: int = 3
    country: str = "GB"
    subdiv: str | None = "ENG"
    max_history_days: int = 1100
    transform: str = "log1p"
    maxiter: int = 50

    def __post_init__(self) -> None:
        if not self.orders:
            raise ValueError("orders is empty; pass at least one ((p, d, q), (P, D, Q, s)) pair")
        for pair in self.orders:
            _check_order(pair)
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, got {self.transform!r}")
        if self.fourier_k < 0:
            raise ValueError(f"fourier_k must be >= 0, got {self.fourier_k}")
        if self.max_history_days < MIN_OBSERVATIONS:
            raise ValueError(f"max_history_days must be >= {MIN_OBSERVATIONS}")
        if self.maxiter < 1:
            raise ValueError(f"maxiter must be >= 1, got {self.maxiter}")


@dataclass(frozen=True)
class SiteFit:
    """The fitted state of one site: parameters plus the filter run through ``last_date``.

    Attributes:
        order: Non-seasonal ``(p, d, q)``.
        seasonal_order: Seasonal ``(P, D, Q, s)``.
        params: All SARIMAX parameters (regression, ARMA, ``sigma2``) in statsmodels' order.
            :func:`update_site` passes this very array on unchanged.
        columns: Names of the regressors, in the order of the regression parameters.
        lam: Box-Cox lambda (0 for ``log1p``, 1 for ``none``).
        results: The filter's end state through ``last_date`` (forecasts start there): a
            :class:`FilteredState` (statsmodels results in models pickled before it).
        last_date: The last day of the history the state has seen (the cutoff).
        aic: AIC on the common sample of the search.
        converged: Whether the optimiser reported convergence.
        n_candidates: Orders tried (requested and fallback).
        n_failed: Orders that raised or gave a non-finite likelihood.
        n_convergence_warnings: statsmodels ``ConvergenceWarning``s raised over all candidates.
        n_warnings: All warnings raised (and suppressed) over all candidates.
        fallback: Whether the chosen order came from :data:`FALLBACK_ORDERS`.
        fit_seconds: Wall time of the whole site fit, search included.
    """

    order: Order
    seasonal_order: SeasonalOrder
    params: np.ndarray
    columns: tuple[str, ...]
    lam: float
    results: Any
    last_date: pd.Timestamp
    aic: float
    converged: bool
    n_candidates: int
    n_failed: int
    n_convergence_warnings: int
    n_warnings: int
    fallback: bool
    fit_seconds: float


class ArimaForecaster(Forecaster):
    """One seasonal ARIMA per site, log scale, weekly SARIMA + annual Fourier + holidays.

    See the module docstring for the model. Sites are fitted independently by :func:`fit_site`.
    :meth:`update` rolls each fitted site forward with :func:`update_site` (no re-estimation);
    a site new in the history is fitted, a site absent from it is dropped. ``predict`` ignores
    ``future``: the regressors are calendar features the model computes itself.

    Args:
        orders: Candidate ``((p, d, q), (P, D, Q, 7))`` pairs; ``None`` = :data:`DEFAULT_ORDERS`.
        search: Pick the lowest-AIC candidate; ``False`` fits the first candidate only (about
            5x faster).
        fourier_k: Annual sine/cosine pairs.
        country: Public-holiday country (``holidays`` package code).
        subdiv: Public-holiday subdivision, or ``None``.
        max_history_days: Use at most this many trailing days of each site (bounds fit time).
        transform: ``"log1p"``, ``"boxcox"`` or ``"none"``.
        maxiter: Optimiser iteration cap.

    Attributes:
        fits_: ``{site_id: SiteFit}`` after :meth:`fit`.
        fallbacks_: ``{site_id: reason}``: sites whose fit failed; they get the seasonal naive
            forecast (a :class:`~forecasting.errors.SeriesFallbackWarning` at fit names them).
    """

    name = "arima"
    latest_segment_only = True  # per site, from the latest segment

    def __init__(
        self,
        orders: Sequence[OrderPair] | None = None,
        search: bool = True,
        fourier_k: int = 3,
        country: str = "GB",
        subdiv: str | None = "ENG",
        max_history_days: int = 1100,
        transform: str = "log1p",
        maxiter: int = 50,
    ) -> None:
        self.orders = orders
        self.search = search
        self.fourier_k = fourier_k
        self.country = country
        self.subdiv = subdiv
        self.max_history_days = max_history_days
        self.transform = transform
        self.maxiter = maxiter

    @property
    def arima_params(self) -> ArimaParams:
        """The constructor settings as the :class:`ArimaParams` that :func:`fit_site` takes."""
        orders = DEFAULT_ORDERS if self.orders is None else _normalise_orders(self.orders)
        return ArimaParams(
            orders=orders,
            search=bool(self.search),
            fourier_k=int(self.fourier_k),
            country=self.country,
            subdiv=self.subdiv,
            max_history_days=int(self.max_history_days),
            transform=self.transform,
            maxiter=int(self.maxiter),
        )

    def _fit(self, history: pd.DataFrame) -> None:
        params = self.arima_params
        self.fits_: dict[str, SiteFit] = {}
        self.fallbacks_: dict[str, str] = {}
        self.short_: dict[str, str] = {}
        short: list[InsufficientHistoryError] = []
        for site, y, dates in _site_series(history):
            error = self._fit_or_fall_back(site, y, dates, params)
            short += [error] if error is not None else []
        if short and not self.fits_ and not self.segmented_sites_:
            raise short[0]  # the data is too short, not a segment of it
        warn_fallbacks(self.name, {**self.fallbacks_, **self.short_})

    def _fit_or_fall_back(
        self, site: str, y: np.ndarray, dates: pd.DatetimeIndex, params: ArimaParams
    ) -> InsufficientHistoryError | None:
        """Fit one site, or record why it gets the seasonal naive forecast instead.

        A constant or all-zero series needs no screening here: :func:`fit_site` handles it on
        purpose (simpler orders, then a seasonal random walk, as :meth:`diagnostics` reports).
        A fit that still fails falls back; too short a history (or latest segment) falls back
        until it is long enough (``short_``), other data errors raise.

        Returns:
            The error of a too-short history, if that is why the site fell back.
        """
        try:
            self.fits_[site] = fit_site(y, dates, params, site=site)
        except InsufficientHistoryError as exc:
            self.short_[site] = f"latest segment too short: {exc}"
            return exc
        except DataError:
            raise
        except Exception as exc:  # one site's failure must not end a national run
            self.fallbacks_[site] = f"ARIMA could not be fitted: {exc}"
        return None

    def _update(self, history: pd.DataFrame) -> None:
        params = self.arima_params
        old_fits = self.fits_
        fallbacks = getattr(self, "fallbacks_", {})
        self.fits_, self.fallbacks_, self.short_ = {}, {}, {}
        for site, y, dates in _site_series(history):
            old = old_fits.get(site)
            if site in fallbacks:
                self.fallbacks_[site] = fallbacks[site]
            elif old is None:
                # A site never fitted has no parameters to keep: it is fitted now.
                self._fit_or_fall_back(site, y, dates, params)
            else:
                self.fits_[site] = old  # kept for when its segment is long enough
                try:
                    self.fits_[site] = update_site(old, y, dates, params, site=site)
                except InsufficientHistoryError as exc:
                    self.short_[site] = f"latest segment too short: {exc}"
        new = {s: r for s, r in self.fallbacks_.items() if s not in fallbacks}
        warn_fallbacks(self.name, {**new, **self.short_})

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        # ``future`` is not used: the regressors are calendar features computed here.
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        from forecasting.models.naive import seasonal_naive

        params = self.arima_params
        fallbacks = {**getattr(self, "fallbacks_", {}), **getattr(self, "short_", {})}
        frames = [seasonal_naive(self.history_, horizon, sites=fallbacks)] if fallbacks else []
        for site, fit in self.fits_.items():
            if site in fallbacks:
                continue
            frame = forecast_site(fit, horizon, params)
            frame.insert(0, schema.SITE, site)
            frames.append(frame)
        out = pd.concat([f for f in frames if len(f)], ignore_index=True)
        return out.sort_values([schema.SITE, "date"], ignore_index=True)

    def diagnostics(self) -> pd.DataFrame:
        """One row per site: chosen order, AIC, convergence, warnings, fallback, fit time."""
        self._check_fitted()
        rows = [
            {
                schema.SITE: site,
                "cutoff": fit.last_date,
                "order": fit.order,
                "seasonal_order": fit.seasonal_order,
                "aic": fit.aic,
                "converged": fit.converged,
                "n_candidates": fit.n_candidates,
                "n_failed": fit.n_failed,
                "n_convergence_warnings": fit.n_convergence_warnings,
                "n_warnings": fit.n_warnings,
                "fallback": fit.fallback,
                "lam": fit.lam,
                "fit_seconds": fit.fit_seconds,
            }
            for site, fit in self.fits_.items()
        ]
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- per-site functions


def fit_site(
    y: np.ndarray, dates: pd.DatetimeIndex, params: ArimaParams, *, site: str = "?"
) -> SiteFit:
    """Fit one site: pure function of its series, safe to dispatch to another process.

    Args:
        y: Daily attendances aligned with ``dates``; NaN (and negative or infinite values,
            treated as missing) are allowed, missing dates are filled with NaN.
        dates: The days of ``y``, unique.
        params: Model settings.
        site: Site name, for error messages only.

    Returns:
        The fitted state, filtered through the last date.

    Raises:
        InsufficientHistoryError: Fewer than :data:`MIN_OBSERVATIONS` usable days in the window.
        ForecastingError: No candidate nor fallback order could be fitted.
    """
    from forecasting.models.regressors import single_thread

    start = time.perf_counter()
    yy, idx = _window(y, dates, params.max_history_days, site)
    lam = _choose_lambda(yy, params.transform)
    z = _forward(yy, lam)
    k = params.fourier_k if len(idx) >= MIN_DAYS_FOR_ANNUAL else 0
    regressors = calendar_regressors(idx, fourier_k=k, country=params.country, subdiv=params.subdiv)
    regressors = regressors.loc[:, regressors.abs().sum() > 0]  # drop holiday columns never set
    regressors.insert(0, "const", 1.0)
    beta = weekly_difference_regression(z, regressors.to_numpy())
    exog = regressors.to_numpy()

    requested = params.orders if params.search else params.orders[:1]
    burn = max(order[1] + seasonal[1] * seasonal[3] for order, seasonal in requested)
    tried: list[_Candidate] = []
    with single_thread():
        for pair in requested:
            tried.append(_fit_candidate(z, exog, beta, pair, burn, params.maxiter))
        if not any(c.ok for c in tried):
            for pair in FALLBACK_ORDERS:
                if pair in requested:
                    continue
                burn = max(burn, pair[0][1] + pair[1][1] * pair[1][3])
                tried.append(_fit_candidate(z, exog, beta, pair, burn, params.maxiter, True))
                if tried[-1].ok:
                    break
        ok = [c for c in tried if c.ok]
        if not ok:
            tried.append(_seasonal_random_walk(z, exog, beta))
            ok = [c for c in tried if c.ok]
        if not ok:
            errors = "; ".join(f"{c.pair}: {c.error}" for c in tried)
            raise ForecastingError(
                f"site {site!r}: no ARIMA order could be fitted ({errors}). Fix: check the "
                "site's history (constant or nearly empty series) or pass simpler orders."
            )
        pool = [c for c in ok if c.converged] or ok
        best = min(pool, key=lambda c: c.aic)
        params_all = np.r_[best.params, best.scale]
        results = _filter(z, exog, best.pair, params_all)
    return SiteFit(
        order=best.pair[0],
        seasonal_order=best.pair[1],
        params=params_all,
        columns=tuple(regressors.columns),
        lam=lam,
        results=results,
        last_date=idx[-1],
        aic=best.aic,
        converged=best.converged,
        n_candidates=len(tried),
        n_failed=sum(not c.ok for c in tried),
        n_convergence_warnings=sum(c.n_convergence_warnings for c in tried),
        n_warnings=sum(c.n_warnings for c in tried),
        fallback=best.fallback,
        fit_seconds=time.perf_counter() - start,
    )


def update_site(
    fit: SiteFit, y: np.ndarray, dates: pd.DatetimeIndex, params: ArimaParams, *, site: str = "?"
) -> SiteFit:
    """Roll a fitted site forward to the last date of ``y`` without re-estimating anything.

    The Kalman filter is run over the trailing ``max_history_days`` window of the new history
    with the parameters, transform and regressors of ``fit`` (revised values and gaps are taken
    as given). The new history may end later (the usual case) or earlier than the old one.

    Args:
        fit: The state from :func:`fit_site` (or an earlier update).
        y: The site's full new history, aligned with ``dates``.
        dates: Its days.
        params: The settings the site was fitted with (window length, holidays).
        site: Site name, for error messages only.

    Returns:
        A copy of ``fit`` with new ``results`` and ``last_date``; ``params`` is the same object.
    """
    from forecasting.models.regressors import single_thread

    yy, idx = _window(y, dates, params.max_history_days, site)
    z = _forward(yy, fit.lam)
    exog = _regressors_for(idx, fit.columns, params)
    with single_thread():
        results = _filter(z, exog, (fit.order, fit.seasonal_order), fit.params)
    return dataclasses.replace(fit, results=results, last_date=idx[-1])


def forecast_site(fit: SiteFit, horizon: int, params: ArimaParams) -> pd.DataFrame:
    """Forecast ``horizon`` days after ``fit.last_date``.

    Args:
        fit: A fitted (or updated) site state.
        horizon: Days ahead.
        params: The settings the site was fitted with (holidays).

    Returns:
        Columns ``cutoff, date, horizon, mean`` and the quantile columns (no ``site_id``).
    """
    dates = future_dates(fit.last_date, horizon)
    exog = _regressors_for(dates, fit.columns, params)
    moments = state_forecast(fit.results, exog @ fit.params[: exog.shape[1]], horizon)
    if moments is None:  # a state space this recursion does not cover: statsmodels' own
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prediction = fit.results.get_forecast(horizon, exog=exog)
        moments = (
            np.asarray(prediction.predicted_mean, dtype=float),
            np.asarray(prediction.var_pred_mean, dtype=float),
        )
    mu = moments[0]
    sd = np.sqrt(np.maximum(moments[1], 0.0))
    out = pd.DataFrame(
        {
            "cutoff": fit.last_date,
            "date": dates,
            "horizon": np.arange(1, horizon + 1),
            "mean": _inverse_mean(mu, sd, fit.lam),
        }
    )
    for q, column in zip(QUANTILES, QUANTILE_COLUMNS, strict=True):
        out[column] = _inverse(mu + stats.norm.ppf(q) * sd, fit.lam)
    return out


def state_forecast(
    results: Any, intercept: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and variance of the next ``horizon`` observations from a filtered state space.

    What statsmodels' ``get_forecast`` computes after a filter pass, without building a model
    and results for the forecast days (most of a site's forecast time): from the last
    predicted state ``a`` and its covariance ``P``, each day ``mean = d + Z a`` and
    ``var = Z P Z' + H``, then ``a = T a + c`` and ``P = T P T' + R Q R'``. ``intercept`` is
    ``d`` of the forecast days (the regression part, ``exog @ beta``).

    Returns:
        ``(mean, variance)``, or ``None`` when a system matrix varies in time (then use
        ``get_forecast``).
    """
    fr = getattr(results, "filter_results", results)
    names = ("design", "obs_cov", "transition", "state_intercept", "selection", "state_cov")
    mats: list[Any] = [getattr(fr, name, None) for name in names]
    state = getattr(fr, "predicted_state", None)
    cov = getattr(fr, "predicted_state_cov", None)
    if state is None or cov is None or any(m is None or m.shape[-1] != 1 for m in mats):
        return None
    Z, H, T, c, R, Q = (np.asarray(m[..., 0], dtype=np.float64) for m in mats)
    if Z.shape[0] != 1:
        return None
    a = np.asarray(state[:, -1], dtype=float)
    P = np.asarray(cov[:, :, -1], dtype=float)
    RQR = R @ Q @ R.T
    mean = np.empty(horizon)
    var = np.empty(horizon)
    for h in range(horizon):
        mean[h] = intercept[h] + (Z @ a)[0]
        var[h] = (Z @ P @ Z.T)[0, 0] + H[0, 0]
        a = T @ a + c
        P = T @ P @ T.T + RQR
    return mean, var


# --------------------------------------------------------------------------- regressors


def _regressors_for(
    dates: pd.DatetimeIndex, columns: tuple[str, ...], params: ArimaParams
) -> np.ndarray:
    k = sum(c.startswith("sin") for c in columns)
    frame = calendar_regressors(dates, fourier_k=k, country=params.country, subdiv=params.subdiv)
    frame.insert(0, "const", 1.0)
    return frame.loc[:, list(columns)].to_numpy()


# --------------------------------------------------------------------------- SARIMAX plumbing


@dataclass
class _Candidate:
    pair: OrderPair
    ok: bool = False
    params: np.ndarray | None = None
    scale: float = np.nan
    aic: float = np.inf
    converged: bool = False
    n_convergence_warnings: int = 0
    n_warnings: int = 0
    fallback: bool = False
    error: str = ""


def _model(z: np.ndarray, exog: np.ndarray | None, pair: OrderPair, **kwargs: Any) -> Any:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    return SARIMAX(z, exog=exog, order=pair[0], seasonal_order=pair[1], trend="n", **kwargs)


def _fit_candidate(
    z: np.ndarray,
    exog: np.ndarray,
    beta: np.ndarray,
    pair: OrderPair,
    burn: int,
    maxiter: int,
    fallback: bool = False,
) -> _Candidate:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    out = _Candidate(pair=pair, fallback=fallback)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # beta is fixed: the SARIMA part is estimated on the regression residual (the same
            # likelihood as a regression with fixed coefficients, without the per-evaluation
            # cost of statsmodels' fixed-parameter handling)
            model = _model(
                z - exog @ beta, None, pair, concentrate_scale=True, loglikelihood_burn=burn
            )
            model.ssm.filter_univariate = True  # one series: the same likelihood, cheaper
            res = model.fit(disp=False, maxiter=maxiter, cov_type="none", pgtol=GRADIENT_TOLERANCE)
            k_free = len(res.params) + 1  # ARMA parameters + the scale
            llf = float(res.llf)
            if not (np.isfinite(llf) and np.all(np.isfinite(res.params))):
                raise FloatingPointError("non-finite likelihood or parameters")
            if not (np.isfinite(res.scale) and res.scale > MIN_SIGMA2):
                raise FloatingPointError("innovation variance ~0 (constant series?) or NaN")
            out.params = np.r_[beta, np.asarray(res.params, dtype=float)]
            out.scale = float(res.scale)
            out.aic = -2.0 * llf + 2.0 * k_free
            out.converged = bool(res.mle_retvals.get("converged", False))
            out.ok = True
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, IndexError) as exc:
            out.error = f"{type(exc).__name__}: {exc}"
    out.n_warnings = len(caught)
    out.n_convergence_warnings = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return out


def _seasonal_random_walk(z: np.ndarray, exog: np.ndarray, beta: np.ndarray) -> _Candidate:
    """Last resort, no optimiser: ``(0,0,0)(0,1,0,7)`` with ``sigma2`` in closed form.

    ``sigma2`` is the mean square of the lag-7 differences of the regression residual (its
    maximum-likelihood value), floored at :data:`MIN_SIGMA2` so that constant series (a site
    reporting zeros) still get a proper, narrow predictive distribution.
    """
    pair: OrderPair = ((0, 0, 0), (0, 1, 0, WEEK))
    resid = z - exog @ beta
    diffs = resid[WEEK:] - resid[:-WEEK]
    diffs = diffs[np.isfinite(diffs)]
    scale = float(np.mean(diffs**2)) if len(diffs) else np.nan
    scale = max(scale, MIN_SIGMA2) if np.isfinite(scale) else 0.01
    return _Candidate(pair=pair, ok=True, params=beta.copy(), scale=scale, fallback=True)


def _filter(z: np.ndarray, exog: np.ndarray, pair: OrderPair, params_all: np.ndarray) -> Any:
    """Kalman filter with fixed parameters (``sigma2`` last, not concentrated).

    Only what out-of-sample forecasting needs is kept: a :class:`FilteredState` (statsmodels'
    results only if a system matrix varied in time, which SARIMAX's do not).
    """
    from statsmodels.tsa.statespace import kalman_filter as kf

    keep_less = (
        kf.MEMORY_NO_PREDICTED
        | kf.MEMORY_NO_FILTERED
        | kf.MEMORY_NO_SMOOTHING
        | kf.MEMORY_NO_STD_FORECAST
        | kf.MEMORY_NO_GAIN
        | kf.MEMORY_NO_LIKELIHOOD
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _model(z, exog, pair)
        state = FilteredState.of(
            model.filter(params_all, return_ssm=True, conserve_memory=keep_less)
        )
        if state is not None:
            return state
        return model.filter(params_all, cov_type="none", conserve_memory=keep_less)


_SYSTEM = ("design", "obs_cov", "transition", "state_intercept", "selection", "state_cov")


@dataclass(frozen=True)
class FilteredState:
    """The end of a Kalman filter pass: all that out-of-sample forecasts need.

    The last predicted state and its covariance, and the (time-invariant) system matrices,
    under the names statsmodels' filter results give them, so :func:`state_forecast` reads
    both. A few kB a site where statsmodels' results, which keep the model and its data, took
    about 370 kB (the champion's pickle, its hash and its loading shrink with it).
    """

    predicted_state: np.ndarray
    predicted_state_cov: np.ndarray
    design: np.ndarray
    obs_cov: np.ndarray
    transition: np.ndarray
    state_intercept: np.ndarray
    selection: np.ndarray
    state_cov: np.ndarray

    @classmethod
    def of(cls, results: Any) -> FilteredState | None:
        """The end state of statsmodels filter results; ``None`` if a matrix varies in time."""
        mats = {name: np.asarray(getattr(results, name)) for name in _SYSTEM}
        if any(m.shape[-1] != 1 for m in mats.values()):
            return None
        return cls(
            predicted_state=np.array(results.predicted_state[:, -1:], dtype=float),
            predicted_state_cov=np.array(results.predicted_state_cov[:, :, -1:], dtype=float),
            **{name: np.array(m, dtype=float) for name, m in mats.items()},
        )


# --------------------------------------------------------------------------- data and transforms


def _site_series(history: pd.DataFrame) -> Iterator[tuple[str, np.ndarray, pd.DatetimeIndex]]:
    for site, group in history.groupby(schema.SITE, sort=False):
        dates = pd.DatetimeIndex(pd.to_datetime(group[schema.DATE]))
        y = pd.to_numeric(group[schema.TARGET], errors="coerce").to_numpy(dtype=float)
        yield str(site), y, dates


def _window(
    y: np.ndarray, dates: pd.DatetimeIndex, max_days: int, site: str
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """The trailing ``max_days`` consecutive days; gaps, negatives and infinities become NaN."""
    series = pd.Series(np.asarray(y, dtype=float), index=pd.DatetimeIndex(dates).normalize())
    series = series[~series.index.duplicated(keep="last")].sort_index()
    if series.empty:
        raise InsufficientHistoryError(
            f"site {site!r} has no history", fix="pass at least a few weeks of daily data"
        )
    end = series.index[-1]
    idx = pd.date_range(max(series.index[0], end - pd.Timedelta(days=max_days - 1)), end, freq="D")
    values = series.reindex(idx).to_numpy()
    values[~np.isfinite(values) | (values < 0)] = np.nan
    n_obs = int(np.isfinite(values).sum())
    if n_obs < MIN_OBSERVATIONS:
        raise InsufficientHistoryError(
            f"site {site!r} has {n_obs} usable days in its last {max_days}; the ARIMA model "
            f"needs at least {MIN_OBSERVATIONS}",
            column=schema.TARGET,
            fix="pass a longer history or leave the site out",
        )
    return values, idx


def _choose_lambda(y: np.ndarray, transform: str) -> float:
    if transform == "log1p":
        return 0.0
    if transform == "none":
        return 1.0
    values = y[np.isfinite(y)] + 1.0
    if np.ptp(values) == 0:
        return 0.0
    return float(np.clip(stats.boxcox_normmax(values, method="mle"), -1.0, 2.0))


def _forward(y: np.ndarray, lam: float) -> np.ndarray:
    """Box-Cox of ``y + 1`` (``lam == 0``: ``log1p``; ``lam == 1``: ``y``)."""
    if lam == 1.0:
        return y.astype(float)
    return special.boxcox1p(y, lam)


def _inverse(z: np.ndarray, lam: float) -> np.ndarray:
    if lam == 1.0:
        return z
    if lam == 0.0:
        return np.expm1(z)
    return np.power(np.maximum(lam * z + 1.0, 0.0), 1.0 / lam) - 1.0


def _inverse_mean(mu: np.ndarray, sd: np.ndarray, lam: float) -> np.ndarray:
    """Mean on the count scale: exact for log1p (log-normal), second-order for other lambdas."""
    if lam == 1.0:
        return mu
    if lam == 0.0:
        return np.expm1(mu + sd**2 / 2.0)
    base = np.maximum(lam * mu + 1.0, 1e-12)
    return (_inverse(mu, lam) + 1.0) * (1.0 + sd**2 * (1.0 - lam) / (2.0 * base**2)) - 1.0


def _check_order(pair: Any) -> None:
    try:
        (p, d, q), (sp, sd, sq, s) = pair
        valid = all(int(v) >= 0 for v in (p, d, q, sp, sd, sq)) and int(s) in (0, WEEK)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"bad order {pair!r}; expected ((p, d, q), (P, D, Q, 7)) with non-negative integers"
        )


def _normalise_orders(orders: Sequence[Any]) -> tuple[OrderPair, ...]:
    out = []
    for pair in orders:
        _check_order(pair)
        (p, d, q), (sp, sd, sq, s) = pair
        out.append(((int(p), int(d), int(q)), (int(sp), int(sd), int(sq), int(s))))
    return tuple(out)
