"""Correctness of the cheaper fit and roll-forward paths of the ETS, hybrid and ARIMA models.

Each cheaper path must give what the statsmodels path it replaces gives (float noise only).
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.models import ets as ets_module
from forecasting.models.arima import ArimaParams, _fit_candidate, _model
from forecasting.models.ets import (
    CANDIDATES,
    ETSForecaster,
    _Filtered,
    _SiteFit,
    filter_site,
    fit_params,
    forecast_filtered,
)
from forecasting.models.regressors import calendar_regressors, weekly_difference_regression


def _log_series(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    days = np.arange(n)
    lam = 40 * (1 + 0.3 * (days % 7 == 0)) * (1 + 0.0005 * days)
    return np.log1p(rng.poisson(lam).astype(float))


def _frame(n_days: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-05", periods=n_days, freq="D")
    frames = []
    for site, size in (("big", 300.0), ("small", 30.0)):
        y = rng.poisson(size * (1 + 0.3 * (dates.dayofweek == 0))).astype(float)
        frames.append(pd.DataFrame({"site_id": site, "date": dates, "attendances": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize(("trend", "damped"), CANDIDATES)
def test_ets_raw_forecast_when_filtered_equals_statsmodels_prediction(trend, damped):
    y = _log_series()
    model = ets_module._model(y, trend, damped, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp=False)
    fit = _SiteFit(trend, damped, np.asarray(res.params), None)
    mu, var = forecast_filtered(filter_site(y, fit), 14)
    pred = res.get_prediction(start=len(y), end=len(y) + 13)
    np.testing.assert_allclose(mu, np.asarray(pred.predicted_mean), rtol=1e-6)
    np.testing.assert_allclose(var, np.asarray(pred.forecast_variance), rtol=1e-6)


def test_ets_fit_params_when_compared_with_statsmodels_results_picks_same_model_and_params():
    y = _log_series(seed=1)
    ets_module._FIT_CACHE.clear()
    ours = fit_params(y)
    best, best_aicc = None, np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped in CANDIDATES:
            res = ets_module._model(y, trend, damped, 7).fit(disp=False)
            if res.aicc < best_aicc:
                best, best_aicc = (trend, damped, np.asarray(res.params)), res.aicc
    assert best is not None
    assert (ours.trend, ours.damped) == best[:2]
    np.testing.assert_allclose(ours.params, best[2], rtol=1e-9)
    assert ours.results is None


def test_ets_fit_params_when_called_twice_estimates_once_and_returns_copies(monkeypatch):
    calls = []
    real = ets_module._fit_best
    monkeypatch.setattr(ets_module, "_fit_best", lambda y, s: calls.append(1) or real(y, s))
    ets_module._FIT_CACHE.clear()
    y = _log_series(seed=2)
    first, second = fit_params(y), fit_params(y.copy())
    assert len(calls) == 1
    np.testing.assert_array_equal(first.params, second.params)
    first.params[0] = -1.0  # a caller's change does not reach the remembered estimate
    assert fit_params(y).params[0] != -1.0


def test_ets_update_when_raw_filter_gives_statsmodels_smooth_forecast():
    frame = _frame()
    model = ETSForecaster(calendar=True).fit(frame[frame["date"] <= "2022-09-30"])
    model.update(frame)
    raw = model.predict(7)
    assert all(isinstance(f.results, _Filtered) for f in model.fits_.values())
    for site, fit in model.fits_.items():  # the statsmodels results of the same filter pass
        g = model.history_[model.history_["site_id"] == site]
        y = model._site_series(site, g)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit.results = ets_module._model(y, fit.trend, fit.damped, 7).smooth(fit.params)
    old = model.predict(7)
    cols = ["mean", "q0.05", "q0.5", "q0.95"]
    np.testing.assert_allclose(raw[cols].to_numpy(), old[cols].to_numpy(), rtol=1e-6)


def test_ets_predict_when_pickled_with_statsmodels_results_still_forecasts():
    frame = _frame()
    model = ETSForecaster().fit(frame)
    expected = model.predict(7)
    for site, fit in model.fits_.items():  # as a model pickled before the raw filter
        g = model.history_[model.history_["site_id"] == site]
        y = model._site_series(site, g)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit.results = ets_module._model(y, fit.trend, fit.damped, 7).smooth(fit.params)
    loaded = pickle.loads(pickle.dumps(model))
    got = loaded.predict(7)
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-6)
    loaded.update(frame)  # rolled forward, it switches to the raw filter
    assert all(isinstance(f.results, _Filtered) for f in loaded.fits_.values())
    np.testing.assert_allclose(loaded.predict(7)["mean"], expected["mean"], rtol=1e-6)


def test_arima_candidate_when_fitted_on_regression_residual_has_fixed_regression_likelihood():
    rng = np.random.default_rng(4)
    dates = pd.date_range("2021-01-01", periods=400, freq="D")
    z = np.log1p(rng.poisson(50 * (1 + 0.2 * (dates.dayofweek == 0))).astype(float))
    reg = calendar_regressors(dates, fourier_k=2, country="GB", subdiv="ENG")
    reg.insert(0, "const", 1.0)
    exog = reg.to_numpy()
    beta = weekly_difference_regression(z, exog)
    pair = ArimaParams().orders[0]
    cand = _fit_candidate(z, exog, beta, pair, burn=0, maxiter=50)
    assert cand.ok and cand.params is not None
    np.testing.assert_array_equal(cand.params[: len(beta)], beta)
    full = _model(z, exog, pair, concentrate_scale=True)
    llf = full.loglike(cand.params)
    assert cand.aic == pytest.approx(-2.0 * llf + 2.0 * (len(cand.params) - len(beta) + 1))


@pytest.mark.parametrize(
    "dates",
    [
        pd.date_range("2016-01-01", periods=800, freq="D"),
        pd.DatetimeIndex(pd.date_range("2019-12-20", periods=30, freq="D").to_list(), name="date"),
        pd.date_range("2016-01-01", periods=20, freq="D").delete(5),  # a gap: not remembered
        pd.date_range("2016-12-20 10:00", periods=15, freq="D"),  # times of day: normalised
    ],
)
def test_calendar_regressors_when_remembered_equal_computed_and_copies(dates):
    from forecasting.models.regressors import _regressors, calendar_regressors

    expected = _regressors(pd.DatetimeIndex(dates).normalize(), 3, "GB", "ENG")
    first = calendar_regressors(dates)
    pd.testing.assert_frame_equal(first, expected)
    first.iloc[:, 0] = 99.0  # a caller's change does not reach the remembered frame
    first.insert(0, "const", 1.0)
    pd.testing.assert_frame_equal(calendar_regressors(dates), expected)
