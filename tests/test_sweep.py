"""Sweeps: the grid expands to named configurations, runs on any executor, logs child runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.config import config_from_dict
from forecasting.errors import ConfigError
from forecasting.executors import executor_for
from forecasting.sweep import (
    MAX_CONFIGURATIONS,
    load_sweep,
    run_sweep,
    sweep_from_dict,
)
from forecasting.sweep.models import build_models
from forecasting.tracking.store import using_store
from forecasting.tracking.sweep import log_sweep

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
FAST_LGB = {"n_estimators": 15, "calibration_days": 28, "min_child_samples": 10}
SPEC = {
    "backtest": {"horizon": 7, "step": 7, "windows": 3, "refit_every": 2},
    "configurations": [{"model": "snaive"}, {"model": "ets"}],
    "grid": {"lightgbm": {**FAST_LGB, "learning_rate": [0.05, 0.2]}},
}
NAMES = [
    "snaive",
    "ets",
    "lightgbm[n_estimators=15,calibration_days=28,min_child_samples=10,learning_rate=0.05]",
    "lightgbm[n_estimators=15,calibration_days=28,min_child_samples=10,learning_rate=0.2]",
]


@pytest.fixture(autouse=True)
def _local_store(tmp_path, monkeypatch):
    """MLflow's default store is ./mlflow.db in each test's tmp folder, never the repo."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


def _frame(n_sites: int = 2, n_days: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    weekly = np.where(dates.dayofweek == 0, 1.25, np.where(dates.dayofweek >= 5, 0.85, 1.0))
    parts = [
        pd.DataFrame(
            {
                "site_id": f"S{i}",
                "date": dates,
                "attendances": rng.poisson((60 + 25 * i) * weekly).astype(float),
            }
        )
        for i in range(n_sites)
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def serial(frame):
    return run_sweep(frame, sweep_from_dict(SPEC, "sweep.yaml", "text"))


def test_sweep_spec_when_grid_and_list_given_expands_to_named_configurations():
    spec = sweep_from_dict(
        {
            "configurations": [{"model": "ets"}, {"model": "lightgbm", "name": "lgb-a", "seed": 3}],
            "grid": {"lightgbm": {"learning_rate": [0.03, 0.1], "num_leaves": [15, 31]}},
        }
    )
    assert [c.name for c in spec.configurations] == [
        "ets",
        "lgb-a",
        "lightgbm[learning_rate=0.03,num_leaves=15]",
        "lightgbm[learning_rate=0.03,num_leaves=31]",
        "lightgbm[learning_rate=0.1,num_leaves=15]",
        "lightgbm[learning_rate=0.1,num_leaves=31]",
    ]
    assert spec.configurations[3].overrides == {"learning_rate": 0.03, "num_leaves": 31}
    assert (spec.metric, spec.backtest.windows, spec.backtest.refit_every) == ("pinball", 8, 4)


def test_build_models_when_overrides_given_sets_constructor_and_lightgbm_params():
    spec = sweep_from_dict(
        {"grid": {"lightgbm": {"learning_rate": 0.1, "calibration_days": 28}, "ets": {}}}
    )
    models = build_models(spec)
    lgb = models["lightgbm[learning_rate=0.1,calibration_days=28]"]
    assert lgb.params == {"learning_rate": 0.1}
    assert lgb.calibration_days == 28
    assert models["ets"].get_params()["calendar"] is True  # the registry's defaults are kept


def test_build_models_when_parameter_unknown_raises_config_error_naming_key():
    spec = sweep_from_dict({"grid": {"lightgbm": {"learning_rat": [0.1]}}}, "grid.yaml")
    with pytest.raises(ConfigError) as info:
        build_models(spec)
    message = str(info.value)
    assert message.startswith(
        "grid.yaml: configuration 'lightgbm[learning_rat=0.1]': unknown parameter "
        "'learning_rat' for model 'lightgbm'. Fix: use one of "
    )
    assert "calibration_days" in message and "learning_rate" in message
    assert "max_horizon" not in message  # set by the sweep, not by the file


def test_build_models_when_value_has_wrong_type_raises_config_error():
    spec = sweep_from_dict({"grid": {"lightgbm": {"num_leaves": ["many"]}}}, "grid.yaml")
    with pytest.raises(
        ConfigError, match=r"key 'num_leaves': expected a whole number \(got 'many'"
    ):
        build_models(spec)


def test_build_models_when_model_unknown_raises_config_error():
    spec = sweep_from_dict({"configurations": [{"model": "prophet"}]}, "grid.yaml")
    with pytest.raises(ConfigError, match=r"unknown model 'prophet'. Fix: choose from snaive, ets"):
        build_models(spec)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"grids": {}}, "key 'grids': unknown key (allowed: backtest, metric"),
        ({"metric": "accuracy", "grid": {"ets": {}}}, "key 'metric': unknown metric 'accuracy'"),
        ({"backtest": {"horizon": 0}}, "key 'backtest.horizon': Input should be greater"),
        ({}, "no configurations. Fix:"),
        ({"configurations": [{"name": "x"}]}, "configurations[1]: key 'model' is missing"),
        ({"configurations": [{"model": "ets"}, {"model": "ets"}]}, "'ets' appears twice"),
        ({"grid": {"ets": {"fourier_k": []}}}, "grid.ets.fourier_k: empty list"),
        ({"grid": {"ets": {"fourier_k": [[1, 2]]}}}, "grid.ets.fourier_k: expected a number"),
    ],
)
def test_sweep_spec_when_file_invalid_raises_config_error(data, expected):
    with pytest.raises(ConfigError) as info:
        sweep_from_dict(data, "grid.yaml")
    assert str(info.value).startswith("grid.yaml: ")
    assert expected in str(info.value)


def test_sweep_spec_when_too_many_configurations_raises_config_error():
    values = list(range(1, 24))  # 23 x 23 = 529 > 500
    with pytest.raises(ConfigError, match=f"529 configurations, more than {MAX_CONFIGURATIONS}"):
        sweep_from_dict({"grid": {"lightgbm": {"num_leaves": values, "max_bin": values}}})


def test_load_sweep_when_example_config_read_is_valid():
    spec = load_sweep(ROOT / "configs" / "sweep-example.yaml")
    assert len(spec.configurations) == 7
    assert "lightgbm[learning_rate=0.1,num_leaves=15]" in build_models(spec)
    assert spec.text.startswith("# A sweep for")


def test_run_sweep_when_run_ranks_configurations_by_pinball(serial, frame):
    table = serial.table
    assert sorted(table["config"]) == sorted(NAMES)
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table["pinball"].is_monotonic_increasing
    assert serial.best == table["config"].iloc[0]
    assert list(table["best"]) == [True, False, False, False]
    assert list(serial.forecasts["model"].unique()) == NAMES  # each configuration's own rows
    assert len(serial.forecasts) == 4 * 2 * 3 * 7  # configurations x sites x windows x horizon
    naive = serial.forecasts[serial.forecasts["model"] == "snaive"]
    row = table.set_index("config").loc["snaive"]
    assert row["MAE"] == pytest.approx((naive["y"] - naive["mean"]).abs().mean())
    assert row["learning_rate"] is None
    lgb = table.set_index("config").loc[NAMES[3]]
    assert (lgb["learning_rate"], lgb["n_estimators"]) == (0.2, 15)


def test_run_sweep_when_metric_higher_is_better_ranks_descending(serial, frame):
    from forecasting.evaluate.summary import evaluate
    from forecasting.sweep.run import comparison_table

    overall = evaluate(serial.forecasts, frame)
    table = comparison_table(overall, serial.spec, "brier_skill")
    assert table["brier_skill"].is_monotonic_decreasing


def test_run_sweep_when_metric_unknown_raises_config_error(frame):
    spec = sweep_from_dict({"configurations": [{"model": "snaive"}]})
    with pytest.raises(ConfigError, match="unknown metric 'accuracy'; choose from pinball, MAE"):
        run_sweep(frame, spec, metric="accuracy")


def test_run_sweep_when_two_workers_equals_serial(serial, frame):
    with executor_for(workers=2) as executor:
        parallel = run_sweep(frame, sweep_from_dict(SPEC, "sweep.yaml"), executor)
    pd.testing.assert_frame_equal(parallel.forecasts, serial.forecasts)
    pd.testing.assert_frame_equal(parallel.table, serial.table)
    assert parallel.best == serial.best


def test_log_sweep_when_store_given_writes_child_runs(serial, frame, tmp_path, tmp_path_factory):
    import mlflow

    uri = empty_store(tmp_path_factory, tmp_path / "store" / "mlflow.db")
    cfg = config_from_dict({"mlflow": {"tracking_uri": uri}})
    run = log_sweep(serial, frame, cfg, {"data_file": "demand.csv"})
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("forecasting").experiment_id
    with using_store(cfg):
        children = mlflow.search_runs(
            experiment_ids=[experiment],
            filter_string=f"tags.mlflow.parentRunId = '{run.run_id}'",
        )
    assert sorted(children["tags.sweep.config"]) == sorted(NAMES)
    assert sorted(children["tags.mlflow.runName"]) == sorted(NAMES)
    assert children["metrics.pinball"].notna().all()
    assert {"metrics.h1/pinball", "metrics.h7/MAE"} <= set(children.columns)
    assert set(run.children.values()) == set(children["run_id"])
    parent = client.get_run(run.run_id).data
    lowest = children.sort_values("metrics.pinball").iloc[0]
    assert parent.tags["sweep.best"] == lowest["tags.sweep.config"] == serial.best
    assert parent.metrics["best_pinball"] == pytest.approx(lowest["metrics.pinball"])
    assert parent.tags["forecasting.kind"] == "sweep"
    assert parent.params["configurations"] == "4" and parent.params["data_file"] == "demand.csv"
    lgb = children[children["tags.sweep.config"] == NAMES[2]].iloc[0]
    assert lgb["params.learning_rate"] == "0.05" and lgb["params.model"] == "lightgbm"
    # aggregates and settings only: no data rows, nothing per patient
    files = {a.path for a in client.list_artifacts(run.run_id)}
    assert files == {
        "config.yaml",
        "sweep.yaml",
        "comparison.csv",
        "comparison.md",
        "metrics_by_horizon.csv",
    }
    assert all(not client.list_artifacts(r) for r in run.children.values())
    local = Path(client.download_artifacts(run.run_id, "comparison.csv", str(tmp_path / "dl")))
    assert list(pd.read_csv(local)["config"]) == list(serial.table["config"])


def _write_inputs(folder: Path, frame: pd.DataFrame, spec: str) -> tuple[Path, Path]:
    data, grid = folder / "demand.csv", folder / "grid.yaml"
    frame.to_csv(data, index=False, date_format="%Y-%m-%d")
    grid.write_text(spec, encoding="utf-8")
    return data, grid


CLI_SPEC = """\
backtest: {horizon: 7, step: 7, windows: 2, refit_every: 2}
configurations:
  - {model: snaive}
  - {model: ets, name: "ets[x]"}
"""


def test_sweep_cli_when_run_prints_table_and_writes_csv(frame, tmp_path):
    data, grid = _write_inputs(tmp_path, frame, CLI_SPEC)
    out = tmp_path / "cmp.csv"
    args = ["sweep", "--data", str(data), "--grid", str(grid), "--out", str(out), "--no-track"]
    result = runner.invoke(app, [*args, "--metric", "mae"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert sorted(table["config"]) == ["ets[x]", "snaive"]
    assert table["MAE"].is_monotonic_increasing
    assert "ets[x]" in result.stdout  # a bracket in a name is shown as typed
    assert f"Best: {table['config'][0]} (MAE" in result.stdout
    assert "Ranked by MAE (lower is better)" in " ".join(result.stdout.split())
    assert not (tmp_path / "mlflow.db").exists()


def test_sweep_cli_when_tracked_prints_parent_run(frame, tmp_path, tmp_path_factory):
    empty_store(tmp_path_factory, tmp_path / "mlflow.db")  # ./mlflow.db, made once per session
    data, grid = _write_inputs(tmp_path, frame, CLI_SPEC)
    result = runner.invoke(app, ["sweep", "--data", str(data), "--grid", str(grid)])
    assert result.exit_code == 0, result.output
    assert "MLflow parent run " in result.stdout and "with 2 child runs" in result.stdout


def test_sweep_cli_when_grid_has_unknown_parameter_exits_2_with_one_line(frame, tmp_path):
    data, grid = _write_inputs(tmp_path, frame, "grid:\n  ets:\n    alpha: [0.1]\n")
    result = runner.invoke(app, ["sweep", "--data", str(data), "--grid", str(grid)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {grid}: configuration 'ets[alpha=0.1]': unknown ")
    assert "'alpha'" in lines[0] and "Fix: use one of" in lines[0]
    assert not (tmp_path / "mlflow.db").exists()  # refused before any run


def test_sweep_cli_when_grid_not_yaml_exits_2(frame, tmp_path):
    data, grid = _write_inputs(tmp_path, frame, "grid: [unclosed\n")
    result = runner.invoke(app, ["sweep", "--data", str(data), "--grid", str(grid)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: {grid}: not valid YAML at line 2. Fix: correct the syntax."
    )
