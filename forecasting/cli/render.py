"""Rich renderings of library results for the terminal.

Rich reads ``[...]`` in strings as markup, so every user-supplied string (site ids, paths,
model names, reasons, titles naming files) is escaped or passed as :class:`rich.text.Text`.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from forecasting.data.check import DataReport


def _num(x: float, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def report_title(report: DataReport) -> str:
    """One line summing up a data report (Rich markup: the file name is escaped)."""
    return (
        f"{escape(str(report.source))}: {report.n_sites} site(s), {report.n_rows:,} rows, "
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
            Text(str(r.site_id)),
            f"{r.start:%Y-%m-%d}",
            f"{r.days:,}",
            f"{r.filled_days:,}",
            _num(r.mean, ".0f"),
            f"{r.busiest_weekday} ×{r.weekly_ratio:.2f}",
            peak,
            _num(100 * r.surge_rate, ".1f") + "%",
        )
    more = report.n_sites - max_sites
    shown = f"… and {more:,} more sites (--format json lists all). " if more > 0 else ""
    t.caption = (
        f"{shown}busiest / peak: busiest weekday and month, as ratios to the quietest; "
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
        t.add_row(
            Text(str(row["model"])), *[_num(row[c], f) for c, (_, f) in METRIC_FORMATS.items()]
        )
    t.caption = (
        f"{escape(title)}. cov90: share inside the 90% interval; Brier skill: surge-day "
        "probabilities against a constant 0.1; F1 and FA/30d: alerts at p >= 0.5 "
        "(false alarms per 30 days)"
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
        t.add_row(Text(str(site)), f"{g['threshold'].iloc[0]:.0f}", *cells)
    t.caption = (
        "limit: surge threshold (90th percentile of the last year); each day: expected "
        "attendances, then the chance of exceeding the limit"
    )
    return t


LEVEL_STYLES = {1: "green", 2: "yellow", 3: "bold dark_orange", 4: "bold red"}


def warnings_table(warnings: pd.DataFrame, title: str, max_sites: int = 30) -> Table:
    """Site × day grid: level, expected attendances, P(surge), occupancy, electives to review."""
    t = Table(box=box.SIMPLE_HEAD, caption_justify="left", title=Text(title), title_justify="left")
    sites = sorted(warnings["site_id"].astype(str).unique())
    t.add_column("site", no_wrap=True, min_width=min(max(len(x) for x in sites), 12))
    days = sorted(pd.to_datetime(warnings["date"]).unique())
    for d in days:
        t.add_column(pd.Timestamp(d).strftime("%a %d"), justify="right", no_wrap=True)
    w = warnings.assign(
        site_id=warnings["site_id"].astype(str), date=pd.to_datetime(warnings["date"])
    )
    for site in sites[:max_sites]:
        g = w[w["site_id"] == site].set_index("date")
        cells = []
        for d in days:
            if d not in g.index:
                cells.append("")
                continue
            r = g.loc[d]
            level = int(r["level"])
            style = LEVEL_STYLES[level]
            advice = int(r["electives_to_review"]) if level >= 3 else 0
            cells.append(
                f"[{style}]level {level}[/]\n{r['attendances_mean']:.0f}\n"
                f"[dim]{r['attendances_q0.05']:.0f}–{r['attendances_q0.95']:.0f}[/]\n"
                f"{r['p_surge']:.0%} {_num(100 * r['occupancy'], '.0f')}%"
                + (f"\n[{style}]defer {advice}[/]" if advice else "")
            )
        t.add_row(Text(site), *cells)
        t.add_section()
    if len(sites) > max_sites:
        t.add_row(f"… and {len(sites) - max_sites} more sites (--format json lists all)")
    t.caption = (
        "Each day: recommended level (OPEL-style: 1 flow maintained, 2 signs of pressure, "
        "3 major pressure, 4 unable to deliver comprehensive care; a declared level stays a "
        "human decision), expected attendances and their 90% range, chance of a surge then "
        "forecast bed occupancy, "
        "and non-urgent electives to review (never cancer or time-critical work)."
    )
    return t


def warning_reasons(warnings: pd.DataFrame, max_sites: int = 30) -> list[str]:
    """Per site, the reasons of its highest-level day (the first such day)."""
    lines = []
    w = warnings.assign(site_id=warnings["site_id"].astype(str))
    for site, g in list(w.groupby("site_id", sort=True))[:max_sites]:
        top = g.sort_values(["level", "date"], ascending=[False, True]).iloc[0]
        level = int(top["level"])
        style = LEVEL_STYLES[level]
        head = f"[{style}]{escape(str(site))} {pd.Timestamp(top['date']):%a %d}, level {level}[/]"
        reasons = escape("; ".join(str(r) for r in top["reasons"]))
        advice = f" {escape(str(top['advice']))}." if level >= 3 and top.get("advice") else ""
        lines.append(f"{head}: {reasons}.{advice}")
    return lines


def alert_quality_table(scores: pd.DataFrame, title: str, max_sites: int = 30) -> Table:
    """Per-site alert quality: surge days, hits, precision, recall, false alarms, lead time."""
    t = Table(box=box.SIMPLE_HEAD, caption_justify="left", title=Text(title), title_justify="left")
    cols = (
        ("site", "site_id", ""),
        ("days", "days", ".0f"),
        ("surges", "surge_days", ".0f"),
        ("warned", "warned_days", ".0f"),
        ("hits", "hits", ".0f"),
        ("precision", "precision", ".2f"),
        ("recall", "recall", ".2f"),
        ("false alarms / month", "false_alarms_per_month", ".2f"),
        ("lead days", "lead_mean", ".1f"),
    )
    for header, _, _ in cols:
        site = header == "site"
        wide = max(len(word) for word in header.split())
        t.add_column(header, justify="left" if site else "right", no_wrap=site, min_width=wide)
    shown = pd.concat([scores[scores["site_id"] != "all"].head(max_sites), scores.tail(1)])
    for r in shown.to_dict(orient="records"):
        t.add_row(*[Text(str(r[c])) if not f else _num(float(r[c]), f) for _, c, f in cols])
    t.caption = (
        "A surge day is one above the line its warning used; lead: days between the first "
        "warning at the level and the surge day."
    )
    return t


def show_warnings(console: Console, warnings: pd.DataFrame, title: str) -> None:
    """Print the warnings grid, then each site's main reasons."""
    console.print(warnings_table(warnings, title))
    console.print("[bold]Why[/] (each site's highest level):")
    for line in warning_reasons(warnings):
        console.print(f"  {line}")
