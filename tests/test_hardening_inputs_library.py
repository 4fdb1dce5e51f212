"""Library side of the input hardening: spacing, resampling, fractional counts, holiday codes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer

import forecasting.cli as cli
from forecasting.config import check_holiday_calendar, config_from_dict
from forecasting.data.notices import FractionalCountWarning, PartialDayWarning
from forecasting.data.schema import ColumnMapping
from forecasting.data.spacing import describe_spacing
from forecasting.data.validate import to_demand_frame
from forecasting.errors import ConfigError, DataValueError, SchemaError

AS_OF = "2024-12-31"
pytestmark = pytest.mark.filterwarnings("ignore::forecasting.errors.ShortHistoryWarning")


def daily_raw(days: int = 120, sites: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    """A clean raw table of strings, as read from a CSV."""
    dates = pd.date_range("2024-01-01", periods=days, freq="D").strftime("%Y-%m-%d")
    rows = [(site, day, str(100 + i % 7)) for site in sites for i, day in enumerate(dates)]
    return pd.DataFrame(rows, columns=["site_id", "date", "attendances"])


def hourly_raw(days: int = 70, last_hours: int = 24) -> pd.DataFrame:
    """One site's hourly rows: 2 arrivals an hour, temperature = hour, beds 50."""
    stamps = pd.date_range("2024-01-01", periods=days * 24, freq="h")
    stamps = stamps[: len(stamps) - (24 - last_hours)]
    return pd.DataFrame(
        {
            "date": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            "attendances": "2",
            "beds": "50",
            "temperature": stamps.hour.astype(str),
        }
    )


# --- spacing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("freq", "kind"), [("MS", "monthly"), ("W-MON", "weekly"), ("QS", "quarterly")]
)
def test_to_demand_frame_raises_when_dates_are_not_daily(freq: str, kind: str) -> None:
    dates = pd.date_range("2016-04-01", periods=30, freq=freq).strftime("%Y-%m-%d")
    raw = pd.DataFrame({"site_id": "x", "date": dates, "attendances": "9000"})
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, path="ae.csv", as_of=AS_OF)
    text = str(error.value)
    assert text.startswith("ae.csv, column 'date': dates are " + kind)
    assert "would invent" in text and "Fix: supply one row per site and day" in text


def test_to_demand_frame_accepts_daily_data_when_some_days_are_missing() -> None:
    raw = daily_raw().drop(index=[5, 6, 7, 40])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = to_demand_frame(raw, as_of=AS_OF)
    assert len(frame) == 240


def test_to_demand_frame_names_daily_sites_when_only_some_sites_are_monthly() -> None:
    monthly = pd.date_range("2024-01-01", periods=6, freq="MS").strftime("%Y-%m-%d")
    raw = pd.concat(
        [
            daily_raw(sites=("a",)),
            pd.DataFrame({"site_id": "m", "date": monthly, "attendances": "1"}),
        ]
    )
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "1 of 2 sites, e.g. 'm'; daily: a" in str(error.value)


def test_describe_spacing_when_gap_is_unusual_gives_days() -> None:
    assert describe_spacing(30.5) == "monthly"
    assert describe_spacing(3) == "every 3 days"


# --- hourly data -----------------------------------------------------------------------------


def test_to_demand_frame_suggests_resample_when_timestamps_have_times() -> None:
    with pytest.raises(DataValueError) as error:
        to_demand_frame(hourly_raw(), ColumnMapping(site_id=None), as_of=AS_OF)
    assert "--resample daily" in str(error.value)


def test_to_demand_frame_sums_counts_and_averages_the_rest_when_resampled_daily() -> None:
    frame = to_demand_frame(
        hourly_raw(), ColumnMapping(site_id=None), as_of=AS_OF, resample="daily"
    )
    assert len(frame) == 70
    assert (frame["attendances"] == 48).all()
    assert (frame["beds"] == 50).all()
    assert np.allclose(frame["temperature"], 11.5)


def test_to_demand_frame_drops_partial_last_day_when_resampled_daily() -> None:
    with pytest.warns(PartialDayWarning, match=r"dropped 1 partial .*2024-03-10 \(13 of 24 rows\)"):
        frame = to_demand_frame(
            hourly_raw(last_hours=13), ColumnMapping(site_id=None), as_of=AS_OF, resample="daily"
        )
    assert frame["date"].max() == pd.Timestamp("2024-03-09")
    assert (frame["attendances"] == 48).all()


def test_to_demand_frame_keeps_hours_of_as_of_day_when_resampled_daily() -> None:
    raw = hourly_raw()
    last = pd.Timestamp(raw["date"].iloc[-1]).strftime("%Y-%m-%d")
    frame = to_demand_frame(raw, ColumnMapping(site_id=None), as_of=last, resample="daily")
    assert frame["date"].max() == pd.Timestamp(last)


def test_to_demand_frame_names_short_inner_day_when_resampled_daily() -> None:
    raw = hourly_raw().drop(index=range(30, 40))
    with pytest.warns(PartialDayWarning, match=r"kept 1 day .*2024-01-02 \(14 of 24 rows\)"):
        frame = to_demand_frame(raw, ColumnMapping(site_id=None), as_of=AS_OF, resample="daily")
    assert len(frame) == 70


# --- values ----------------------------------------------------------------------------------


def test_to_demand_frame_warns_by_row_when_counts_are_not_whole_numbers() -> None:
    raw = daily_raw()
    raw.loc[3, "attendances"] = "12.5"
    with pytest.warns(FractionalCountWarning) as caught:
        frame = to_demand_frame(raw, path="f.csv", as_of=AS_OF)
    assert str(caught[0].message).startswith(
        "f.csv, row 4, column 'attendances': count '12.5' is not a whole number"
    )
    assert frame["attendances"].iloc[3] == 12.5


def test_to_demand_frame_advises_removing_row_when_target_is_infinite() -> None:
    raw = daily_raw()
    raw.loc[3, "attendances"] = "inf"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "remove the row" in str(error.value)
    assert "leave the cell empty" not in str(error.value)


def test_to_demand_frame_accepts_empty_cell_when_optional_count_is_advised_so() -> None:
    raw = daily_raw().assign(admissions="20")
    raw.loc[3, "admissions"] = "inf"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "leave the cell empty" in str(error.value)
    raw.loc[3, "admissions"] = ""
    assert np.isnan(to_demand_frame(raw, as_of=AS_OF)["admissions"].iloc[3])


def test_to_demand_frame_raises_schema_error_when_target_column_is_all_empty() -> None:
    with pytest.raises(SchemaError, match="empty in every row"):
        to_demand_frame(daily_raw().assign(attendances=""), as_of=AS_OF)


# --- holiday calendars -----------------------------------------------------------------------


def test_check_holiday_calendar_accepts_known_codes_when_given() -> None:
    check_holiday_calendar("CH", "BE")
    check_holiday_calendar("US", None)


def test_check_holiday_calendar_lists_subdivisions_when_subdivision_is_unknown() -> None:
    with pytest.raises(ConfigError) as error:
        check_holiday_calendar("GB", "XX", option="--holidays")
    text = str(error.value)
    assert text.startswith("--holidays 'GB-XX': unknown subdivision 'XX'")
    assert "ENG, NIR, SCT, WLS" in text and "\n" not in text


def test_check_holiday_calendar_suggests_codes_when_country_is_lowercase() -> None:
    with pytest.raises(ConfigError, match=r"close matches: CH"):
        check_holiday_calendar("ch", "BE")


def test_config_raises_naming_key_when_holiday_country_is_unknown() -> None:
    with pytest.raises(ConfigError, match=r"cfg.yaml: key 'holidays': unknown holiday country"):
        config_from_dict({"holidays": {"country": "XY", "subdiv": None}}, "cfg.yaml")


# --- entry point -----------------------------------------------------------------------------


def test_main_keeps_exit_code_when_command_raises_typer_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = typer.Typer()

    @small.command()
    def fail_on_level(level: int = 1) -> None:
        raise typer.Exit(level)

    @small.command()
    def other() -> None:
        """A second command, so that the app is a group."""

    monkeypatch.setattr(cli, "app", small)
    with pytest.raises(SystemExit) as done:
        cli.main(["fail-on-level", "--level", "1"])
    assert done.value.code == 1


def test_main_prints_one_line_when_option_value_is_bad(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["backtest", "--data", str(tmp_path), "--out", "o.csv", "--horizon", "0"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and "--horizon" in err
