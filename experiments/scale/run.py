"""Scaling benchmark: one backtest, serial and on 2+ workers (processes, Dask), same cuts.

Prints a table per run: backend, workers, wall time, speed-up and parallel efficiency against
the serial run of the same invocation, tasks and their mean CPU time, and whether the forecast
file is identical to the serial one (exact CSV text of every float).

Usage (from the repository root)::

    .venv/bin/python experiments/scale/run.py --dataset synthetic --series 100 --windows 8
    .venv/bin/python experiments/scale/run.py --dataset welsh --series 691 --windows 52 \
        --workers 2 --no-serial
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.evaluate.backtest import ChunkTask, chunk_task, join_truth, plan_backtest
from forecasting.executors import Executor, SerialExecutor
from forecasting.executors.processes import ProcessExecutor
from forecasting.models import make_model

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data"
WELSH = (
    DATA / "wales_ambulance_hierarchical" / "wales_ambulance_incidents_hierarchical_daily.csv.gz"
)
SITREPS = DATA / "nhs_winter_sitreps" / "winter_sitreps_trust_daily.csv.gz"


def load(dataset: str, series: int) -> pd.DataFrame:
    """The dataset as a DemandFrame, cut to ``series`` series (every k-th by sorted id)."""
    from forecasting.cli.data import column_mapping
    from forecasting.config import Config
    from forecasting.data.load import load_demand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dataset == "synthetic":
            from forecasting.data.synth import synth_demand

            frame = synth_demand(n_sites=series, years=3.0, seed=0).demand
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "synthetic.csv"
                frame[["site_id", "date", "attendances"]].to_csv(path, index=False)
                frame = load_demand(path)
        elif dataset == "welsh":
            cols = column_mapping(
                Config(), "lhb_code,category,nature_of_incident", None, "incidents", None, None
            )
            frame = load_demand(WELSH, cols)
        elif dataset == "sitreps":
            cols = column_mapping(
                Config(), "trust_code", None, "ga_beds_occupied", ["beds=ga_beds_open"], None
            )
            frame = load_demand(SITREPS, cols)
        else:
            raise SystemExit(f"unknown dataset {dataset!r}")
    sites = sorted(frame["site_id"].astype(str).unique())
    if 0 < series < len(sites):
        keep = set(sites[:: max(len(sites) // series, 1)][:series])
        frame = frame[frame["site_id"].astype(str).isin(keep)].reset_index(drop=True)
    return frame


def timed_chunk(frame: pd.DataFrame, task: ChunkTask) -> tuple[pd.DataFrame, float]:
    """:func:`chunk_task` and the CPU seconds it took in its worker."""
    start = time.process_time()
    out = chunk_task(frame, task)
    return out, time.process_time() - start


def make_executor(backend: str, workers: int) -> Executor:
    """The executor of one run."""
    if workers == 1 and backend == "serial":
        return SerialExecutor()
    if backend == "processes":
        return ProcessExecutor(workers)
    from forecasting.executors.dask_backend import DaskExecutor

    return DaskExecutor.local(workers)


def one_run(
    frame: pd.DataFrame, args: argparse.Namespace, executor: Executor, tick: Callable[[int], None]
) -> dict[str, Any]:
    """Backtest once on ``executor``; wall and CPU times, tasks and the CSV's hash."""
    model = {args.model: make_model(args.model, 7)}
    plan = plan_backtest(frame, model, 7, args.step, args.windows, args.refit_every)
    wall = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = executor.map(timed_chunk, plan.tasks, frame, progress=tick)
    wall = time.perf_counter() - wall
    result = join_truth(frame, plan, [d[0] for d in done])
    text = result.to_csv(index=False)
    cpu = [d[1] for d in done]
    return {
        "wall_s": wall,
        "tasks": len(cpu),
        "task_cpu_mean_s": sum(cpu) / len(cpu),
        "task_cpu_max_s": max(cpu),
        "cpu_s": sum(cpu),
        "sha256": hashlib.sha256(text.encode()).hexdigest()[:16],
        "rows": len(result),
    }


def markdown(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table, floats with two decimals."""

    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print its table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="synthetic", choices=["synthetic", "welsh", "sitreps"])
    p.add_argument("--series", type=int, default=100, help="0: all")
    p.add_argument("--model", default="ensemble")
    p.add_argument("--windows", type=int, default=8)
    p.add_argument("--step", type=int, default=7)
    p.add_argument("--refit-every", type=int, default=4)
    p.add_argument("--workers", default="2", help="comma-separated worker counts")
    p.add_argument("--backends", default="processes", help="processes,dask")
    p.add_argument("--no-serial", action="store_true", help="skip the serial reference run")
    args = p.parse_args()
    (HERE / "results").mkdir(exist_ok=True)
    frame = load(args.dataset, args.series)
    n_series = frame["site_id"].nunique()
    print(
        f"{args.dataset}: {n_series} series, {len(frame):,} rows; model {args.model}, "
        f"{args.windows} windows (step {args.step}, refit every {args.refit_every})"
    )
    runs = [] if args.no_serial else [("serial", 1)]
    for backend in args.backends.split(","):
        runs += [(backend, int(w)) for w in args.workers.split(",")]
    rows = []
    for backend, workers in runs:
        label = f"{backend} x{workers}"
        counter = {"n": 0}

        def tick(k: int, counter: dict[str, int] = counter, label: str = label) -> None:
            counter["n"] += k
            print(f"  {label}: {counter['n']} task(s) done", end="\r", flush=True)

        with make_executor(backend, workers) as ex:
            row = one_run(frame, args, ex, tick)
        row.update(backend=backend, workers=workers)
        rows.append(row)
        print(f"  {label}: {row['wall_s']:.1f} s" + " " * 20)
    table = pd.DataFrame(rows)
    serial = table[table["backend"] == "serial"]
    if len(serial):
        t1 = float(serial["wall_s"].iloc[0])
        table["speedup"] = t1 / table["wall_s"]
        table["efficiency"] = table["speedup"] / table["workers"]
        table["identical"] = table["sha256"] == serial["sha256"].iloc[0]
    table.insert(0, "series", n_series)
    table.insert(0, "dataset", args.dataset)
    cols = [
        c
        for c in [
            "dataset",
            "series",
            "backend",
            "workers",
            "wall_s",
            "speedup",
            "efficiency",
            "tasks",
            "task_cpu_mean_s",
            "task_cpu_max_s",
            "cpu_s",
            "identical",
            "rows",
            "sha256",
        ]
        if c in table.columns
    ]
    print(markdown(table[cols]))
    record = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args)}
    with (HERE / "results" / "runs.jsonl").open("a") as f:
        f.write(json.dumps({**record, "rows": table[cols].to_dict("records")}, default=str) + "\n")


if __name__ == "__main__":
    main()
