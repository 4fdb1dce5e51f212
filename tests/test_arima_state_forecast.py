"""ARIMA forecasts from the filtered state (issue 15 speed): statsmodels' numbers, faster."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.data.synth import synth_demand
from forecasting.models import arima
from forecasting.models.arima import (
    DEFAULT_ORDERS,
    FALLBACK_ORDERS,
    ArimaForecaster,
    ArimaParams,
    FilteredState,
    state_forecast,
)

HORIZON = 14


def _params(model, k_exog: int, rng: np.random.Generator) -> np.ndarray:
    values = []
    for name in model.param_names:
        if name.startswith("x"):
            values.append(rng.normal(0, 0.05))
        elif name == "sigma2":
            values.append(0.01)
        elif "ar" in name:
            values.append(0.4)
        else:
            values.append(0.2)
    assert len(values) == len(model.param_names) and k_exog > 0
    return np.array(values)


@pytest.mark.parametrize("pair", [*DEFAULT_ORDERS, *FALLBACK_ORDERS])
def test_state_forecast_when_compared_with_get_forecast_agrees_to_1e_9(pair):
    rng = np.random.default_rng(0)
    n = 400
    dates = pd.date_range("2023-01-02", periods=n + HORIZON, freq="D")
    p = ArimaParams()
    columns = ("const", *arima.calendar_regressors(dates[:2]).columns)
    exog = arima._regressors_for(dates, columns, p)
    z = 5 + 0.1 * np.sin(np.arange(n) * 2 * np.pi / 7) + rng.normal(0, 0.1, n)
    model = arima._model(z, exog[:n], pair)
    params = _params(model, exog.shape[1], rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.filter(params, cov_type="none").get_forecast(HORIZON, exog=exog[n:])
    state = arima._filter(z, exog[:n], pair, params)
    assert isinstance(state, FilteredState)
    intercept = exog[n:] @ params[: exog.shape[1]]
    for source in (state, pickle.loads(pickle.dumps(state))):
        moments = state_forecast(source, intercept, HORIZON)
        assert moments is not None
        np.testing.assert_allclose(moments[0], expected.predicted_mean, rtol=0, atol=1e-9)
        np.testing.assert_allclose(moments[1], expected.var_pred_mean, rtol=0, atol=1e-9)
    assert len(pickle.dumps(state)) < 10_000  # statsmodels results: ~100 kB here


def test_arima_predict_when_fitted_and_rolled_forward_equals_statsmodels_path(monkeypatch):
    frame = synth_demand(n_sites=2, years=1.5, end=pd.Timestamp("2024-06-30").date(), seed=5)
    demand = frame.demand[["site_id", "date", "attendances"]]
    cut = demand["date"].max() - pd.Timedelta(days=10)
    model = ArimaForecaster(max_history_days=400).fit(demand[demand["date"] <= cut])
    outputs = []
    for use_state in (True, False):
        if not use_state:  # as before: statsmodels results, get_forecast
            monkeypatch.setattr(arima, "state_forecast", lambda *args: None)
            monkeypatch.setattr(arima.FilteredState, "of", classmethod(lambda cls, r: None))
            model = ArimaForecaster(max_history_days=400).fit(demand[demand["date"] <= cut])
            assert not isinstance(next(iter(model.fits_.values())).results, FilteredState)
        copy = pickle.loads(pickle.dumps(model))  # the fitted state, each time
        outputs.append((copy.predict(HORIZON), copy.update(demand).predict(HORIZON)))
    cols = ["mean", "q0.05", "q0.5", "q0.95"]
    for fast, slow in zip(outputs[0], outputs[1], strict=True):
        assert fast[["site_id", "date"]].equals(slow[["site_id", "date"]])
        np.testing.assert_allclose(fast[cols], slow[cols], rtol=0, atol=1e-9)
