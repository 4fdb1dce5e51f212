import numpy as np
import pandas as pd
import pytest

from forecasting.pressure.advice import deferrable_cases, format_occupancy, plan_deferrals

QCOLS = ["q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"]


def _days(knots, deferrable, beds=100.0, site="A"):
    rows = []
    for i, (q, d) in enumerate(zip(knots, deferrable, strict=True)):
        row = {"site_id": site, "date": pd.Timestamp("2024-01-08") + pd.Timedelta(days=i)}
        row |= dict(zip(QCOLS, q, strict=True)) | {"beds_open": beds, "deferrable": d}
        rows.append(row)
    return pd.DataFrame(rows)


LOW = [88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0]
HIGH = [94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0]


def test_plan_deferrals_when_enough_deferrable_defers_the_fewest_that_reach_target():
    out = plan_deferrals(_days([LOW], [5]), ceiling=0.92, target_probability=0.2)
    # no deferral: 92 beds at q0.75 -> P = 0.25 > 0.2; one deferral: 93 at q0.9 -> P = 0.1
    assert out["p_ceiling_before"].iloc[0] == pytest.approx(0.25)
    assert out["defer"].iloc[0] == 1
    assert out["p_ceiling_after"].iloc[0] == pytest.approx(0.1)
    assert out["occupancy_after"].iloc[0] == pytest.approx(0.90)
    assert bool(out["enough"].iloc[0])
    assert out["advice"].iloc[0] == (
        "review 1 of 5 deferrable elective admissions for deferral: forecast occupancy 90%; "
        "P(occupancy >= 92%) falls from 0.25 to 0.10 (target 0.2)"
    )


def test_plan_deferrals_when_earlier_deferral_frees_later_beds_needs_none_the_next_day():
    out = plan_deferrals(_days([LOW, LOW], [5, 5]), mean_los_elective=3.0)
    # day 2: the day-1 deferral still frees 2/3 of a bed -> line at 92.667 between q0.75 and
    # q0.9: F = 0.75 + (2/3) x 0.15 = 0.85 -> P = 0.15 <= 0.2
    assert out["defer"].tolist() == [1, 0]
    assert out["beds_freed"].iloc[1] == pytest.approx(2 / 3)
    assert out["p_ceiling_after"].iloc[1] == pytest.approx(0.15)
    assert out["advice"].iloc[1].startswith("no deferral needed after earlier days' deferrals")


def test_plan_deferrals_when_not_enough_states_the_resulting_occupancy():
    out = plan_deferrals(_days([HIGH], [2]), ceiling=0.92, target_probability=0.2)
    # all 2 deferred: line at 94 = q0.05 -> P = 0.95; median 97 - 2 = 95 of 100 beds
    assert out["defer"].iloc[0] == 2
    assert not bool(out["enough"].iloc[0])
    assert out["p_ceiling_after"].iloc[0] == pytest.approx(0.95)
    assert out["advice"].iloc[0] == (
        "deferring all 2 deferrable cases still leaves occupancy at 95% (ceiling 92%) "
        "and P(occupancy >= 92%) at 0.95 (target 0.2)"
    )


def test_plan_deferrals_when_median_just_under_ceiling_shows_a_decimal():
    knots = [[90.0, 91.0, 91.5, 92.9, 93.0, 94.0, 95.0]]  # median 92.9
    out = plan_deferrals(_days(knots, [1]))
    # one deferral: median 91.9 of 100 beds; "92%" would contradict the 92% ceiling
    assert "occupancy at 91.9% (ceiling 92%)" in out["advice"].iloc[0]


def test_plan_deferrals_when_nothing_deferrable_says_so():
    out = plan_deferrals(_days([HIGH], [0]))
    assert out["defer"].iloc[0] == 0
    assert (
        out["advice"]
        .iloc[0]
        .startswith("no deferrable elective admissions: occupancy stays at 97% (ceiling 92%)")
    )


def test_plan_deferrals_when_beds_unknown_gives_no_advice_figures():
    out = plan_deferrals(_days([LOW], [3], beds=np.nan))
    assert np.isnan(out["p_ceiling_after"].iloc[0])
    assert out["advice"].iloc[0].startswith("no occupancy forecast")


def test_plan_deferrals_when_sites_differ_keeps_deferrals_per_site():
    frame = pd.concat([_days([LOW, LOW], [5, 5], site="A"), _days([HIGH], [1], site="B")])
    out = plan_deferrals(frame)
    assert out["site_id"].tolist() == ["A", "A", "B"]
    assert out["defer"].tolist() == [1, 0, 1]


def test_deferrable_cases_when_share_applied_rounds_down_and_missing_is_zero():
    got = deferrable_cases(np.array([10.0, 7.0, np.nan]), 0.65)
    assert got.tolist() == [6, 4, 0]


@pytest.mark.parametrize(
    ("value", "lines", "shown"),
    [
        (0.919, (0.92,), "91.9%"),
        (0.924, (0.92,), "92.4%"),
        (0.85, (0.92,), "85%"),
        (0.92, (0.92,), "92%"),
        (0.953, (0.92,), "95%"),
        (0.9199, (0.92,), "91.99%"),
        (0.969, (0.92, 0.97), "96.9%"),
        (float("nan"), (0.92,), "n/a"),
    ],
)
def test_format_occupancy_when_rounding_would_contradict_a_line_shows_decimals(value, lines, shown):
    assert format_occupancy(value, lines) == shown
