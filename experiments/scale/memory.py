"""Peak memory and wall time of a LightGBM backtest of the 691 Welsh bottom-level series.

Runs ``forecasting backtest`` (the installed console script of this repository's venv) as a
child process and polls, every ``--interval`` seconds, the resident set size (RSS) of the
child and all its descendants (summed, so worker processes count too). Prints one table row:
the data's rows and series, the peak RSS (MB = 2**20 bytes, of the summed tree; and the
largest single process's peak from ``getrusage``, which is what ``/usr/bin/time -v`` reports
as "Maximum resident set size"), the wall time and the CPU time (user + system).

``--compare BEFORE.csv`` then compares the run's forecasts (``--out``) with an earlier run's:
the largest absolute difference of the mean and of each quantile, and the MAE of the mean and
the mean pinball loss of the quantiles of both runs.

Usage (from the repository root)::

    .venv/bin/python experiments/scale/memory.py --out /tmp/lgb691_after.csv \\
        --compare /tmp/lgb691.csv
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[2]
DATA = (
    ROOT.parent
    / "shared/data/wales_ambulance_hierarchical/wales_ambulance_incidents_hierarchical_daily.csv.gz"
)
SITE_COLS = "lhb_code,category,nature_of_incident"
QUANTILES = ("q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95")


def command(args: argparse.Namespace) -> list[str]:
    """The backtest command line measured."""
    return [
        str(ROOT / ".venv/bin/forecasting"),
        "backtest",
        "--data",
        str(args.data),
        "--site-col",
        args.site_col,
        "--target-col",
        args.target_col,
        "--models",
        args.models,
        "--windows",
        str(args.windows),
        "--out",
        str(args.out),
        "--no-track",
    ]


def tree_rss(proc: psutil.Process) -> int:
    """RSS in bytes of ``proc`` and all its descendants (0 for those already gone)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def measure(cmd: list[str], interval: float) -> tuple[float, float, float, float, int]:
    """Run ``cmd``; return peak tree RSS (MB), largest process's peak (MB), wall s, CPU s
    (user + system of the waited-for processes) and the exit code."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT)
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, tree_rss(proc))
        except psutil.NoSuchProcess:
            break
        time.sleep(interval)
    code = child.wait()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    largest = usage.ru_maxrss / 1024  # KB on Linux
    return peak / 2**20, largest, wall, usage.ru_utime + usage.ru_stime, code


def pinball(y: np.ndarray, q: np.ndarray, alpha: float) -> float:
    """Mean pinball loss of quantile ``alpha`` forecasts ``q`` of ``y``."""
    d = y - q
    return float(np.mean(np.maximum(alpha * d, (alpha - 1) * d)))


def compare(before_path: Path, after_path: Path) -> None:
    """Print the largest forecast differences and both runs' MAE and pinball loss."""
    keys = ["site_id", "model", "cutoff", "date", "horizon"]
    before, after = pd.read_csv(before_path), pd.read_csv(after_path)
    keys = [k for k in keys if k in before.columns and k in after.columns]
    both = before.merge(after, on=keys, suffixes=("_before", "_after"), validate="one_to_one")
    print(f"\nrows: before {len(before)}, after {len(after)}, matched {len(both)}")
    cols = ["mean", *[q for q in QUANTILES if f"{q}_before" in both.columns]]
    diff = {c: np.abs(both[f"{c}_before"] - both[f"{c}_after"]) for c in cols}
    scale = float(np.abs(both["mean_before"]).mean())
    print("| column | max abs diff | mean abs diff | mean abs diff / mean forecast |")
    print("|---|---|---|---|")
    for c in cols:
        share = diff[c].mean() / scale
        print(f"| {c} | {diff[c].max():.4f} | {diff[c].mean():.4f} | {share:.4%} |")
    truth = "y" if "y_before" in both.columns else None
    if truth is None:
        print("(no observed column: no accuracy comparison)")
        return
    y = both[f"{truth}_before"].to_numpy(dtype=float)
    print("\n| run | MAE | mean pinball (7 quantiles) |")
    print("|---|---|---|")
    for run in ("before", "after"):
        mae = float(np.mean(np.abs(y - both[f"mean_{run}"].to_numpy())))
        losses = [
            pinball(y, both[f"{q}_{run}"].to_numpy(dtype=float), float(q[1:]))
            for q in QUANTILES
            if f"{q}_{run}" in both.columns
        ]
        print(f"| {run} | {mae:.4f} | {np.mean(losses):.4f} |")


def main() -> None:
    """Measure the command; optionally compare its forecasts with an earlier run's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--site-col", default=SITE_COLS)
    parser.add_argument("--target-col", default="incidents")
    parser.add_argument("--models", default="lightgbm")
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("/tmp/lgb691_after.csv"))
    parser.add_argument("--interval", type=float, default=0.1, help="Seconds between polls.")
    parser.add_argument("--compare", type=Path, help="Forecasts of an earlier run (CSV).")
    args = parser.parse_args()
    data = pd.read_csv(args.data, usecols=args.site_col.split(","))
    rows, series = len(data), len(data.drop_duplicates())
    del data
    cmd = command(args)
    print(" ".join(os.path.relpath(c, ROOT) if c.startswith(str(ROOT)) else c for c in cmd))
    peak, largest, wall, cpu, code = measure(cmd, args.interval)
    print(
        "\n| rows | series | windows | peak RSS MB (tree) | max RSS MB (one process) | wall s "
        "| CPU s |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {rows:,} | {series} | {args.windows} | {peak:,.0f} | {largest:,.0f} | {wall:.0f} "
        f"| {cpu:.0f} |"
    )
    if code != 0:
        sys.exit(code)
    if args.compare is not None:
        compare(args.compare, args.out)


if __name__ == "__main__":
    main()
