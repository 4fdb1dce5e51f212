"""Time the national summary page for many synthetic trusts and print a table.

Usage:
    .venv/bin/python benchmarks/national_page.py [--trusts 150] [--repeat 5]

Measures :func:`forecasting.national.national_page` (render only, inputs built beforehand) and
:func:`forecasting.national.write_national_page` (render and atomic write) on synthetic trusts
from :func:`forecasting.national.demo.synthetic_inputs`. No real data is read.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from forecasting.national import national_page, write_national_page
from forecasting.national.demo import synthetic_inputs

AS_OF = "2026-01-12"
ARGS: dict[str, Any] = {
    "as_of": AS_OF,
    "issued": "2026-01-12 06:30",
    "model_ref": "models:/benchmark@champion",
}


def _times(run: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        out.append(time.perf_counter() - start)
    return out


def _bench(trusts: int, repeat: int) -> None:
    """Time both steps for ``trusts`` synthetic trusts and print their rows."""
    warnings, history, previous = synthetic_inputs(trusts, as_of=AS_OF)
    page = national_page(warnings, history, previous, **ARGS)  # warm-up
    size = len(page.encode("utf-8")) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "national.html"
        steps: dict[str, Callable[[], object]] = {
            "national_page": partial(national_page, warnings, history, previous, **ARGS),
            "write_national_page": partial(
                write_national_page, target, warnings, history, previous, **ARGS
            ),
        }
        for name, run in steps.items():
            t = _times(run, repeat)
            print(
                f"{trusts:>6}  {name:<22}  {statistics.median(t):>9.3f}  {max(t):>7.3f}  "
                f"{size:>8.0f}"
            )


def main() -> None:
    """Parse arguments, time each step and print one row per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trusts", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'trusts':>6}  {'step':<22}  {'median s':>9}  {'max s':>7}  {'page KB':>8}")
    for trusts in args.trusts:
        _bench(trusts, args.repeat)


if __name__ == "__main__":
    main()
