"""`forecasting daily`, `report` and `warnings evaluate` on synthetic data after `train`.

One module-scoped working folder: synthetic data, a local MLflow store, a trained champion
(seasonal naive, so training is quick). Bad inputs each give one line and exit code 2.
"""

import json
import sqlite3

import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.config import load_sites
from forecasting.data.export import write_synth
from forecasting.data.synth import synth_demand

runner = CliRunner()
END = pd.Timestamp("2024-06-30")
RECORD_KEYS = {
    "site_id",
    "date",
    "level",
    "attendances_mean",
    "attendances_q0.05",
    "attendances_q0.95",
    "surge_threshold",
    "p_surge",
    "occupancy",
    "electives_to_review",
    "reasons",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A working folder with synthetic data and a trained champion (snaive)."""
    path = tmp_path_factory.mktemp("daily")
    write_synth(synth_demand(n_sites=2, years=1.5, end=END.date(), seed=3), path / "data")
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        out = runner.invoke(
            app, ["train", "--data", "data/demand.csv", "--model", "snaive", "--windows", "2"]
        )
        assert out.exit_code == 0, out.output
        yield path


def _daily(*args: str):
    return runner.invoke(app, ["daily", "--data", "data/demand.csv", *args])


def test_daily_json_when_champion_trained_gives_seven_days_per_site_with_contract_fields(folder):
    out = _daily("--format", "json", "--out", "w.json", "--no-history")
    assert out.exit_code == 0, out.output
    records = json.loads((folder / "w.json").read_text())
    assert len(records) == 14
    assert set(records[0]) >= RECORD_KEYS
    assert {r["date"] for r in records} == {
        f"{d:%Y-%m-%d}" for d in pd.date_range(END + pd.Timedelta(days=1), periods=7)
    }
    assert all(1 <= r["level"] <= 4 and r["reasons"] for r in records)
    assert all(isinstance(s, str) for r in records for s in r["reasons"])


def test_daily_when_sites_run_on_two_workers_writes_the_serial_warnings(folder):
    serial = _daily("--format", "csv", "--out", "serial.csv", "--no-history")
    assert serial.exit_code == 0, serial.output
    split = _daily("--format", "csv", "--out", "split.csv", "--no-history", "--workers", "2")
    assert split.exit_code == 0, split.output
    assert "Running tasks on processes, 2 worker(s)." in split.output
    assert (folder / "split.csv").read_text() == (folder / "serial.csv").read_text()


def test_daily_when_run_twice_appends_two_runs_to_the_history(folder):
    for _ in range(2):
        assert _daily("--as-of", "2024-06-20", "--history", "h.db").exit_code == 0
    with sqlite3.connect(folder / "h.db") as con:
        runs = con.execute("select count(distinct run_id), count(*) from warnings").fetchone()
    assert runs == (2, 28)


def test_daily_csv_when_as_of_given_forecasts_the_week_after_it(folder):
    out = _daily("--format", "csv", "--as-of", "2024-06-01", "--no-history")
    assert out.exit_code == 0, out.output
    lines = [x for x in out.stdout.splitlines() if x.startswith("RA")]
    dates = sorted({x.split(",")[2] for x in lines})
    assert dates == [f"2024-06-0{d}" for d in range(2, 9)]


def _labels(folder) -> dict[str, str]:
    """Each site's "id (name)" from the sites.yaml beside the data."""
    return {sid: f"{sid} ({s.name})" for sid, s in load_sites(folder / "data/sites.yaml").items()}


def test_daily_when_fail_on_level_reached_exits_1_naming_sites_and_days(folder):
    out = _daily("--no-history", "--fail-on-level", "1", "--as-of", "2024-06-20")
    assert out.exit_code == 1
    message = out.stderr.strip().splitlines()[-1]
    # level 1 is reached by every day: the top level's days are named, the others counted
    assert message.startswith("Level ")
    assert message.endswith("; exiting 1 because --fail-on-level 1")
    assert all(label in message for label in _labels(folder).values())
    assert "2024-06-2" in message


def _table_checks(text: str, folder) -> None:
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= 80
    assert "…" not in text
    days = pd.date_range("2024-06-21", periods=7)
    header = next(x for x in lines if x.startswith("site"))
    assert header.split()[1:] == [p for d in days for p in f"{d:%a %d}".split()]
    flat = " ".join(text.split())
    assert all(f"{label} level" in flat for label in _labels(folder).values())
    assert "surge chance" in text and "occupancy" in text
    assert "defer " not in flat.replace("for deferral", "")


def test_daily_table_when_terminal_is_80_columns_fits_all_seven_days(folder):
    out = runner.invoke(
        app,
        ["daily", "--data", "data/demand.csv", "--as-of", "2024-06-20", "--no-history"],
        env={"COLUMNS": "80"},
    )
    assert out.exit_code == 0, out.output
    _table_checks(out.stdout, folder)


def test_daily_table_when_piped_without_columns_is_laid_out_for_80(folder, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = _daily("--as-of", "2024-06-20", "--no-history")  # CliRunner output is no terminal
    assert out.exit_code == 0, out.output
    _table_checks(out.stdout, folder)


def test_warnings_evaluate_when_history_covers_observed_days_prints_scores(folder):
    assert _daily("--as-of", "2024-06-10", "--history", "e.db").exit_code == 0
    out = runner.invoke(
        app, ["warnings", "evaluate", "--data", "data/demand.csv", "--history", "e.db"]
    )
    assert out.exit_code == 0, out.output
    assert "precision" in out.stdout and "all" in out.stdout


def test_report_when_run_writes_a_picture_per_site_and_a_page(folder):
    out = runner.invoke(app, ["report", "--data", "data/demand.csv", "--out", "rep"])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (folder / "rep").iterdir()) == [
        "RAA.svg",
        "RAB.svg",
        "index.html",
    ]


def _one_error_line(out) -> str:
    assert out.exit_code == 2, out.output
    lines = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in out.output
    return lines[0]


def test_daily_when_as_of_beyond_data_exits_2_naming_the_last_day(folder):
    line = _one_error_line(_daily("--as-of", "2024-07-05", "--no-history"))
    assert "2024-07-05" in line and "2024-06-30" in line


def test_daily_when_config_names_unknown_site_exits_2_naming_it(folder):
    (folder / "s.yaml").write_text("sites:\n  ZZZ:\n    beds: 100\n")
    line = _one_error_line(_daily("--sites", "s.yaml", "--no-history"))
    assert "ZZZ" in line and "RAA" in line


def test_daily_when_no_beds_anywhere_exits_2_saying_how_to_fix(folder):
    demand = pd.read_csv(folder / "data" / "demand.csv").drop(columns="beds")
    (folder / "nobeds").mkdir()
    demand.to_csv(folder / "nobeds" / "demand.csv", index=False)
    out = runner.invoke(app, ["daily", "--data", "nobeds/demand.csv", "--no-history"])
    line = _one_error_line(out)
    assert "beds" in line and "sites." in line


def test_daily_when_data_empty_exits_2(folder):
    (folder / "empty.csv").write_text("site_id,date,attendances\n")
    line = _one_error_line(runner.invoke(app, ["daily", "--data", "empty.csv", "--no-history"]))
    assert "empty.csv" in line


def test_daily_when_no_champion_in_store_exits_2_saying_train_first(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    write_synth(synth_demand(n_sites=1, years=1, end=END.date(), seed=1), tmp_path / "data")
    line = _one_error_line(_daily("--no-history"))
    assert "forecasting train" in line
