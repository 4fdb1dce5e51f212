"""The morning job as a library call: leakage, stale sites, unknown sites."""

import numpy as np
import pandas as pd
import pytest

from forecasting.config import Config, EscalationConfig, SiteSettings
from forecasting.daily import daily_warnings
from forecasting.errors import StaleDataWarning
from forecasting.escalation.errors import ForecastMismatchError
from forecasting.models.naive import SeasonalNaive

DAYS = pd.date_range("2024-01-01", periods=400, freq="D")
CFG = Config(sites={"A": SiteSettings(beds=400), "B": SiteSettings(beds=400)})


def _frame(last_b: pd.Timestamp | None = None) -> pd.DataFrame:
    a = pd.DataFrame({"site_id": "A", "date": DAYS, "attendances": 100.0 + DAYS.dayofweek})
    b = a.assign(site_id="B")
    if last_b is not None:
        b = b[b["date"] <= last_b]
    return pd.concat([a, b], ignore_index=True)


def test_daily_warnings_when_as_of_given_forecast_ignores_later_days():
    frame = _frame()
    as_of = DAYS[300]
    changed = frame.copy()
    changed.loc[changed["date"] > as_of, "attendances"] = 10_000.0
    model = SeasonalNaive().fit(frame)
    first = daily_warnings(frame, model, CFG, as_of=as_of)
    second = daily_warnings(changed, SeasonalNaive().fit(frame), CFG, as_of=as_of)
    pd.testing.assert_frame_equal(first.forecast, second.forecast)
    assert first.forecast["cutoff"].unique().tolist() == [as_of]
    assert first.forecast["mean"].tolist()[:7] == [
        100.0 + d.dayofweek for d in pd.date_range(as_of + pd.Timedelta(days=1), periods=7)
    ]


def test_daily_warnings_when_a_site_stops_early_warns_naming_it_and_its_last_day():
    frame = _frame(last_b=DAYS[-3])
    with pytest.warns(StaleDataWarning, match=r"1 site\(s\).*B \(2025-02-01\)"):
        result = daily_warnings(frame, SeasonalNaive().fit(frame), CFG)
    assert sorted(result.warnings.groupby("site_id").size().to_dict().items()) == [
        ("A", 7),
        ("B", 5),
    ]


def test_daily_warnings_when_data_has_a_site_the_model_never_saw_raises():
    frame = _frame()
    model = SeasonalNaive().fit(frame[frame["site_id"] == "A"])
    with pytest.raises(ForecastMismatchError, match="B are not in the model's training data"):
        daily_warnings(frame, model, Config(sites={"A": SiteSettings(beds=400)}))


def test_daily_warnings_when_history_has_outcomes_recalibrates_and_zero_turns_it_off():
    rng = np.random.default_rng(3)
    frame = _frame()
    frame["attendances"] = frame["attendances"] + rng.normal(0, 8, len(frame)).round()
    model = SeasonalNaive().fit(frame)
    runs = [daily_warnings(frame, model, CFG, as_of=d).warnings for d in DAYS[300:360]]
    issued = pd.concat(runs, ignore_index=True)
    day = DAYS[370]
    cfg = CFG.model_copy(update={"escalation": EscalationConfig(recalibrate_min_surges=5)})
    on = daily_warnings(frame, model, cfg, as_of=day, issued=issued).warnings
    off_cfg = CFG.model_copy(update={"escalation": EscalationConfig(recalibrate_min_surges=0)})
    off = daily_warnings(frame, model, off_cfg, as_of=day, issued=issued).warnings
    assert (off["p_capacity"] == off["p_capacity_raw"]).all()
    pd.testing.assert_series_equal(on["p_capacity_raw"], off["p_capacity_raw"])
    assert not np.allclose(on["p_capacity"], on["p_capacity_raw"])
