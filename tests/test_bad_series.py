"""A run survives bad series: all-zero, constant and tiny-count sites, failing fits, inf output."""

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import SeriesFallbackWarning
from forecasting.evaluate.backtest import backtest
from forecasting.evaluate.summary import evaluate
from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.models import ets as ets_module
from forecasting.models import make_model
from forecasting.models.base import degenerate_reason
from forecasting.models.naive import seasonal_naive

COLUMNS = ["mean", *QUANTILE_COLUMNS]
SITES = ["flat", "normal", "tiny", "zero"]
BAD = {
    "zero": "all zero in the estimation window",
    "flat": "constant (5) in the estimation window",
}
PER_SITE = ["ets", "arima", "hybrid", "ensemble"]
GLOBAL = ["snaive", "lightgbm"]
SMOOTHING = ["ets", "hybrid", "ensemble"]  # screen series up front (ensemble: ets, hybrid)


def _frame(n_days: int = 420, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=n_days, freq="D")
    weekly = np.where(dates.dayofweek == 0, 1.2, np.where(dates.dayofweek >= 5, 0.9, 1.0))
    series = {
        "normal": rng.poisson(120 * weekly),
        "zero": np.zeros(n_days),
        "flat": np.full(n_days, 5.0),
        "tiny": rng.poisson(0.6, n_days),
    }
    return pd.concat(
        [
            pd.DataFrame({"site_id": s, "date": dates, "attendances": y.astype(float)})
            for s, y in series.items()
        ],
        ignore_index=True,
    )


def _fallback_warnings(caught: list[warnings.WarningMessage]) -> list[SeriesFallbackWarning]:
    return [w.message for w in caught if isinstance(w.message, SeriesFallbackWarning)]


def _assert_finite_for_every_site(forecast: pd.DataFrame, horizon: int = 7) -> None:
    assert np.isfinite(forecast[COLUMNS].to_numpy(dtype=float)).all()
    assert sorted(forecast["site_id"].unique()) == SITES
    assert forecast.groupby("site_id").size().to_dict() == dict.fromkeys(SITES, horizon)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def fitted(frame):
    """Each registry model fitted on all but the last day, with the warnings it raised."""
    out = {}
    for name in PER_SITE + GLOBAL:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = make_model(name, horizon=7).fit(frame[frame["date"] < frame["date"].max()])
        out[name] = (model, _fallback_warnings(caught))
    return out


@pytest.mark.parametrize("name", PER_SITE + GLOBAL)
def test_predict_is_finite_for_every_site_when_some_series_are_zero_or_constant(fitted, name):
    model, _ = fitted[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesFallbackWarning)  # no inf to guard at predict
        forecast = model.predict(7)

    _assert_finite_for_every_site(forecast)


@pytest.mark.parametrize("name", SMOOTHING)
def test_fit_warns_naming_exactly_the_bad_sites_when_smoothing_model_meets_them(fitted, name):
    _, caught = fitted[name]

    assert len(caught) == (2 if name == "ensemble" else 1)  # ensemble: hybrid and ets each warn
    for w in caught:
        assert w.reasons == BAD
        assert "zero (all zero in the estimation window)" in str(w)
        assert "flat (constant (5) in the estimation window)" in str(w)
        assert "tiny" not in str(w) and "normal" not in str(w)


@pytest.mark.parametrize("name", ["ets", "hybrid"])
def test_fallbacks_attribute_records_the_bad_sites_when_fitted(fitted, name):
    model, _ = fitted[name]

    assert model.fallbacks_ == BAD


def test_arima_fits_constant_sites_itself_when_series_are_zero_or_constant(fitted):
    model, caught = fitted["arima"]
    forecast = model.predict(7).set_index("site_id")
    diagnostics = model.diagnostics().set_index("site_id")

    assert caught == [] and model.fallbacks_ == {}
    assert diagnostics.loc["zero", "fallback"] and diagnostics.loc["flat", "fallback"]
    np.testing.assert_allclose(forecast.loc["zero", "q0.5"], 0.0, atol=1e-6)
    np.testing.assert_allclose(forecast.loc["flat", "q0.5"], 5.0, rtol=1e-3)


def test_arima_falls_back_with_the_fit_error_when_a_site_cannot_be_fitted(frame, monkeypatch):
    from forecasting.errors import ForecastingError
    from forecasting.models import arima as arima_module

    real = arima_module.fit_site

    def failing(y, dates, params, *, site="?"):
        if site == "tiny":
            raise ForecastingError("site 'tiny': no ARIMA order could be fitted")
        return real(y, dates, params, site=site)

    monkeypatch.setattr(arima_module, "fit_site", failing)
    with pytest.warns(SeriesFallbackWarning) as caught:
        model = make_model("arima").fit(frame[frame["date"] < frame["date"].max()])

    assert _fallback_warnings(list(caught))[0].reasons == {
        "tiny": "ARIMA could not be fitted: site 'tiny': no ARIMA order could be fitted"
    }
    model.update(frame)
    forecast = model.predict(7)
    _assert_finite_for_every_site(forecast)
    assert (forecast["cutoff"] == frame["date"].max()).all()


@pytest.mark.parametrize("name", GLOBAL)
def test_fit_does_not_warn_when_model_is_global_or_naive(fitted, name):
    _, caught = fitted[name]

    assert caught == []


@pytest.mark.parametrize("name", ["ets", "hybrid"])
def test_bad_sites_get_the_seasonal_naive_forecast_when_model_falls_back(fitted, name):
    model, _ = fitted[name]
    forecast = model.predict(7).set_index(["site_id", "date"])
    naive = seasonal_naive(model.history_, 7, sites=set(BAD)).set_index(["site_id", "date"])

    got = forecast.loc[naive.index, COLUMNS].to_numpy(dtype=float)
    expected = np.maximum(naive[COLUMNS].to_numpy(dtype=float), 0.0)
    np.testing.assert_allclose(got, expected)
    assert (forecast.loc["zero", "mean"] == 0).all()
    assert (forecast.loc["flat", "mean"] == 5).all()


@pytest.mark.parametrize("name", PER_SITE + GLOBAL)
def test_update_then_predict_works_when_rolled_forward_one_day(fitted, frame, name):
    model, _ = fitted[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.update(frame)
        forecast = model.predict(7)

    _assert_finite_for_every_site(forecast)
    assert (forecast["cutoff"] == frame["date"].max()).all()
    assert _fallback_warnings(caught) == []  # known fallbacks warn once, at fit


def test_ets_falls_back_with_the_fit_error_when_a_site_cannot_be_fitted(frame, monkeypatch):
    real = ets_module.fit_site

    def failing(y, season=7):
        if y.mean() < 1:  # the tiny-count site
            raise ValueError("no ETS candidate could be fitted")
        return real(y, season)

    monkeypatch.setattr(ets_module, "fit_site", failing)
    with pytest.warns(SeriesFallbackWarning) as caught:
        model = make_model("ets").fit(frame)

    reasons = _fallback_warnings(list(caught))[0].reasons
    assert reasons == {**BAD, "tiny": "ETS could not be fitted: no ETS candidate could be fitted"}
    model.update(frame)
    _assert_finite_for_every_site(model.predict(7))


def test_predict_replaces_non_finite_rows_by_seasonal_naive_when_model_outputs_inf(fitted):
    model, _ = fitted["ets"]
    real = model._predict

    def infinite(horizon, future):
        out = real(horizon, future)
        out.loc[(out["site_id"] == "normal") & out["horizon"].isin([1, 3]), "mean"] = np.inf
        out.loc[(out["site_id"] == "tiny") & (out["horizon"] == 5), "q0.9"] = np.nan
        return out

    model._predict = infinite
    try:
        with pytest.warns(SeriesFallbackWarning) as caught:
            forecast = model.predict(7)
    finally:
        del model._predict

    assert _fallback_warnings(list(caught))[0].reasons == {
        "normal": "non-finite forecast at horizon 1, 3",
        "tiny": "non-finite forecast at horizon 5",
    }
    _assert_finite_for_every_site(forecast)
    naive = seasonal_naive(model.history_, 7, sites={"normal"}).set_index("horizon")
    normal = forecast[forecast["site_id"] == "normal"].set_index("horizon")
    assert normal.loc[1, "mean"] == naive.loc[1, "mean"]
    assert normal.loc[3, "mean"] == naive.loc[3, "mean"]
    assert normal.loc[2, "mean"] != naive.loc[2, "mean"]


def test_ensemble_stays_finite_when_a_member_outputs_inf(fitted):
    model, _ = fitted["ensemble"]
    member = model.members_[1]
    real = member._predict

    def infinite(horizon, future):
        out = real(horizon, future)
        out[COLUMNS] = np.inf
        return out

    member._predict = infinite
    try:
        with pytest.warns(SeriesFallbackWarning, match=r"ets: 4 series fell back"):
            forecast = model.predict(7)
    finally:
        del member._predict

    _assert_finite_for_every_site(forecast)


def test_backtest_completes_with_finite_metrics_when_series_are_bad(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtest(frame, {"ensemble": make_model("ensemble")}, horizon=7, step=7, windows=2)
    metrics = evaluate(bt, frame)

    assert len(bt) == 2 * 7 * len(SITES)
    assert np.isfinite(bt[COLUMNS].to_numpy(dtype=float)).all()
    assert np.isfinite(
        metrics[["MAE", "RMSE", "MASE", "pinball", "cov80", "brier"]].to_numpy(dtype=float)
    ).all()


def test_warning_lists_ten_series_and_how_many_more_when_many_fall_back():
    reasons = {f"s{i:02d}": "all zero in the estimation window" for i in range(13)}

    text = str(SeriesFallbackWarning("ets", reasons))

    assert text.startswith("ets: 13 series fell back to the seasonal naive forecast: s00 (")
    assert "s09 (all zero in the estimation window); and 3 more" in text
    assert "s10" not in text


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([0, 0, 0, 0], "all zero in the estimation window"),
        ([np.nan, np.nan], "no observed counts in the estimation window"),
        ([3, 3, np.nan, 3], "constant (3) in the estimation window"),
        ([2] * 99 + [3], None),  # sparse or nearly flat: the model copes, the guard backs it
        ([0] * 999 + [1], None),
        ([0, 1, 0, 2, 0, 0, 1], None),
    ],
)
def test_degenerate_reason_names_the_problem_when_series_is_degenerate(values, reason):
    assert degenerate_reason(np.array(values, dtype=float)) == reason


@pytest.mark.parametrize("name", ["ets", "hybrid", "ensemble"])
def test_every_site_gets_seasonal_naive_when_no_site_can_be_smoothed(frame, name):
    bad = frame[frame["site_id"].isin(list(BAD))]
    with pytest.warns(SeriesFallbackWarning):
        model = make_model(name).fit(bad[bad["date"] < bad["date"].max()])
    model.update(bad)
    forecast = model.predict(7).set_index("site_id")

    assert np.isfinite(forecast[COLUMNS].to_numpy(dtype=float)).all()
    np.testing.assert_allclose(forecast.loc["zero", "mean"], 0.0, atol=1e-6)  # arima: ~1e-7
    np.testing.assert_allclose(forecast.loc["flat", "mean"], 5.0, rtol=1e-3)
