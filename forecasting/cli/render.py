"""Rich renderings of library results for the terminal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from forecasting.data.check import DataReport


def _num(x: float, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def report_table(report: DataReport) -> Table:
    """Per-site table of a data report."""
    title = (
        f"{report.source}: {report.n_sites} site(s), {report.n_rows:,} rows, "
        f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}"
    )
    t = Table(title=title, title_justify="left")
    for col, justify in [
        ("site", "left"),
        ("from", "left"),
        ("to", "left"),
        ("days", "right"),
        ("filled", "right"),
        ("mean/day", "right"),
        ("min", "right"),
        ("max", "right"),
        ("busiest", "left"),
        ("weekly ratio", "right"),
        ("peak month", "left"),
        ("seasonal ratio", "right"),
        ("surge days", "right"),
    ]:
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in report.sites.itertuples(index=False):
        t.add_row(
            str(r.site_id),
            f"{r.start:%Y-%m-%d}",
            f"{r.end:%Y-%m-%d}",
            f"{r.days:,}",
            f"{r.filled_days:,}",
            _num(r.mean, ".1f"),
            _num(r.min, ".0f"),
            _num(r.max, ".0f"),
            r.busiest_weekday,
            _num(r.weekly_ratio, ".3f"),
            r.peak_month or "–",
            _num(r.seasonal_ratio, ".3f"),
            _num(100 * r.surge_rate, ".1f") + "%",
        )
    return t
