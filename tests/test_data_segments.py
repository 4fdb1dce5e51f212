"""Segments and missing counts in the loader: winter-only series, empty counts, target roles."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.data.load import load_demand
from forecasting.data.schema import BEDS_OCCUPIED, IMPUTED, ColumnMapping
from forecasting.data.segments import segment_table
from forecasting.data.validate import fill_gaps, find_gaps, to_demand_frame
from forecasting.errors import (
    IgnoredColumnsWarning,
    MissingCountsWarning,
    MissingDatesError,
    MissingDatesWarning,
)

pytestmark = pytest.mark.filterwarnings("ignore::forecasting.errors.ShortHistoryWarning")

AS_OF = "2025-06-01"
SITREPS = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "nhs_winter_sitreps"
    / "winter_sitreps_trust_daily.csv.gz"
)


def runs_frame(runs: list[tuple[str, int]], site: str = "A") -> pd.DataFrame:
    """A string frame of one site made of runs of consecutive days.

    Args:
        runs: Each run's first day (ISO) and length.
        site: The site id.

    Returns:
        Strings as read_table returns them: ``attendances`` is 100 + the day's index counted
        from 2024-01-01, ``beds`` 500 + that index.
    """
    origin = pd.Timestamp("2024-01-01")
    records = []
    for first, days in runs:
        for day in pd.date_range(first, periods=days):
            index = (day - origin).days
            records.append(
                {
                    "site_id": site,
                    "date": f"{day:%Y-%m-%d}",
                    "attendances": str(100 + index),
                    "beds": str(500 + index),
                }
            )
    return pd.DataFrame(records, dtype=str)


def messages(record: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, category)]


# --- empty counts ---------------------------------------------------------------------------


def test_to_demand_frame_imputes_same_weekday_when_target_cells_are_empty() -> None:
    # Monday 2024-01-01 = 10, Monday 01-08 empty, Monday 01-15 = 30; Tuesday 01-02 empty
    days = pd.date_range("2024-01-01", periods=21)
    values = [10 if i == 0 else 30 if i == 14 else 50 + i for i in range(21)]
    raw = pd.DataFrame(
        {"site_id": "A", "date": days.strftime("%Y-%m-%d"), "attendances": [str(v) for v in values]}
    )
    raw.loc[[1, 7], "attendances"] = ["", "NA"]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        frame = to_demand_frame(raw, path="x.csv", as_of=AS_OF, min_history=14)
    assert messages(record, MissingCountsWarning) == [
        "x.csv: column 'attendances': 2 rows with an empty count (rows 2 and 8) treated as "
        "missing days: gaps of up to 14 days are imputed, longer ones split the series into "
        "segments"
    ]
    gaps = messages(record, MissingDatesWarning)
    assert len(gaps) == 1 and "filled 2 days" in gaps[0]
    by_day = frame.set_index("date")["attendances"]
    assert by_day[pd.Timestamp("2024-01-08")] == 20.0  # mean of Mondays 10 and 30
    assert by_day[pd.Timestamp("2024-01-02")] == 31.0  # no earlier Tuesday: 10 to 52 linearly
    assert len(frame) == 21 and frame[IMPUTED].sum() == 2
    assert frame.attrs["empty_counts"] == 2


def test_to_demand_frame_names_first_rows_when_many_target_cells_are_empty() -> None:
    raw = runs_frame([("2024-01-01", 70)])
    raw.loc[[3, 10, 17, 24, 31, 38], "attendances"] = ""
    with pytest.warns(MissingCountsWarning) as record:
        to_demand_frame(raw, as_of=AS_OF)
    assert str(record[0].message).startswith(
        "column 'attendances': 6 rows with an empty count (rows 4, 11, 18 and 3 more) treated"
    )


def test_to_demand_frame_leaves_site_out_when_all_its_counts_are_empty() -> None:
    raw = pd.concat([runs_frame([("2024-01-01", 70)]), runs_frame([("2024-01-01", 70)], "B")])
    raw = raw.reset_index(drop=True)
    raw.loc[raw["site_id"] == "B", "attendances"] = ""
    with pytest.warns(MissingCountsWarning, match=r"1 site has no count at all and is left out"):
        frame = to_demand_frame(raw, as_of=AS_OF)
    assert frame["site_id"].unique().tolist() == ["A"]


def test_to_demand_frame_still_refuses_garbage_when_target_is_not_a_number() -> None:
    raw = runs_frame([("2024-01-01", 70)])
    raw.loc[5, "attendances"] = "twelve"
    with pytest.raises(ValueError, match=r"row 6, column 'attendances': value 'twelve'"):
        to_demand_frame(raw, as_of=AS_OF)
    raw.loc[5, "attendances"] = "-3"
    with pytest.raises(ValueError, match=r"row 6, column 'attendances': negative count '-3'"):
        to_demand_frame(raw, as_of=AS_OF)


# --- segments -------------------------------------------------------------------------------


def test_to_demand_frame_keeps_two_segments_when_gap_is_20_days() -> None:
    raw = runs_frame([("2024-01-01", 30), ("2024-02-20", 30)])  # Jan 31 .. Feb 19 missing
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingDatesWarning)
        frame = to_demand_frame(raw, as_of=AS_OF, gap_policy="refuse")
    assert len(frame) == 60 and not frame[IMPUTED].any()
    table = segment_table(frame)
    assert table[["segment", "days"]].to_numpy().tolist() == [[0, 30], [1, 30]]
    assert table["start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-20"]
    assert table["end"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-30", "2024-03-20"]


def test_to_demand_frame_imputes_gap_when_it_is_10_days() -> None:
    # day index i holds 100 + i; days 30..39 (2024-01-31 .. 2024-02-09) are missing
    raw = runs_frame([("2024-01-01", 30), ("2024-02-10", 30)])
    with pytest.warns(MissingDatesWarning, match=r"filled 10 days"):
        frame = to_demand_frame(raw, as_of=AS_OF)
    assert len(frame) == 70 and frame[IMPUTED].sum() == 10
    assert len(segment_table(frame)) == 1
    by_day = frame.set_index("date")
    # 2024-01-31 (day 30): same weekday before day 23 (123), after day 44 (144)
    assert by_day.loc[pd.Timestamp("2024-01-31"), "attendances"] == 133.5
    # 2024-02-09 (day 39): before day 25 (125; day 32 is missing too), after day 46 (146)
    assert by_day.loc[pd.Timestamp("2024-02-09"), "attendances"] == 135.5
    # beds carried forward from the last observed day, 2024-01-30 (529)
    assert by_day.loc[pd.Timestamp("2024-02-09"), "beds"] == 529.0


def test_to_demand_frame_refuses_only_short_gaps_when_policy_is_refuse() -> None:
    raw = runs_frame([("2024-01-01", 30), ("2024-02-10", 30), ("2024-06-01", 30)])
    with pytest.raises(MissingDatesError) as error:
        to_demand_frame(raw, as_of=AS_OF, gap_policy="refuse")
    text = str(error.value)
    assert "site 'A' is missing 10 days (2024-01-31, 2024-02-01, 2024-02-02 and 7 more)" in text


def test_to_demand_frame_counts_days_across_segments_when_checking_history() -> None:
    raw = runs_frame([("2024-01-01", 40), ("2024-09-01", 40)])  # 80 days, neither run is 56
    frame = to_demand_frame(raw, as_of=AS_OF)
    assert len(frame) == 80 and len(segment_table(frame)) == 2


def test_to_demand_frame_honours_segment_gap_days_when_it_is_changed() -> None:
    raw = runs_frame([("2024-01-01", 30), ("2024-02-10", 30)])  # a 10-day gap
    frame = to_demand_frame(raw, as_of=AS_OF, segment_gap_days=7)
    assert len(frame) == 60 and len(segment_table(frame)) == 2
    with pytest.raises(ValueError, match="segment_gap_days"):
        to_demand_frame(raw, as_of=AS_OF, segment_gap_days=0)


def test_find_gaps_lists_only_short_gaps_when_max_gap_days_is_given() -> None:
    # 2024-01-01 .. 2024-02-29, then 30 days missing (March 1 .. 30), then 60 days
    frame = to_demand_frame(runs_frame([("2024-01-01", 60), ("2024-03-31", 60)]), as_of=AS_OF)
    raw = frame.drop(index=[5, 6]).reset_index(drop=True)
    assert {site: len(days) for site, days in find_gaps(raw, 14).items()} == {"A": 2}
    assert {site: len(days) for site, days in find_gaps(raw).items()} == {"A": 2 + 30}
    assert len(fill_gaps(raw, 14)) == 120 and len(fill_gaps(raw, None)) == 150


def test_load_demand_loads_site_when_it_appears_in_one_of_three_winters(tmp_path: Path) -> None:
    winters = [("2024-01-01", 90), ("2024-06-01", 90), ("2024-12-01", 90)]
    raw = pd.concat(
        [runs_frame(winters, "A"), runs_frame(winters, "B"), runs_frame([winters[1]], "C")]
    )
    path = tmp_path / "winters.csv"
    raw.to_csv(path, index=False)
    frame = load_demand(path, as_of=AS_OF)
    assert frame.groupby("site_id").size().to_dict() == {"A": 270, "B": 270, "C": 90}
    per_site = segment_table(frame).groupby("site_id").size().to_dict()
    assert per_site == {"A": 3, "B": 3, "C": 1}
    assert not frame[IMPUTED].any()


# --- target role ----------------------------------------------------------------------------


def test_resolved_role_is_beds_occupied_when_target_column_names_occupied_beds() -> None:
    assert ColumnMapping(attendances="ga_beds_occupied").resolved_role() == "beds_occupied"
    assert ColumnMapping(attendances="Beds_Occupied_0800").resolved_role() == "beds_occupied"


def test_resolved_role_is_attendances_when_target_column_is_attendances() -> None:
    assert ColumnMapping().resolved_role() == "attendances"
    assert ColumnMapping(attendances="ae_attendances").resolved_role() == "attendances"


def test_resolved_role_follows_explicit_role_when_one_is_given() -> None:
    explicit = ColumnMapping(attendances="ga_beds_occupied", target_role="attendances")
    assert explicit.resolved_role() == "attendances"
    assert ColumnMapping(target_role="beds_occupied").resolved_role() == "beds_occupied"
    with pytest.raises(ValueError, match="target_role"):
        ColumnMapping(target_role="admissions").resolved_role()


def sitrep_like() -> pd.DataFrame:
    """Two winters of one trust with sitrep column names, one empty count, one text column."""
    raw = runs_frame([("2023-12-01", 60), ("2024-12-01", 60)], site="RXX")
    raw = raw.rename(
        columns={"site_id": "trust_code", "attendances": "ga_beds_occupied", "beds": "ga_beds_open"}
    )
    raw["trust_name"] = "Some NHS Trust"
    raw["ambulance_handover_over_60min"] = [str(i % 5) for i in range(len(raw))]
    raw.loc[[10, 20], "ambulance_handover_over_60min"] = ""
    raw["flu_beds_ga"] = ""
    raw.loc[3, "ga_beds_occupied"] = ""
    return raw


def test_to_demand_frame_adds_beds_occupied_when_target_counts_occupied_beds() -> None:
    mapping = ColumnMapping(
        site_id="trust_code", attendances="ga_beds_occupied", extra={"beds": "ga_beds_open"}
    )
    with pytest.warns(MissingCountsWarning):
        frame = to_demand_frame(sitrep_like(), mapping, as_of=AS_OF)
    assert frame.attrs["target_role"] == "beds_occupied"
    assert np.array_equal(frame[BEDS_OCCUPIED].to_numpy(), frame["attendances"].to_numpy())
    assert frame[IMPUTED].sum() == 1 and len(frame) == 120


def test_to_demand_frame_accepts_one_source_for_two_roles_when_target_is_also_mapped() -> None:
    mapping = ColumnMapping(
        site_id="trust_code",
        attendances="ga_beds_occupied",
        extra={"beds": "ga_beds_open", "beds_occupied": "ga_beds_occupied"},
    )
    with pytest.warns(MissingCountsWarning):
        frame = to_demand_frame(sitrep_like(), mapping, as_of=AS_OF)
    assert frame[BEDS_OCCUPIED].notna().all()
    assert np.array_equal(frame[BEDS_OCCUPIED].to_numpy(), frame["attendances"].to_numpy())


def test_to_demand_frame_keeps_role_attendances_when_target_is_attendances() -> None:
    frame = to_demand_frame(runs_frame([("2024-01-01", 70)]), as_of=AS_OF)
    assert frame.attrs["target_role"] == "attendances" and BEDS_OCCUPIED not in frame.columns


def test_to_demand_frame_keeps_numeric_columns_as_nan_when_their_cells_are_empty() -> None:
    mapping = ColumnMapping(
        site_id="trust_code",
        attendances="ga_beds_occupied",
        extra={"beds": "ga_beds_open", "handovers": "ambulance_handover_over_60min"},
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        frame = to_demand_frame(sitrep_like(), mapping, as_of=AS_OF)
    assert int(frame["handovers"].isna().sum()) == 3  # two empty cells and the imputed day
    assert messages(record, IgnoredColumnsWarning) == [
        "ignored columns (not numeric: 'trust_name'; empty: 'flu_beds_ga')"
    ]


# --- data check -----------------------------------------------------------------------------


def test_data_check_reports_segments_when_series_has_a_long_gap(tmp_path: Path) -> None:
    from forecasting.cli import app

    path = tmp_path / "sitrep.csv"
    sitrep_like().to_csv(path, index=False)
    options = ["--site-col", "trust_code", "--target-col", "ga_beds_occupied"]
    result = CliRunner().invoke(
        app, ["data", "check", str(path), *options, "--as-of", AS_OF], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert (
        "segments: 1 site → 2 segments (gaps over 14 days are not imputed); 1 site split, up "
        "to 2 per site; shortest 60 days (site 'RXX'), median 60 days"
    ) in result.stdout
    assert (
        "missing counts: 1 row with an empty 'ga_beds_occupied' count became missing days; "
        "1 day imputed (gaps of at most 14 days)"
    ) in result.stdout
    as_json = CliRunner().invoke(
        app, ["data", "check", str(path), *options, "--as-of", AS_OF, "--format", "json"]
    )
    report = json.loads(as_json.stdout)
    assert report["segments"]["segments"] == 2 and report["empty_counts"] == 1
    assert report["target_role"] == "beds_occupied"


# --- the real sitrep file -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not SITREPS.is_file(), reason=f"sitrep file not found at {SITREPS}")
def test_load_demand_reads_sitreps_when_mapped_as_the_contract_says() -> None:
    mapping = ColumnMapping(
        site_id="trust_code", attendances="ga_beds_occupied", extra={"beds": "ga_beds_open"}
    )
    with pytest.warns(MissingCountsWarning, match=r"2,435 rows with an empty count"):
        frame = load_demand(SITREPS, mapping)
    assert frame.attrs["target_role"] == "beds_occupied"
    assert frame["attendances"].notna().all()
    # no imputed day lies inside a gap of more than 14 days: every segment's imputed days are
    # flanked by observed days at most 14 days apart
    for _, site in frame.groupby("site_id"):
        days = site["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
        imputed = site[IMPUTED].to_numpy()
        runs = np.flatnonzero(np.diff(np.concatenate([[0], imputed.astype(int), [0]])))
        for start, end in zip(runs[::2], runs[1::2], strict=True):
            assert end - start <= 14
            assert start > 0 and end < len(days)  # inside a segment, never at its edge
            assert days[end] - days[start - 1] == end - start + 1  # consecutive days
    assert frame.groupby("site_id")["date"].diff().dt.days.max() > 14  # winter gaps remain
