"""Where the CPU time of `forecasting train` goes (default model, 100 sites, 3 years).

Runs ``forecasting train --data demand.csv`` in this process, in a fresh working folder (its
own MLflow store), with CPU-time stopwatches around the steps of training, and prints a table:
each step's own CPU seconds (the steps inside it excluded, so the rows add up to the total),
split by phase (the backtest's fits at each refit cutoff, the final fit on all the data, and
what comes after: metrics, charts, the MLflow run and registration). Time spent importing
modules is a row of its own. CPU time is the process's (LightGBM's threads included); wall time
is shown for the whole run.

Usage::

    .venv/bin/python benchmarks/train_profile.py --work /tmp/train-profile --sites 100

The data are synthesised with ``forecasting data synth`` (3 years to 2026-11-30) unless
``--data FILE`` is given. Train takes minutes: run it once, on a machine as quiet as you can
find (the load average is printed before and after).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

END = "2026-11-30"
PHASES = {"backtest", "final fit"}

# (module, attribute, label): a class method as "Class.method"
STEPS: tuple[tuple[str, str, str], ...] = (
    ("forecasting.cli.models", "load_mapped", "load and check the data"),
    ("forecasting.evaluate.backtest", "run_chunk", "backtest"),
    ("forecasting.models.fitting", "fit_part", "final fit"),
    ("forecasting.models.combination", "fit_member", "ensemble member (validation windows)"),
    ("forecasting.models.hybrid", "HybridForecaster._fit", "hybrid: states, features, LightGBM"),
    ("forecasting.models.hybrid", "HybridForecaster._calibrate", "hybrid: calibration LightGBM"),
    ("forecasting.features.builder", "DirectFeatures.training_rows", "hybrid: training features"),
    ("forecasting.models.hybrid", "fit_params", "ETS estimation (hybrid, shared)"),
    ("forecasting.models.ets", "ETSForecaster._fit", "ets: other"),
    ("forecasting.models.ets", "fit_params", "ETS estimation (ets)"),
    ("forecasting.models.arima", "ArimaForecaster._fit", "arima: other"),
    ("forecasting.models.arima", "fit_site", "ARIMA estimation (order search)"),
    ("forecasting.models.base", "Forecaster.update", "roll forward (update)"),
    ("forecasting.models.base", "Forecaster.predict", "predict"),
    ("forecasting.tracking.runs", "demand_metrics", "metrics (overall, horizon, site)"),
    ("forecasting.tracking.runs", "demand_tables", "metrics tables"),
    ("forecasting.tracking.runs", "log_demand_artifacts", "MLflow: charts and artifacts"),
    ("forecasting.tracking.runs", "log_window_metrics", "MLflow: window metrics"),
    ("forecasting.tracking.runs", "log_context", "MLflow: params, config, fingerprint"),
    ("forecasting.tracking.datasets", "log_demand_datasets", "MLflow: datasets"),
    ("forecasting.tracking.pyfunc", "log_demand_model", "MLflow: log model (pickle, pyfunc)"),
    ("forecasting.tracking.registry", "assign_alias", "MLflow: register, alias"),
    ("forecasting.tracking.registry", "describe_version", "MLflow: version description"),
    ("forecasting.tracking.store", "use_experiment", "MLflow: experiment, stale runs"),
)


class Stopwatch:
    """Own CPU seconds per (phase, step), imports kept apart."""

    def __init__(self) -> None:
        self.own: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.importing = 0.0
        self._depth = 0
        self._stack: list[list[Any]] = []  # [phase, label, start, imports at start, inner]

    def install_import_timer(self) -> None:
        """Time every module load (only modules not loaded yet reach ``_find_and_load``)."""
        bootstrap = sys.modules["_frozen_importlib"]
        original = bootstrap._find_and_load

        def timed(name: str, import_: Callable[..., Any]) -> Any:
            if self._depth:
                return original(name, import_)
            self._depth += 1
            start = time.process_time()
            try:
                return original(name, import_)
            finally:
                self.importing += time.process_time() - start
                self._depth -= 1

        bootstrap._find_and_load = timed

    def _phase(self, label: str) -> str:
        if label in PHASES:
            return label
        return self._stack[-1][0] if self._stack else "other"

    def wrap(self, module: str, attr: str, label: str) -> bool:
        """Time ``module.attr`` (``Class.method`` for a method); ``False`` if it is missing."""
        try:
            owner: Any = importlib.import_module(module)
        except ImportError:
            return False
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        original = getattr(owner, name, None) if owner is not None else None
        if original is None:
            return False

        def timed(*args: Any, **kwargs: Any) -> Any:
            phase = self._phase(label)
            self._stack.append([phase, label, time.process_time(), self.importing, 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                phase, _, start, imp0, inner = self._stack.pop()
                spent = time.process_time() - start - (self.importing - imp0)
                self.own[(phase, label)] += spent - inner
                self.calls[(phase, label)] += 1
                if self._stack:
                    self._stack[-1][4] += spent

        setattr(owner, name, timed)
        return True


def _synth(work: Path, sites: int) -> Path:
    data = work / f"data{sites}"
    if not (data / "demand.csv").is_file():
        subprocess.run(
            [sys.executable, "-m", "forecasting", "data", "synth", "--sites", str(sites),
             "--years", "3", "--end", END, "--out", str(data)],
            check=True,
        )  # fmt: skip
    return data / "demand.csv"


def main() -> None:
    """Train once with stopwatches and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="Folder for data and store.")
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--data", type=Path, help="Demand file (default: synthesised).")
    parser.add_argument("--windows", type=int, help="Backtest windows (default: config, 8).")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    demand = args.data.resolve() if args.data else _synth(work, args.sites)
    run = work / f"train-{time.strftime('%Y%m%d-%H%M%S')}"
    run.mkdir()
    os.chdir(run)  # its own ./mlflow.db
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    watch = Stopwatch()
    watch.install_import_timer()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    import forecasting.cli as cli  # the import timer sees the CLI's own imports too

    missing = [f"{m}.{a}" for m, a, label in STEPS if not watch.wrap(m, a, label)]
    argv = ["train", "--data", str(demand)]
    if args.windows:
        argv += ["--windows", str(args.windows)]
    try:
        cli.main(argv)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rest = cpu - watch.importing - sum(watch.own.values())
    rows = sorted(watch.own.items(), key=lambda kv: -kv[1])
    rows += [(("all", "imports"), watch.importing), (("other", "CLI, MLflow run, rest"), rest)]
    head = f"`forecasting train --data {demand.name}` ({args.sites} sites)"
    print(f"\n{head}: {cpu:.0f} s CPU, {wall:.0f} s wall\n")
    print("| phase | step | calls | CPU s | share |")
    print("|---|---|---:|---:|---:|")
    for (phase, label), seconds in rows:
        calls = watch.calls.get((phase, label), "")
        print(f"| {phase} | {label} | {calls} | {seconds:.1f} | {seconds / cpu:.0%} |")
    by_phase: dict[str, float] = defaultdict(float)
    for (phase, _), seconds in rows:
        by_phase[phase] += seconds
    print("\nBy phase: " + ", ".join(f"{p} {s:.0f} s ({s / cpu:.0%})" for p, s in by_phase.items()))
    if missing:
        print(f"(not found, not timed: {', '.join(missing)})")


if __name__ == "__main__":
    main()
