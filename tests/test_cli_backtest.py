import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.forecast_frame import FORECAST_COLUMNS

runner = CliRunner()


@pytest.fixture(autouse=True)
def _local_store(tmp_path, monkeypatch):
    """Each test's MLflow store is ./mlflow.db in its own tmp folder, never the repo or a server."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def demand_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt")
    result = runner.invoke(
        app,
        ["data", "synth", "--sites", "2", "--years", "2", "--out", str(out), "--end", "2024-06-30"],
    )
    assert result.exit_code == 0, result.output
    return out / "demand.csv"


def test_backtest_cli_when_run_writes_contract_csv_with_y(demand_csv, tmp_path, tmp_path_factory):
    empty_store(tmp_path_factory, tmp_path / "mlflow.db")  # ./mlflow.db, made once per session
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
    assert "MLflow run" in result.stdout
    _check_logged_run(tmp_path, bt)


def _check_logged_run(folder, bt):
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("forecasting").experiment_id])
    assert run.data.tags["forecasting.kind"] == "backtest"
    assert run.data.params["windows"] == "3" and run.data.params["models"] == "snaive,ets"
    assert run.data.params["data.n_sites"] == "2" and run.data.params["data.n_rows"] == "1462"
    assert len(run.data.params["data.sha256"]) == 64
    metrics = run.data.metrics
    snaive = bt[bt["model"] == "snaive"]
    assert metrics["snaive/MAE"] == pytest.approx(
        (snaive["y"] - snaive["mean"]).abs().mean(), abs=1e-3
    )
    h1 = snaive[snaive["horizon"] == 1]
    assert metrics["snaive/h1/MAE"] == pytest.approx((h1["y"] - h1["mean"]).abs().mean(), abs=1e-3)
    site = sorted(bt["site_id"].unique())[0]
    assert {f"ets/site/{site}/pinball", "ets/h7/cov90", "ets/brier_skill"} <= set(metrics)
    files = _artifact_paths(client, run.info.run_id)
    assert {
        "backtest.csv",
        "config.yaml",
        "metrics.csv",
        "metrics_by_horizon.csv",
        "metrics_by_site.csv",
        "plots/coverage_by_horizon.png",
        f"plots/backtest/fan_{site}.png",
    } <= files
    assert not any((folder / "mlruns").glob("*/meta.yaml"))  # no file store left behind


def _artifact_paths(client, run_id, path=None):
    out = set()
    for info in client.list_artifacts(run_id, path):
        out |= _artifact_paths(client, run_id, info.path) if info.is_dir else {info.path}
    return out


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


def test_backtest_cli_when_no_track_writes_no_store(demand_csv, tmp_path):
    args = ["backtest", "--data", str(demand_csv), "--out", str(tmp_path / "bt.csv")]
    args += ["--windows", "2", "--models", "snaive", "--no-track"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "bt.csv").is_file()
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_backtest_cli_when_leftover_mlruns_file_store_exits_2_before_work(demand_csv, tmp_path):
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    args = ["backtest", "--data", str(demand_csv), "--out", str(tmp_path / "bt.csv")]
    args += ["--windows", "2", "--models", "snaive"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "./mlruns holds an old MLflow file store" in result.stderr
    assert "mv mlruns mlruns.old" in result.stderr
    assert not (tmp_path / "bt.csv").exists()


def test_backtest_cli_when_out_is_parquet_writes_parquet_with_the_csv_rows(demand_csv, tmp_path):
    args = ["backtest", "--data", str(demand_csv), "--windows", "2", "--models", "snaive"]
    args += ["--no-track"]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "bt.csv")]).exit_code == 0
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "bt.parquet")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "bt.parquet").read_bytes()[:4] == b"PAR1"
    frame = pd.read_parquet(tmp_path / "bt.parquet")
    text = pd.read_csv(tmp_path / "bt.csv", parse_dates=["cutoff", "date"])
    assert list(frame.columns) == list(text.columns)
    assert len(frame) == len(text) == 2 * 2 * 7
    pd.testing.assert_series_equal(frame["mean"].round(3), text["mean"], check_exact=False)
    pd.testing.assert_series_equal(frame["date"], text["date"], check_dtype=False)
