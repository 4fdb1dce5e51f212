"""The LightGBM design is float32 and built chunk by chunk into one preallocated matrix."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from forecasting.features.builder import SITE_COLUMN, DirectFeatures
from forecasting.features.lags import LagFeatures
from forecasting.models.lightgbm import LightGBMForecaster

SMALL = {"n_estimators": 20, "min_child_samples": 5}


def _panel(sites: int = 3, days: int = 420, gap: bool = True, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(sites):
        dates = pd.date_range("2022-01-03", periods=days, freq="D")
        frame = pd.DataFrame(
            {
                "site_id": f"s{i}",
                "date": dates,
                "attendances": rng.poisson(40 + 15 * i, days).astype(float),
                "temperature": rng.normal(10, 5, days),
            }
        )
        if gap and i == 1:  # a site with two segments
            frame = frame.drop(index=range(150, 170))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _future(panel: pd.DataFrame, horizon: int) -> pd.DataFrame:
    last = panel.groupby("site_id")["date"].max()
    return pd.concat(
        pd.DataFrame(
            {
                "site_id": site,
                "date": pd.date_range(day + pd.Timedelta(days=1), periods=horizon),
                "temperature": 12.0,
            }
        )
        for site, day in last.items()
    )


def test_design_is_float32_when_built_as_a_matrix():
    panel = _panel()
    builder = DirectFeatures(exogenous=("temperature",))
    X, y, meta = builder.training_matrix(panel, 7, sites=["s0", "s1", "s2"])
    P, _ = builder.prediction_matrix(panel, 7, _future(panel, 7), sites=["s0", "s1", "s2"])
    assert X.dtype == np.float32 and P.dtype == np.float32
    assert X.flags["C_CONTIGUOUS"]
    assert X.shape == (len(y), len(builder.columns) + 1) == (len(meta), X.shape[1])
    assert P.shape == (3 * 7, X.shape[1])


def test_design_when_float32_equals_the_float64_rows_cast():
    panel = _panel()
    builder = DirectFeatures(exogenous=("temperature",))
    X64, y64, meta64 = builder.training_rows(panel, 7)
    X32, y32, meta32 = builder.training_matrix(panel, 7)
    assert list(X64.columns) == builder.columns
    np.testing.assert_array_equal(X32, X64.to_numpy(dtype=np.float32))
    np.testing.assert_array_equal(y32, y64)
    pd.testing.assert_frame_equal(meta32, meta64)


@pytest.mark.parametrize("chunk_rows", [1, 3, 50])
def test_chunked_build_when_chunks_are_tiny_matches_building_at_once(chunk_rows):
    panel = _panel()
    lags = LagFeatures(windows=(7, 28), ewm_alphas=(0.2,))
    whole = DirectFeatures(lags=lags, exogenous=("temperature",), chunk_rows=10**9)
    chunked = DirectFeatures(lags=lags, exogenous=("temperature",), chunk_rows=chunk_rows)
    Xa, ya, ma = whole.training_matrix(panel, 14, stride=2)
    Xb, yb, mb = chunked.training_matrix(panel, 14, stride=2)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
    pd.testing.assert_frame_equal(ma, mb)
    future = _future(panel, 14)
    Pa, pa = whole.prediction_matrix(panel, 14, future)
    Pb, pb = chunked.prediction_matrix(panel, 14, future)
    np.testing.assert_array_equal(Pa, Pb)
    pd.testing.assert_frame_equal(pa, pb)


def test_lag_columns_when_filled_in_chunks_equal_transform():
    y = np.random.default_rng(3).poisson(30, 500).astype(float)
    lags = LagFeatures(ewm_alphas=(0.1,))
    c = np.repeat(np.arange(27, 480), 7)
    h = np.tile(np.arange(1, 8), 480 - 27)
    frame = lags.transform(y, c, h)
    out = np.empty((len(c), len(lags.columns)))
    level = lags.fill(lags.prepare(y), c, h, out)
    assert list(frame.columns) == ["level", *lags.columns]
    np.testing.assert_array_equal(level, frame["level"].to_numpy())
    np.testing.assert_array_equal(out, frame[lags.columns].to_numpy())


def test_row_subset_when_selected_matches_slicing_the_full_design():
    panel = _panel()
    builder = DirectFeatures(chunk_rows=5)
    X, y, meta = builder.training_matrix(panel, 7)
    idx = np.flatnonzero(np.random.default_rng(1).random(len(y)) < 0.2)
    sites = ["s2", "s0"]  # s1 is unknown: its code is missing
    Xs, ys, ms = builder.training_matrix(panel, 7, rows=idx, sites=sites)
    np.testing.assert_array_equal(Xs[:, :-1], X[idx])
    np.testing.assert_array_equal(ys, y[idx])
    pd.testing.assert_frame_equal(ms, meta.iloc[idx].reset_index(drop=True))
    codes = meta["site_id"].map({"s2": 0.0, "s0": 1.0}).to_numpy(dtype=float)[idx]
    np.testing.assert_array_equal(Xs[:, -1], codes.astype(np.float32))
    mask = np.zeros(len(y), dtype=bool)
    mask[idx] = True
    np.testing.assert_array_equal(builder.training_matrix(panel, 7, rows=mask)[0], X[idx])


def test_training_meta_when_built_without_features_matches_training_rows():
    panel = _panel()
    builder = DirectFeatures()
    _, y, meta = builder.training_rows(panel, 7)
    y_only, meta_only = builder.training_meta(panel, 7)
    np.testing.assert_array_equal(y_only, y)
    assert isinstance(meta_only["site_id"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(meta_only.astype({"site_id": object}), meta)


def test_features_when_data_after_cutoff_change_stay_identical_in_tiny_chunks():
    panel = _panel(sites=2, gap=False)
    cutoff = pd.Timestamp("2022-09-30")
    changed = panel.copy()
    later = changed["date"] > cutoff
    changed.loc[later, "attendances"] = changed.loc[later, "attendances"] * 3 + 100
    builder = DirectFeatures(chunk_rows=2)
    a, _, meta_a = builder.training_matrix(panel, 14)
    b, _, meta_b = builder.training_matrix(changed, 14)
    rows_a = (meta_a["cutoff"] == cutoff).to_numpy()
    rows_b = (meta_b["cutoff"] == cutoff).to_numpy()
    assert rows_a.sum() == 2 * 14
    np.testing.assert_array_equal(a[rows_a], b[rows_b])
    pa, _ = builder.prediction_matrix(panel[panel["date"] <= cutoff], 14)
    np.testing.assert_array_equal(pa, a[rows_a])


def test_training_matrix_when_built_allocates_little_beyond_its_size():
    panel = _panel(sites=6, days=600, gap=False)
    builder = DirectFeatures()
    builder.training_matrix(panel, 7, with_meta=False)  # warm caches (holidays)
    tracemalloc.start()
    try:
        X, y, _ = builder.training_matrix(panel, 7, with_meta=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    final = X.nbytes + y.nbytes
    assert peak < 1.3 * final + 2_000_000, (peak, final)


def test_lightgbm_when_fitted_uses_the_float32_design_with_a_categorical_site():
    panel = _panel()
    model = LightGBMForecaster(max_horizon=7, params=SMALL).fit(panel)
    booster = model.model_.booster_
    assert booster.feature_name()[-1] == SITE_COLUMN
    assert booster.feature_name()[:-1] == DirectFeatures().columns
    infos = booster.dump_model()["feature_infos"]
    assert {0, 1, 2} <= set(infos[SITE_COLUMN]["values"])  # categorical: the sites' codes
    assert infos["horizon"]["max_value"] == 7 and not infos["horizon"]["values"]
    out = model.predict(7)
    assert len(out) == 3 * 7
    assert np.isfinite(out["mean"]).all()
    assert (out["q0.05"] <= out["q0.95"]).all()


@pytest.mark.parametrize(
    "options", [{"intervals": "quantile"}, {"recency_halflife": 60.0}, {"stride": 3}]
)
def test_lightgbm_when_options_vary_still_fits_and_predicts(options):
    panel = _panel()
    out = LightGBMForecaster(max_horizon=7, params=SMALL, **options).fit(panel).predict(5)
    assert len(out) == 3 * 5
    assert np.isfinite(out[["mean", "q0.05", "q0.5", "q0.95"]].to_numpy()).all()


def test_lightgbm_when_model_was_pickled_before_float32_predicts_with_its_pandas_design():
    import lightgbm as lgb

    panel = _panel()
    model = LightGBMForecaster(max_horizon=7, params=SMALL).fit(panel)
    X, y, meta = DirectFeatures().training_rows(panel, 7)
    design = X.assign(site=pd.Categorical(meta["site_id"], categories=model.sites_))
    ratio = y / meta["level"].to_numpy()
    ok = np.isfinite(ratio)
    old = lgb.LGBMRegressor(n_estimators=10, verbose=-1).fit(design[ok], ratio[ok])
    model.model_ = old  # what a model fitted before the float32 design holds
    out = model.predict(7)
    assert len(out) == 3 * 7
    assert np.isfinite(out["mean"]).all()
