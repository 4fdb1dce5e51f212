"""Unit tests of the escalation rules: occupancy, levels, advice, lines, reasons, LOS, config."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.config import Config, SiteSettings, config_from_dict
from forecasting.errors import ConfigError, InsufficientHistoryError, SchemaError
from forecasting.escalation.advice import deferrable_electives, electives_to_review
from forecasting.escalation.errors import MissingBedsError
from forecasting.escalation.levels import LEVEL_NAMES, recommend_levels
from forecasting.escalation.los import learned_los, with_learned_los
from forecasting.escalation.occupancy import (
    conversion_rate,
    los_kernel,
    occupied_beds,
    planned_electives,
    site_beds,
)
from forecasting.escalation.reasons import (
    SiteContext,
    driver_reasons,
    rebound_days,
    risk_reasons,
    trend_reason,
)
from forecasting.escalation.thresholds import percentile_label, surge_lines

CFG = Config()


def _history(n_days: int = 140, start: str = "2025-01-06", **columns: object) -> pd.DataFrame:
    dates = pd.date_range(start, periods=n_days, freq="D")  # starts on a Monday
    frame = pd.DataFrame({"site_id": "A", "date": dates, "attendances": 200.0})
    for name, value in columns.items():
        frame[name] = value
    return frame


# --- occupancy -------------------------------------------------------------------------------


def test_los_kernel_when_mean_is_two_days_halves_each_day():
    k = los_kernel(2.0)
    assert k[:4].tolist() == [1.0, 0.5, 0.25, 0.125]
    assert k.sum() == pytest.approx(2.0, rel=1e-3)


def test_los_kernel_when_mean_below_one_day_is_a_single_share():
    assert los_kernel(0.5).tolist() == [0.5]
    assert los_kernel(1.0).tolist() == [1.0]


def test_occupied_beds_when_admissions_constant_equal_admissions_times_los():
    beds = occupied_beds(np.full(60, 10.0), los_kernel(4.0))
    np.testing.assert_allclose(beds, 40.0, rtol=1e-3)


def test_occupied_beds_when_one_extra_admission_decays_geometrically():
    adm = np.zeros(10)
    adm[3] = 8.0
    beds = occupied_beds(np.concatenate([np.zeros(28), adm]), los_kernel(2.0))[28:]
    assert beds[:7].tolist() == [0.0, 0.0, 0.0, 8.0, 4.0, 2.0, 1.0]


def test_conversion_rate_when_admissions_present_is_learned_from_recent_days():
    h = _history(admissions=50.0)
    h.loc[:99, "admissions"] = 100.0  # old days at a different rate are outside the window
    assert conversion_rate(h, CFG.site("A"), 28) == 0.25


def test_conversion_rate_when_no_admissions_column_uses_config():
    assert conversion_rate(_history(), CFG.site("A"), 28) == 0.25
    cfg = config_from_dict({"sites": {"A": {"admission_rate": 0.3}}})
    assert conversion_rate(_history(), cfg.site("A"), 28) == 0.3


def test_site_beds_when_column_present_takes_latest_value():
    h = _history(beds=400.0)
    h.loc[h.index[-1], "beds"] = 420.0
    assert site_beds(h, SiteSettings(beds=300), "A") == 420.0


def test_site_beds_when_no_column_falls_back_to_config():
    assert site_beds(_history(), SiteSettings(beds=300), "A") == 300.0


def test_site_beds_when_missing_everywhere_names_site_and_fix():
    with pytest.raises(MissingBedsError) as info:
        site_beds(_history(beds=np.nan), SiteSettings(), "A")
    msg = str(info.value)
    assert "site 'A' has no bed count" in msg
    assert "Fix: add a 'beds' column or set sites.A.beds in the config." in msg


def test_planned_electives_when_plan_rows_exist_use_them_else_schedule():
    dates = pd.date_range("2025-05-26", periods=3, freq="D")  # Mon, Tue, Wed
    plan = pd.DataFrame({"site_id": "A", "date": dates[:2], "electives_planned": [7.0, 9.0]})
    settings_ = SiteSettings(electives_by_weekday=(10, 11, 12, 13, 14, 1, 0))
    out = planned_electives(dates, plan, _history(), settings_)
    assert out.tolist() == [7.0, 9.0, 12.0]


def test_planned_electives_when_no_plan_nor_schedule_use_last_four_weeks_by_weekday():
    h = _history(28, electives_planned=0.0)
    h.loc[h["date"].dt.dayofweek == 0, "electives_planned"] = [20.0, 22.0, 24.0, 26.0]
    dates = pd.date_range(h["date"].iloc[-1] + pd.Timedelta(days=1), periods=2, freq="D")
    out = planned_electives(dates, h.iloc[:0], h, SiteSettings())
    assert out.tolist() == [23.0, 0.0]  # Monday: mean of the last four Mondays


# --- levels ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "p_high", "occ", "level"),
    [
        (0.05, 0.01, 0.80, 1),
        (0.20, 0.01, 0.80, 2),  # pressure_probability
        (0.05, 0.01, 0.85, 2),  # comfort line
        (0.50, 0.10, 0.80, 3),  # alert_probability
        (0.05, 0.01, 0.92, 3),  # ceiling
        (0.90, 0.50, 0.80, 4),  # likely above the high line
        (0.05, 0.01, 0.97, 4),  # ceiling + severe margin
    ],
)
def test_recommend_levels_when_each_rule_fires(p, p_high, occ, level):
    assert recommend_levels([p], [p_high], [occ], CFG).tolist() == [level]


def test_level_names_follow_opel():
    assert LEVEL_NAMES[1] == "flow maintained"
    assert LEVEL_NAMES[4] == "unable to deliver comprehensive care"


# --- advice ----------------------------------------------------------------------------------


def test_deferrable_electives_when_shares_protected_round_down():
    assert deferrable_electives([10, 3, np.nan, 0], 0.65).tolist() == [6, 1, 0, 0]


def test_electives_to_review_when_two_pressured_days_carry_freed_beds_forward():
    out = electives_to_review(
        occupied_high=[100.0, 100.0],
        beds=[100.0, 100.0],
        deferrable=[20, 20],
        levels=[3, 3],
        elective_kernel=los_kernel(2.0),
        ceiling=0.9,
    )
    # day 1: 10 beds over 90 -> 11 deferrals; day 2: 100 - 11 * 0.5 = 94.5 -> 5 more
    assert out.tolist() == [11, 5]


def test_electives_to_review_when_below_level_three_or_below_ceiling_is_zero():
    out = electives_to_review([100.0, 80.0], [100.0, 100.0], [20, 20], [2, 3], los_kernel(2.0), 0.9)
    assert out.tolist() == [0, 0]


def test_electives_to_review_when_excess_large_caps_at_deferrable():
    out = electives_to_review([150.0], [100.0], [6], [4], los_kernel(3.0), 0.92)
    assert out.tolist() == [6]


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(
        st.tuples(
            st.floats(50, 150),  # occupied beds on the upper path
            st.integers(0, 40),  # planned electives
            st.integers(1, 4),  # level
        ),
        min_size=1,
        max_size=10,
    ),
    protected=st.floats(0.0, 1.0),
    los=st.floats(0.5, 8.0),
)
def test_electives_to_review_when_random_never_defers_protected_work(days, protected, los):
    occ = np.array([d[0] for d in days])
    planned = np.array([d[1] for d in days])
    levels = np.array([d[2] for d in days])
    deferrable = deferrable_electives(planned, 1.0 - protected)
    kernel = los_kernel(los)
    out = electives_to_review(occ, np.full(len(days), 100.0), deferrable, levels, kernel, 0.92)
    assert np.all(out >= 0)
    assert np.all(out <= deferrable)
    assert np.all(out <= planned * (1.0 - protected) + 1e-9)  # protected share untouched
    assert np.all(out[levels < 3] == 0)
    # smallest number: one deferral fewer would leave that day at or above the ceiling
    need = occ.astype(float).copy()
    for day, n in enumerate(out):
        if 0 < n < deferrable[day]:
            assert need[day] - (n - 1) * kernel[0] >= 92.0 - 1e-9
            assert need[day] - n * kernel[0] < 92.0
        freed = n * kernel[: len(need) - day]
        need[day : day + len(freed)] -= freed


# --- surge lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "label"),
    [(0.9, "90th"), (0.975, "97.5th"), (0.01, "1st"), (0.92, "92nd"), (0.11, "11th")],
)
def test_percentile_label_when_quantile_given(q, label):
    assert percentile_label(q) == label


def _weekly_history() -> pd.DataFrame:
    h = _history(364)
    h["attendances"] = np.where(h["date"].dt.dayofweek == 0, 240.0, 200.0)
    h.loc[h.index[::10], "attendances"] += 20.0
    return h


def test_surge_lines_when_weekday_adjusted_sit_above_each_weekday_norm():
    h = _weekly_history()
    lines = surge_lines(h, CFG, h["date"].iloc[-1])
    monday, tuesday = lines.loc[("A", 0)], lines.loc[("A", 1)]
    assert monday["surge_threshold"] / tuesday["surge_threshold"] == pytest.approx(
        h.loc[h["date"].dt.dayofweek == 0, "attendances"].mean()
        / h.loc[h["date"].dt.dayofweek == 1, "attendances"].mean()
    )
    assert monday["threshold_source"] == (
        "90th percentile of the last year, adjusted for the weekday"
    )
    assert (lines["surge_threshold_high"] >= lines["surge_threshold"]).all()


def test_surge_lines_when_flat_are_the_same_every_weekday():
    h = _weekly_history()
    cfg = config_from_dict({"escalation": {"weekday_adjusted_lines": False}})
    lines = surge_lines(h, cfg, h["date"].iloc[-1])
    assert lines["surge_threshold"].nunique() == 1
    assert lines["surge_threshold"].iloc[0] == h["attendances"].quantile(0.9)
    assert lines["threshold_source"].iloc[0] == "90th percentile of the last year"


def test_surge_lines_when_set_in_config_use_it():
    h = _weekly_history()
    cfg = config_from_dict({"sites": {"A": {"surge_threshold": 500}}})
    lines = surge_lines(h, cfg, h["date"].iloc[-1])
    assert (lines["surge_threshold"] == 500.0).all()
    assert (lines["surge_threshold_high"] == 500.0).all()  # derived high line is below 500
    assert (lines["threshold_source"] == "set in the config").all()


def test_surge_lines_when_history_too_short_names_site_and_fix():
    h = _history(20)
    msg = r"site 'A' has 20 days .* set sites\.A\.surge_threshold in the config"
    with pytest.raises(InsufficientHistoryError, match=msg):
        surge_lines(h, CFG, h["date"].iloc[-1])


# --- reasons ---------------------------------------------------------------------------------

CTX = SiteContext(
    weekday_effect=(0.12, 0.02, 0.0, -0.01, 0.0, -0.06, -0.07),
    trend_change=0.08,
    trend_subject="admissions",
    trend_days=28,
    recent_surges=2,
    recent_days=3,
)


def test_risk_reasons_when_surge_likely_and_beds_full_say_so_plainly():
    row = pd.Series(
        {
            "p_surge": 0.7,
            "surge_threshold": 310.2,
            "threshold_source": "90th percentile of the last year",
            "p_surge_high": 0.1,
            "surge_threshold_high": 340.0,
            "threshold_high_source": "97.5th percentile of the last year",
            "occupancy": 0.94,
            "occupancy_q_high": 0.99,
            "level": 3,
        }
    )
    assert risk_reasons(row, CFG) == [
        "70% chance attendances exceed the surge line of 310 (90th percentile of the last year)",
        "Forecast occupancy 94% is above the 92% ceiling",
        "Occupancy could reach 99% if attendances run high every day (95th percentile)",
    ]


def test_driver_reasons_when_flat_lines_name_weekday_rebound_and_recent_surge():
    cfg = config_from_dict({"escalation": {"weekday_adjusted_lines": False}})
    monday = pd.Timestamp("2025-06-02")
    assert driver_reasons(monday, CTX, True, cfg) == [
        "Monday: busiest weekday (+12% on average)",
        "Day after a bank holiday: demand usually rebounds",
        "Surge in the last 3 days (two days above the line)",
    ]


def test_driver_reasons_when_lines_weekday_adjusted_leave_the_weekday_out():
    reasons = driver_reasons(pd.Timestamp("2025-06-02"), CTX, False, CFG)
    assert reasons == ["Surge in the last 3 days (two days above the line)"]


def test_trend_reason_when_winter_and_rising():
    assert trend_reason(pd.Timestamp("2025-01-14"), CTX, CFG) == [
        "Winter: admissions trending up (+8% over 4 weeks)"
    ]
    assert trend_reason(pd.Timestamp("2025-07-14"), CTX, CFG) == [
        "Admissions trending up (+8% over 4 weeks)"
    ]


def test_rebound_days_when_after_english_bank_holidays():
    days = pd.DatetimeIndex(["2025-04-22", "2025-05-06", "2025-05-07", "2025-12-29", "2025-05-05"])
    assert rebound_days(days, CFG) == {
        pd.Timestamp("2025-04-22"),  # Tuesday after Easter Monday
        pd.Timestamp("2025-05-06"),  # after the early May bank holiday
        pd.Timestamp("2025-12-29"),  # Monday after Christmas and Boxing Day
    }


def test_rebound_days_when_holiday_calendar_unknown_is_a_config_error():
    # the config refuses the unknown calendar before any rule can meet it
    with pytest.raises(ConfigError, match=r"key 'holidays'.*unknown holiday country 'XX'"):
        cfg = config_from_dict({"holidays": {"country": "XX", "subdiv": None}})
        rebound_days(pd.DatetimeIndex(["2025-05-06"]), cfg)


# --- lengths of stay from episodes -------------------------------------------------------------


def _episodes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A"] * 60 + ["B"] * 5,
            "admission_type": ["emergency"] * 30 + ["elective"] * 30 + ["emergency"] * 5,
            "length_of_stay": [4] * 15 + [6] * 15 + [0] * 10 + [2] * 20 + [9] * 5,
        }
    )


def test_learned_los_when_enough_episodes_gives_means_day_cases_count_one():
    table = learned_los(_episodes())
    assert table.loc["A", "mean_los_emergency"] == 5.0
    assert table.loc["A", "mean_los_elective"] == pytest.approx((10 * 1 + 20 * 2) / 30)
    assert np.isnan(table.loc["B", "mean_los_emergency"])  # 5 episodes are too few


def test_with_learned_los_when_config_sets_a_value_keeps_it():
    cfg = config_from_dict({"sites": {"A": {"mean_los_elective": 2.5, "beds": 300}}})
    out = with_learned_los(cfg, _episodes())
    a = out.site("A")
    assert (a.mean_los_emergency, a.mean_los_elective, a.beds) == (5.0, 2.5, 300)
    assert out.site("B").mean_los_emergency == 5.5  # default: too few episodes


def test_learned_los_when_column_missing_names_it():
    with pytest.raises(SchemaError, match="column 'length_of_stay'"):
        learned_los(_episodes().drop(columns="length_of_stay"))


# --- config ----------------------------------------------------------------------------------


def test_config_escalation_defaults_when_embedded():
    assert CFG.escalation.pressure_probability == 0.2
    assert CFG.escalation.upper_quantile == 0.95
    assert CFG.electives.deferrable_share == pytest.approx(0.65)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"escalation": {"pressure_probability": 0.6}}, "must be below thresholds.alert_proba"),
        ({"escalation": {"upper_quantile": 0.8}}, "upper quantiles: 0.75, 0.9, 0.95"),
        ({"electives": {"protected": {"cancer": 0.7, "urgent": 0.5}}}, "add up to more than 1"),
        ({"electives": {"protected": {"cancer": -0.1}}}, "between 0 and 1"),
        ({"escalation": {"recent_day": 3}}, "key 'escalation.recent_day': unknown key"),
    ],
)
def test_config_error_when_escalation_or_electives_invalid(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)
