"""Load the real daily files in ../shared/data (skipped on machines without them)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from forecasting.data.load import load_demand
from forecasting.data.schema import IMPUTED, ColumnMapping

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA}"),
]


def test_load_demand_reads_bern_when_file_is_one_series_with_temperature() -> None:
    mapping = ColumnMapping(
        site_id=None, date="date", attendances="hosp_counts", extra={"temperature": "mean_temp"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = load_demand(DATA / "bern_insel_ed_daily" / "insel_ed_visits_daily.csv", mapping)
    assert frame.shape[0] == 3287
    assert frame["site_id"].nunique() == 1
    assert {"temperature", "min_temp", "max_temp"} <= set(frame.columns)
    assert frame["date"].min().strftime("%Y-%m-%d") == "2014-01-01"
    assert frame["date"].max().strftime("%Y-%m-%d") == "2022-12-31"
    assert not frame[IMPUTED].any() and frame["attendances"].notna().all()


def test_load_demand_reads_iowa_when_file_is_daily_arrivals() -> None:
    mapping = ColumnMapping(attendances="arrivals", extra={"temperature": "temp_mean"})
    frame = load_demand(DATA / "uihc_ed_hourly" / "uihc_ed_arrivals_daily.csv", mapping)
    assert frame.shape[0] == 1735
    assert frame["site_id"].unique().tolist() == ["uihc_ed_arrivals_daily"]
    assert frame["temperature"].notna().all()


def test_load_demand_reads_wales_when_file_has_one_series_per_health_board() -> None:
    path = DATA / "wales_ambulance_hierarchical" / "wales_ambulance_incidents_daily_by_lhb.csv"
    mapping = ColumnMapping(site_id="lhb_code", attendances="incidents")
    frame = load_demand(path, mapping)
    sizes = frame.groupby("site_id").size()
    assert len(sizes) == 7
    assert (sizes == 1400).all()
    assert frame.shape[0] == 7 * 1400


REAL_CHECKS = {
    "bern": (
        "bern_insel_ed_daily/insel_ed_visits_daily.csv",
        ["--target-col", "hosp_counts", "--col", "temperature=mean_temp", "--site-name", "bern"],
        "1 site(s), 3,287 rows",
    ),
    "iowa": (
        "uihc_ed_hourly/uihc_ed_arrivals_daily.csv",
        ["--target-col", "arrivals", "--col", "temperature=temp_mean", "--site-name", "iowa"],
        "1 site(s), 1,735 rows",
    ),
    "wales": (
        "wales_ambulance_hierarchical/wales_ambulance_incidents_daily_by_lhb.csv",
        ["--site-col", "lhb_code", "--target-col", "incidents"],
        "7 site(s), 9,800 rows",
    ),
    "wales_bottom_level": (
        "wales_ambulance_hierarchical/wales_ambulance_incidents_hierarchical_daily.csv.gz",
        ["--site-col", "lhb_code,category,nature_of_incident", "--target-col", "incidents"],
        "691 site(s), 967,400 rows",
    ),
}


@pytest.mark.parametrize("name", REAL_CHECKS)
def test_data_check_cli_when_real_daily_file_mapped_reports_no_problems(name: str) -> None:
    from typer.testing import CliRunner

    from forecasting.cli import app

    rel, options, expected = REAL_CHECKS[name]
    result = CliRunner().invoke(
        app, ["data", "check", str(DATA / rel), *options], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert expected in result.stdout
    assert "No problems found." in result.stdout
