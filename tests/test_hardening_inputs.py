"""Bad input on the command line: one ``error:`` line on stderr, exit code 2, no traceback.

Every case runs the real entry point in a subprocess (``python -m forecasting``), so Click usage
errors, import-time failures and tracebacks are seen exactly as a user sees them.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from forecasting.data.export import write_synth
from forecasting.data.synth import synth_demand

END = "2024-06-30"
AS_OF = "2024-07-01"


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m forecasting`` with a wide terminal."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "forecasting", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with synthetic data (4 sites, 3 years) and bad files derived from it."""
    root = tmp_path_factory.mktemp("hardening")
    data = synth_demand(n_sites=4, years=3, end=pd.Timestamp(END).date(), seed=0)
    write_synth(data, root / "data")
    demand = pd.read_csv(root / "data" / "demand.csv", dtype=str)
    for name, make in BAD_FILES.items():
        make(demand, root / name)
    return root


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def _monthly(demand: pd.DataFrame, path: Path) -> None:
    _csv(demand[demand["date"].str.endswith("-01")], path)


def _weekly(demand: pd.DataFrame, path: Path) -> None:
    days = pd.to_datetime(demand["date"])
    _csv(demand[days.dt.dayofweek == 0], path)


def _hourly(demand: pd.DataFrame, path: Path, *, stamps: bool = True) -> None:
    one = demand[demand["site_id"] == demand["site_id"].iloc[0]].head(90)
    rows = ["date,arrivals,temp"]
    for day in one["date"]:
        for hour in range(24):
            when = f"{day} {hour:02d}:00:00" if stamps else day
            rows.append(f"{when},{hour % 5},{10 + hour / 2}")
    path.write_text("\n".join(rows) + "\n")


def _hourly_days(demand: pd.DataFrame, path: Path) -> None:
    _hourly(demand, path, stamps=False)


def _edit(column: str, value: str, row: int = 40) -> Callable[[pd.DataFrame, Path], None]:
    def make(demand: pd.DataFrame, path: Path) -> None:
        bad = demand.copy()
        bad.loc[row, column] = value
        _csv(bad, path)

    return make


def _empty_target(demand: pd.DataFrame, path: Path) -> None:
    _csv(demand.assign(attendances=""), path)


def _header_only(demand: pd.DataFrame, path: Path) -> None:
    path.write_text(",".join(demand.columns) + "\n")


def _empty(demand: pd.DataFrame, path: Path) -> None:
    path.write_bytes(b"")


def _duplicate(demand: pd.DataFrame, path: Path) -> None:
    _csv(pd.concat([demand, demand.iloc[[10]]], ignore_index=True), path)


def _future(demand: pd.DataFrame, path: Path) -> None:
    extra = demand.iloc[[-1]].assign(date="2030-01-01")
    _csv(pd.concat([demand, extra], ignore_index=True), path)


def _latin1(demand: pd.DataFrame, path: Path) -> None:
    path.write_bytes(demand.assign(site_id="Zürich").to_csv(index=False).encode("latin-1"))


def _xlsx(demand: pd.DataFrame, path: Path) -> None:
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")


def _xls(demand: pd.DataFrame, path: Path) -> None:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def _parquet(demand: pd.DataFrame, path: Path) -> None:
    demand.to_parquet(path)


def _bom_semicolon(demand: pd.DataFrame, path: Path) -> None:
    path.write_bytes(codecs.BOM_UTF8 + demand.to_csv(index=False, sep=";").encode())


def _bad_holidays_config(demand: pd.DataFrame, path: Path) -> None:
    path.write_text("holidays:\n  country: GB\n  subdiv: XX\n")


def _bad_country_config(demand: pd.DataFrame, path: Path) -> None:
    path.write_text("holidays:\n  country: XY\n  subdiv: null\n")


BAD_FILES: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    "monthly.csv": _monthly,
    "weekly.csv": _weekly,
    "hourly.csv": _hourly,
    "hourly_days.csv": _hourly_days,
    "empty_target.csv": _empty_target,
    "header.csv": _header_only,
    "empty.csv": _empty,
    "duplicate.csv": _duplicate,
    "future.csv": _future,
    "negative.csv": _edit("attendances", "-3"),
    "inf.csv": _edit("attendances", "inf"),
    "latin1.csv": _latin1,
    "book.csv": _xlsx,
    "old_book.csv": _xls,
    "table.csv": _parquet,
    "bom_semicolon.csv": _bom_semicolon,
    "holidays_subdiv.yaml": _bad_holidays_config,
    "holidays_country.yaml": _bad_country_config,
}

BACKTEST = ["backtest", "--out", "out.csv", "--no-track", "--windows", "1"]

#: Each case: command-line arguments (run in the fixture folder) and fragments the one error
#: line must contain.
CASES: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "check monthly": (["data", "check", "monthly.csv"], ("monthly.csv", "'date'", "monthly")),
    "check weekly": (["data", "check", "weekly.csv"], ("weekly", "median gap 7 days")),
    "check hourly": (
        ["data", "check", "hourly.csv", "--target-col", "arrivals"],
        ("row 2", "'date'", "--resample daily"),
    ),
    "check hourly rows without times": (
        ["data", "check", "hourly_days.csv", "--target-col", "arrivals"],
        ("appears more than once", "--resample daily"),
    ),
    "check all-empty target": (
        ["data", "check", "empty_target.csv"],
        ("'attendances'", "empty in every row", "--target-col"),
    ),
    "check header only": (["data", "check", "header.csv"], ("header.csv", "no rows")),
    "check empty file": (["data", "check", "empty.csv"], ("empty.csv", "empty")),
    "check duplicate": (
        ["data", "check", "duplicate.csv"],
        ("row 4385", "appears more than once", "one row per site and day"),
    ),
    "check future": (
        ["data", "check", "future.csv", "--as-of", AS_OF],
        ("2030-01-01", "--as-of"),
    ),
    "check negative": (["data", "check", "negative.csv"], ("row 41", "'attendances'", "-3")),
    "check inf": (
        ["data", "check", "inf.csv"],
        ("row 41", "not a finite number", "remove the row"),
    ),
    "check not utf-8": (["data", "check", "latin1.csv"], ("latin1.csv", "UTF-8")),
    "check xlsx renamed": (["data", "check", "book.csv"], ("book.csv", "Excel", "CSV UTF-8")),
    "check xls renamed": (["data", "check", "old_book.csv"], (".xls", "CSV UTF-8")),
    "check parquet renamed": (["data", "check", "table.csv"], ("Parquet", ".parquet")),
    "check directory": (["data", "check", "data"], ("data", "directory", "demand.csv")),
    "check bad resample": (
        ["data", "check", "data/demand.csv", "--resample", "weekly"],
        ("--resample", "weekly", "daily"),
    ),
    "check bad horizon type": (
        ["data", "check", "data/demand.csv", "--horizon", "x"],
        ("--horizon",),
    ),
    "check bad format": (["data", "check", "data/demand.csv", "--format", "xml"], ("--format",)),
    "check config subdivision": (
        ["data", "check", "data/demand.csv", "--config", "holidays_subdiv.yaml"],
        ("holidays_subdiv.yaml", "'XX'", "ENG, NIR, SCT, WLS"),
    ),
    "check config country": (
        ["data", "check", "data/demand.csv", "--config", "holidays_country.yaml"],
        ("'XY'", "close matches", "forecasting data holidays"),
    ),
    "backtest horizon 0": (
        [*BACKTEST, "--data", "data/demand.csv", "--horizon", "0"],
        ("forecasting backtest", "--horizon", "--help"),
    ),
    "backtest missing --data": (BACKTEST, ("Missing option", "--data")),
    "backtest unknown option": (
        [*BACKTEST, "--data", "data/demand.csv", "--horizn", "7"],
        ("No such option", "--horizn"),
    ),
    "backtest bad country": (
        [*BACKTEST, "--data", "data/demand.csv", "--holidays", "XX-YY"],
        ("--holidays 'XX-YY'", "close matches", "forecasting data holidays"),
    ),
    "backtest bad subdivision": (
        [*BACKTEST, "--data", "data/demand.csv", "--holidays", "GB-XX"],
        ("'XX'", "ENG, NIR, SCT, WLS"),
    ),
    "backtest monthly": ([*BACKTEST, "--data", "monthly.csv"], ("monthly", "daily totals")),
    "backtest hourly": (
        [*BACKTEST, "--data", "hourly.csv", "--target-col", "arrivals"],
        ("--resample daily",),
    ),
    "backtest directory": ([*BACKTEST, "--data", "data"], ("directory",)),
    "train bad subdivision": (
        ["train", "--data", "data/demand.csv", "--holidays", "CH-XX"],
        ("'XX'", "BE", "ZH"),
    ),
    "train hourly": (
        ["train", "--data", "hourly.csv", "--target-col", "arrivals"],
        ("--resample daily",),
    ),
    "daily hourly": (
        ["daily", "--data", "hourly.csv", "--target-col", "arrivals", "--no-history"],
        ("--resample daily",),
    ),
    "unknown command": (["forcast"], ("No such command", "forcast")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_exits_2_with_one_error_line_when_input_is_bad(folder: Path, case: str) -> None:
    args, fragments = CASES[case]
    proc = run_cli(args, folder)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "leave the cell empty" not in lines[0]
    assert not (folder / "out.csv").exists()


def test_data_check_loads_file_when_it_has_a_bom_and_semicolons(folder: Path) -> None:
    proc = run_cli(["data", "check", "bom_semicolon.csv", "--format", "json"], folder)
    assert proc.returncode == 0, proc.stderr
    assert '"n_sites": 4' in proc.stdout


def test_data_check_aggregates_hours_when_resample_daily_is_given(folder: Path) -> None:
    args = ["data", "check", "hourly.csv", "--target-col", "arrivals", "--resample", "daily"]
    proc = run_cli([*args, "--site-name", "ed", "--format", "json"], folder)
    assert proc.returncode == 0, proc.stderr
    assert '"n_rows": 90' in proc.stdout
    assert "Traceback" not in proc.stderr


def test_cli_keeps_help_version_and_no_args_when_usage_errors_are_one_line(folder: Path) -> None:
    help_ = run_cli(["backtest", "--help"], folder)
    assert help_.returncode == 0 and "--horizon" in help_.stdout and "--resample" in help_.stdout
    version = run_cli(["--version"], folder)
    assert version.returncode == 0 and version.stdout.startswith("forecasting ")
    bare = run_cli([], folder)
    assert bare.returncode == 2 and "Usage" in bare.stdout and "error:" not in bare.stderr
