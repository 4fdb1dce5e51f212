"""Holiday days from one country's module (issue 15): the same days, without every country."""

from __future__ import annotations

import subprocess
import sys

import holidays
import pandas as pd
import pytest

from forecasting.features.calendar import country_calendar, holiday_dates

CASES = [
    ("GB", "ENG"),
    ("GB", "SCT"),
    ("GB", None),
    ("UK", "NIR"),
    ("CH", "BE"),
    ("US", "CA"),
    ("DE", "BY"),
    ("FR", None),
    ("JE", None),
    ("AX", None),  # Åland's module imports Finland's: loaded through the package then
]


@pytest.mark.parametrize(("country", "subdiv"), CASES)
def test_holiday_dates_when_loaded_alone_equal_the_packages_days(country, subdiv):
    expected = holidays.country_holidays(country, subdiv=subdiv, years=range(2000, 2031))
    got = holiday_dates.__wrapped__(country, subdiv, 2000, 2030)
    assert [d.date() for d in got] == sorted(expected)


def test_country_calendar_when_code_unknown_is_none():
    assert country_calendar("XX") is None


def test_holiday_dates_when_subdivision_unknown_raises_value_error_with_fix():
    with pytest.raises(ValueError, match="Fix: use"):
        holiday_dates.__wrapped__("GB", "XYZ", 2020, 2021)


def test_holiday_dates_when_country_unknown_raises_value_error_with_fix():
    with pytest.raises(ValueError, match="Fix: use"):
        holiday_dates.__wrapped__("XX", None, 2020, 2021)


def test_holiday_dates_when_england_asked_imports_no_other_country():
    code = (
        "import sys\n"
        "from forecasting.features.calendar import holiday_dates\n"
        "days = holiday_dates('GB', 'ENG', 2023, 2024)\n"
        "print(len(days), 'holidays.countries' in sys.modules,"
        " 'holidays.countries.afghanistan' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["18", "False", "False"]
    assert pd.Timestamp("2023-05-08") in holiday_dates("GB", "ENG", 2023, 2024)  # coronation
