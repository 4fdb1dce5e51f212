"""The national bed-pressure table: trusts sorted by level, one compact cell per day.

Each cell is the day's OPEL-style level and forecast occupancy (one decimal where a rounded
figure would contradict the 85% comfort line, the 92% ceiling or the 97% severe line); each
day's header names the two ("L occ%"). Trusts are sorted by their highest level, then by their
peak occupancy (:func:`forecasting.national.summary.headline_levels`, as on the national page).
Every user string goes through :class:`rich.text.Text` or ``escape``.
"""

from __future__ import annotations

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from forecasting.cli.render import LEVEL_STYLES, site_label, site_names_of
from forecasting.config import Config
from forecasting.escalation.wording import format_occupancy, occupancy_lines
from forecasting.national.summary import headline_levels, level_counts

PRESSURE_KEY = "L occ%"  # second header line of each day: level, then occupancy


def _cell(level: int, occupancy: float, lines: tuple[float, ...]) -> Text:
    """``"3 92.4"``: the level (in its colour), then the occupancy in percent."""
    cell = Text(str(level), style=LEVEL_STYLES[level])
    cell.append(" " + format_occupancy(occupancy, lines).rstrip("%"))
    return cell


def pressure_table(
    warnings: pd.DataFrame, title: str, max_sites: int = 40, cfg: Config | None = None
) -> Table:
    """Trust × day grid of levels and occupancy, most pressed trusts first.

    Each day's header names its two figures ("L occ%": level, forecast occupancy); a trust
    with a name in the site settings shows "id (name)", wrapped in its column.
    """
    t = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        caption_justify="left",
        title=Text(title),
        title_justify="left",
    )
    t.add_column("trust", overflow="fold")
    t.add_column("top\nL", justify="right", no_wrap=True)
    days = [pd.Timestamp(d) for d in sorted(pd.to_datetime(warnings["date"]).unique())]
    for d in days:
        t.add_column(f"{d:%a %d}\n{PRESSURE_KEY}", justify="right", no_wrap=True)
    w = warnings.assign(
        site_id=warnings["site_id"].astype(str), date=pd.to_datetime(warnings["date"])
    )
    names, lines = site_names_of(w, cfg), occupancy_lines(cfg or Config())
    heads = headline_levels(w).set_index("site_id")
    shown = heads.head(max_sites)
    listed = w.loc[w["site_id"].isin(shown.index), ["site_id", "date", "level", "occupancy"]]
    cell_of = {
        (site, day): _cell(int(level), float(occ), lines)
        for site, day, level, occ in listed.itertuples(index=False)
    }
    for site, top in zip(shown.index, shown["level"].astype(int), strict=True):
        cells = [cell_of.get((site, d), "") for d in days]
        label = Text(site_label(str(site), names))
        t.add_row(label, Text(str(top), style=LEVEL_STYLES[top]), *cells)
    if len(heads) > max_sites:
        t.add_row(f"… {len(heads) - max_sites} more", "", *[""] * len(days))
    counts = level_counts(heads).sort_index(ascending=False)
    t.caption = (
        "Trusts by highest level: "
        + ", ".join(f"level {lvl}: {n}" for lvl, n in counts.items())
        + ". top L: the trust's highest level. Each day: L, the OPEL-style level (scored from "
        "forecast occupancy, P(>= 97%), ambulance handovers and the trust's own normal; a "
        "declared level stays a human decision), then occ%, forecast G&A occupancy. "
        "--format json lists every trust with its parameters."
    )
    return t


def pressure_reasons(
    warnings: pd.DataFrame, max_sites: int = 10, cfg: Config | None = None
) -> list[str]:
    """For the most pressed trusts (level 3 or more): the reasons and advice of their top day."""
    lines = []
    w = warnings.assign(site_id=warnings["site_id"].astype(str))
    w = w.assign(date=pd.to_datetime(w["date"]))
    names = site_names_of(w, cfg)
    heads = headline_levels(w).head(max_sites)
    levels = heads["level"].astype(int)
    for site, level, peak in zip(heads["site_id"], levels, heads["peak_date"], strict=True):
        if level < 3:
            break
        row = w[(w["site_id"] == site) & (w["date"] == peak)].iloc[0]
        style = LEVEL_STYLES[level]
        when = f"{pd.Timestamp(row['date']):%a %d}"
        reasons = escape("; ".join(str(r) for r in row["reasons"]))
        advice = escape(str(row.get("advice") or ""))
        lines.append(
            f"[{style}]{escape(site_label(str(site), names))} {when}, level {level}[/]: "
            f"{reasons}. Advice: {advice}."
        )
    return lines


def show_pressure(
    console: Console,
    warnings: pd.DataFrame,
    title: str,
    cfg: Config | None = None,
    width: int | None = None,
) -> None:
    """Print the national table, then the reasons of the trusts at level 3 or more.

    ``width``: columns to lay out for (default the console's; the CLI passes
    :func:`~forecasting.cli.render.layout_width`: 80 when piped).
    """
    width = console.width if width is None else width
    console.print(pressure_table(warnings, title, cfg=cfg), width=width)
    lines = pressure_reasons(warnings, cfg=cfg)
    if lines:
        console.print("[bold]Why[/] (trusts at level 3 or more, their highest day):", width=width)
        for line in lines:
            console.print(Padding(Text.from_markup(line), (0, 0, 0, 2)), width=width)
