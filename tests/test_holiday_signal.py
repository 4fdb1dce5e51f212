"""The holiday-calendar check: which country's days off the data follows."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.errors import HolidayCalendarWarning
from forecasting.features.calendar import holiday_dates
from forecasting.features.holiday_signal import (
    calendar_message,
    check_calendar,
    warn_if_other_calendar,
)


def _frame(dip_country: str, dip_subdiv: str | None, years: int = 3) -> pd.DataFrame:
    """Poisson counts around 200 a day with a 30% dip on the given calendar's holidays."""
    rng = np.random.default_rng(7)
    dates = pd.date_range("2021-01-01", periods=365 * years, freq="D")
    off = dates.isin(holiday_dates(dip_country, dip_subdiv, 2021, 2021 + years))
    lam = np.where(off, 140.0, 200.0)
    y = rng.poisson(lam).astype(float)
    return pd.DataFrame({"site_id": "A", "date": dates, "attendances": y})


def test_check_calendar_when_data_dips_on_us_holidays_suggests_us() -> None:
    result = check_calendar(_frame("US", None), "GB", "ENG")
    assert result.suggested == "US"
    assert result.configured == "GB-ENG"
    assert result.suggested_p < 0.02
    assert result.configured_p > 0.1


def test_check_calendar_when_data_dips_on_english_holidays_suggests_nothing() -> None:
    assert check_calendar(_frame("GB", "ENG"), "GB", "ENG").suggested is None


def test_check_calendar_when_configured_calendar_matches_suggests_nothing() -> None:
    assert check_calendar(_frame("US", None), "US", None).suggested is None


def test_check_calendar_when_data_is_shorter_than_a_year_suggests_nothing() -> None:
    short = _frame("US", None).head(300)
    assert check_calendar(short, "GB", "ENG").suggested is None


def test_warn_if_other_calendar_when_default_meets_us_data_names_us_and_the_fix() -> None:
    with pytest.warns(HolidayCalendarWarning, match=r"fit US better .*--holidays US"):
        warn_if_other_calendar(_frame("US", None), "GB", "ENG")


def test_warn_if_other_calendar_when_calendar_was_chosen_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", HolidayCalendarWarning)
        warn_if_other_calendar(_frame("US", None), "CH", None)


def test_calendar_message_when_nothing_suggested_names_the_calendar_in_use() -> None:
    result = check_calendar(_frame("GB", "ENG"), "GB", "ENG")
    assert calendar_message(result, default=True) == "Holiday calendar: GB-ENG (the default)."


def test_data_check_when_default_calendar_says_which_calendar_is_used(tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    _frame("US", None).to_csv(path, index=False)
    out = CliRunner().invoke(app, ["data", "check", str(path)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "Holiday calendar: GB-ENG (the default), but the data's days off fit US better" in text
    js = CliRunner().invoke(app, ["data", "check", str(path), "--format", "json"])
    data = json.loads(js.stdout)
    assert (data["holiday_calendar"], data["holiday_calendar_suggested"]) == ("GB-ENG", "US")
