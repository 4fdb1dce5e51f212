"""Two kinds of surge: capacity (above a flat line) and weekday (unusual for the weekday)."""

import numpy as np
import pandas as pd
import pytest

from forecasting.config import Config, EscalationConfig, SiteSettings, ThresholdsConfig
from forecasting.escalation import assess, evaluate_warnings
from forecasting.escalation.thresholds import kind_of, with_kind
from forecasting.forecast_frame import QUANTILE_COLUMNS

DAYS = pd.date_range("2024-01-01", periods=400, freq="D")  # 2024-01-01 is a Monday
# surge line at the 80th percentile: above Sundays (120), below Mondays (150)
CFG = Config(
    sites={"A": SiteSettings(beds=10**6)},
    thresholds=ThresholdsConfig(surge_quantiles=(0.8, 0.975)),
)


def _history() -> pd.DataFrame:
    # Mondays 150, Sundays 120, other days 100 (+/- 1)
    noise = np.tile([0.0, 1.0, -1.0, 0.5], 100)
    weekday = np.asarray(DAYS.dayofweek)
    y = np.select([weekday == 0, weekday == 6], [150.0, 120.0], 100.0) + noise
    return pd.DataFrame({"site_id": "A", "date": DAYS, "attendances": y})


def _forecast(as_of: pd.Timestamp, monday: float) -> pd.DataFrame:
    dates = pd.date_range(as_of + pd.Timedelta(days=1), periods=7, freq="D")
    mean = np.where(dates.dayofweek == 0, monday, 100.0)
    spread = np.linspace(-6, 6, len(QUANTILE_COLUMNS))
    frame = pd.DataFrame(
        {"site_id": "A", "cutoff": as_of, "date": dates, "horizon": range(1, 8), "model": "m"}
    )
    frame["mean"] = mean
    frame[list(QUANTILE_COLUMNS)] = mean[:, None] + spread[None, :]
    return frame


def test_assess_when_monday_is_ordinary_sees_a_capacity_surge_but_no_weekday_surge():
    as_of = DAYS[-2]  # a Sunday: the next day is a Monday
    w = assess(_forecast(as_of, monday=150.0), _history(), CFG, as_of=as_of)
    monday = w[pd.DatetimeIndex(w["date"]).dayofweek == 0].iloc[0]
    tuesday = w[pd.DatetimeIndex(w["date"]).dayofweek == 1].iloc[0]
    assert monday["capacity_line"] == pytest.approx(tuesday["capacity_line"])
    assert monday["p_capacity"] > 0.99 and tuesday["p_capacity"] < 0.01
    assert monday["p_weekday"] < 0.5  # an ordinary Monday: no more likely than not
    assert monday["weekday_line"] > 150.0 > monday["capacity_line"]
    assert set(w["surge_kind"]) == {"weekday"} and kind_of(CFG) == "weekday"


def test_assess_when_levels_follow_capacity_raises_the_ordinary_monday():
    as_of = DAYS[-2]
    cfg = with_kind(CFG, "capacity")
    w = assess(_forecast(as_of, monday=150.0), _history(), cfg, as_of=as_of)
    monday = w[pd.DatetimeIndex(w["date"]).dayofweek == 0].iloc[0]
    assert monday["level"] >= 3 and monday["p_surge"] == monday["p_capacity"]
    assert set(w["surge_kind"]) == {"capacity"}
    assert cfg.escalation == EscalationConfig(weekday_adjusted_lines=False)


def test_evaluate_warnings_when_kind_given_judges_that_kinds_line():
    as_of = DAYS[-9]
    history = _history()
    w = assess(_forecast(as_of, monday=150.0), history, CFG, as_of=as_of)
    w = w[pd.DatetimeIndex(w["date"]).dayofweek == 0]  # judge the Monday only
    history.loc[history["date"] == w["date"].iloc[0], "attendances"] = 149.0  # an ordinary one
    capacity = evaluate_warnings(w, history, level=3, kind="capacity").iloc[-1]
    weekday = evaluate_warnings(w, history, level=3, kind="weekday").iloc[-1]
    assert capacity["surge_days"] == 1  # above the flat line...
    assert weekday["surge_days"] == 0  # ...but ordinary for a Monday


def test_with_kind_when_unknown_raises():
    with pytest.raises(ValueError, match="unknown surge kind"):
        with_kind(CFG, "monthly")
