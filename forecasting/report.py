"""The warnings report: a self-contained HTML page and one SVG picture per site.

The page opens with what it is based on (the last data day, when it was issued, the model) and
a summary across sites: the number of sites at each headline level, the sites at the highest
level, and a site × day grid of levels. Then a legend, and per site a chart (history, forecast
fan, each day's surge line, level shading; below, P(surge), forecast bed occupancy and the level
of each day) with a table of the days. Charts are inline SVG built as strings: 100 sites take
about 1.5 s and 2 MB (``benchmarks/report_speed.py``; matplotlib PNGs in base64 took minutes and
23 MB). Every text and background pair reaches WCAG AA (4.5:1).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pandas as pd

from forecasting.data import schema
from forecasting.escalation.levels import LEVEL_NAMES
from forecasting.io import StagedOutputs
from forecasting.national.colours import LEVEL_COLOURS, level_css
from forecasting.national.summary import LEVELS, headline_levels, level_counts
from forecasting.report_data import report_as_of, site_chart_data
from forecasting.report_svg import (
    BAR_COLOUR,
    CEILING_COLOUR,
    CHART_CSS,
    COMFORT_COLOUR,
    FORECAST_COLOUR,
    LEVEL_SHADE_OPACITY,
    OBSERVED_COLOUR,
    OCCUPANCY_COLOUR,
    SURGE_COLOUR,
    site_chart_svg,
    standalone_svg,
)

__all__ = ["LEVEL_COLOURS", "LEVEL_NAMES", "report_page", "write_report"]

DayLike = pd.Timestamp | dt.date | dt.datetime | str

_CSS = """body{font-family:system-ui,sans-serif;color:#111111;background:#ffffff;max-width:960px;
margin:auto;padding:0 12px}h1{font-size:1.5em;margin-bottom:.2em}.meta{color:#444444;margin-top:0}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #cccccc;padding:3px 6px;
text-align:left;vertical-align:top}a{color:#0b57a8}
.lv{font-weight:600;white-space:nowrap}.counts{display:flex;gap:8px;flex-wrap:wrap}
.count{padding:8px 12px;border-radius:4px;min-width:150px}.count b{font-size:1.8em;display:block}
.grid td{text-align:center;padding:2px 4px}.grid td.site{text-align:left}
.legend{font-size:13px;display:flex;gap:6px 16px;flex-wrap:wrap;align-items:center}
.legend span{display:inline-flex;gap:5px;align-items:center}
section.site{border-top:1px solid #dddddd;margin-top:18px}svg.chart{max-width:100%;height:auto}
table.days{width:100%}table.days td.lv{white-space:normal;width:9em}td.why{width:45%}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(x: object, digits: int = 0) -> str:
    if not isinstance(x, int | float) or x != x:
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def _slug(site: str, taken: set[str]) -> str:
    """A file name stem for ``site``: safe characters only, unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", site).strip("_.") or "site"
    slug, n = base, 1
    while slug.lower() in taken:
        n += 1
        slug = f"{base}_{n}"
    taken.add(slug.lower())
    return slug


def _badge(level: int, text: str) -> str:
    return f'<span class="lv lv{level}">&nbsp;{_esc(text)}&nbsp;</span>'


_TABLE_COLUMNS = (
    schema.SITE,
    schema.DATE,
    "level",
    "attendances_mean",
    "attendances_q0.05",
    "attendances_q0.95",
    "p_surge",
    "occupancy",
    "electives_to_review",
    "reasons",
)


def _records_by_site(warnings: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The table's columns of each site's days, in date order (one pass over the frame)."""
    columns = [c for c in _TABLE_COLUMNS if c in warnings.columns]
    w = warnings[columns].assign(**{schema.SITE: warnings[schema.SITE].astype(str)})
    rows = cast(list[dict[str, Any]], w.sort_values([schema.SITE, schema.DATE]).to_dict("records"))
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(str(r[schema.SITE]), []).append(r)
    return out


def _table_rows(records: list[dict[str, Any]]) -> str:
    rows = []
    for r in records:
        level = int(r["level"])
        reasons = r.get("reasons")
        if reasons is None or (isinstance(reasons, float) and reasons != reasons):
            reasons = []
        elif isinstance(reasons, str):
            reasons = [reasons]
        rows.append(
            "<tr>"
            f"<td>{pd.Timestamp(r['date']):%a %d %b}</td>"
            f'<td class="lv lv{level}">{level} {_esc(LEVEL_NAMES[level])}</td>'
            f"<td>{r.get('attendances_mean', float('nan')):.0f} "
            f"({r.get('attendances_q0.05', float('nan')):.0f}–"
            f"{r.get('attendances_q0.95', float('nan')):.0f})</td>"
            f"<td>{_pct(r.get('p_surge'))}</td>"
            f"<td>{_pct(r.get('occupancy'), 1)}</td>"
            f"<td>{int(r.get('electives_to_review') or 0)}</td>"
            f'<td class="why">{"<br>".join(_esc(s) for s in reasons)}</td>'
            "</tr>"
        )
    return "\n".join(rows)


_TABLE_HEAD = (
    '<table class="days"><tr><th>day</th><th>recommended level</th>'
    "<th>attendances (90% range)</th>"
    "<th>P(surge)</th><th>forecast bed occupancy</th><th>electives to review</th>"
    "<th>reasons</th></tr>"
)


def _site_names(warnings: pd.DataFrame, given: Mapping[str, str] | None) -> dict[str, str]:
    """Names from ``given``, else from a ``site_name`` column of the warnings."""
    out: dict[str, str] = {}
    if "site_name" in warnings.columns:
        names = warnings.dropna(subset=["site_name"]).drop_duplicates(schema.SITE)
        out = {str(s): str(n) for s, n in zip(names[schema.SITE], names["site_name"], strict=True)}
    out.update({str(k): str(v) for k, v in (given or {}).items() if v})
    return out


def _label(site: str, names: dict[str, str]) -> str:
    """``"RAA (Northgate General)"`` where the site has a name (as the terminal table)."""
    name = names.get(site)
    return f"{site} ({name})" if name and name != site else site


def _summary(
    warnings: pd.DataFrame, order: list[str], names: dict[str, str], anchors: dict[str, str]
) -> str:
    table = headline_levels(warnings)
    counts = level_counts(table)
    heads = {str(r["site_id"]): r for r in table.to_dict(orient="records")}
    boxes = "".join(
        f'<div class="count lv{lv}"><b>{int(counts[lv])}</b>level {lv}: {_esc(LEVEL_NAMES[lv])}'
        "</div>"
        for lv in LEVELS
    )
    if not heads:
        return "<section><h2>Sites by highest recommended level</h2><p>No warnings.</p></section>"
    top = max(int(r["level"]) for r in heads.values())
    at_top = [s for s in order if int(heads[s]["level"]) == top]
    if top == 1:
        highest = "<p>No site is above level 1 on any forecast day.</p>"
    else:
        items = "".join(
            f'<li><a href="#{anchors[s]}">{_esc(_label(s, names))}</a>: from '
            f"{pd.Timestamp(heads[s]['peak_date']):%a %d %b}"
            f"{' · ' + _esc(heads[s]['reason']) if heads[s]['reason'] else ''}</li>"
            for s in at_top
        )
        highest = (
            f"<h3>Sites at level {top} ({_esc(LEVEL_NAMES[top])}), the highest this issue: "
            f"{len(at_top)}</h3><ul>{items}</ul>"
        )
    return (
        f"<section><h2>Sites by highest recommended level ({len(order)} sites)</h2>"
        f'<div class="counts">{boxes}</div>{highest}</section>'
    )


def _grid(
    warnings: pd.DataFrame, order: list[str], names: dict[str, str], anchors: dict[str, str]
) -> str:
    w = warnings.assign(
        site_id=warnings[schema.SITE].astype(str), date=pd.to_datetime(warnings[schema.DATE])
    )
    days = [pd.Timestamp(d) for d in sorted(w["date"].unique())]
    head = "".join(f"<th>{d:%a<br>%d %b}</th>" for d in days)
    wide = w.pivot_table(index="site_id", columns="date", values="level", aggfunc="max")
    levels = {str(k): v for k, v in wide.to_dict(orient="index").items()}
    p = w.groupby("site_id")["p_surge"].max() if "p_surge" in w else pd.Series(dtype=float)
    rows = []
    for s in order:
        cells = []
        for d in days:
            v = levels[s].get(d, float("nan"))
            cells.append("<td>–</td>" if v != v else f'<td class="lv{int(v)}">{int(v)}</td>')
        rows.append(
            f'<tr><td class="site"><a href="#{anchors[s]}">{_esc(_label(s, names))}</a></td>'
            f"{''.join(cells)}<td>{_pct(p.get(s))}</td></tr>"
        )
    return (
        "<section><h2>All sites: recommended level by day</h2>"
        f'<table class="grid"><tr><th>site</th>{head}<th>highest P(surge)</th></tr>'
        f"{''.join(rows)}</table></section>"
    )


def _legend(comfort: float, ceiling: float) -> str:
    def line(colour: str, width: float = 2, dash: str = "") -> str:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return (
            f'<svg width="26" height="12" aria-hidden="true"><line x1="0" x2="26" y1="6" y2="6" '
            f'stroke="{colour}" stroke-width="{width}"{extra}/></svg>'
        )

    def box(colour: str, opacity: float = 1.0) -> str:
        return (
            f'<svg width="26" height="12" aria-hidden="true"><rect width="26" height="12" '
            f'fill="{colour}" fill-opacity="{opacity}" stroke="#999999" stroke-width="0.5"/></svg>'
        )

    bands = "".join(
        f'<rect x="{i * 9}" width="9" height="12" fill="{FORECAST_COLOUR}" fill-opacity="{a}"/>'
        for i, a in enumerate((0.15, 0.4, 0.8))
    )
    items = [
        f"{line(OBSERVED_COLOUR, 1.4)} observed attendances",
        f"{line(FORECAST_COLOUR)} forecast (mean)",
        f'<svg width="27" height="12" aria-hidden="true">{bands}</svg> 90%, 80%, 50% ranges',
        f"{line(SURGE_COLOUR, 3)} surge line (each day's)",
        *(
            f"{box(LEVEL_COLOURS[lv], LEVEL_SHADE_OPACITY)} shading: level {lv} "
            f"{_esc(LEVEL_NAMES[lv])}"
            for lv in LEVELS
        ),
        f"{box(BAR_COLOUR)} P(surge), left axis",
        f"{line(OCCUPANCY_COLOUR, 1.6)} forecast bed occupancy, right axis",
        f"{line(COMFORT_COLOUR, 1.2, '2 3')} {100 * comfort:.0f}% occupancy comfort line",
        f"{line(CEILING_COLOUR, 1.2, '2 3')} {100 * ceiling:.0f}% occupancy ceiling",
    ]
    return (
        "<section><h2>How to read the charts</h2>"
        f'<div class="legend">{"".join(f"<span>{i}</span>" for i in items)}</div>'
        '<p class="meta">Top: the last 4 weeks and the forecast days (shaded in each day\'s level '
        "colour). Bottom, per forecast day: the chance of a surge (bars), forecast bed occupancy "
        "(line) and the recommended level.</p></section>"
    )


def _order(warnings: pd.DataFrame) -> list[str]:
    """Sites by highest level, then highest P(surge), then id (the page's order)."""
    w = warnings.assign(site_id=warnings[schema.SITE].astype(str))
    p = w.get("p_surge", 0.0)
    top = w.assign(_p=p).groupby("site_id").agg(level=("level", "max"), p=("_p", "max"))
    top = top.reset_index().sort_values(["level", "p", "site_id"], ascending=[False, False, True])
    return top["site_id"].tolist()


def _stamp(issued: DayLike | None) -> str:
    stamp = pd.Timestamp(dt.datetime.now(dt.UTC) if issued is None else issued)
    if stamp.tzinfo is not None:
        return f"{stamp.tz_convert('UTC'):%Y-%m-%d %H:%M} UTC"
    return f"{stamp:%Y-%m-%d %H:%M}"


def _model_text(warnings: pd.DataFrame, model_ref: str | None) -> str:
    text = model_ref
    if text is None:
        models = sorted(warnings["model"].astype(str).unique()) if "model" in warnings else []
        text = ", ".join(models) or "not recorded"
    if "model_source" in warnings.columns and (warnings["model_source"] == "cache").any():
        text += " [locally cached copy: registry unreachable]"
    return text


def report_page(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    warnings: pd.DataFrame,
    *,
    title: str = "ED demand warnings",
    as_of: DayLike | None = None,
    issued: DayLike | None = None,
    model_ref: str | None = None,
    site_names: Mapping[str, str] | None = None,
    comfort: float = 0.85,
    ceiling: float = 0.92,
) -> tuple[str, dict[str, str]]:
    """Render the report page and each site's standalone SVG.

    Args:
        history: DemandFrame with the observed days.
        forecast: Forecast frame behind the warnings (each site's latest cutoff is drawn).
        warnings: Warnings frame (``site_id, date, level, surge_threshold, p_surge``,
            ``attendances_mean``/``_q0.05``/``_q0.95`` and optionally ``occupancy``,
            ``electives_to_review``, ``reasons``, ``site_name``, ``model``, ``as_of``).
        title: Page title.
        as_of: Last data day (default: the warnings' ``as_of``, else the forecast cutoff).
        issued: Issue time (default: now, UTC).
        model_ref: The model behind the warnings, e.g. ``models:/ed-demand@champion (version
            3)`` (default: the warnings' ``model`` names).
        site_names: Site id -> name (e.g. from ``sites.yaml``); default: the warnings'
            ``site_name`` column, if any.
        comfort: Occupancy comfort line.
        ceiling: Occupancy ceiling.

    Returns:
        The HTML page, and each site's SVG (with its own styles) by site id.
    """
    day = (
        pd.Timestamp(as_of).normalize()
        if as_of is not None
        else report_as_of(history, forecast, warnings)
    )
    charts = site_chart_data(history, forecast, warnings, day)
    names = _site_names(warnings, site_names)
    order = _order(warnings)
    anchors = {s: f"site-{i}" for i, s in enumerate(order)}
    dates = pd.to_datetime(warnings[schema.DATE])
    span = f"{dates.min():%a %d %b} to {dates.max():%a %d %b %Y}" if len(dates) else "none"
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}: '
        f"{day:%d %b %Y}</title><style>{_CSS}{level_css()}{CHART_CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta"><b>Data to {day:%A %d %B %Y}</b> (as-of day) · forecast days {span} · '
        f"issued {_stamp(issued)} · model <b>{_esc(_model_text(warnings, model_ref))}</b> · "
        f"{len(order)} sites</p>",
        "<p>Recommended OPEL-style levels (1 flow maintained, 2 signs of pressure, 3 major "
        "pressure, 4 unable to deliver comprehensive care); a site's headline level is its "
        "highest over the forecast days. A declared level stays a human decision.</p>",
        _summary(warnings, order, names, anchors),
        _grid(warnings, order, names, anchors),
        _legend(comfort, ceiling),
    ]
    records = _records_by_site(warnings)
    svgs: dict[str, str] = {}
    for site in order:
        label = _label(site, names)
        alt = f"{label}: attendances, forecast, surge line and recommended level per day"
        svg = site_chart_svg(charts[site], alt, comfort, ceiling)
        svgs[site] = standalone_svg(svg)
        parts.append(
            f'<section class="site" id="{anchors[site]}"><h2>{_esc(label)}</h2>{svg}'
            f"{_TABLE_HEAD}{_table_rows(records[site])}</table></section>"
        )
    parts.append("</body></html>\n")
    return "".join(parts), svgs


def write_report(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    warnings: pd.DataFrame,
    out_dir: str | Path,
    title: str = "ED demand warnings",
    comfort: float = 0.85,
    ceiling: float = 0.92,
    *,
    as_of: DayLike | None = None,
    issued: DayLike | None = None,
    model_ref: str | None = None,
    site_names: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Write ``index.html`` and one SVG picture per site.

    Args:
        history: DemandFrame with the observed days.
        forecast: Forecast frame behind the warnings.
        warnings: Warnings frame (see :func:`report_page`).
        out_dir: Folder to write into (created if needed).
        title: Page title.
        comfort: Occupancy comfort line (``thresholds.occupancy_comfort``).
        ceiling: Occupancy ceiling (``thresholds.occupancy_ceiling``).
        as_of: See :func:`report_page`.
        issued: See :func:`report_page`.
        model_ref: See :func:`report_page`.
        site_names: See :func:`report_page`.

    Returns:
        Paths by site, plus ``"index"`` for the HTML page.

    Raises:
        OSError: Naming the file that could not be written (``out_dir`` is a file, the folder
            is not writable, the disk is full); no file of an earlier report is replaced.
    """
    page, svgs = report_page(
        history,
        forecast,
        warnings,
        title=title,
        as_of=as_of,
        issued=issued,
        model_ref=model_ref,
        site_names=site_names,
        comfort=comfort,
        ceiling=ceiling,
    )
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    taken: set[str] = {"index"}
    with StagedOutputs() as staged:  # nothing replaced unless every file is written
        for site in sorted(svgs):
            paths[site] = out / f"{_slug(site, taken)}.svg"
            staged.write_text(paths[site], svgs[site])
        paths["index"] = out / "index.html"
        staged.write_text(paths["index"], page)
    return paths
