import numpy as np
import pandas as pd
import pytest

from forecasting.data.profile import (
    profile_frame,
    profile_series,
    surge_rate,
    weekday_baseline_ratio,
)


def _weekly(n_days: int = 730, monday: float = 120.0, other: float = 100.0) -> pd.Series:
    dates = pd.date_range("2021-01-04", periods=n_days, freq="D")  # starts on a Monday
    values = np.where(dates.dayofweek == 0, monday, other)
    return pd.Series(values, index=dates)


def test_profile_when_monday_is_20_percent_higher_gives_weekly_ratio_1_2():
    s = _weekly()
    p = profile_series(pd.Series(s.index), pd.Series(s.values))
    assert p.busiest_weekday == "Mon"
    assert p.weekly_ratio == pytest.approx(1.2, abs=0.005)
    assert p.surge_rate == 0.0


def test_profile_when_july_is_higher_gives_peak_month_jul():
    s = _weekly(monday=100.0)
    s[s.index.month == 7] = 130.0
    p = profile_series(pd.Series(s.index), pd.Series(s.values))
    assert p.peak_month == "Jul"
    assert p.seasonal_ratio == pytest.approx(1.3, abs=1e-9)


def test_surge_rate_when_ten_days_doubled_counts_them():
    s = _weekly(monday=100.0)
    s.iloc[100:700:60] = 200.0  # 10 isolated spikes
    assert surge_rate(s) == pytest.approx(10 / 730)
    ratio = weekday_baseline_ratio(s)
    assert ratio.iloc[100] == pytest.approx(2.0)


def test_profile_when_less_than_a_year_has_no_seasonal_ratio():
    s = _weekly(n_days=200)
    p = profile_series(pd.Series(s.index), pd.Series(s.values))
    assert np.isnan(p.seasonal_ratio)
    assert p.peak_month == ""


def test_profile_frame_when_two_sites_gives_one_row_each():
    s = _weekly()
    frame = pd.concat(
        [
            pd.DataFrame({"site_id": k, "date": s.index, "attendances": s.values * m})
            for k, m in (("b", 1), ("a", 2))
        ]
    )
    out = profile_frame(frame)
    assert list(out["site_id"]) == ["a", "b"]
    assert out["weekly_ratio"].round(2).tolist() == [1.2, 1.2]
