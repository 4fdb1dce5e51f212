"""How long `forecasting daily` takes for 100 and 300 synthetic sites, and where the time goes.

For each site count the script synthesises three years of data (``forecasting data synth``),
trains the default model once (``forecasting train --windows 1``: the backtest does not change
the model, only its metrics) and runs one ``forecasting daily`` to cache the champion (the first
run after a new champion downloads it through MLflow; it is timed and shown apart). Then it
runs the morning command as cron would, ``forecasting daily --data demand.csv --history h.db``
with the table piped to a file, ``--repeat`` times, each in a fresh process, and prints the
median of each part:

* imports: time spent importing modules not yet loaded (wherever that happens, e.g. LightGBM
  while the champion is unpickled), measured by timing the interpreter's module loader;
* load data: reading and checking ``demand.csv`` (imports excluded);
* load champion: registry look-up and unpickling (imports excluded);
* update+predict: rolling the model forward to the last day and forecasting;
* assess: levels, occupancy, advice and reasons;
* write: the history appended, the table rendered;
* other: start-up of the interpreter and everything else.

Usage::

    .venv/bin/python benchmarks/daily_speed.py --work /tmp/daily-bench --sites 100 300

The machine is often shared: the script prints the load average before and after; compare
runs made at similar load. Wall and CPU seconds are both shown (CPU: the process's user +
system time, which load inflates less than wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

END = "2026-11-30"
PARTS = ("imports", "load data", "load champion", "update+predict", "assess", "write", "other")


# --------------------------------------------------------------------------- child: one run


class _Clock:
    """Wall time per part, with the time spent importing kept apart."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = dict.fromkeys(PARTS, 0.0)
        self.importing = 0.0
        self._depth = 0
        self._stack: list[list[Any]] = []  # [part, start, imports at start, child time]

    def install_import_timer(self) -> None:
        """Time every module load (``_find_and_load``: only modules not loaded yet)."""
        bootstrap = sys.modules["_frozen_importlib"]
        original = bootstrap._find_and_load

        def timed(name: str, import_: Callable[..., Any]) -> Any:
            if self._depth:
                return original(name, import_)
            self._depth += 1
            start = time.perf_counter()
            try:
                return original(name, import_)
            finally:
                self.importing += time.perf_counter() - start
                self._depth -= 1

        bootstrap._find_and_load = timed

    def wrap(self, owner: Any, attr: str, part: str) -> None:
        """Count the wall time of ``owner.attr`` (imports and inner parts excluded) in ``part``."""
        original = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([part, time.perf_counter(), self.importing, 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                name, start, imp0, inner = self._stack.pop()
                spent = time.perf_counter() - start
                imports = self.importing - imp0
                self.parts[name] += spent - imports - inner
                if self._stack:
                    self._stack[-1][3] += spent - imports

        setattr(owner, attr, timed)


def child(argv: list[str], report: Path, started: float) -> None:
    """Run ``forecasting ARGV`` here with timers; write the parts to ``report`` (JSON)."""
    clock = _Clock()
    clock.install_import_timer()
    import forecasting.cli.daily as cli_daily
    import forecasting.models.partition as partition
    import forecasting.tracking.champion as champion
    from forecasting.cli import main

    clock.wrap(cli_daily, "load_mapped", "load data")
    clock.wrap(champion, "load_champion", "load champion")
    clock.wrap(partition, "update_predict", "update+predict")
    import forecasting.escalation as escalation
    import forecasting.escalation.history as history

    clock.wrap(escalation, "assess", "assess")
    clock.wrap(history.WarningHistory, "append", "write")
    import forecasting.cli.render as render

    clock.wrap(render, "show_warnings", "write")
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    total = time.time() - started
    clock.parts["imports"] = clock.importing
    clock.parts["other"] = total - sum(v for k, v in clock.parts.items() if k != "other")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    import forecasting

    result = {
        "package": str(Path(forecasting.__file__).parent),
        "mlflow_imported": "mlflow" in sys.modules,
        "code": code,
        "wall": total,
        "cpu": usage.ru_utime + usage.ru_stime,
        "parts": clock.parts,
    }
    report.write_text(json.dumps(result))


# --------------------------------------------------------------------------- parent


def _forecasting(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "forecasting", *args], cwd=cwd, check=True)


def prepare(work: Path, sites: int) -> tuple[Path, Path]:
    """Synthetic data and a trained, cached champion for ``sites`` sites: (data, folder)."""
    data = work / f"data{sites}"
    folder = work / f"run{sites}"
    folder.mkdir(parents=True, exist_ok=True)
    if not (data / "demand.csv").is_file():
        print(f"synthesising {sites} sites …", file=sys.stderr)
        _forecasting("data", "synth", "--sites", str(sites), "--years", "3", "--end", END,
                     "--out", str(data), cwd=work)  # fmt: skip
    if not (folder / "mlflow.db").is_file():
        print(f"training the default model on {sites} sites (once) …", file=sys.stderr)
        _forecasting("train", "--data", str(data / "demand.csv"), "--windows", "1", cwd=folder)
    return data / "demand.csv", folder


def run_once(
    demand: Path, folder: Path, history: Path, package: Path | None = None
) -> dict[str, Any]:
    """One timed ``forecasting daily`` in a fresh process; its parts.

    ``package``: a folder holding another version of the ``forecasting`` package (e.g. from
    ``git archive``) to run instead of the installed one.
    """
    report = folder / "daily-timing.json"
    args = ["daily", "--data", str(demand), "--history", str(history)]
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import daily_speed; "
        f"daily_speed.child({args!r}, daily_speed.Path({str(report)!r}), float(sys.argv[1]))"
    )
    start = time.time()
    with open(folder / "daily-table.txt", "w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", code, repr(start)],
            cwd=folder,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "COLUMNS": "80",
                **({"PYTHONPATH": str(package)} if package else {}),
            },
        )
    wall = time.time() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"daily failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(report.read_text())
    print(
        f"  {result['package']}: {wall:.2f} s wall, MLflow imported: {result['mlflow_imported']}",
        file=sys.stderr,
    )
    result["wall"] = wall  # includes the interpreter's start-up
    result["parts"]["other"] += wall - sum(result["parts"].values())
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _part(runs: list[dict[str, Any]], part: str) -> float:
    return statistics.median(r["parts"][part] for r in runs)


def main() -> None:
    """Prepare, run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="Folder for data and stores.")
    parser.add_argument("--sites", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per site count.")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="Folder with an earlier version of the package (git archive REV forecasting | "
        "tar -x -C DIR): timed in turn with the current one, same data and champion.",
    )
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    for sites in args.sites:
        demand, folder = prepare(work, sites)
        history = folder / "history.db"
        first = run_once(demand, folder, history)  # after training: the MLflow download
        runs, before = [], []
        for _ in range(args.repeat):  # alternated, so that both see the same load
            if args.baseline:
                before.append(run_once(demand, folder, history, args.baseline.resolve()))
            runs.append(run_once(demand, folder, history))
        if before:
            rows.append((f"{sites} (baseline)", None, before))
        rows.append((str(sites), first, runs))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    head = ["sites", "wall s", "CPU s", *PARTS, "first run s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for sites, first, runs in rows:
        cells = [sites, f"{_median(runs, 'wall'):.2f}", f"{_median(runs, 'cpu'):.2f}"]
        cells += [f"{_part(runs, p):.2f}" for p in PARTS]
        cells.append("" if first is None else f"{first['wall']:.2f}")
        print("| " + " | ".join(cells) + " |")
    print(
        f"\nmedian of {args.repeat} runs each; 'first run': the first daily after training "
        "(champion downloaded through MLflow and cached)."
    )


if __name__ == "__main__":
    main()
