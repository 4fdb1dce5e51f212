"""Two ``forecasting train`` processes at once on one SQLite store (issue 10, item 7).

Before the store lock, two first runs on a new ``mlflow.db`` collided while creating its
tables (``table latest_metrics already exists``), and two runs on an existing store could
both print ``alias challenger``. Real subprocesses, about 40-80 s on two cores: marked slow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from forecasting.data.export import write_synth
from forecasting.data.synth import synth_demand

pytestmark = pytest.mark.slow
NAME = "ed-demand"


def _start(folder: Path, windows: int) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "forecasting",
            "train",
            "--data",
            "data/demand.csv",
            "--model",
            "snaive",
            "--windows",
            str(windows),
        ],
        cwd=folder,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _both(folder: Path, windows: tuple[int, int]) -> list[tuple[int, str, str]]:
    """Start two trains together; their exit codes, stdout and stderr.

    The two differ in their backtest windows: an identical model (same data, parameters and
    backtest) is deliberately not registered twice.
    """
    procs = [_start(folder, w) for w in windows]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        outcomes.append((proc.returncode, out, err))
    return outcomes


def _client(folder: Path) -> MlflowClient:
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("concurrent")
    end = pd.Timestamp("2024-06-30").date()
    write_synth(synth_demand(n_sites=2, years=2.1, end=end, seed=9), path / "data")
    return path


def _printed(stdout: str) -> tuple[str, str | None]:
    match = re.search(r"version (\d+), (?:alias (\w+)|no alias)", stdout)
    assert match, stdout
    return match.group(1), match.group(2)


def test_train_when_two_first_runs_at_once_on_new_store_both_succeed(folder):
    outcomes = _both(folder, (2, 3))
    for code, out, err in outcomes:
        assert code == 0, err
        assert "Traceback" not in out + err and "already exists" not in err
    printed = sorted(_printed(out) for _, out, _ in outcomes)
    assert printed == [("1", "champion"), ("2", "challenger")]
    client = _client(folder)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "2"


def test_train_when_two_runs_at_once_on_existing_store_report_the_alias_they_hold(folder):
    outcomes = _both(folder, (4, 5))
    for code, out, err in outcomes:
        assert code == 0, err
        assert "Traceback" not in out + err
    printed = dict(_printed(out) for _, out, _ in outcomes)
    assert sorted(printed) == ["3", "4"]
    client = _client(folder)
    holder = str(client.get_model_version_by_alias(NAME, "challenger").version)
    assert holder in printed and printed[holder] == "challenger"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    runs = client.search_runs([client.get_experiment_by_name("forecasting").experiment_id])
    assert {r.info.status for r in runs} == {"FINISHED"}
