"""The bed-pressure step of the morning job on a hand-made forecast of beds occupied."""

import numpy as np
import pandas as pd

from forecasting.config import Config, SiteSettings
from forecasting.daily.beds import BEDS_WARNING_COLUMNS, beds_warnings
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES

DAY = pd.Timestamp("2020-01-19")  # a Sunday


def _history() -> pd.DataFrame:
    dates = pd.date_range("2019-12-01", DAY, freq="D")
    frame = pd.DataFrame({"site_id": "RAA", "date": dates, "attendances": 90.0, "beds": 100.0})
    frame.attrs["target_role"] = "beds_occupied"
    return frame


def _forecast(level: float) -> pd.DataFrame:
    dates = pd.date_range(DAY + pd.Timedelta(days=1), periods=7, freq="D")
    frame = pd.DataFrame(
        {"site_id": "RAA", "cutoff": DAY, "date": dates, "horizon": range(1, 8), "model": "m"}
    )
    frame["mean"] = level
    for q, col in zip(QUANTILES, QUANTILE_COLUMNS, strict=True):
        frame[col] = level + (q - 0.5) * 4  # a narrow fan: q0.05 = level - 1.8
    return frame


def _run(level: float, electives: tuple[int, ...] | None) -> pd.DataFrame:
    cfg = Config(sites={"RAA": SiteSettings(electives_by_weekday=electives)})
    return beds_warnings(_forecast(level), _history(), cfg.pressure, cfg.site, 0.65, DAY, horizon=7)


def test_beds_warnings_when_occupancy_low_are_level_1_with_no_deferral():
    out = _run(80.0, (10, 10, 10, 10, 10, 0, 0))
    assert list(out.columns) == list(BEDS_WARNING_COLUMNS)
    assert out["horizon"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert out["occupancy"].tolist() == [0.8] * 7
    assert (out["level"] == 1).all()
    assert out["electives_deferrable"].tolist() == [6, 6, 6, 6, 6, 0, 0]
    assert (out["electives_to_review"] == 0).all()
    assert not any("attendance_surge" in r for rs in out["reasons"] for r in rs)


def test_beds_warnings_when_full_even_deferring_all_says_so_with_the_figure():
    out = _run(104.0, (2, 2, 2, 2, 2, 0, 0))
    first = out.iloc[0]
    assert first["level"] == 4
    assert first["occupancy"] == 1.04
    assert first["advice"].startswith("deferring all 1 deferrable case still leaves occupancy at")
    assert "(ceiling 92%)" in first["advice"]
    assert np.isnan(out["electives_planned"]).sum() == 0


def test_prepare_history_when_gap_is_longer_than_segment_gap_leaves_it_missing():
    from forecasting.escalation.inputs import prepare_history

    days = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05", "2020-03-01"])
    frame = pd.DataFrame({"site_id": "RAA", "date": days, "attendances": [1.0, 2.0, 5.0, 9.0]})
    out = prepare_history(frame)
    assert out["date"].dt.strftime("%m-%d").tolist() == [
        "01-01",
        "01-02",
        "01-03",
        "01-04",
        "01-05",
        "03-01",
    ]
    assert out["attendances"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 9.0]
