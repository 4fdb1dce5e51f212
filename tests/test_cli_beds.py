"""Bed pressure through the CLI on a sitrep-shaped file: train, daily, report, backtest.

The file has the real sitreps' column names, winter-only segments (a gap of 8 months), a trust
that reports only the last winter and empty counts: the way the NHS winter sitreps come.
"""

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app

runner = CliRunner()
MAPPING = ["--site-col", "trust_code", "--target-col", "ga_beds_occupied"]
MAPPING += ["--col", "beds=ga_beds_open"]
MAPPING += ["--col", "ambulance_handover_over_60min=ambulance_handover_over_60min"]
CONTRACT_KEYS = {
    "occupancy",
    "occupancy_q0.05",
    "occupancy_q0.95",
    "p_occupancy_ge_0.92",
    "p_occupancy_ge_0.97",
    "opel_score",
    "parameters",
    "level",
    "advice",
}
LAST = pd.Timestamp("2020-02-29")


def _winter(start: str, days: int, trust: str, beds: int, rng: np.random.Generator) -> pd.DataFrame:
    dates = pd.date_range(start, periods=days, freq="D")
    weekday = np.array([0.97, 0.98, 0.99, 0.99, 0.98, 0.94, 0.93])[dates.dayofweek]
    occupied = np.round(beds * 0.96 * weekday + rng.normal(0, 0.01 * beds, days))
    return pd.DataFrame(
        {
            "trust_code": trust,
            "trust_name": f"{trust} Hospitals NHS Trust",
            "date": dates.strftime("%Y-%m-%d"),
            "ga_beds_open": beds,
            "ga_beds_occupied": occupied.astype(int).astype(str),
            "ambulance_handover_over_60min": rng.poisson(3, days),
        }
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Sitrep-shaped data (2 winters, a late trust, empty counts) and a trained champion."""
    path = tmp_path_factory.mktemp("beds")
    rng = np.random.default_rng(5)
    parts = [
        _winter("2018-12-01", 91, "RAA", 800, rng),
        _winter("2019-12-01", 91, "RAA", 820, rng),
        _winter("2018-12-01", 91, "RBB", 400, rng),
        _winter("2019-12-01", 91, "RBB", 410, rng),
        _winter("2019-12-01", 91, "RCC", 600, rng),  # reports only the last winter
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame.loc[[10, 11, 200], "ga_beds_occupied"] = ""  # the trust did not report those days
    frame.to_csv(path / "sitreps.csv", index=False)
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        out = runner.invoke(
            app,
            ["train", "--data", "sitreps.csv", *MAPPING, "--model", "snaive", "--windows", "2"],
        )
        assert out.exit_code == 0, out.output
        yield path


def test_daily_json_when_target_is_beds_occupied_has_the_pressure_fields(folder):
    out = runner.invoke(
        app,
        ["daily", "--data", "sitreps.csv", *MAPPING, "--format", "json", "--out", "w.json"],
    )
    assert out.exit_code == 0, out.output
    records = json.loads((folder / "w.json").read_text())
    assert len(records) == 21  # 3 trusts x 7 days
    assert {r["site_id"] for r in records} == {"RAA", "RBB", "RCC"}
    assert set(records[0]) >= CONTRACT_KEYS
    first = pd.Timestamp(records[0]["date"])
    assert first == LAST + pd.Timedelta(days=1)
    for r in records:
        assert 1 <= r["level"] <= 4
        assert r["occupancy_q0.05"] <= r["occupancy"] <= r["occupancy_q0.95"]
        assert 0 <= r["p_occupancy_ge_0.97"] <= r["p_occupancy_ge_0.92"] <= 1
        assert set(r["parameters"]) >= {"occupancy", "occupancy_ge_97"}
        assert {"value", "band", "points"} == set(r["parameters"]["occupancy"])
    with sqlite3.connect(folder / "forecasting-warnings.db") as con:
        stored = con.execute("select count(*), max(opel_score) from warnings").fetchone()
    assert stored[0] == 21 and stored[1] is not None


@pytest.mark.parametrize("env", [{"COLUMNS": "80"}, {"COLUMNS": None}])  # terminal, piped
def test_daily_table_when_target_is_beds_occupied_lists_trusts_by_level_in_80_columns(folder, env):
    args = ["daily", "--data", "sitreps.csv", *MAPPING, "--no-history"]
    out = runner.invoke(app, args, env=env)
    assert out.exit_code == 0, out.output
    assert "Trusts by highest level" in out.stdout
    assert all(t in out.stdout for t in ("RAA", "RBB", "RCC"))
    assert max(len(line) for line in out.stdout.splitlines()) <= 80
    assert "…" not in out.stdout
    days = [f"{d:%a %d}" for d in pd.date_range(LAST + pd.Timedelta(days=1), periods=7)]
    assert all(d in out.stdout for d in days)
    assert out.stdout.count("L occ%") == 7


def test_report_when_target_is_beds_occupied_writes_the_national_page(folder):
    out = runner.invoke(app, ["report", "--data", "sitreps.csv", *MAPPING, "--out", "rep"])
    assert out.exit_code == 0, out.output
    page = (folder / "rep" / "index.html").read_text()
    assert "National bed pressure" in page
    assert page.count("RCC") >= 1


def test_daily_error_when_champion_forecasts_attendances_but_data_are_beds(folder, tmp_path):
    frame = pd.read_csv(folder / "sitreps.csv", dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"ga_beds_occupied": "arrivals"})
    frame.to_csv(tmp_path / "att.csv", index=False)
    mapping = ["--site-col", "trust_code", "--target-col", "arrivals", "--col", "beds=ga_beds_open"]
    out = runner.invoke(
        app, ["daily", "--data", str(tmp_path / "att.csv"), *mapping, "--no-history"]
    )
    assert out.exit_code == 2
    assert "forecasts beds_occupied but the data's target is attendances" in out.output


@pytest.mark.parametrize("step", [7, 1])
def test_backtest_when_sitrep_shaped_file_scores_only_days_inside_winters(folder, tmp_path, step):
    cv = tmp_path / "cv.csv"
    args = ["backtest", "--data", "sitreps.csv", *MAPPING[:4], "--col", "beds=ga_beds_open"]
    args += ["--horizon", "7", "--step", str(step), "--windows", "6", "--models", "snaive,ets"]
    out = runner.invoke(app, [*args, "--out", str(cv), "--no-track"])
    assert out.exit_code == 0, out.output
    frame = pd.read_csv(cv, parse_dates=["cutoff", "date"])
    assert frame["y"].notna().all()
    assert frame["date"].dt.month.isin([12, 1, 2, 3]).all()
    assert frame["cutoff"].nunique() == 6
