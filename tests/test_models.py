"""The same contract suite, run over every demand model."""

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import NotFittedError
from forecasting.evaluate.backtest import backtest
from forecasting.forecast_frame import FORECAST_COLUMNS, is_monotone
from forecasting.models.arima import ArimaForecaster
from forecasting.models.ensemble import EnsembleForecaster
from forecasting.models.ets import ETSForecaster
from forecasting.models.hybrid import HybridForecaster
from forecasting.models.lightgbm import LightGBMForecaster
from forecasting.models.naive import SeasonalNaive

FAST_LGB = {"n_estimators": 60, "learning_rate": 0.1}

MODELS = {
    "snaive": lambda: SeasonalNaive(),
    "lightgbm_conformal": lambda: LightGBMForecaster(max_horizon=7, params=FAST_LGB),
    "lightgbm_quantile": lambda: LightGBMForecaster(
        max_horizon=7, params=FAST_LGB, intervals="quantile"
    ),
    "ets": lambda: ETSForecaster(),
    "arima": lambda: ArimaForecaster(search=False),
    "hybrid": lambda: HybridForecaster(max_horizon=7, params=FAST_LGB),
    "ensemble": lambda: EnsembleForecaster([SeasonalNaive(), ETSForecaster()]),
}


def _panel(n_days: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=n_days, freq="D")  # a Monday
    frames = []
    for site, size in (("big", 300.0), ("small", 80.0)):
        weekly = np.where(dates.dayofweek == 0, 1.25, np.where(dates.dayofweek >= 5, 0.9, 1.0))
        y = rng.poisson(size * weekly)
        frames.append(
            pd.DataFrame({"site_id": site, "date": dates, "attendances": y.astype(float)})
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def panel():
    return _panel()


@pytest.mark.parametrize("name", MODELS)
def test_model_predict_when_unfitted_raises_not_fitted(name):
    with pytest.raises(NotFittedError, match="fit"):
        MODELS[name]().predict(7)


@pytest.mark.parametrize("name", MODELS)
def test_model_predict_when_fitted_returns_contract_frame(name, panel):
    fc = MODELS[name]().fit(panel).predict(7)
    assert list(fc.columns) == list(FORECAST_COLUMNS)
    assert len(fc) == 14
    assert fc.groupby("site_id")["horizon"].apply(list).tolist() == [list(range(1, 8))] * 2
    assert (fc["cutoff"] == pd.Timestamp(panel["date"].max())).all()
    assert (fc["date"] - fc["cutoff"]).dt.days.tolist() == fc["horizon"].tolist()
    assert is_monotone(fc)
    assert not fc.isna().any().any()


@pytest.mark.parametrize("name", MODELS)
def test_model_when_monday_is_busiest_forecasts_monday_highest(name, panel):
    fc = MODELS[name]().fit(panel).predict(7)
    for _, g in fc.groupby("site_id"):
        assert g.loc[g["mean"].idxmax(), "date"].dayofweek == 0


@pytest.mark.parametrize("name", MODELS)
def test_model_when_sites_differ_in_size_scales_forecasts(name, panel):
    fc = MODELS[name]().fit(panel).predict(7)
    means = fc.groupby("site_id")["mean"].mean()
    assert 2.8 < means["big"] / means["small"] < 4.7


@pytest.mark.parametrize("name", MODELS)
def test_backtest_when_run_joins_truth_and_covers_most(name, panel):
    bt = backtest(panel, [MODELS[name]()], horizon=7, step=7, windows=6, refit_every=3)
    assert len(bt) == 2 * 7 * 6
    assert bt["y"].notna().all()
    assert bt["cutoff"].nunique() == 6
    inside = ((bt["y"] >= bt["q0.05"]) & (bt["y"] <= bt["q0.95"])).mean()
    assert inside > 0.7


def test_backtest_when_model_sees_cutoff_history_only(panel):
    """Fit and update get history up to the cutoff; ``future`` never carries the target."""
    seen: list[tuple[str, pd.Timestamp]] = []
    futures: list[pd.DataFrame] = []

    class Spy(SeasonalNaive):
        def _fit(self, history):
            seen.append(("fit", history["date"].max()))
            super()._fit(history)

        def _update(self, history):
            seen.append(("update", history["date"].max()))

        def _predict(self, horizon, future):
            futures.append(future)
            return super()._predict(horizon, future)

    bt = backtest(panel, [Spy()], horizon=7, step=7, windows=4, refit_every=2)
    cutoffs = sorted(pd.Timestamp(c) for c in bt["cutoff"].unique())
    assert seen == [
        ("fit", cutoffs[0]),
        ("update", cutoffs[1]),
        ("fit", cutoffs[2]),
        ("update", cutoffs[3]),
    ]
    assert all("attendances" not in f.columns for f in futures)
    assert all(f["date"].min() > c for f, c in zip(futures, cutoffs, strict=True))


def test_ets_forecasts_when_from_last_state_equal_statsmodels_forecast():
    from forecasting.models.ets import _model, fit_site
    from forecasting.models.hybrid import ets_forecasts

    rng = np.random.default_rng(3)
    days = np.arange(600)
    y = np.log1p(rng.poisson(100 * (1 + 0.2 * (days % 7 == 0))).astype(float))
    fit = fit_site(y)
    _, raw = _model(y, fit.trend, fit.damped, 7).smooth(fit.params, return_raw=True)
    names = ["level", "trend", "seasonal"] if fit.trend else ["level", "seasonal"]
    states = pd.DataFrame(np.asarray(raw), columns=names)
    ours = ets_forecasts(states, fit, np.full(7, len(y) - 1), np.arange(1, 8))
    np.testing.assert_allclose(ours, np.asarray(fit.results.forecast(7)), rtol=1e-6)


def test_backtest_when_models_named_by_mapping_keeps_them_apart(panel):
    models = {"weekly": SeasonalNaive(season=7), "fortnightly": SeasonalNaive(season=14)}
    bt = backtest(panel, models, horizon=7, step=7, windows=2)
    assert sorted(bt["model"].unique()) == ["fortnightly", "weekly"]
    assert len(bt) == 2 * 2 * 2 * 7


def test_ets_default_when_built_by_library_or_registry_is_the_same_calendar_model() -> None:
    from forecasting.models import make_model

    library = ETSForecaster()
    registry = make_model("ets", 7)
    assert library.get_params() == registry.get_params()
    assert (library.name, registry.name) == ("ets", "ets")
    assert ETSForecaster(calendar=False).name == "ets-plain"
