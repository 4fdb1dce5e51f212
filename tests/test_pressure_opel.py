import numpy as np
import pandas as pd
import pytest

from forecasting.config import Config, OpelParameter, PressureConfig, config_from_dict
from forecasting.errors import ConfigError
from forecasting.pressure.opel import HANDOVER_RATE, bands, handover_rate, score_opel

TABLE = {
    "occ": OpelParameter(source="occupancy", thresholds=(0.90, 0.95, 0.98), weight=2.0),
    "p97": OpelParameter(source="p_occupancy_ge_0.97", thresholds=(0.2, 0.5, 0.8), weight=1.0),
}
CUTS = (1.0, 3.0, 7.0)


def _scored():
    frame = pd.DataFrame(
        {
            "occupancy": [0.85, 0.95, 0.93, 0.99, np.nan, np.nan],
            "p_occupancy_ge_0.97": [0.1, 0.3, 0.1, np.nan, 0.6, np.nan],
        }
    )
    return score_opel(frame, TABLE, CUTS)


def test_bands_when_value_equals_a_cut_point_takes_the_higher_band():
    got = bands(np.array([0.1, 0.2, 0.5, 0.79, 0.8, np.nan]), (0.2, 0.5, 0.8))
    assert got[:5].tolist() == [1, 2, 3, 3, 4]
    assert np.isnan(got[5])


def test_score_opel_when_hand_computed_gives_scores_and_levels():
    out = _scored()
    # row 0: bands 1, 1 -> 0 points -> level 1
    # row 1: occ 0.95 band 3 (2 x 2 = 4), p97 0.3 band 2 (1) -> 5 -> level 3
    # row 2: occ 0.93 band 2 (2), p97 band 1 (0) -> 2 -> level 2
    # row 3: occ 0.99 band 4 (6), p97 missing -> 6 x 3/2 = 9 -> level 4
    # row 4: occ missing, p97 0.6 band 3 (2) -> 2 x 3/1 = 6 -> level 3
    # row 5: nothing available -> no score, no level
    assert out["opel_score"].iloc[:5].tolist() == [0.0, 5.0, 2.0, 9.0, 6.0]
    assert out["opel_level"].iloc[:5].tolist() == [1, 3, 2, 4, 3]
    assert np.isnan(out["opel_score"].iloc[5])
    assert out["opel_level"].isna().tolist() == [False] * 5 + [True]


def test_score_opel_when_parameter_missing_names_it_and_keeps_the_others():
    out = _scored()
    assert out["missing_parameters"].iloc[3] == ["p97"]
    assert out["parameters"].iloc[3] == {"occ": {"value": 0.99, "band": 4, "points": 6.0}}
    assert out["reasons"].iloc[3][-1] == "not scored (no data): p97"
    assert out["reasons"].iloc[5] == ["no parameter available"]


def test_score_opel_when_several_parameters_score_reasons_put_highest_points_first():
    reasons = _scored()["reasons"].iloc[1]
    assert reasons == [
        "occ 95.0% (band 3, 4 points)",
        "p97 P=0.30 (band 2, 1 points)",
    ]
    assert _scored()["reasons"].iloc[0] == ["every parameter in band 1"]


def test_score_opel_when_defaults_and_no_surge_column_rescales_to_available_weight():
    frame = pd.DataFrame(
        {
            "occupancy": [0.96],  # band 3: 2 x 2 = 4
            "p_occupancy_ge_0.97": [0.55],  # band 3: 2
            HANDOVER_RATE: [0.1],  # band 1: 0
            "p_above_own_normal": [0.8],  # band 4: 3
        }
    )
    s = PressureConfig()
    out = score_opel(frame, s.parameters, s.level_cuts)
    # 9 points over weight 5 of 6 -> 9 x 6 / 5 = 10.8 -> level 3 (cuts 2, 7, 13)
    assert out["opel_score"].iloc[0] == pytest.approx(10.8)
    assert out["opel_level"].iloc[0] == 3
    assert out["missing_parameters"].iloc[0] == ["attendance_surge"]


def test_handover_rate_when_window_is_7_days_is_mean_per_100_beds():
    hist = pd.DataFrame(
        {
            "site_id": "A",
            "date": pd.date_range("2024-01-01", periods=10),
            "attendances": 90.0,
            "beds": 200.0,
            # the last 7 days (4..10 Jan) have 0, 1, ..., 6 but one unreported day (NaN)
            "ambulance_handover_over_60min": [9, 9, 9, 0, 1, 2, np.nan, 4, 5, 6],
        }
    )
    # mean of 0, 1, 2, 4, 5, 6 = 3 per day over 200 beds -> 1.5 per 100 beds
    assert handover_rate(hist, window_days=7)["A"] == pytest.approx(1.5)
    # as of 6 Jan: 31 Dec..6 Jan -> days 1..6 Jan: mean of 9, 9, 9, 0, 1, 2 = 5 -> 2.5
    assert handover_rate(hist, pd.Timestamp("2024-01-06"), 7)["A"] == pytest.approx(2.5)


def test_handover_rate_when_column_absent_is_empty():
    hist = pd.DataFrame({"site_id": ["A"], "date": [pd.Timestamp("2024-01-01")], "beds": [1.0]})
    assert handover_rate(hist).empty


def test_pressure_config_when_defaults_equal_default_yaml_section():
    assert Config().pressure == PressureConfig()
    assert PressureConfig().level_cuts == (2.0, 7.0, 13.0)


def test_pressure_config_when_thresholds_not_ascending_names_the_key():
    bad = {"pressure": {"parameters": {"x": {"source": "occupancy", "thresholds": [0.9, 0.9, 1]}}}}
    with pytest.raises(
        ConfigError, match=r"key 'pressure.parameters.x.thresholds': thresholds must be strictly"
    ):
        config_from_dict(bad)


def test_pressure_config_when_weight_not_positive_is_an_error():
    bad = {"pressure": {"parameters": {"x": {"source": "s", "thresholds": [1, 2, 3], "weight": 0}}}}
    with pytest.raises(ConfigError, match=r"key 'pressure.parameters.x.weight'"):
        config_from_dict(bad)


def test_pressure_config_when_level_cuts_not_ascending_is_an_error():
    with pytest.raises(ConfigError, match=r"key 'pressure.level_cuts': level cut points must be"):
        config_from_dict({"pressure": {"level_cuts": [5, 3, 9]}})


def test_pressure_config_when_lines_not_ascending_is_an_error():
    with pytest.raises(ConfigError, match=r"occupancy lines must be strictly ascending"):
        config_from_dict({"pressure": {"occupancy_lines": [0.97, 0.92]}})


def test_pressure_config_when_table_empty_is_an_error():
    with pytest.raises(ConfigError, match=r"needs at least one parameter"):
        config_from_dict({"pressure": {"parameters": {}}})


def test_assess_pressure_when_handovers_and_surge_given_scores_every_forecast_row():
    from forecasting.pressure.assess import assess_pressure, pressure_record

    dates = pd.date_range("2024-01-01", periods=40)
    hist = pd.DataFrame(
        {
            "site_id": "A",
            "date": dates,
            "attendances": 90.0,
            "beds": 100.0,
            "ambulance_handover_over_60min": 2.0,  # 2 per 100 beds: band 4 (3 points)
        }
    )
    q = [94.0, 95.0, 96.0, 96.0, 97.0, 98.0, 99.0]
    row = {"site_id": "A", "cutoff": dates[-1], "horizon": 1, "model": "m", "mean": 96.0}
    row |= dict(zip(["q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"], q, strict=True))
    fc = pd.DataFrame([row | {"date": dates[-1] + pd.Timedelta(days=1)}])
    surge = pd.DataFrame({"site_id": ["A"], "date": [fc["date"].iloc[0]], "p_surge": [0.1]})
    out = assess_pressure(fc, hist, PressureConfig(), surge)
    # occupancy 0.96 band 3 (4); P(>= 0.97) = 0.25 band 2 (1); handovers band 4 (3);
    # surge 0.1 band 1 (0); own normal 0.9 (every day 90%): P = 0.999 band 4 (3) -> 11 -> level 3
    assert out["handovers_over_60min_per_100_beds"].iloc[0] == pytest.approx(2.0)
    assert out["p_occupancy_ge_0.97"].iloc[0] == pytest.approx(0.25)
    assert out["opel_score"].iloc[0] == pytest.approx(11.0)
    assert out["opel_level"].iloc[0] == 3
    rec = pressure_record(out.iloc[0])
    assert rec["occupancy"] == 0.96
    assert rec["occupancy_q0.05"] == 0.94
    assert rec["p_occupancy_ge_0.97"] == 0.25
    assert rec["opel_level"] == 3
    assert rec["parameters"]["handovers_over_60min"] == {"value": 2.0, "band": 4, "points": 3.0}
    assert rec["missing_parameters"] == []
