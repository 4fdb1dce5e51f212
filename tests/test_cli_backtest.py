import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.forecast_frame import FORECAST_COLUMNS

runner = CliRunner()


@pytest.fixture(scope="module")
def demand_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt")
    result = runner.invoke(
        app,
        ["data", "synth", "--sites", "2", "--years", "2", "--out", str(out), "--end", "2024-06-30"],
    )
    assert result.exit_code == 0, result.output
    return out / "demand.csv"


def test_backtest_cli_when_run_writes_contract_csv_with_y(demand_csv, tmp_path):
    out = tmp_path / "bt.csv"
    args = ["backtest", "--data", str(demand_csv), "--out", str(out), "--horizon", "7"]
    args += ["--step", "7", "--windows", "3", "--models", "snaive,ets"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    bt = pd.read_csv(out)
    assert list(bt.columns) == [*FORECAST_COLUMNS, "y"]
    assert len(bt) == 2 * 2 * 3 * 7  # models x sites x windows x horizon
    assert bt["cutoff"].max() == "2024-06-23"
    assert bt["y"].notna().all()
    assert "ets" in result.stdout and "MAE" in result.stdout


def test_backtest_cli_when_model_unknown_exits_2(demand_csv, tmp_path):
    args = [
        "backtest",
        "--data",
        str(demand_csv),
        "--out",
        str(tmp_path / "x.csv"),
        "--models",
        "prophet",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "unknown model 'prophet'" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_backtest_cli_when_too_many_windows_exits_2_and_writes_nothing(demand_csv, tmp_path):
    args = ["backtest", "--data", str(demand_csv), "--out", str(tmp_path / "x.csv")]
    args += ["--windows", "200", "--step", "7", "--models", "snaive"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "fewer --windows" in result.stderr
    assert not (tmp_path / "x.csv").exists()
