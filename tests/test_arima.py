"""ArimaForecaster: contract, weekly shape, update without refit, intervals, robustness.

Short synthetic series (about 400 days) keep the whole file well under 30 s.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import InsufficientHistoryError, NotFittedError
from forecasting.forecast_frame import FORECAST_COLUMNS, QUANTILE_COLUMNS, is_monotone
from forecasting.models import arima
from forecasting.models.arima import (
    ArimaForecaster,
    ArimaParams,
    calendar_regressors,
    fit_site,
    forecast_site,
)

# Log effects Monday..Sunday: Monday busiest, weekend quietest.
WEEKLY = np.array([0.25, 0.08, 0.03, 0.02, 0.0, -0.10, -0.08])
N_TRAIN = 400
HOLDOUT = 28


def _series(
    site: str = "a",
    n: int = N_TRAIN + HOLDOUT,
    level: float = 100.0,
    weekly: np.ndarray = WEEKLY,
    sigma: float = 0.06,
    phi: float = 0.5,
    seed: int = 0,
    start: str = "2023-01-02",
) -> pd.DataFrame:
    """Log-normal daily counts: weekly shape times AR(1) noise (what the model assumes)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n, freq="D")
    noise = np.zeros(n)
    eps = rng.normal(0.0, sigma, n)
    for t in range(1, n):
        noise[t] = phi * noise[t - 1] + eps[t]
    z = np.log(level) + weekly[dates.dayofweek] + noise
    return pd.DataFrame({"site_id": site, "date": dates, "attendances": np.round(np.exp(z))})


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return _series()


@pytest.fixture(scope="module")
def fitted(series: pd.DataFrame) -> ArimaForecaster:
    model = ArimaForecaster(search=False)
    model.fit(series.iloc[:N_TRAIN])
    return model


def test_predict_returns_contract_frame_when_fitted(
    fitted: ArimaForecaster, series: pd.DataFrame
) -> None:
    horizon = 14
    out = fitted.predict(horizon)
    cutoff = series["date"].iloc[N_TRAIN - 1]

    assert list(out.columns) == list(FORECAST_COLUMNS)
    assert len(out) == horizon
    assert out["horizon"].tolist() == list(range(1, horizon + 1))
    assert (out["cutoff"] == cutoff).all()
    assert (out["date"] == cutoff + pd.to_timedelta(out["horizon"], unit="D")).all()
    assert (out["site_id"] == "a").all()
    assert (out["model"] == "arima").all()
    assert not out.isna().any().any()
    assert is_monotone(out)
    assert (out[list(QUANTILE_COLUMNS)] > 0).all().all()


def test_quantiles_are_skewed_up_when_transformed_back_from_log_scale(
    fitted: ArimaForecaster,
) -> None:
    out = fitted.predict(7)
    upper = out["q0.95"] - out["q0.5"]
    lower = out["q0.5"] - out["q0.05"]
    assert (upper > lower).all()
    # The mean of a log-normal lies above its median.
    assert (out["mean"] > out["q0.5"]).all()


def test_predict_raises_not_fitted_error_when_called_before_fit() -> None:
    with pytest.raises(NotFittedError):
        ArimaForecaster().predict(7)


def test_monday_mean_is_highest_when_history_has_strong_monday_peak(
    fitted: ArimaForecaster,
) -> None:
    out = fitted.predict(14)
    by_weekday = out.groupby(out["date"].dt.dayofweek)["mean"].mean()
    assert by_weekday.idxmax() == 0
    assert by_weekday[0] > 1.1 * by_weekday.drop(0).max()


def test_update_moves_cutoff_without_refitting_when_given_newer_history(
    fitted: ArimaForecaster, series: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = copy.deepcopy(fitted)
    before = model.fits_["a"]
    forecast_before = model.predict(7)

    def refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("update must not re-estimate")

    monkeypatch.setattr(arima, "fit_site", refit)
    newer = series.iloc[: N_TRAIN + 7]
    model.update(newer)
    after = model.fits_["a"]
    forecast_after = model.predict(7)

    assert after.params is before.params
    assert (after.order, after.seasonal_order) == (before.order, before.seasonal_order)
    assert after.last_date == newer["date"].iloc[-1]
    assert (forecast_after["cutoff"] == newer["date"].iloc[-1]).all()
    assert forecast_after["date"].iloc[0] == newer["date"].iloc[-1] + pd.Timedelta(days=1)
    assert forecast_after["date"].iloc[0] == forecast_before["date"].iloc[-1] + pd.Timedelta(days=1)


def test_interval_covers_most_held_out_days_when_series_is_well_specified(
    fitted: ArimaForecaster, series: pd.DataFrame
) -> None:
    out = fitted.predict(HOLDOUT)
    truth = series["attendances"].iloc[N_TRAIN:].to_numpy()
    covered = (truth >= out["q0.05"].to_numpy()) & (truth <= out["q0.95"].to_numpy())
    assert covered.mean() >= 0.75


def test_sites_are_fitted_independently_when_history_has_two_sites() -> None:
    a = _series("a", n=200, seed=1)
    b = _series("b", n=200, level=30.0, weekly=WEEKLY[::-1], seed=2)
    both = ArimaForecaster(search=False).fit(pd.concat([b, a], ignore_index=True))
    alone = ArimaForecaster(search=False).fit(a)

    out = both.predict(7)
    assert sorted(out["site_id"].unique()) == ["a", "b"]
    assert out.groupby("site_id").size().tolist() == [7, 7]
    np.testing.assert_allclose(
        out.loc[out["site_id"] == "a", "mean"].to_numpy(), alone.predict(7)["mean"].to_numpy()
    )
    # Site b's Sunday-heavy shape is its own, not a's Monday peak.
    b_out = out[out["site_id"] == "b"]
    busiest = b_out.sort_values("mean")["date"].iloc[-1]
    assert busiest.dayofweek == 6
    assert (
        out.loc[out["site_id"] == "b", "mean"].mean()
        < 0.5 * out.loc[out["site_id"] == "a", "mean"].mean()
    )


def test_fit_tolerates_gaps_and_nan_when_history_is_incomplete(series: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    history = series.iloc[:N_TRAIN].copy()
    history.loc[rng.random(len(history)) < 0.1, "attendances"] = np.nan
    history.loc[history.index[-2:], "attendances"] = np.nan
    history = history.drop(history.index[100:110])  # ten dates missing altogether

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # convergence warnings must not escape the fit
        model = ArimaForecaster(search=False)
        model.fit(history)
    out = model.predict(7)

    assert not out.isna().any().any()
    assert (out["cutoff"] == history["date"].iloc[-1]).all()
    assert out["mean"].between(50, 200).all()


def test_fit_falls_back_to_simpler_order_when_series_is_constant() -> None:
    history = _series(n=120).assign(attendances=40.0)
    model = ArimaForecaster(search=False)
    model.fit(history)
    out = model.predict(7)
    diagnostics = model.diagnostics().iloc[0]

    assert diagnostics["fallback"]
    assert diagnostics["n_failed"] >= 1
    np.testing.assert_allclose(out["q0.5"], 40.0, rtol=1e-3)
    assert is_monotone(out)


def test_search_keeps_one_of_the_candidates_when_given_two_orders(series: pd.DataFrame) -> None:
    orders = [((1, 0, 0), (1, 0, 1, 7)), ((0, 1, 1), (0, 1, 1, 7))]
    model = ArimaForecaster(orders=orders, search=True)
    model.fit(series.iloc[:N_TRAIN])
    diagnostics = model.diagnostics().iloc[0]

    assert diagnostics["n_candidates"] == 2
    assert (diagnostics["order"], diagnostics["seasonal_order"]) in orders
    assert np.isfinite(diagnostics["aic"])


def test_fit_raises_insufficient_history_when_series_is_too_short() -> None:
    with pytest.raises(InsufficientHistoryError, match="site 'a'"):
        ArimaForecaster().fit(_series(n=20))


def test_fit_raises_value_error_when_transform_is_unknown(series: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="transform"):
        ArimaForecaster(transform="sqrt").fit(series)


def test_fit_site_round_trips_through_pickle_when_dispatched_to_a_worker(
    series: pd.DataFrame,
) -> None:
    params = ArimaParams(search=False)
    history = series.iloc[:N_TRAIN]
    state = fit_site(history["attendances"].to_numpy(), pd.DatetimeIndex(history["date"]), params)
    copy = pickle.loads(pickle.dumps(state))

    pd.testing.assert_frame_equal(forecast_site(state, 7, params), forecast_site(copy, 7, params))


def test_calendar_regressors_mark_holiday_and_next_day_when_country_is_england() -> None:
    dates = pd.date_range("2024-12-23", "2024-12-28", freq="D")
    frame = calendar_regressors(dates, fourier_k=2, country="GB", subdiv="ENG")

    assert list(frame.columns) == ["sin1", "cos1", "sin2", "cos2", "holiday", "after_holiday"]
    assert frame["holiday"].tolist() == [0, 0, 1, 1, 0, 0]  # Christmas, Boxing Day
    assert frame["after_holiday"].tolist() == [0, 0, 0, 0, 1, 0]


def test_get_params_lists_constructor_arguments_when_model_is_fitted(
    fitted: ArimaForecaster,
) -> None:
    params = fitted.get_params()
    assert params["search"] is False
    assert params["country"] == "GB"
    assert params["max_history_days"] == 1100
    assert "fits_" not in params
