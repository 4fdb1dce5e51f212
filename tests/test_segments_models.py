"""Segments (issue 11): models, features and the backtest on winter-only data.

The panel has three winters of 100 days with an eight-month gap between them; site ``c`` is
present only in the last two. Per-site models work from each site's latest segment, the global
LightGBM learns from all of them without any feature spanning a gap, and backtest cutoffs and
forecast days never fall in a gap.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.data.segments import segment_table
from forecasting.errors import DataError, SeriesFallbackWarning
from forecasting.evaluate.backtest import backtest, cutoffs_for
from forecasting.features.builder import DirectFeatures
from forecasting.models import make_model
from forecasting.models.base import Forecaster
from forecasting.models.ensemble import EnsembleForecaster
from forecasting.models.ets import ETSForecaster, _model
from forecasting.models.hybrid import HybridForecaster
from forecasting.models.lightgbm import LightGBMForecaster
from forecasting.models.naive import SeasonalNaive

WEEKLY = np.array([1.3, 1.05, 1.0, 1.0, 0.97, 0.85, 0.85])  # Monday .. Sunday
WINTERS = ("2021-11-03", "2022-11-02", "2023-11-01")  # Wednesdays; gaps of 265 and 264 days
WINTER_DAYS = 100
SIZES = {"a": 300.0, "b": 150.0, "c": 80.0}
FAST_LGB = {"n_estimators": 40, "learning_rate": 0.1}
MODEL_NAMES = ("snaive", "ets", "hybrid", "arima", "lightgbm", "ensemble")


def _winter_panel(seed: int = 0, noise: float = 0.03) -> pd.DataFrame:
    """Three sites, three winters of 100 days; ``c`` misses the first winter."""
    rng = np.random.default_rng(seed)
    frames = []
    for site, size in SIZES.items():
        for k, start in enumerate(WINTERS):
            if site == "c" and k == 0:
                continue
            dates = pd.date_range(start, periods=WINTER_DAYS, freq="D")
            level = size * (1.0 + 0.1 * k)
            y = np.round(level * WEEKLY[dates.dayofweek] * np.exp(rng.normal(0, noise, len(dates))))
            frames.append(pd.DataFrame({"site_id": site, "date": dates, "attendances": y}))
    return pd.concat(frames, ignore_index=True).sort_values(["site_id", "date"], ignore_index=True)


def _small(model: Forecaster) -> Forecaster:
    """The registry's model with fast trees and no annual terms (100-day segments)."""
    if isinstance(model, EnsembleForecaster):
        model.members = [_small(m) for m in model.members]
    if hasattr(model, "fourier_k"):
        model.fourier_k = 0
    if isinstance(model, LightGBMForecaster | HybridForecaster):
        model.params = FAST_LGB
    if isinstance(model, HybridForecaster):
        model.warmup_days = 28
    return model


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _winter_panel()


# --------------------------------------------------------------- features


def test_training_rows_when_panel_has_gaps_stay_inside_each_segment(panel: pd.DataFrame) -> None:
    X, y, meta = DirectFeatures().training_rows(panel, 7)
    table = segment_table(panel)
    seg = meta.merge(table, on="site_id")
    inside = (seg["cutoff"] >= seg["start"]) & (seg["cutoff"] <= seg["end"])
    seg = seg[inside.to_numpy()]
    assert len(seg) == len(meta)  # every cutoff lies in exactly one segment of its site
    assert (seg["date"] <= seg["end"]).all()  # its target too
    # yearly lags reach the previous winter (364 days back): never used across the gap
    assert X["lastyear_rel"].isna().all()
    assert X["lastyear_level_rel"].isna().all()
    # 3 + 3 + 2 segments, each with cutoffs 27..98 and horizons that stay inside
    per_segment = sum(min(7, 99 - c) for c in range(27, 99))
    assert len(meta) == 8 * per_segment
    assert np.isfinite(y).all()


@settings(max_examples=25, deadline=None)
@given(
    winter=st.integers(min_value=0, max_value=2),
    day=st.integers(min_value=27, max_value=98),
    seed=st.integers(min_value=0, max_value=10_000),
    scale=st.floats(min_value=0.1, max_value=50.0),
)
def test_features_when_values_outside_segment_up_to_cutoff_change_stay_identical(
    winter: int, day: int, seed: int, scale: float
) -> None:
    panel = _winter_panel()
    site = panel["site_id"] == "a"
    start = pd.Timestamp(WINTERS[winter])
    cut = start + pd.Timedelta(days=day)
    outside = site & ((panel["date"] < start) | (panel["date"] > cut))
    rng = np.random.default_rng(seed)
    changed = panel.copy()
    changed.loc[outside, "attendances"] = changed.loc[outside, "attendances"] * (
        1 + scale
    ) + rng.normal(0, 30, int(outside.sum()))
    builder = DirectFeatures()
    horizon = 7
    a, _, meta_a = builder.training_rows(panel, horizon)
    b, _, meta_b = builder.training_rows(changed, horizon)
    rows_a = ((meta_a["cutoff"] == cut) & (meta_a["site_id"] == "a")).to_numpy()
    rows_b = ((meta_b["cutoff"] == cut) & (meta_b["site_id"] == "a")).to_numpy()
    assert rows_a.sum() == min(horizon, WINTER_DAYS - 1 - day)
    pd.testing.assert_frame_equal(
        a[rows_a].reset_index(drop=True), b[rows_b].reset_index(drop=True)
    )
    pa, _ = builder.prediction_rows(panel[panel["date"] <= cut], horizon)
    pb, _ = builder.prediction_rows(changed[changed["date"] <= cut], horizon)
    pd.testing.assert_frame_equal(pa, pb)


def test_prediction_rows_when_latest_segment_follows_a_gap_use_it_only(
    panel: pd.DataFrame,
) -> None:
    cut = pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=40)
    X, meta = DirectFeatures().prediction_rows(panel[panel["date"] <= cut], 7)
    winter = panel[(panel["date"] >= WINTERS[2]) & (panel["date"] <= cut)]
    level = winter.groupby("site_id")["attendances"].apply(lambda s: s.iloc[-28:].mean())
    got = meta.groupby("site_id")["level"].first()
    np.testing.assert_allclose(got.to_numpy(), level.loc[got.index].to_numpy(), rtol=1e-12)
    assert (meta["cutoff"] == cut).all()
    assert X["lastyear_rel"].isna().all()


# --------------------------------------------------------------- per-site models


def test_snaive_when_latest_segment_follows_a_gap_repeats_its_last_week(
    panel: pd.DataFrame,
) -> None:
    cut = pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=20)
    history = panel[panel["date"] <= cut]
    fc = SeasonalNaive().fit(history).predict(7)
    for site, g in history.groupby("site_id"):
        last_week = g["attendances"].to_numpy()[-7:]
        got = fc[fc["site_id"] == site]
        np.testing.assert_array_equal(got["mean"].to_numpy(), last_week)
        assert got["date"].tolist() == list(pd.date_range(cut + pd.Timedelta(days=1), periods=7))


def test_snaive_when_latest_segment_is_three_days_repeats_its_last_value_not_last_winter() -> None:
    dates = list(pd.date_range("2023-01-02", periods=60)) + list(
        pd.date_range("2023-11-01", periods=3)
    )
    y = [500.0] * 60 + [10.0, 20.0, 30.0]
    frame = pd.DataFrame({"site_id": "a", "date": dates, "attendances": y})
    fc = SeasonalNaive().fit(frame).predict(7)
    np.testing.assert_array_equal(fc["mean"].to_numpy(), [30, 30, 30, 30, 10, 20, 30])
    np.testing.assert_array_equal(fc["q0.5"].to_numpy(), fc["mean"].to_numpy())


def _ets_segment_reference(model: ETSForecaster, segment: pd.DataFrame) -> np.ndarray:
    """Fitted parameters, filtered with statsmodels from the segment's first day in phase."""
    anchor = model.starts_["a"]
    first = pd.Timestamp(segment["date"].iloc[0])
    start = anchor + pd.Timedelta(days=7 * -(-(first - anchor).days // 7))
    g = segment[segment["date"] >= start]
    z = np.log1p(g["attendances"].to_numpy())
    fit = model.fits_["a"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _model(z, fit.trend, fit.damped, 7).smooth(fit.params)
    pred = res.get_prediction(start=len(z), end=len(z) + 6)
    mu = np.asarray(pred.predicted_mean)
    sd = np.sqrt(np.asarray(pred.forecast_variance))
    return np.expm1(mu + sd**2 / 2)


def test_ets_update_when_new_segment_starts_after_a_gap_keeps_weekday_phase(
    panel: pd.DataFrame,
) -> None:
    site = panel[panel["site_id"] == "a"]
    fit_cut = pd.Timestamp(WINTERS[1]) + pd.Timedelta(days=WINTER_DAYS - 1)
    model = ETSForecaster().fit(site[site["date"] <= fit_cut])
    assert model.starts_["a"] == pd.Timestamp(WINTERS[1])  # the latest segment only
    for day in (30, 31, 33, 36):  # several weekdays of the next winter
        cut = pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=day)
        history = site[site["date"] <= cut]
        fc = copy.deepcopy(model).update(history).predict(7)
        segment = history[history["date"] >= WINTERS[2]]
        np.testing.assert_allclose(
            fc["mean"].to_numpy(), _ets_segment_reference(model, segment), rtol=1e-9
        )
        peak = fc.loc[fc["mean"].idxmax(), "date"]
        assert peak.dayofweek == 0, (day, peak)
        # filtered from 2023-11-01 on: 2022-11-02 + 52 weeks, in phase with the fit's start
        assert int(model.fits_["a"].results.model.nobs) == 100
    with pytest.warns(SeriesFallbackWarning, match="latest segment has 1 day"):
        first_day = copy.deepcopy(model).update(site[site["date"] <= WINTERS[2]]).predict(7)
    np.testing.assert_array_equal(first_day["mean"].to_numpy(), [site["attendances"].iloc[200]] * 7)


def test_hybrid_states_when_history_has_segments_restart_in_phase_each_winter(
    panel: pd.DataFrame,
) -> None:
    model = _small(make_model("hybrid")).fit(panel)
    assert isinstance(model, HybridForecaster)
    states = model.states_["a"]
    days = model.starts_["a"] + pd.to_timedelta(np.arange(len(states)), unit="D")
    observed = days.isin(pd.DatetimeIndex(panel.loc[panel["site_id"] == "a", "date"]))
    assert states[~observed].isna().all().all()  # nothing filtered across the gaps
    for start in WINTERS:
        winter = (days >= start) & (days < pd.Timestamp(start) + pd.Timedelta(days=100))
        seasonal = states.loc[winter, "seasonal"].to_numpy()[-7:]
        assert days[winter][-7:][int(np.argmax(seasonal))].dayofweek == 0
    fc = model.predict(7)
    assert fc.loc[fc[fc["site_id"] == "a"]["mean"].idxmax(), "date"].dayofweek == 0


@pytest.mark.parametrize("name", ["ets", "hybrid", "arima", "ensemble"])
def test_model_when_a_site_has_a_five_day_latest_segment_falls_back_to_snaive(
    name: str, panel: pd.DataFrame
) -> None:
    winter = panel["date"] >= WINTERS[2]
    late = panel["date"] >= pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=WINTER_DAYS - 5)
    frame = panel[(panel["site_id"] != "b") | ~winter | late]  # b: days 95..99 of winter 3
    assert ((frame["site_id"] == "b") & (frame["date"] >= WINTERS[2])).sum() == 5
    with pytest.warns(SeriesFallbackWarning, match=r"b \(latest segment") as record:
        fc = _small(make_model(name)).fit(frame).predict(7)
    assert not any("'a'" in str(w.message) or " c " in str(w.message) for w in record)
    naive = SeasonalNaive().fit(frame[frame["site_id"] == "b"]).predict(7)
    got = fc[fc["site_id"] == "b"]
    np.testing.assert_allclose(got["mean"].to_numpy(), naive["mean"].to_numpy(), rtol=1e-12)
    assert np.isfinite(fc[["mean", "q0.05", "q0.95"]].to_numpy()).all()
    assert set(fc["site_id"]) == {"a", "b", "c"}


# --------------------------------------------------------------- backtest


def test_cutoffs_when_panel_has_gaps_skip_windows_that_would_fall_in_them(
    panel: pd.DataFrame,
) -> None:
    cuts = cutoffs_for(panel, horizon=7, step=7, windows=20)
    days = set(panel["date"])
    for cut in cuts:
        assert all(cut + pd.Timedelta(days=k) in days for k in range(8))
    last = pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=92)
    assert cuts[-1] == last
    # 14 cutoffs in the last winter (days 92, 85, .., 1), then 6 in the one before (52 weeks
    # earlier: days 92 .. 57); 14 + 14 + 8 in all (winter 1 from day 43: 42 days of history)
    assert cuts[-14] == pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=1)
    assert len(cuts) == 20 and cuts[5] < pd.Timestamp(WINTERS[2])
    with pytest.raises(DataError, match="found 36"):
        cutoffs_for(panel, horizon=7, step=7, windows=41)


@pytest.mark.parametrize(
    ("step", "windows", "refit_every"),
    [
        pytest.param(7, 16, 4, marks=pytest.mark.slow),  # ~18 s
        pytest.param(1, 10, 5, marks=pytest.mark.slow),
    ],  # step 1 on a winter-only file: test_cli_beds
)
def test_backtest_when_panel_is_winter_only_forecasts_inside_segments_for_every_model(
    panel: pd.DataFrame, step: int, windows: int, refit_every: int
) -> None:
    models = {name: _small(make_model(name)) for name in MODEL_NAMES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeriesFallbackWarning)  # early-winter cutoffs
        bt = backtest(panel, models, horizon=7, step=step, windows=windows, refit_every=refit_every)
    assert set(bt["model"]) == set(MODEL_NAMES)
    days = set(panel["date"])
    assert bt["cutoff"].isin(days).all()
    assert bt["y"].notna().all()  # every forecast day is observed
    assert np.isfinite(bt[["mean", "q0.05", "q0.95"]].to_numpy()).all()
    n_cuts = bt["cutoff"].nunique()
    assert n_cuts == windows
    for _, g in bt.groupby("model"):
        # a site is forecast at a cutoff only if it has a row that day
        present = panel.set_index(["site_id", "date"]).index
        assert pd.MultiIndex.from_frame(g[["site_id", "cutoff"]]).isin(present).all()
    if step == 7:  # the first chunk straddles the gap: fitted in winter 2, updated in winter 3
        first_chunk = sorted(bt["cutoff"].unique())[:refit_every]
        assert first_chunk[1] < pd.Timestamp(WINTERS[2]) <= first_chunk[2]


def test_backtest_when_a_site_segment_ends_early_skips_it_at_later_cutoffs(
    panel: pd.DataFrame,
) -> None:
    end = pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=80)
    frame = panel[(panel["site_id"] != "c") | (panel["date"] <= end)]
    models = {"snaive": SeasonalNaive(), "ets": ETSForecaster()}
    bt = backtest(frame, models, horizon=7, step=7, windows=3, refit_every=3)
    cuts = [pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=d) for d in (78, 85, 92)]
    assert sorted(bt["cutoff"].unique()) == cuts
    for _, g in bt.groupby("model"):
        sites = g.groupby("cutoff")["site_id"].unique().map(sorted).tolist()
        assert sites == [["a", "b", "c"], ["a", "b"], ["a", "b"]]
    c = bt[bt["site_id"] == "c"]
    # c's segment ends on day 80: days 81..85 are in the panel but not in c's data
    assert c["y"].notna().sum() == 2 * 2 and c["y"].isna().sum() == 5 * 2
    assert bt[bt["site_id"] != "c"]["y"].notna().all()


@pytest.mark.parametrize("name", ["ets", "hybrid"])
def test_calendar_when_latest_segment_is_shorter_than_a_year_leaves_annual_terms_out(
    name: str, panel: pd.DataFrame
) -> None:
    """Annual Fourier terms fitted to 100 winter days extrapolated wildly (1e30 on sitreps)."""
    model = make_model(name)
    if isinstance(model, HybridForecaster):
        model.params = FAST_LGB
    cut = pd.Timestamp(WINTERS[2]) + pd.Timedelta(days=60)
    fc = model.fit(panel[panel["date"] <= cut]).predict(7)
    assert isinstance(model, ETSForecaster | HybridForecaster)
    for beta in model.betas_.values():
        np.testing.assert_array_equal(beta[:6], 0.0)  # sin1 .. cos3
    truth = panel.set_index(["site_id", "date"])["attendances"]
    y = truth.reindex(pd.MultiIndex.from_frame(fc[["site_id", "date"]])).to_numpy()
    assert np.abs(fc["mean"].to_numpy() / y - 1).max() < 0.15


def test_arima_when_a_site_first_appears_with_twenty_days_falls_back_not_raises(
    panel: pd.DataFrame,
) -> None:
    last = panel["date"].max()
    days = pd.date_range(end=last, periods=20)
    new = pd.DataFrame({"site_id": "d", "date": days, "attendances": 60.0 * WEEKLY[days.dayofweek]})
    frame = pd.concat([panel, new], ignore_index=True)
    model = make_model("arima")
    with pytest.warns(SeriesFallbackWarning, match="'d' has 20 usable days"):
        fc = model.fit(frame).predict(7)
    assert set(fc["site_id"]) == {"a", "b", "c", "d"}
    naive = SeasonalNaive().fit(new).predict(7)
    np.testing.assert_array_equal(fc[fc["site_id"] == "d"]["mean"].to_numpy(), naive["mean"])
