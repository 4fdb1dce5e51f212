import math

import numpy as np
import pytest

from forecasting.evaluate.metrics import (
    alert_scores,
    brier,
    brier_skill,
    coverage,
    exceedance_probability,
    false_alarms_per_30_days,
    mae,
    mape,
    mase,
    pinball,
    rmse,
    seasonal_naive_scale,
)

Y = [10.0, 20.0, 30.0]
P = [12.0, 18.0, 33.0]


def test_point_metrics_when_hand_computed_match():
    assert mae(Y, P) == pytest.approx(7 / 3)
    assert rmse(Y, P) == pytest.approx(math.sqrt(17 / 3))
    assert mape(Y, P) == pytest.approx(100 * (0.2 + 0.1 + 0.1) / 3)


def test_mape_when_y_has_zero_skips_it():
    assert mape([0.0, 10.0], [5.0, 12.0]) == pytest.approx(20.0)


def test_mase_when_history_is_weekly_uses_lag7_scale():
    history = [1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9]  # |diffs| at lag 7: 2,0,0,0,0,0,2
    assert seasonal_naive_scale(history) == pytest.approx(4 / 7)
    assert mase(Y, P, 4 / 7) == pytest.approx((7 / 3) / (4 / 7))


def test_pinball_when_hand_computed_matches():
    # y=10; quantiles 0.1 -> 8 (under: 0.1*2=0.2), 0.9 -> 9 (under: 0.9*1=0.9)
    assert pinball([10.0], [[8.0, 9.0]], levels=[0.1, 0.9]) == pytest.approx((0.2 + 0.9) / 2)
    # y=5 below both: (1 - 0.1) * 3 = 2.7 and (1 - 0.9) * 4 = 0.4
    assert pinball([5.0], [[8.0, 9.0]], levels=[0.1, 0.9]) == pytest.approx((2.7 + 0.4) / 2)


def test_coverage_when_bounds_inclusive_counts_edges():
    assert coverage([1, 2, 3, 4], [1, 0, 4, 0], [2, 1, 5, 4]) == pytest.approx(0.5)


def test_exceedance_probability_when_threshold_at_quantiles_gives_tail_levels():
    q = np.array([[80, 85, 92, 100, 108, 115, 120]], dtype=float)
    assert exceedance_probability(q, 100.0)[0] == pytest.approx(0.5)
    assert exceedance_probability(q, 115.0)[0] == pytest.approx(0.1)
    assert exceedance_probability(q, 104.0)[0] == pytest.approx(0.375)  # halfway 0.5..0.75
    # exponential tail: 5 units past q0.95 with q0.9->q0.95 spacing 5 halves the probability
    assert exceedance_probability(q, 125.0)[0] == pytest.approx(0.025)
    assert exceedance_probability(q, 75.0)[0] == pytest.approx(1 - 0.025)


def test_exceedance_probability_when_thresholds_increase_is_non_increasing():
    q = np.tile(np.array([80, 85, 92, 100, 108, 115, 120], dtype=float), (50, 1))
    p = exceedance_probability(q, np.linspace(60, 150, 50))
    assert np.all(np.diff(p) <= 1e-12)
    assert np.all((p >= 0) & (p <= 1))


def test_brier_when_hand_computed_matches():
    assert brier([0.9, 0.2], [1, 0]) == pytest.approx((0.01 + 0.04) / 2)
    # reference 0.1 on outcomes (1, 0): (0.81 + 0.01)/2 = 0.41
    assert brier_skill([0.9, 0.2], [1, 0]) == pytest.approx(1 - 0.025 / 0.41)


def test_alert_scores_when_hand_computed_match():
    s = alert_scores([0.9, 0.6, 0.2, 0.7, 0.1], [1, 0, 1, 1, 0], cutoff=0.5)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    assert s["false_alarms"] == 1


def test_alert_scores_when_no_alerts_gives_zero_f1_and_nan_precision():
    s = alert_scores([0.1, 0.2], [1, 0])
    assert math.isnan(s["precision"])
    assert s["recall"] == 0.0
    assert s["f1"] == 0.0


def test_false_alarms_per_30_days_when_two_in_60_days_is_one():
    assert false_alarms_per_30_days([0.9, 0.9, 0.9], [0, 0, 1], n_days=60) == pytest.approx(1.0)


def test_evaluate_when_windows_overlap_counts_false_alarms_per_forecast_day():
    import pandas as pd

    from forecasting.evaluate.summary import evaluate

    dates = pd.date_range("2023-01-01", periods=400, freq="D")
    history = pd.DataFrame({"site_id": "a", "date": dates, "attendances": 100.0})
    history.loc[history.index % 10 == 0, "attendances"] = 110.0  # 90th percentile = 110 - tiny
    rows = []
    for cutoff in pd.date_range("2024-01-01", periods=30, freq="D"):  # step 1, horizon 2
        for h in (1, 2):
            rows.append(
                {
                    "site_id": "a",
                    "cutoff": cutoff,
                    "date": cutoff + pd.Timedelta(days=h),
                    "horizon": h,
                    "model": "m",
                    "mean": 100.0,
                    "y": 100.0,
                    **{
                        c: 200.0
                        for c in ("q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95")
                    },
                }
            )
    bt = pd.DataFrame(rows)
    out = evaluate(bt, history).iloc[0]
    # every forecast says "surge" (P = 1), nothing surged: 60 false alarms over 60 forecast days
    assert out["false_alarms_30d"] == pytest.approx(30.0)
    assert out["precision"] == 0.0
