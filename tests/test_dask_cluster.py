"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The CLI's backtest runs through ``--scheduler ADDRESS`` and must write the same file as the
serial run. Needs the ``dask`` extra (``pip install -e '.[dask]'``); run with ``-m dask``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.dask

DASK = Path(sys.executable).parent / "dask"


def _demand(path: Path, n_sites: int = 4, n_days: int = 200) -> Path:
    rng = np.random.default_rng(3)
    dates = pd.date_range("2025-01-01", periods=n_days, freq="D")
    frames = [
        pd.DataFrame(
            {"site_id": f"ED{i}", "date": dates, "attendances": rng.poisson(80 + 30 * i, n_days)}
        )
        for i in range(n_sites)
    ]
    pd.concat(frames).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("distributed")
    if not DASK.exists():
        pytest.skip("the dask command is not installed")
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    common = ["--scheduler-file", str(info)]
    procs = [
        subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                *common,
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "scheduler.log").open("w"),
        )
    ]
    try:
        address = _wait_for_file(info)
        for k in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                        "--name",
                        f"w{k}",
                        *common,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=(folder / f"worker{k}.log").open("w"),
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _wait_for_file(info: Path, timeout: float = 60.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if info.is_file():
            try:
                return str(json.loads(info.read_text())["address"])
            except (ValueError, KeyError):
                pass
        time.sleep(0.2)
    raise TimeoutError(f"the scheduler wrote no {info.name} in {timeout:.0f} s")


def test_backtest_cli_when_run_through_scheduler_writes_the_serial_file(
    scheduler_address: str, tmp_path: Path
) -> None:
    from forecasting.cli import app

    data = _demand(tmp_path / "demand.csv")
    common = ["backtest", "--data", str(data), "--models", "snaive,ets", "--windows", "4"]
    common += ["--refit-every", "2", "--no-track"]
    runner = CliRunner()
    serial = runner.invoke(app, [*common, "--out", str(tmp_path / "serial.csv")])
    assert serial.exit_code == 0, serial.output
    dask = runner.invoke(
        app, [*common, "--out", str(tmp_path / "dask.csv"), "--scheduler", scheduler_address]
    )
    assert dask.exit_code == 0, dask.output
    assert "2 worker(s)" in dask.output
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "serial.csv").read_bytes()


def test_executor_when_connected_to_scheduler_runs_tasks_on_both_workers(
    scheduler_address: str, tmp_path: Path
) -> None:
    from distributed import get_task_stream

    from forecasting.data.load import load_demand
    from forecasting.evaluate.backtest import chunk_task, plan_backtest
    from forecasting.executors.dask_backend import DaskExecutor
    from forecasting.models import make_model

    frame = load_demand(_demand(tmp_path / "demand.csv", n_sites=6))
    plan = plan_backtest(frame, {"ets": make_model("ets", 7)}, 7, 7, windows=8, refit_every=1)
    with DaskExecutor.connect(scheduler_address) as ex, get_task_stream(ex.client) as stream:
        assert ex.workers == 2
        out = ex.map(chunk_task, plan.tasks, frame)
    assert len(out) == 8
    used = {row["worker"] for row in stream.data if "call_recording_warnings" in row["key"]}
    assert len(used) == 2


def test_backtest_cli_when_scheduler_unreachable_exits_2_with_one_line(tmp_path: Path) -> None:
    from forecasting.cli import app

    data = _demand(tmp_path / "demand.csv")
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "o.csv"),
            "--windows",
            "2",
            "--no-track",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists()
