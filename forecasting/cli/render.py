"""Rich renderings of library results for the terminal."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

if TYPE_CHECKING:
    from forecasting.data.check import DataReport


def _num(x: float, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def report_title(report: DataReport) -> str:
    """One line summing up a data report."""
    return (
        f"{report.source}: {report.n_sites} site(s), {report.n_rows:,} rows, "
        f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}"
    )


def report_table(report: DataReport) -> Table:
    """Per-site table of a data report."""
    t = Table(caption_justify="left", box=box.SIMPLE_HEAD)
    t.add_column("site", no_wrap=True)
    t.add_column("from", no_wrap=True)
    t.add_column("days", justify="right", no_wrap=True, min_width=5)
    t.add_column("filled", justify="right", no_wrap=True, min_width=6)
    t.add_column("mean", justify="right", no_wrap=True, min_width=5)
    t.add_column("busiest", no_wrap=True)
    t.add_column("peak", no_wrap=True)
    t.add_column("surges", justify="right", no_wrap=True, min_width=6)
    for row in report.sites.to_dict(orient="records"):
        r = SimpleNamespace(**{str(k): v for k, v in row.items()})
        peak = f"{r.peak_month} ×{r.seasonal_ratio:.2f}" if r.peak_month else "–"
        t.add_row(
            str(r.site_id),
            f"{r.start:%Y-%m-%d}",
            f"{r.days:,}",
            f"{r.filled_days:,}",
            _num(r.mean, ".0f"),
            f"{r.busiest_weekday} ×{r.weekly_ratio:.2f}",
            peak,
            _num(100 * r.surge_rate, ".1f") + "%",
        )
    t.caption = (
        "busiest / peak: busiest weekday and month, as ratios to the quietest; "
        "surges: days >20% above the local weekday baseline"
    )
    return t
