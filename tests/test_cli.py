import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.config import load_sites

runner = CliRunner()


def _days(n: int, start: str = "2023-01-02") -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start, periods=n, freq="D")]


def _good_csv(path: Path, n: int = 120, sites: tuple[str, ...] = ("a", "b")) -> Path:
    rows = ["site_id,date,attendances"]
    for s in sites:
        rows += [f"{s},{d},{100 + i % 7}" for i, d in enumerate(_days(n))]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    result = runner.invoke(
        app,
        [
            "data",
            "synth",
            "--sites",
            "2",
            "--years",
            "2.1",
            "--out",
            str(out),
            "--end",
            "2024-06-30",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_help_when_called_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.stdout and "data" in result.stdout


def test_version_when_called_prints_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("forecasting 0.")


def test_data_synth_when_run_writes_contract_files(synth_dir):
    demand = pd.read_csv(synth_dir / "demand.csv")
    for col in (
        "site_id",
        "date",
        "attendances",
        "admissions",
        "beds",
        "electives_planned",
        "temperature",
    ):
        assert col in demand.columns
    assert demand["site_id"].nunique() == 2
    assert demand["date"].max() == "2024-06-30"
    sites = load_sites(synth_dir / "sites.yaml")
    assert set(sites) == set(demand["site_id"].unique())
    assert all(s.beds and s.electives_by_weekday for s in sites.values())
    episodes = pd.read_csv(synth_dir / "episodes.csv")
    assert {"episode_id", "patient_id", "readmitted_30d"} <= set(episodes.columns)
    assert not list(synth_dir.glob(".synth-*"))  # no temporary leftovers


def test_data_check_when_file_is_good_reports_sites(synth_dir):
    result = runner.invoke(
        app, ["data", "check", str(synth_dir / "demand.csv"), "--as-of", "2024-07-01"]
    )
    assert result.exit_code == 0, result.output
    assert "2 site(s)" in result.stdout
    assert "No problems found." in result.stdout


def test_data_check_when_json_format_gives_parseable_report(synth_dir):
    result = runner.invoke(
        app,
        [
            "data",
            "check",
            str(synth_dir / "demand.csv"),
            "--format",
            "json",
            "--as-of",
            "2024-07-01",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_sites"] == 2
    assert report["end"] == "2024-06-30"
    assert {"admissions", "beds", "electives_planned", "temperature"} <= set(report["columns"])


def test_data_check_when_single_series_maps_columns(tmp_path):
    p = tmp_path / "bern_like.csv"
    p.write_text(
        "date,hosp_counts,mean_temp\n"
        + "\n".join(f"{d},{100 + i % 7}.0,{i % 20}.5" for i, d in enumerate(_days(100)))
    )
    result = runner.invoke(
        app,
        [
            "data",
            "check",
            str(p),
            "--target-col",
            "hosp_counts",
            "--col",
            "temperature=mean_temp",
            "--site-name",
            "bern",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bern" in result.stdout
    assert "temperature" in result.stdout


def test_data_check_when_gaps_filled_reports_problem(tmp_path):
    p = _good_csv(tmp_path / "gaps.csv", n=120, sites=("a",))
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:50] + lines[53:]) + "\n")  # drop 3 days
    result = runner.invoke(app, ["data", "check", str(p)])
    assert result.exit_code == 0, result.output
    assert "2 problem(s)" in result.stdout  # the gap, and less than 2 years of history
    assert "missing 3 days" in result.stdout


def _broken_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """Each case: CLI args and a fragment the one-line error must contain."""
    cases: dict[str, tuple[list[str], str]] = {}
    cases["missing file"] = ([str(tmp / "nope.csv")], "nope.csv")

    empty = tmp / "empty.csv"
    empty.write_text("")
    cases["empty file"] = ([str(empty)], "empty.csv")

    latin = tmp / "latin.csv"
    latin.write_bytes("site_id,date,attendances\nZürich,2023-01-02,5\n".encode("latin-1"))
    cases["not utf-8"] = ([str(latin)], "UTF-8")

    nocol = tmp / "nocol.csv"
    nocol.write_text("site_id,day,attendances\na,2023-01-02,5\n")
    cases["missing column"] = ([str(nocol)], "day")

    def edit(name: str, row: int, new: str, n: int = 120) -> Path:
        p = _good_csv(tmp / name, n=n)
        lines = p.read_text().splitlines()
        lines[row] = new
        p.write_text("\n".join(lines) + "\n")
        return p

    cases["bad date"] = ([str(edit("baddate.csv", 5, "a,2023-02-30,100"))], "2023-02-30")
    cases["duplicate"] = ([str(edit("dup.csv", 5, "a,2023-01-02,100"))], "rows 1 and 5")
    cases["negative"] = ([str(edit("neg.csv", 7, "a,2023-01-08,-4"))], "-4")
    cases["non-numeric"] = ([str(edit("text.csv", 7, "a,2023-01-08,lots"))], "lots")
    cases["absurd"] = ([str(edit("absurd.csv", 7, "a,2023-01-08,9999999"))], "9999999")
    cases["future"] = (
        [str(_good_csv(tmp / "future.csv")), "--as-of", "2023-03-01"],
        "--as-of",
    )
    cases["short history"] = ([str(_good_csv(tmp / "short.csv", n=20))], "history")
    gaps = _good_csv(tmp / "gaps.csv", n=120, sites=("a",))
    lines = gaps.read_text().splitlines()
    gaps.write_text("\n".join(lines[:50] + lines[53:]) + "\n")
    cases["gaps refused"] = ([str(gaps), "--gaps", "refuse"], "missing")
    badcfg = tmp / "bad.yaml"
    badcfg.write_text("horizn: 7\n")
    cases["bad config"] = ([str(_good_csv(tmp / "ok.csv")), "--config", str(badcfg)], "horizn")
    cases["bad --col"] = ([str(_good_csv(tmp / "ok2.csv")), "--col", "temperature"], "NAME=COLUMN")
    return cases


CASE_NAMES = [
    "missing file",
    "empty file",
    "not utf-8",
    "missing column",
    "bad date",
    "duplicate",
    "negative",
    "non-numeric",
    "absurd",
    "future",
    "short history",
    "gaps refused",
    "bad config",
    "bad --col",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_data_check_when_input_broken_exits_2_with_one_line(tmp_path, case):
    args, fragment = _broken_cases(tmp_path)[case]
    result = runner.invoke(app, ["data", "check", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert fragment.lower() in errors[0].lower()
    assert "Traceback" not in result.output
    assert result.stdout == ""


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "forecasting", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_subprocess_when_file_missing_exits_2_without_traceback(tmp_path):
    proc = _run(["data", "check", "missing.csv"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: missing.csv")
    assert "Traceback" not in proc.stderr


def test_demo_subprocess_when_run_in_empty_folder_succeeds(tmp_path):
    proc = _run(["demo", "--years", "1", "--sites", "2"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "readmission rate" in proc.stdout
    assert (tmp_path / "forecasting-demo" / "demand.csv").is_file()
    # everything the demo writes, its MLflow store included, stays in its folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecasting-demo"]
    assert (tmp_path / "forecasting-demo" / "mlflow.db").is_file()
    assert (tmp_path / "forecasting-demo" / "mlruns").is_dir()
    assert "cd forecasting-demo && forecasting daily --data demand.csv" in proc.stdout
    # the morning command the demo suggests finds the demo's store and keeps its files there
    daily = _run(["daily", "--data", "demand.csv"], tmp_path / "forecasting-demo")
    assert daily.returncode == 0, daily.stderr
    assert "models:/ed-demand@champion (version 1)" in daily.stdout
    assert (tmp_path / "forecasting-demo" / "forecasting-warnings.db").is_file()
    assert (tmp_path / "forecasting-demo" / ".forecasting" / "champion").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecasting-demo"]
