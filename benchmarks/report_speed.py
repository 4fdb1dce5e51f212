"""Time the warnings report for many synthetic sites (and the national page) and print a table.

Usage:
    .venv/bin/python benchmarks/report_speed.py [--sites 100] [--trusts 150] [--repeat 3]
    .venv/bin/python benchmarks/report_speed.py --cli data/demand.csv   # also the whole command

Rows:
    ``write_report``: :func:`forecasting.report.write_report` for N synthetic sites (page, one SVG
    per site, atomic writes), inputs built beforehand (SeasonalNaive warnings, no MLflow).
    ``write_national_page``: the national summary page for N synthetic trusts.
    ``cli report`` (with ``--cli FILE``): ``forecasting report --data FILE`` as a subprocess in the
    current folder (it needs a registered champion there: ``forecasting train --data FILE``),
    imports, champion loading and forecasting included.

Seconds are the median of ``--repeat`` runs (``cli report``: one run); MB is the size of what was
written. The 1-minute load average is printed first: figures on a busy machine are not
comparable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

AS_OF = "2026-01-12"


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _row(n: int, step: str, seconds: float, mb: float) -> None:
    print(f"{n:>6}  {step:<20}  {seconds:>8.2f}  {mb:>7.2f}  {seconds / n * 1000:>10.1f}")


def _site_inputs(sites: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Half a year of synthetic demand and the SeasonalNaive warnings on its last day."""
    from forecasting.config import Config
    from forecasting.daily import daily_warnings
    from forecasting.data.synth import synth_demand
    from forecasting.models.naive import SeasonalNaive

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = synth_demand(sites, years=0.5, end=AS_OF, seed=0, episodes_per_site_day=0.01)
        frame = data.demand
        model = SeasonalNaive().fit(frame[["site_id", "date", "attendances"]])
        result = daily_warnings(frame, model, Config())
    return frame, result.forecast, result.warnings


def bench_report(sites: int, repeat: int) -> None:
    """Print the ``write_report`` row for ``sites`` synthetic sites."""
    from forecasting.report import write_report

    history, forecast, issued = _site_inputs(sites)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        args = {"model_ref": "models:/ed-demand@champion (version 1)", "issued": AS_OF}

        def run() -> object:
            return write_report(history, forecast, issued, out, **args)

        seconds = _median_seconds(run, repeat)
        _row(sites, "write_report", seconds, _megabytes(out))


def bench_national(trusts: int, repeat: int) -> None:
    """Print the ``write_national_page`` row for ``trusts`` synthetic trusts."""
    from forecasting.national import write_national_page
    from forecasting.national.demo import synthetic_inputs

    w, history, previous = synthetic_inputs(trusts, as_of=AS_OF)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "national.html"

        def run() -> object:
            return write_national_page(
                target, w, history, previous, as_of=AS_OF, issued=AS_OF, model_ref="bench"
            )

        seconds = _median_seconds(run, repeat)
        _row(trusts, "write_national_page", seconds, target.stat().st_size / 1e6)


def bench_cli(data: Path) -> None:
    """Print the ``cli report`` row: the whole command once, in the current folder."""
    sites = pd.read_csv(data, usecols=["site_id"])["site_id"].nunique()
    exe = shutil.which("forecasting") or str(Path(sys.executable).with_name("forecasting"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        start = time.perf_counter()
        done = subprocess.run(
            [exe, "report", "--data", str(data), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"forecasting report failed ({done.returncode}): {done.stderr.strip()}")
        _row(sites, "cli report", seconds, _megabytes(out))


def main() -> None:
    """Parse arguments and print one row per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[100])
    parser.add_argument("--trusts", type=int, nargs="*", default=[150])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", type=Path, help="Also time `forecasting report --data FILE`.")
    args = parser.parse_args()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'sites':>6}  {'step':<20}  {'seconds':>8}  {'MB':>7}  {'ms / site':>10}")
    for n in args.sites:
        bench_report(n, args.repeat)
    for n in args.trusts:
        bench_national(n, args.repeat)
    if args.cli is not None:
        bench_cli(args.cli)


if __name__ == "__main__":
    main()
