"""Occupancy model: contract, segment-aware leakage-free features, hand-checked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.errors import NotFittedError
from forecasting.features.occupancy import (
    OccupancyDesign,
    OccupancyLags,
    SameWeekdayChange,
    Segment,
    christmas_offset,
    holiday_distance,
)
from forecasting.forecast_frame import FORECAST_COLUMNS, QUANTILE_COLUMNS, is_monotone
from forecasting.models import make_model
from forecasting.models.occupancy import OccupancyForecaster

FAST = {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 5}
PREV_LEVEL = ["prev_segment_occ", "prev_segment_gap", "prev_profile_step"]


def _site(site: str, seed: int, beds: float = 400.0, days: int = 70) -> pd.DataFrame:
    """Two winters of one site (70 days each) with a gap of about eight months."""
    rng = np.random.default_rng(seed)
    parts = []
    for start in ("2018-11-20", "2019-11-20"):
        dates = pd.date_range(start, periods=days, freq="D")
        weekly = np.where(dates.dayofweek >= 5, -0.03, 0.01)
        occ = 0.92 + weekly + np.cumsum(rng.normal(0, 0.004, days))
        parts.append(
            pd.DataFrame(
                {
                    "site_id": site,
                    "date": dates,
                    "attendances": np.round(occ * beds),
                    "beds": beds + rng.integers(-5, 5, days),
                    "ambulance_handover_over_60min": rng.poisson(3, days).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _frame() -> pd.DataFrame:
    return pd.concat([_site("A", 1), _site("B", 2, beds=900.0)], ignore_index=True)


@pytest.fixture(scope="module")
def fitted() -> OccupancyForecaster:
    return OccupancyForecaster(params=FAST, calibration_cutoffs=14).fit(_frame())


def test_fit_when_called_returns_self_with_fitted_attributes():
    model = OccupancyForecaster(params=FAST)
    assert model.fit(_frame()) is model
    assert hasattr(model, "model_") and model.errors_.shape[0] == 7


def test_predict_when_unfitted_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        OccupancyForecaster().predict(7)


def test_predict_when_fitted_gives_horizons_1_to_7_with_monotone_finite_quantiles(fitted):
    out = fitted.predict(7)
    assert list(out.columns) == list(FORECAST_COLUMNS)
    assert sorted(out["horizon"].unique()) == list(range(1, 8))
    assert len(out) == 14 and set(out["site_id"]) == {"A", "B"}
    values = out[["mean", *QUANTILE_COLUMNS]].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert is_monotone(out)
    assert (out["model"] == "occupancy").all()
    assert (out["cutoff"] == pd.Timestamp("2020-01-28")).all()


def test_predict_occupancy_when_fitted_gives_probabilities_that_fall_with_the_line(fitted):
    out = fitted.predict_occupancy(7)
    p = out[["p_occupancy_ge_0.92", "p_occupancy_ge_0.95", "p_occupancy_ge_0.97"]].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    assert (np.diff(p, axis=1) <= 1e-12).all()
    assert np.allclose(out["occupancy"], out["mean"] / out["beds"])


def test_fit_when_beds_absent_scales_by_recent_level():
    frame = _frame().drop(columns=["beds", "ambulance_handover_over_60min"])
    out = OccupancyForecaster(params=FAST).fit(frame).predict(7)
    assert np.isfinite(out[["mean", *QUANTILE_COLUMNS]].to_numpy(dtype=float)).all()
    assert out.groupby("site_id")["mean"].mean().between(300, 900).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"calibration": "latest", "calibration_cutoffs": 14},
        {"calibration": "folds", "occupancy_bins": (0.9, 0.95)},
    ],
)
def test_conformal_when_latest_or_folds_with_bins_gives_monotone_quantiles(kwargs):
    model = OccupancyForecaster(params=FAST, **kwargs).fit(_frame())
    bins = len(kwargs.get("occupancy_bins", ())) + 1
    assert model.errors_.shape == (7, bins, 200)
    out = model.predict_occupancy(7)
    assert is_monotone(out)
    p = out["p_occupancy_ge_0.95"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()


def test_registry_when_asked_for_occupancy_returns_the_model():
    model = make_model("occupancy", horizon=5)
    assert isinstance(model, OccupancyForecaster) and model.max_horizon == 5


def test_lags_when_hand_computed_match():
    y = np.arange(100.0, 120.0)  # +1 per day
    y[3] = 90.0
    seg = Segment(y=y, beds=np.full(20, 200.0), prev_level=0.5)
    scale = seg.scale()
    c, h = np.array([10, 10]), np.array([1, 8])
    lags = OccupancyLags().transform(seg, scale, c, h)
    assert lags["occ_last"][0] == pytest.approx(110 / 200)
    assert lags["diff1"][0] == pytest.approx(1 / 200)
    assert lags["diff7"][0] == pytest.approx((110 - 90) / 200)  # day 3 is the odd one
    assert lags["mean3_gap"][0] == pytest.approx((109 - 110) / 200)
    assert lags["prev_segment_gap"][0] == pytest.approx(0.5 - 0.55)
    same = SameWeekdayChange(weeks=2).transform(seg, scale, c, h)
    # h=1: the target weekday's step a week earlier: y[4] - y[3] = 104 - 90
    assert same["sameweekday1_change"][0] == pytest.approx(14 / 200)
    # h=8 (k=2): two weeks back, y[4] - y[-4] is before the start: NaN
    assert np.isnan(same["sameweekday1_change"][1])
    assert same["sameweekday_last_gap"][0] == pytest.approx((104 - 110) / 200)


def test_calendar_when_hand_computed_match():
    d = pd.DatetimeIndex(["2018-12-25", "2019-01-01", "2018-12-20", "2019-03-15"])
    assert list(christmas_offset(d)) == [0.0, 7.0, -5.0, 45.0]
    hol = pd.DatetimeIndex(["2018-12-25", "2018-12-26", "2019-01-01"])
    to, since = holiday_distance(d, hol)
    assert list(to) == [0.0, 0.0, 5.0, 14.0]
    assert list(since) == [0.0, 0.0, 14.0, 14.0]


def test_design_when_cutoff_near_christmas_counts_bank_holidays_between():
    frame = _site("A", 3)
    X, _, meta = OccupancyDesign().training_rows(frame, 7)
    row = (meta["cutoff"] == pd.Timestamp("2018-12-24")) & (meta["horizon"] == 2)
    assert X.loc[row.to_numpy(), "holidays_between"].item() == 2  # 25 and 26 December
    assert X.loc[row.to_numpy(), "xmas_offset_target"].item() == 1


def _rows_at(frame: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    X, _, meta = OccupancyDesign().training_rows(frame, 7)
    return X[(meta["cutoff"] == cut).to_numpy()].reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(
    cutoff=st.integers(min_value=0, max_value=62),
    seed=st.integers(min_value=0, max_value=10_000),
    scale=st.floats(min_value=0.0, max_value=3.0),
)
def test_features_when_data_after_cutoff_or_before_segment_change_stay_identical(
    cutoff, seed, scale
):
    frame = _site("A", 5)
    second = frame["date"] >= pd.Timestamp("2019-11-20")
    cut = pd.Timestamp("2019-11-20") + pd.Timedelta(days=cutoff)
    rng = np.random.default_rng(seed)
    changed = frame.copy()
    cols = ["attendances", "beds", "ambulance_handover_over_60min"]
    after = (changed["date"] > cut).to_numpy()
    noise = rng.normal(0, 20, (after.sum(), len(cols)))
    changed.loc[after, cols] = changed.loc[after, cols].to_numpy() * (1 + scale) + noise
    before = ~second.to_numpy()
    changed.loc[before, cols] = changed.loc[before, cols].to_numpy() * (1 + scale)
    a, b = _rows_at(frame, cut), _rows_at(changed, cut)
    assert len(a) == len(b) == min(7, 69 - cutoff)
    # only the site's own level and weekday profile (previous segment) read the earlier one
    pd.testing.assert_frame_equal(a.drop(columns=PREV_LEVEL), b.drop(columns=PREV_LEVEL))
    # prediction rows from the history truncated at the cutoff are the same rows
    trunc = frame[frame["date"] <= cut]
    p, _ = OccupancyDesign().prediction_rows(trunc, 7)
    pd.testing.assert_frame_equal(p.iloc[: len(a)], a, check_dtype=False)


def test_features_when_segment_starts_never_read_the_previous_winter():
    frame = _site("A", 6)
    X, _, meta = OccupancyDesign().training_rows(frame, 7)
    first_day = (meta["cutoff"] == pd.Timestamp("2019-11-20")).to_numpy()
    assert X.loc[first_day, "diff1"].isna().all()
    assert X.loc[first_day, "days_since_start"].eq(0).all()
    assert X.loc[first_day, "prev_segment_occ"].notna().all()
