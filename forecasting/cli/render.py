"""Rich renderings of library results for the terminal."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pandas as pd
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


def report_table(report: DataReport, max_sites: int = 30) -> Table:
    """Per-site table of a data report (the first ``max_sites`` sites; JSON has them all)."""
    t = Table(caption_justify="left", box=box.SIMPLE_HEAD)
    t.add_column("site", no_wrap=True)
    t.add_column("from", no_wrap=True)
    t.add_column("days", justify="right", no_wrap=True, min_width=5)
    t.add_column("filled", justify="right", no_wrap=True, min_width=6)
    t.add_column("mean", justify="right", no_wrap=True, min_width=5)
    t.add_column("busiest", no_wrap=True)
    t.add_column("peak", no_wrap=True)
    t.add_column("surges", justify="right", no_wrap=True, min_width=6)
    for row in report.sites.head(max_sites).to_dict(orient="records"):
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
    more = report.n_sites - max_sites
    if more > 0:
        t.add_row(f"… and {more:,} more sites (--format json lists all)", *[""] * 8)
    t.caption = (
        "busiest / peak: busiest weekday and month, as ratios to the quietest; "
        "surges: days >20% above the local weekday baseline"
    )
    return t


METRIC_FORMATS = {  # column -> (header, format)
    "MAE": ("MAE", ".2f"),
    "MASE": ("MASE", ".3f"),
    "pinball": ("pinball", ".2f"),
    "cov90": ("cov90", ".2f"),
    "brier_skill": ("Brier skill", ".3f"),
    "F1": ("F1", ".2f"),
    "false_alarms_30d": ("FA/30d", ".2f"),
}


def metrics_table(metrics: pd.DataFrame, title: str) -> Table:
    """A table of backtest metrics, one row per model (best MAE first)."""
    t = Table(box=box.SIMPLE_HEAD, caption_justify="left")
    t.add_column("model", no_wrap=True)
    for header, _ in METRIC_FORMATS.values():
        t.add_column(header, justify="right", no_wrap=True)
    for row in metrics.sort_values("MAE").to_dict(orient="records"):
        t.add_row(str(row["model"]), *[_num(row[c], f) for c, (_, f) in METRIC_FORMATS.items()])
    t.caption = (
        f"{title}. cov90: share inside the 90% interval; Brier skill: surge-day probabilities "
        "against a constant 0.1; F1 and FA/30d: alerts at p >= 0.5 (false alarms per 30 days)"
    )
    return t


def forecast_table(forecast: pd.DataFrame, history: pd.DataFrame) -> Table:
    """Next days per site: mean with 90% interval and the chance of a surge day.

    The surge threshold is each site's 90th percentile of the last 365 days.
    """
    from forecasting.evaluate.summary import add_surge_columns

    scored = add_surge_columns(forecast.assign(y=float("nan")), history)
    t = Table(box=box.SIMPLE_HEAD, caption_justify="left")
    t.add_column("site", no_wrap=True)
    t.add_column("limit", justify="right", no_wrap=True)
    days = sorted(scored["date"].unique())
    for d in days:
        t.add_column(pd.Timestamp(d).strftime("%a %d"), justify="right", no_wrap=True)
    for site, g in scored.groupby("site_id", sort=True):
        g = g.set_index("date")
        cells = []
        for d in days:
            r = g.loc[d]
            colour = "red" if r["p_surge"] >= 0.5 else "yellow" if r["p_surge"] >= 0.2 else ""
            text = f"{r['mean']:.0f}\n{r['p_surge']:.0%}"
            cells.append(f"[{colour}]{text}[/]" if colour else text)
        t.add_row(str(site), f"{g['threshold'].iloc[0]:.0f}", *cells)
    t.caption = (
        "limit: surge threshold (90th percentile of the last year); each day: expected "
        "attendances, then the chance of exceeding the limit"
    )
    return t
