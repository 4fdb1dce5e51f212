"""Alert quality of a warning history: precision, recall, false alarms per month, lead time."""

import numpy as np
import pandas as pd
import pytest

from forecasting.escalation import evaluate_warnings
from forecasting.escalation.alerts import DAYS_PER_MONTH, warned_days
from forecasting.escalation.errors import EmptyDataError


def _history() -> pd.DataFrame:
    rows = [
        # site, as_of, date, level, issued_at
        ("A", "2025-01-01", "2025-01-02", 3, "2025-01-02T07:00"),
        ("A", "2025-01-01", "2025-01-03", 2, "2025-01-02T07:00"),
        ("A", "2025-01-01", "2025-01-04", 4, "2025-01-02T07:00"),
        ("A", "2025-01-02", "2025-01-03", 3, "2025-01-03T07:00"),
        ("A", "2025-01-02", "2025-01-04", 3, "2025-01-03T07:00"),
        ("A", "2025-01-02", "2025-01-05", 1, "2025-01-03T07:00"),
        ("B", "2025-01-02", "2025-01-03", 3, "2025-01-03T07:00"),
    ]
    frame = pd.DataFrame(rows, columns=["site_id", "as_of", "date", "level", "issued_at"])
    frame["surge_threshold"] = 100.0
    return frame


def _actuals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "A", "B"],
            "date": pd.to_datetime(
                ["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05", "2025-01-03"]
            ),
            "attendances": [120, 90, 130, 110, 95],
        }
    )


def test_evaluate_warnings_when_hits_misses_and_false_alarms_counts_them():
    out = evaluate_warnings(_history(), _actuals()).set_index("site_id")
    a = out.loc["A"]
    assert (a["days"], a["surge_days"], a["warned_days"], a["hits"], a["false_alarms"]) == (
        4,
        3,
        3,
        2,
        1,
    )
    assert a["precision"] == pytest.approx(2 / 3)
    assert a["recall"] == pytest.approx(2 / 3)
    assert a["false_alarms_per_month"] == pytest.approx(DAYS_PER_MONTH / 4)
    # 2 Jan warned the day before (lead 1); 4 Jan first warned at level >= 3 three days ahead
    assert (a["lead_mean"], a["lead_median"]) == (2.0, 2.0)
    b = out.loc["B"]
    assert (b["hits"], b["false_alarms"]) == (0, 1)
    assert np.isnan(b["recall"])  # no surge day at B
    everything = out.loc["all"]
    assert (everything["days"], everything["hits"], everything["false_alarms"]) == (5, 2, 2)
    assert everything["precision"] == pytest.approx(0.5)
    assert list(out.index) == ["A", "B", "all"]


def test_evaluate_warnings_when_level_four_only_counts_fewer_alerts():
    a = evaluate_warnings(_history(), _actuals(), level=4).set_index("site_id").loc["A"]
    assert (a["warned_days"], a["hits"], a["lead_mean"]) == (1, 1, 3.0)


def test_evaluate_warnings_when_thresholds_given_overrides_the_stored_lines():
    out = evaluate_warnings(_history(), _actuals(), thresholds=pd.Series({"A": 125.0, "B": 90.0}))
    a, b = out.set_index("site_id").loc["A"], out.set_index("site_id").loc["B"]
    assert (a["surge_days"], a["hits"], a["false_alarms"]) == (1, 1, 2)
    assert (b["surge_days"], b["hits"]) == (1, 1)


def test_warned_days_when_a_run_is_reissued_keeps_the_latest():
    again = pd.DataFrame(
        [("A", "2025-01-02", "2025-01-03", 1, "2025-01-03T09:00", 100.0)],
        columns=["site_id", "as_of", "date", "level", "issued_at", "surge_threshold"],
    )
    days = warned_days(pd.concat([_history(), again]), level=3).set_index(["site_id", "date"])
    assert days.loc[("A", pd.Timestamp("2025-01-03")), "max_level"] == 2
    assert not days.loc[("A", pd.Timestamp("2025-01-03")), "warned"]


def test_evaluate_warnings_error_when_no_warned_day_observed_yet():
    later = _actuals().assign(date=pd.Timestamp("2025-06-01"))
    with pytest.raises(EmptyDataError, match="no day with a warning has an observed attendance"):
        evaluate_warnings(_history(), later)
    with pytest.raises(EmptyDataError):
        evaluate_warnings(_history().iloc[:0], _actuals())


def test_evaluate_warnings_when_judging_probability_ignores_bed_driven_levels():
    history = _history()
    history["p_surge"] = [0.6, 0.1, 0.3, 0.2, 0.7, 0.1, 0.1]  # levels 3+ but unlikely surges
    a = evaluate_warnings(history, _actuals(), probability=0.5).set_index("site_id").loc["A"]
    # alerts: 2 Jan (lead 1) and 4 Jan (only from the 2 Jan run: lead 2)
    assert (a["warned_days"], a["hits"], a["false_alarms"]) == (2, 2, 0)
    assert (a["lead_mean"], a["precision"]) == (1.5, 1.0)
