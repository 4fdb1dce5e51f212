import numpy as np
import pandas as pd
import pytest

from forecasting.config import PressureConfig
from forecasting.errors import NotFittedError
from forecasting.pressure.probability import (
    PressureCalibrator,
    exceedance,
    occupancy_probabilities,
    occupancy_quantiles,
    own_normal,
    p_column,
    pressure_probabilities,
)

KNOTS = np.array([[90.0, 92.0, 94.0, 95.0, 96.0, 98.0, 100.0]])
Z95, Z75 = 1.6448536269514722, 0.6744897501960817


@pytest.mark.parametrize(
    ("x", "p"),
    [
        (90.0, 0.95),
        (92.0, 0.9),
        (94.0, 0.75),
        (95.0, 0.5),
        (96.0, 0.25),
        (98.0, 0.1),
        (100.0, 0.05),
    ],
)
def test_exceedance_when_x_at_a_knot_is_one_minus_its_level(x, p):
    assert exceedance(KNOTS, x)[0] == pytest.approx(p)


def test_exceedance_when_x_between_knots_interpolates_the_cdf_linearly():
    # F(95.5) = 0.5 + 0.5 * (0.75 - 0.5) = 0.625
    assert exceedance(KNOTS, 95.5)[0] == pytest.approx(0.375)
    # F(97) = 0.75 + 0.5 * (0.9 - 0.75) = 0.825
    assert exceedance(KNOTS, 97.0)[0] == pytest.approx(0.175)


def test_exceedance_when_x_beyond_q95_follows_normal_tail_through_q75_and_q95():
    sigma = (100.0 - 96.0) / (Z95 - Z75)  # 4.1221
    x99 = 100.0 + sigma * (2.3263478740408408 - Z95)  # the tail's 99th percentile
    assert exceedance(KNOTS, x99)[0] == pytest.approx(0.01, abs=1e-9)
    # lower tail: through q0.05 = 90 and q0.25 = 94, same spacing; its 1st percentile
    x01 = 90.0 - sigma * (2.3263478740408408 - Z95)
    assert exceedance(KNOTS, x01)[0] == pytest.approx(0.99, abs=1e-9)


def test_exceedance_when_far_in_the_tails_is_clipped():
    assert exceedance(KNOTS, 200.0)[0] == 0.001
    assert exceedance(KNOTS, 0.0)[0] == 0.999


def test_exceedance_when_knots_tie_uses_the_lowest_level():
    knots = np.array([[90.0, 92.0, 95.0, 95.0, 95.0, 98.0, 100.0]])
    assert exceedance(knots, 95.0)[0] == pytest.approx(0.75)


def test_exceedance_when_rows_differ_is_vectorised_and_nan_stays_nan():
    knots = np.vstack([KNOTS, KNOTS + 1.0, np.full((1, 7), np.nan)])
    got = exceedance(knots, np.array([95.0, 95.0, 95.0]))
    assert got[:2] == pytest.approx([0.5, 0.75])
    assert np.isnan(got[2])


def _forecast(cutoff="2024-01-03"):
    q = [80.0, 85.0, 90.0, 92.0, 94.0, 97.0, 99.0]
    row = {"site_id": "A", "cutoff": pd.Timestamp(cutoff), "date": pd.Timestamp("2024-01-04")}
    row |= {"horizon": 1, "model": "m", "mean": 92.0}
    row |= dict(zip(["q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"], q, strict=True))
    return pd.DataFrame([row])


def _history(beds):
    dates = pd.date_range("2024-01-01", periods=len(beds))
    return pd.DataFrame(
        {"site_id": "A", "date": dates, "attendances": 90.0, "beds": np.asarray(beds, float)}
    )


def test_occupancy_quantiles_when_beds_change_hold_latest_reported_at_cutoff():
    # beds reported 100, 110, missing on the cutoff day, 120 after the cutoff: 110 holds
    out = occupancy_quantiles(_forecast(), _history([100, 110, np.nan, 120]))
    assert out["beds_open"].iloc[0] == 110.0
    assert out["occupancy"].iloc[0] == pytest.approx(92.0 / 110.0)
    assert out["occupancy_q0.95"].iloc[0] == pytest.approx(0.9)


def test_occupancy_probabilities_when_line_at_occupancy_knot_is_one_minus_level():
    out = occupancy_probabilities(
        occupancy_quantiles(_forecast(), _history([100] * 3)), [0.92, 0.97]
    )
    assert p_column(0.92) == "p_occupancy_ge_0.92"
    assert out["p_occupancy_ge_0.92"].iloc[0] == pytest.approx(0.5)
    assert out["p_occupancy_ge_0.97"].iloc[0] == pytest.approx(0.1)


def _two_winters():
    first = pd.date_range("2022-12-01", periods=40)  # occupied 51..90 of 100 beds
    second = pd.date_range("2023-12-01", periods=10)  # all at 99%: not part of the normal
    return pd.DataFrame(
        {
            "site_id": "A",
            "date": first.append(second),
            "attendances": np.concatenate([np.arange(51.0, 91.0), np.full(10, 99.0)]),
            "beds": 100.0,
        }
    )


def test_own_normal_when_previous_segment_exists_is_its_p90():
    # p90 of 0.51..0.90 (40 values, linear): 0.51 + 0.9 * 39 * 0.01 = 0.861
    assert own_normal(_two_winters())["A"] == pytest.approx(0.861)


def test_own_normal_when_no_previous_segment_uses_last_90_observed_days():
    one = pd.DataFrame(
        {
            "site_id": "B",
            "date": pd.date_range("2023-01-01", periods=100),
            "attendances": np.arange(1.0, 101.0),
            "beds": 100.0,
        }
    )
    # last 90 days: 0.11..1.00, p90 = 0.11 + 0.9 * 89 * 0.01 = 0.911
    assert own_normal(one)["B"] == pytest.approx(0.911)


def test_own_normal_when_as_of_inside_first_winter_has_no_previous_segment():
    # up to day 30 of the first winter: 0.51..0.80, fewer than 90 days, p90 = 0.51 + 0.9*29*0.01
    got = own_normal(_two_winters(), as_of=pd.Timestamp("2022-12-30"))["A"]
    assert got == pytest.approx(0.771)


def test_pressure_probabilities_when_defaults_adds_lines_and_relative_pressure():
    hist = _two_winters()
    fc = _forecast(cutoff="2023-12-10").assign(date=pd.Timestamp("2023-12-11"))
    out = pressure_probabilities(fc, hist, PressureConfig())
    cols = ["p_occupancy_ge_0.92", "p_occupancy_ge_0.95", "p_occupancy_ge_0.97"]
    assert set(cols) <= set(out.columns)
    assert out["own_normal"].iloc[0] == pytest.approx(0.861)
    # 0.861 between q0.1 = 0.85 and q0.25 = 0.90: F = 0.1 + 0.22 * 0.15 = 0.133
    assert out["p_above_own_normal"].iloc[0] == pytest.approx(0.867)


def test_calibrator_when_not_fitted_raises():
    with pytest.raises(NotFittedError):
        PressureCalibrator().apply(np.array([0.5]), np.array([1]))


def test_calibrator_when_too_few_events_is_identity():
    cal = PressureCalibrator(min_events=15).fit(
        np.full(20, 0.3), np.r_[np.ones(3), np.zeros(17)], np.ones(20)
    )
    assert cal.identity_
    assert cal.apply(np.array([0.3, 0.8]), np.array([1, 2])) == pytest.approx([0.3, 0.8])


def test_calibrator_when_raw_overconfident_learns_a_flatter_slope():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.01, 0.99, 5000)
    logit = np.log(raw / (1 - raw))
    truth = 1 / (1 + np.exp(-0.5 * logit))  # the raw probabilities are twice too sharp
    y = rng.uniform(size=raw.size) < truth
    cal = PressureCalibrator().fit(raw, y, np.ones(raw.size))
    assert not cal.identity_
    assert cal.coef_[0] == pytest.approx(0.5, abs=0.08)
    assert cal.apply(np.array([0.9]), np.array([1]))[0] == pytest.approx(0.75, abs=0.03)
