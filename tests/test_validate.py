"""Validation rules of to_demand_frame: exact messages, rows and values; the gap policy."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.data.load import load_demand
from forecasting.data.schema import IMPUTED, ColumnMapping
from forecasting.data.validate import fill_gaps, find_gaps, format_list, to_demand_frame
from forecasting.errors import (
    DataError,
    DataFileError,
    DataValueError,
    IgnoredColumnsWarning,
    InsufficientHistoryError,
    MissingCountsWarning,
    MissingDatesError,
    MissingDatesWarning,
    SchemaError,
    ShortHistoryWarning,
)

pytestmark = pytest.mark.filterwarnings("ignore::forecasting.errors.ShortHistoryWarning")

AS_OF = "2025-01-01"


def raw_frame(
    sites: tuple[str, ...] = ("A", "B"), days: int = 70, start: str = "2024-01-01"
) -> pd.DataFrame:
    """A frame of strings as read_table returns it (row N is position N - 1)."""
    records = [
        {"site_id": site, "date": f"{day:%Y-%m-%d}", "attendances": str(100 + i % 7)}
        for site in sites
        for i, day in enumerate(pd.date_range(start, periods=days))
    ]
    return pd.DataFrame(records, dtype=str)


def one_line(error: pytest.ExceptionInfo[DataError]) -> str:
    text = str(error.value)
    assert "\n" not in text and "\r" not in text
    assert error.value.fix
    return text


# --- columns --------------------------------------------------------------------------------


def test_to_demand_frame_raises_when_target_column_is_missing() -> None:
    raw = raw_frame().rename(columns={"attendances": "hosp_counts"})
    with pytest.raises(SchemaError) as error:
        to_demand_frame(raw, path="x.csv", as_of=AS_OF)
    text = one_line(error)
    assert "x.csv, column 'attendances': required attendances column 'attendances' not found" in (
        text
    )
    assert "columns found: 'site_id', 'date' and 'hosp_counts'" in text
    assert "--target-col NAME" in text and "columns:" in text


def test_to_demand_frame_suggests_column_when_case_differs() -> None:
    raw = raw_frame().rename(columns={"date": "Date"})
    with pytest.raises(SchemaError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    text = one_line(error)
    assert "required date column 'date' not found (did you mean 'Date'?)" in text
    assert "--date-col" in text


def test_to_demand_frame_raises_when_named_site_column_is_missing() -> None:
    with pytest.raises(SchemaError) as error:
        to_demand_frame(raw_frame(), ColumnMapping(site_id="lhb_code"), as_of=AS_OF)
    text = one_line(error)
    assert "column 'lhb_code': required site_id column 'lhb_code' not found" in text
    assert "--site-col" in text


def test_to_demand_frame_hints_delimiter_when_file_has_one_column() -> None:
    raw = pd.DataFrame({"date|attendances": ["2024-01-01|5"]})
    with pytest.raises(SchemaError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "check its delimiter" in one_line(error)


def test_to_demand_frame_raises_when_mapped_extra_column_is_missing() -> None:
    mapping = ColumnMapping(extra={"temperature": "mean_temp"})
    with pytest.raises(SchemaError) as error:
        to_demand_frame(raw_frame(), mapping, as_of=AS_OF)
    assert "column 'mean_temp' (mapped to temperature) not found" in one_line(error)


def test_to_demand_frame_raises_when_there_are_no_rows() -> None:
    with pytest.raises(DataFileError) as error:
        to_demand_frame(raw_frame().iloc[:0], path="x.csv", as_of=AS_OF)
    assert "x.csv: the data has a header but no rows" in one_line(error)


# --- values ---------------------------------------------------------------------------------


def test_to_demand_frame_raises_when_date_is_unparseable() -> None:
    raw = raw_frame()
    raw.loc[[3, 4, 6, 9, 12], "date"] = ["31/12/2024", "x", "2024-02-30", "y", "z"]
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, path="x.csv", as_of=AS_OF)
    text = one_line(error)
    assert (
        "x.csv, row 4, column 'date': date '31/12/2024' is not an ISO date (YYYY-MM-DD) "
        "(4 more such rows: 5, 7, 10 and 1 more)"
    ) in text
    assert "YYYY-MM-DD" in error.value.fix  # type: ignore[operator]
    assert error.value.row == 4


def test_to_demand_frame_raises_when_timestamps_are_hourly() -> None:
    raw = raw_frame()
    raw.loc[1, "date"] = "2024-01-02 13:00"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    text = one_line(error)
    assert "row 2, column 'date': timestamp '2024-01-02 13:00' has a time of day" in text
    assert "looks hourly" in text and "aggregate to days" in text


def test_to_demand_frame_accepts_dates_when_they_are_midnight_timestamps() -> None:
    raw = raw_frame()
    raw["date"] = raw["date"] + "T00:00:00"
    frame = to_demand_frame(raw, as_of=AS_OF)
    assert frame["date"].iloc[0] == pd.Timestamp("2024-01-01")


def test_to_demand_frame_raises_when_date_is_empty() -> None:
    raw = raw_frame()
    raw.loc[7, "date"] = " "
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "row 8, column 'date': date is empty" in one_line(error)


def test_to_demand_frame_raises_when_count_is_negative() -> None:
    raw = raw_frame()
    raw.loc[10, "attendances"] = "-3"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, path="x.csv", as_of=AS_OF)
    text = one_line(error)
    assert "x.csv, row 11, column 'attendances': negative count '-3'" in text
    assert "cannot be negative" in text


def test_to_demand_frame_raises_when_count_is_not_a_number() -> None:
    raw = raw_frame().rename(columns={"attendances": "hosp_counts"})
    raw.loc[75, "hosp_counts"] = "twelve"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, ColumnMapping(attendances="hosp_counts"), as_of=AS_OF)
    text = one_line(error)
    assert "row 76, column 'hosp_counts': value 'twelve' is not a number" in text
    assert "no units or thousands separators" in text


def test_to_demand_frame_raises_when_count_is_absurd() -> None:
    raw = raw_frame()
    raw.loc[2, "attendances"] = "9999999"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    text = one_line(error)
    assert "row 3, column 'attendances': count '9999999' is implausibly large" in text
    assert "more than 50,000 a day" in text
    assert to_demand_frame(raw, as_of=AS_OF, max_count=1e7)["attendances"].max() == 9999999


def test_to_demand_frame_raises_when_count_is_infinite() -> None:
    raw = raw_frame()
    raw.loc[5, "attendances"] = "inf"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "row 6, column 'attendances': value 'inf' is not a finite number" in one_line(error)


def test_to_demand_frame_treats_empty_target_as_missing_day_when_cells_are_empty() -> None:
    # Issue 11: real files (NHS sitreps) leave some counts empty; that is a missing day handled
    # by the gap policy, not a refusal of the whole file (was: DataValueError "value is empty").
    raw = raw_frame()
    raw.loc[[4, 8], "attendances"] = ["", "NA"]
    with pytest.warns(MissingCountsWarning) as record:
        frame = to_demand_frame(raw, as_of=AS_OF)
    assert str(record[0].message) == (
        "column 'attendances': 2 rows with an empty count (rows 5 and 9) treated as missing "
        "days: gaps of up to 14 days are imputed, longer ones split the series into segments"
    )
    assert len(frame) == 140 and frame[IMPUTED].sum() == 2


def test_to_demand_frame_names_empty_counts_when_gaps_are_refused() -> None:
    raw = raw_frame()
    raw.loc[[4, 8], "attendances"] = ["", "NA"]
    with pytest.raises(MissingDatesError) as error:
        to_demand_frame(raw, as_of=AS_OF, gap_policy="refuse")
    text = one_line(error)
    assert "site 'A' is missing 2 days (2024-01-05 and 2024-01-09)" in text
    assert "(including 2 rows with an empty 'attendances' count)" in text


def test_to_demand_frame_raises_when_optional_count_is_negative() -> None:
    raw = raw_frame()
    raw["admissions"] = "20"
    raw.loc[30, "admissions"] = "-1"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "row 31, column 'admissions': negative count '-1'" in one_line(error)


def test_to_demand_frame_raises_when_site_id_is_empty() -> None:
    raw = raw_frame()
    raw.loc[70, "site_id"] = ""
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "row 71, column 'site_id': site id is empty" in one_line(error)


def test_to_demand_frame_raises_when_site_and_date_repeat() -> None:
    raw = raw_frame()
    raw.loc[[4, 20], "date"] = "2024-01-02"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, path="x.csv", as_of=AS_OF)
    text = one_line(error)
    assert (
        "x.csv, row 5, column 'date': 2024-01-02 appears more than once for site 'A' "
        "(rows 2 and 5); 2 repeated rows in total"
    ) in text


def test_to_demand_frame_hints_site_column_when_single_site_file_repeats_dates() -> None:
    raw = raw_frame().drop(columns="site_id")
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    text = one_line(error)
    assert "in this single-site file (rows 1 and 71); 70 repeated rows in total" in text
    assert "--site-col" in text


def test_to_demand_frame_raises_when_counts_are_dated_after_as_of() -> None:
    raw = raw_frame(days=70, start="2024-10-25")
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, path="x.csv", as_of=date(2024, 12, 31))
    text = one_line(error)
    assert (
        "x.csv, row 69, column 'date': attendances recorded for 2025-01-01, after the as-of "
        "date 2024-12-31 (3 more such rows: 70, 139 and 140)"
    ) in text
    assert "--as-of" in text


def test_to_demand_frame_drops_future_rows_when_target_is_empty() -> None:
    raw = raw_frame(sites=("A",), days=60)
    raw["temperature"] = "5.0"
    forecast = pd.DataFrame(
        {"site_id": ["A"], "date": ["2025-01-02"], "attendances": [""], "temperature": ["7.5"]}
    )
    frame = to_demand_frame(pd.concat([raw, forecast], ignore_index=True), as_of=AS_OF)
    assert len(frame) == 60
    assert frame["date"].max() == pd.Timestamp("2024-02-29")


def test_to_demand_frame_keeps_value_on_one_line_when_it_contains_a_newline() -> None:
    raw = raw_frame()
    raw.loc[0, "attendances"] = "12\n13"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of=AS_OF)
    assert "value '12\\n13' is not a number" in one_line(error)


def test_to_demand_frame_accepts_counts_when_they_are_stored_as_floats() -> None:
    raw = raw_frame()
    raw.loc[0, "attendances"] = "105.0"
    raw.loc[1, "attendances"] = "12.5"
    frame = to_demand_frame(raw, as_of=AS_OF)
    assert frame["attendances"].iloc[:2].tolist() == [105.0, 12.5]


# --- history --------------------------------------------------------------------------------


def test_to_demand_frame_raises_when_every_site_has_too_little_history() -> None:
    raw = pd.concat([raw_frame(("B",), 30), raw_frame(("C",), 20)])
    with pytest.raises(InsufficientHistoryError) as error:
        to_demand_frame(raw.reset_index(drop=True), path="x.csv", as_of=AS_OF)
    text = one_line(error)
    assert (
        "site 'B' has 30 days of history, fewer than the 56 needed for a 7-day horizon; "
        "1 more site too short (C: 20)"
    ) in text
    assert "--horizon" in text


def test_to_demand_frame_drops_short_sites_when_other_sites_have_enough_history() -> None:
    # Issue 11: in a national file one young trust must not stop the run for all the others
    # (was: InsufficientHistoryError for the whole file); a file of only short sites still fails.
    raw = pd.concat([raw_frame(("A",), 70), raw_frame(("B",), 30), raw_frame(("C",), 20)])
    with pytest.warns(ShortHistoryWarning, match="dropped") as record:
        frame = to_demand_frame(raw.reset_index(drop=True), path="x.csv", as_of=AS_OF)
    dropped = [str(w.message) for w in record if "dropped" in str(w.message)]
    assert dropped == [
        "x.csv: dropped 2 sites with fewer than the 56 days of history needed "
        "(B: 30 days and C: 20 days); the other sites are kept"
    ]
    assert list(frame["site_id"].unique()) == ["A"] and len(frame) == 70


def test_to_demand_frame_needs_four_horizons_when_horizon_is_long() -> None:
    with pytest.raises(InsufficientHistoryError) as error:
        to_demand_frame(raw_frame(days=70), horizon=28, as_of=AS_OF)
    assert "fewer than the 112 needed for a 28-day horizon" in one_line(error)
    assert len(to_demand_frame(raw_frame(days=70), min_history=70, as_of=AS_OF)) == 140


def test_to_demand_frame_warns_when_history_is_shorter_than_two_years() -> None:
    raw = pd.concat(
        [raw_frame(("A",), 730, "2022-01-01"), raw_frame(("B",), 400, "2023-01-01")],
        ignore_index=True,
    )
    with pytest.warns(ShortHistoryWarning, match=r"1 site has less than 2 years of history") as w:
        to_demand_frame(raw, as_of=AS_OF)
    assert "B: 400 days" in str(w[0].message) and "annual seasonality" in str(w[0].message)


def test_to_demand_frame_does_not_warn_when_data_is_clean_and_long() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = to_demand_frame(raw_frame(("A",), 730, "2022-01-01"), as_of=AS_OF)
    assert len(frame) == 730


# --- gaps -----------------------------------------------------------------------------------


def gappy_frame() -> pd.DataFrame:
    """21 days from Monday 2024-01-01; Mondays are 10, (missing), 30; Tuesday 1 is missing."""
    days = pd.date_range("2024-01-01", periods=21)
    values = [10 if i == 0 else 30 if i == 14 else 50 + i for i in range(21)]
    raw = pd.DataFrame(
        {
            "site_id": "A",
            "date": days.strftime("%Y-%m-%d"),
            "attendances": [str(v) for v in values],
            "beds": [str(200 + i) for i in range(21)],
            "temperature": [str(i) for i in range(21)],
        }
    )
    return raw.drop(index=[1, 7]).reset_index(drop=True)


def test_to_demand_frame_raises_when_gaps_are_refused() -> None:
    with pytest.raises(MissingDatesError) as error:
        to_demand_frame(
            gappy_frame(), path="x.csv", gap_policy="refuse", as_of=AS_OF, min_history=14
        )
    text = one_line(error)
    assert "x.csv, column 'date': site 'A' is missing 2 days (2024-01-02 and 2024-01-08)" in text
    assert "--gaps fill" in text


def test_to_demand_frame_imputes_same_weekday_when_gaps_are_filled() -> None:
    with pytest.warns(MissingDatesWarning, match=r"site 'A' is missing 2 days") as record:
        frame = to_demand_frame(gappy_frame(), as_of=AS_OF, min_history=14)
    assert "filled 2 days" in str(record[0].message)
    assert len(frame) == 21
    by_day = frame.set_index("date")
    monday = by_day.loc[pd.Timestamp("2024-01-08")]
    assert monday["attendances"] == 20.0  # mean of Mondays 10 and 30
    tuesday = by_day.loc[pd.Timestamp("2024-01-02")]
    assert tuesday["attendances"] == 31.0  # no earlier Tuesday: linear between 10 and 52
    assert monday["beds"] == 206.0 and tuesday["beds"] == 200.0  # carried forward
    assert np.isnan(monday["temperature"])
    assert frame[IMPUTED].sum() == 2
    assert by_day.loc[pd.Timestamp("2024-01-08"), IMPUTED]
    assert not by_day.loc[pd.Timestamp("2024-01-09"), IMPUTED]


def test_find_gaps_lists_missing_days_when_a_site_has_gaps() -> None:
    frame = pd.DataFrame(
        {"site_id": ["A", "A", "B", "B"], "date": pd.to_datetime(["2024-01-01", "2024-01-04"] * 2)}
    )
    frame.loc[3, "date"] = pd.Timestamp("2024-01-02")
    gaps = find_gaps(frame)
    assert list(gaps) == ["A"]
    assert list(gaps["A"].strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]


def test_fill_gaps_keeps_existing_flags_when_frame_was_already_imputed() -> None:
    frame = pd.DataFrame(
        {
            "site_id": "A",
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]),
            "attendances": [1.0, 2.0, 4.0],
            IMPUTED: [True, False, False],
        }
    )
    filled = fill_gaps(frame)
    assert filled["attendances"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert filled[IMPUTED].tolist() == [True, False, True, False]


# --- extra columns and typed frames ---------------------------------------------------------


def test_to_demand_frame_renames_column_when_mapping_extra_names_it() -> None:
    raw = raw_frame()
    raw["mean_temp"] = "12.5"
    mapping = ColumnMapping(extra={"temperature": "mean_temp"})
    frame = to_demand_frame(raw, mapping, as_of=AS_OF)
    assert "temperature" in frame.columns and "mean_temp" not in frame.columns
    assert frame["temperature"].dtype == np.float64
    assert (frame["temperature"] == 12.5).all()


def test_to_demand_frame_raises_when_mapped_extra_is_not_numeric() -> None:
    raw = raw_frame()
    raw["mean_temp"] = "12.5"
    raw.loc[3, "mean_temp"] = "warm"
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, ColumnMapping(extra={"temperature": "mean_temp"}), as_of=AS_OF)
    assert "row 4, column 'mean_temp': value 'warm' is not a number" in one_line(error)


def test_to_demand_frame_warns_when_columns_are_not_numeric() -> None:
    raw = raw_frame()
    raw["notes"] = "busy"
    raw["empty"] = ""
    raw["humidity"] = "0.7"
    # an all-empty column is named as empty, not as "not numeric" (sitreps' flu_beds_ga)
    with pytest.warns(IgnoredColumnsWarning, match=r"not numeric: 'notes'; empty: 'empty'"):
        frame = to_demand_frame(raw, as_of=AS_OF)
    assert "notes" not in frame.columns and "empty" not in frame.columns
    assert frame["humidity"].iloc[0] == 0.7


def test_to_demand_frame_puts_contract_columns_first_when_optional_counts_exist() -> None:
    raw = raw_frame()
    raw["temperature"] = "3"
    raw["beds"] = "400"
    raw["admissions"] = ""
    frame = to_demand_frame(raw, as_of=AS_OF)
    assert list(frame.columns) == [
        "site_id",
        "date",
        "attendances",
        "admissions",
        "beds",
        "temperature",
        IMPUTED,
    ]
    assert frame["admissions"].isna().all()


def test_to_demand_frame_accepts_typed_frame_when_it_comes_from_a_notebook() -> None:
    typed = pd.DataFrame(
        {
            "site_id": pd.Categorical(["S1"] * 60 + ["S2"] * 60),
            "date": list(pd.date_range("2024-01-01", periods=60)) * 2,
            "attendances": np.arange(120, dtype=np.int64),
            "temperature": np.linspace(0, 1, 120),
        }
    )
    frame = to_demand_frame(typed, as_of=AS_OF)
    assert frame["site_id"].tolist()[:1] == ["S1"] and frame["site_id"].dtype == object
    assert frame["attendances"].dtype == np.float64
    assert "source" not in frame.attrs
    pd.testing.assert_frame_equal(to_demand_frame(frame, as_of=AS_OF), frame)


def test_to_demand_frame_reports_position_when_typed_frame_has_bad_value() -> None:
    typed = pd.DataFrame(
        {
            "site_id": "S1",
            "date": [date(2024, 1, 1) + pd.Timedelta(days=i) for i in range(60)],
            "attendances": [5.0] * 60,
        }
    )
    typed.loc[41, "attendances"] = -2.0
    with pytest.raises(DataValueError) as error:
        to_demand_frame(typed, as_of=AS_OF)
    assert error.value.row == 42
    assert "negative count '-2.0'" in one_line(error)


def test_load_demand_names_the_file_when_warning_about_gaps(tmp_path: Path) -> None:
    path = tmp_path / "gappy.csv"
    gappy_frame().to_csv(path, index=False)
    with pytest.warns(MissingDatesWarning, match=str(path).replace("\\", "\\\\")):
        load_demand(path, as_of=AS_OF, min_history=14)


def test_format_list_truncates_when_list_is_long() -> None:
    assert format_list([]) == ""
    assert format_list([3]) == "3"
    assert format_list([3, 9]) == "3 and 9"
    assert format_list([3, 9, 12]) == "3, 9 and 12"
    assert format_list([3, 9, 12, 15, 20, 21, 30]) == "3, 9, 12 and 4 more"


def test_to_demand_frame_rejects_bad_arguments_when_called_wrongly() -> None:
    with pytest.raises(ValueError, match="gap_policy"):
        to_demand_frame(raw_frame(), gap_policy="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon"):
        to_demand_frame(raw_frame(), horizon=0)
    with pytest.raises(DataValueError, match="--as-of YYYY-MM-DD"):
        to_demand_frame(raw_frame(), as_of="next week")


def test_to_demand_frame_summarises_sites_when_several_have_gaps() -> None:
    raw = raw_frame(sites=("A", "B", "C"), days=70)
    raw = raw.drop(index=[5, 6, 7, 75, 150]).reset_index(drop=True)
    with pytest.raises(MissingDatesError) as error:
        to_demand_frame(raw, gap_policy="refuse", as_of=AS_OF)
    assert (
        "site 'A' is missing 3 days (2024-01-06, 2024-01-07 and 2024-01-08); "
        "2 more sites with gaps (B: 1 and C: 1)"
    ) in one_line(error)


def test_to_demand_frame_ignores_column_when_it_clashes_with_a_mapped_one() -> None:
    raw = raw_frame()
    raw["hosp_counts"] = "7"
    with pytest.warns(IgnoredColumnsWarning, match="mapped from elsewhere: 'attendances'"):
        frame = to_demand_frame(raw, ColumnMapping(attendances="hosp_counts"), as_of=AS_OF)
    assert (frame["attendances"] == 7.0).all()


def test_to_demand_frame_raises_when_every_row_is_after_as_of() -> None:
    raw = raw_frame(sites=("A",), days=60)
    raw["attendances"] = ""
    with pytest.raises(DataValueError) as error:
        to_demand_frame(raw, as_of="2023-12-31")
    assert "no rows are dated on or before the as-of date 2023-12-31" in one_line(error)


def test_to_demand_frame_when_site_col_names_several_columns_joins_them() -> None:
    days = pd.date_range("2023-01-02", periods=60, freq="D").strftime("%Y-%m-%d")
    raw = pd.DataFrame(
        {
            "board": ["AB"] * 120,
            "priority": ["RED"] * 60 + ["GREEN"] * 60,
            "date": list(days) * 2,
            "incidents": ["5"] * 120,
        }
    )
    mapping = ColumnMapping(site_id="board,priority", attendances="incidents")
    frame = to_demand_frame(raw, mapping)
    assert sorted(frame["site_id"].unique()) == ["AB/GREEN", "AB/RED"]
    assert "board" not in frame.columns and "priority" not in frame.columns
    assert len(frame) == 120


def test_to_demand_frame_when_one_of_several_site_columns_missing_names_it() -> None:
    raw = pd.DataFrame({"board": ["AB"], "date": ["2023-01-02"], "incidents": ["5"]})
    with pytest.raises(SchemaError, match="priority"):
        to_demand_frame(raw, ColumnMapping(site_id="board,priority", attendances="incidents"))
