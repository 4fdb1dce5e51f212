"""Rich renderings of library results for the terminal.

Rich reads ``[...]`` in strings as markup, so every user-supplied string (site ids, paths,
model names, reasons, titles naming files) is escaped or passed as :class:`rich.text.Text`.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Hashable, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from forecasting.config import Config
    from forecasting.data.check import DataReport


def _num(x: float, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _percent(x: float) -> str:
    text = _num(100 * x, ".0f")
    return text if text == "–" else f"{text}%"


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
#: What each line of a day's cell holds, top to bottom (the key column of the grid)
CELL_KEY = ("level", "attendances", "90% range", "surge chance", "occupancy")
#: The line of electives to review (shown for sites with a day at level 3 or more)
REVIEW_KEY = "to review"
WARNINGS_CAPTION = (
    "level: recommended OPEL-style level (1 flow maintained, 2 signs of pressure, 3 major "
    "pressure, 4 unable to deliver comprehensive care); declaring a level stays a human "
    "decision. attendances: expected, their 90% range below. surge chance: P(attendances above "
    "the surge line). occupancy: forecast bed occupancy. to review: non-urgent elective "
    "admissions to review for deferral (never {never} work)."
)
DEFAULT_WIDTH = 80
MAX_SITES = 30  # sites in the terminal grid and reasons; JSON and CSV have them all
_UNBOUNDED = 10_000  # measuring width: a table's true minimum, not one clamped to the screen


def site_names(cfg: Config | None) -> dict[str, str]:
    """Site id -> name, from the site settings (``sites.yaml``) where a name is set."""
    if cfg is None:
        return {}
    return {str(sid): s.name for sid, s in cfg.sites.items() if s.name}


def site_label(site: str, names: Mapping[str, str] | None = None) -> str:
    """``"RAA (Northgate General)"`` where the site has a name, else the id."""
    name = (names or {}).get(site)
    return f"{site} ({name})" if name and name != site else site


def site_names_of(warnings: pd.DataFrame, cfg: Config | None) -> dict[str, str]:
    """Names from the config, else from a ``site_name`` column of the warnings."""
    out: dict[str, str] = {}
    if "site_name" in warnings.columns:
        pairs = warnings[["site_id", "site_name"]].dropna().drop_duplicates("site_id")
        out.update(
            {str(k): str(v) for k, v in zip(pairs["site_id"], pairs["site_name"], strict=True)}
        )
    out.update(site_names(cfg))
    return out


def shown_sites(warnings: pd.DataFrame, max_sites: int = MAX_SITES) -> list[str]:
    """The sites of the terminal grid, in id order: all, or the ``max_sites`` most pressed.

    Most pressed: highest level over the days, then highest forecast occupancy, then id.
    """
    ids = warnings["site_id"].astype(str)
    if ids.nunique() <= max_sites:
        return sorted(ids.unique())
    peak = warnings.assign(site_id=ids).groupby("site_id")[["level", "occupancy"]].max()
    peak = peak.reset_index().sort_values(
        ["level", "occupancy", "site_id"], ascending=[False, False, True]
    )
    return sorted(peak["site_id"].head(max_sites))


def _default_config() -> Config:
    from forecasting.config import Config

    return Config()


def _lines(cfg: Config | None) -> tuple[float, ...]:
    from forecasting.escalation.wording import occupancy_lines

    return occupancy_lines(cfg or _default_config())


def _day_cell(r: Mapping[Hashable, Any], lines: tuple[float, ...], review: bool) -> Text:
    """One site-day: a value per line of :data:`CELL_KEY` (a Text: no markup to parse)."""
    from forecasting.escalation.wording import format_occupancy

    level = int(r["level"])
    style = LEVEL_STYLES[level]
    cell = Text(str(level), style=style)
    rest = [
        _num(r["attendances_mean"], ".0f"),
        f"{_num(r['attendances_q0.05'], '.0f')}–{_num(r['attendances_q0.95'], '.0f')}",
        _percent(r["p_surge"]),
        format_occupancy(float(r["occupancy"]), lines),
    ]
    cell.append("\n" + "\n".join(rest))
    if review:
        cell.append("\n")
        if level >= MIN_REVIEW_LEVEL:
            cell.append(_num(float(r["electives_to_review"]), ".0f"), style=style)
    return cell


MIN_REVIEW_LEVEL = 3


def warnings_table(
    warnings: pd.DataFrame,
    max_sites: int = MAX_SITES,
    cfg: Config | None = None,
    days: Sequence[pd.Timestamp] | None = None,
) -> Table:
    """Site × day grid: a key column names each line of the cells (:data:`CELL_KEY`).

    Each site is a bold line "id (name)", then one line per key entry: level, expected
    attendances, their 90% range, surge chance, forecast occupancy (one decimal where a whole
    percentage would contradict a line) and, for a site with a day at level 3 or more, the
    non-urgent electives to review for deferral.

    Args:
        warnings: Warning rows (``site_id``, ``date``, ``level``, attendances, ``p_surge``,
            ``occupancy``, ``electives_to_review``).
        max_sites: Sites shown (the first in id order).
        cfg: Site names and occupancy lines (defaults: no names, the default lines).
        days: The days (columns) to show; default all.
    """
    t = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    w = warnings.assign(
        site_id=warnings["site_id"].astype(str), date=pd.to_datetime(warnings["date"])
    )
    sites = shown_sites(w, max_sites)
    names, lines = site_names_of(w, cfg), _lines(cfg)
    key_width = max(len(k) for k in (*CELL_KEY, REVIEW_KEY))
    t.add_column("site", min_width=key_width, overflow="fold")
    shown = [pd.Timestamp(d) for d in (sorted(w["date"].unique()) if days is None else days)]
    for d in shown:
        t.add_column(pd.Timestamp(d).strftime("%a %d"), justify="right", no_wrap=True)
    listed = w[w["site_id"].isin(sites)]
    rows = {(r["site_id"], r["date"]): r for r in listed.to_dict(orient="records")}
    reviewed = set(listed.loc[listed["level"] >= MIN_REVIEW_LEVEL, "site_id"])
    for site in sites:
        review = site in reviewed
        t.add_row(Text(site_label(site, names), style="bold"), *[""] * len(shown))
        key = [*CELL_KEY, REVIEW_KEY] if review else list(CELL_KEY)
        cells: list[Text | str] = [
            _day_cell(rows[site, d], lines, review) if (site, d) in rows else "" for d in shown
        ]
        t.add_row("\n".join(key), *cells)
        t.add_section()
    return t


def warnings_tables(
    warnings: pd.DataFrame,
    width: int = DEFAULT_WIDTH,
    max_sites: int = MAX_SITES,
    cfg: Config | None = None,
) -> list[Table]:
    """The warnings grid fitted to ``width`` columns.

    All days go in one table when they fit, else into consecutive runs of days, as few
    tables as fit (seven days in two tables are 4 + 3).
    """
    days = [pd.Timestamp(d) for d in sorted(pd.to_datetime(warnings["date"]).unique())]
    probe = Console(width=_UNBOUNDED, file=io.StringIO())
    tables = [warnings_table(warnings, max_sites, cfg, days)]
    for n in range(2, len(days) + 1):
        if all(Measurement.get(probe, probe.options, tb).minimum <= width for tb in tables):
            break
        size = math.ceil(len(days) / n)  # balanced: 7 days in two tables are 4 + 3
        runs = [days[i : i + size] for i in range(0, len(days), size)]
        tables = [warnings_table(warnings, max_sites, cfg, run) for run in runs]
    return tables


def warnings_key(cfg: Config | None = None) -> str:
    """What the grid's lines mean (plain text, printed under the grid)."""
    never = " or ".join((cfg or _default_config()).electives.protected) or "protected"
    return WARNINGS_CAPTION.format(never=never)


def warning_reasons(
    warnings: pd.DataFrame, max_sites: int = MAX_SITES, cfg: Config | None = None
) -> list[str]:
    """Per site, the reasons of its highest-level day (the first such day), Rich markup."""
    lines = []
    w = warnings.assign(site_id=warnings["site_id"].astype(str))
    names = site_names_of(w, cfg)
    # each site's highest level, its first day at that level; sites in id order
    tops = w[w["site_id"].isin(shown_sites(w, max_sites))]
    tops = tops.sort_values(["site_id", "level", "date"], ascending=[True, False, True])
    tops = tops.drop_duplicates("site_id")
    for top in tops.to_dict(orient="records"):
        site = top["site_id"]
        level = int(top["level"])
        style = LEVEL_STYLES[level]
        label = escape(site_label(str(site), names))
        head = f"[{style}]{label} {pd.Timestamp(top['date']):%a %d}, level {level}[/]"
        reasons = escape("; ".join(str(r) for r in top["reasons"]))
        advice = f" {escape(str(top['advice']))}." if level >= 3 and top.get("advice") else ""
        lines.append(f"{head}: {reasons}.{advice}")
    return lines


def fail_on_level_message(
    warnings: pd.DataFrame, threshold: int, cfg: Config | None = None, max_sites: int = 10
) -> str:
    """Which sites and days reached ``--fail-on-level`` (plain text, one line).

    Every site with a day at or above the threshold is named (with its name where set), with
    the days at its own highest level; sites are grouped by that level, highest first.
    Example: ``"Level 3 reached at RXX (Royal X) on Tue 2026-12-08; exiting 1 because
    --fail-on-level 3"``.
    """
    w = warnings.assign(
        site_id=warnings["site_id"].astype(str), date=pd.to_datetime(warnings["date"])
    )
    hits = w[w["level"] >= threshold].sort_values(["site_id", "date"])
    site_top = hits.groupby("site_id")["level"].transform("max")
    worst = hits[hits["level"] == site_top]
    names = site_names_of(w, cfg)
    sites = worst.groupby("site_id", sort=True)["level"].first()
    order = sites.sort_values(ascending=False, kind="stable")
    groups: list[str] = []
    for level in order.iloc[:max_sites].unique():
        at = [s for s in order.index[:max_sites] if sites[s] == level]
        named = "; ".join(
            f"{site_label(s, names)} on "
            + ", ".join(f"{d:%a %Y-%m-%d}" for d in worst.loc[worst["site_id"] == s, "date"])
            for s in at
        )
        groups.append(f"{'Level' if not groups else 'level'} {int(level)} at {named}")
    text = "; ".join(groups).replace(" at ", " reached at ", 1)
    if len(order) > max_sites:
        text += f"; and {len(order) - max_sites} more sites"
    return f"{text}; exiting 1 because --fail-on-level {threshold}"


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


def layout_width(console: Console) -> int:
    """Columns to lay tables out for: the terminal's width, or 80 when the output is piped.

    Piped output (cron mail, ``demo.log``) is read later on any screen: 80 columns unless
    ``COLUMNS`` says otherwise, even when the terminal the command started from is wider.
    """
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console.width
    return min(console.width, DEFAULT_WIDTH)


def show_warnings(
    console: Console,
    warnings: pd.DataFrame,
    title: str,
    cfg: Config | None = None,
    width: int | None = None,
) -> None:
    """Print the title, the warnings grid fitted to the width, its key and each site's reasons.

    Args:
        console: Where to print.
        warnings: Warning rows.
        title: Printed above the grid.
        cfg: Site names (``sites.yaml``), occupancy lines and protected electives.
        width: Columns to lay out for (default the console's; the CLI passes
            :func:`layout_width`: 80 when piped).
    """
    width = console.width if width is None else width
    console.print(Text(title), width=width)
    for i, table in enumerate(warnings_tables(warnings, width, cfg=cfg)):
        if i:
            console.print()
        console.print(table, width=width)
    more = warnings["site_id"].astype(str).nunique() - MAX_SITES
    if more > 0:
        console.print(
            f"The {MAX_SITES} most pressed sites (highest level, then occupancy); {more} more: "
            "--format json lists all.",
            width=width,
        )
    console.print(Text(warnings_key(cfg)), width=width)
    console.print("[bold]Why[/] (each site's highest level):", width=width)
    for line in warning_reasons(warnings, cfg=cfg):
        console.print(Padding(Text.from_markup(line), (0, 0, 0, 2)), width=width)
