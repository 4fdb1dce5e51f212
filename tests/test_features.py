import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.features.builder import DirectFeatures
from forecasting.features.calendar import CalendarFeatures, HolidayFeatures
from forecasting.features.lags import LagFeatures


def _frame(values, start="2022-01-03", site="a") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="D")
    return pd.DataFrame({"site_id": site, "date": dates, "attendances": np.asarray(values, float)})


def test_calendar_when_monday_gives_dayofweek_0_and_unit_fourier():
    out = CalendarFeatures(fourier_terms=2).transform(pd.DatetimeIndex(["2024-01-01"]))
    assert out["dayofweek"].iloc[0] == 0
    assert out["year_sin1"].iloc[0] == pytest.approx(0.0)
    assert out["year_cos1"].iloc[0] == pytest.approx(1.0)
    assert CalendarFeatures(2).name == "calendar_fourier2"


def test_holidays_when_england_christmas_flags_day_and_neighbours():
    days = pd.DatetimeIndex(["2023-12-24", "2023-12-25", "2023-12-26", "2023-12-27", "2023-07-12"])
    out = HolidayFeatures(country="GB", subdiv="ENG", window=1).transform(days)
    assert out["holiday"].tolist() == [0, 1, 1, 0, 0]
    assert out["holiday_before_1"].tolist() == [1, 1, 0, 0, 0]
    assert out["holiday_after_1"].tolist() == [0, 0, 1, 1, 0]
    assert out["christmas_period"].tolist() == [1, 1, 1, 1, 0]


def test_lags_when_horizon_crosses_a_week_use_observed_same_weekday():
    y = np.arange(1.0, 61.0)  # y[i] = i + 1
    out = LagFeatures(windows=(7,), same_weekday_weeks=2, yearly=False).transform(
        y, np.array([49, 49]), np.array([1, 8])
    )
    level = np.mean(y[22:50])
    # h=1: target 50, last same weekday at 43 (value 44), then 36 (value 37)
    assert out["sameweekday_last_rel"].iloc[0] * level == pytest.approx(44.0)
    # h=8: target 57, same weekday at or before the cutoff is 43, then 36
    assert out["sameweekday_last_rel"].iloc[1] * level == pytest.approx(44.0)
    assert out["sameweekday_mean2_rel"].iloc[1] * level == pytest.approx((44.0 + 37.0) / 2)
    assert out["last_rel"].iloc[0] * level == pytest.approx(50.0)


@settings(max_examples=30, deadline=None)
@given(
    cutoff=st.integers(min_value=30, max_value=380),
    seed=st.integers(min_value=0, max_value=10_000),
    scale=st.floats(min_value=0.0, max_value=50.0),
)
def test_features_when_data_after_cutoff_change_stay_identical(cutoff, seed, scale):
    rng = np.random.default_rng(seed)
    y = rng.poisson(100, size=400).astype(float)
    changed = y.copy()
    changed[cutoff + 1 :] = changed[cutoff + 1 :] * (1 + scale) + rng.normal(
        0, 30, 400 - cutoff - 1
    )
    builder = DirectFeatures(exogenous=())
    horizon = 14
    a, _, meta_a = builder.training_rows(_frame(y), horizon)
    b, _, meta_b = builder.training_rows(_frame(changed), horizon)
    cut = pd.Timestamp("2022-01-03") + pd.Timedelta(days=cutoff)
    rows_a = (meta_a["cutoff"] == cut).to_numpy()
    rows_b = (meta_b["cutoff"] == cut).to_numpy()
    pd.testing.assert_frame_equal(
        a[rows_a].reset_index(drop=True), b[rows_b].reset_index(drop=True)
    )
    # prediction rows at a cutoff use the history truncated there: same features either way
    pa, _ = builder.prediction_rows(_frame(y[: cutoff + 1]), horizon)
    pb, _ = builder.prediction_rows(_frame(changed[: cutoff + 1]), horizon)
    pd.testing.assert_frame_equal(pa, pb)
    if cutoff + horizon < 400:  # all horizons observed: training rows match prediction rows
        pd.testing.assert_frame_equal(pa, a[rows_a].reset_index(drop=True), check_dtype=False)


def test_prediction_rows_when_exogenous_future_missing_raise_clear_error():
    frame = _frame(np.full(60, 100.0)).assign(temperature=10.0)
    builder = DirectFeatures(exogenous=("temperature",))
    with pytest.raises(Exception, match="no future values were given"):
        builder.prediction_rows(frame, 7)
