"""The national summary page of ``forecasting report``: one self-contained HTML file.

Sections: the title with the as-of day, issue time and model; the number of trusts at each
headline level; the trusts whose level changed since yesterday's issue; a legend; and one
small-multiple strip per trust (highest level first). No external assets and no script: the
strips are inline SVG built as strings, so 150 trusts take well under a second.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pandas as pd

from forecasting.escalation.levels import LEVEL_NAMES
from forecasting.io import StagedOutputs, atomic_write_text
from forecasting.national.colours import level_css
from forecasting.national.strips import strip_data
from forecasting.national.summary import (
    LEVELS,
    changed_levels,
    headline_levels,
    level_counts,
)
from forecasting.national.svg import (
    FORECAST_COLOUR,
    OBSERVED_COLOUR,
    REFERENCE_LINES,
    StripGeometry,
    strip_svg,
)

REQUIRED_WARNING_COLUMNS = (
    "site_id",
    "date",
    "level",
    "occupancy",
    "occupancy_q0.05",
    "occupancy_q0.95",
)
REQUIRED_HISTORY_COLUMNS = ("site_id", "date", "occupancy")
DayLike = pd.Timestamp | dt.date | str

_CSS = """body{font-family:system-ui,sans-serif;color:#111;max-width:1280px;margin:auto;
padding:0 12px}
h1{font-size:1.5em;margin-bottom:.2em}.meta{color:#444;margin-top:0}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top}
.lv{display:inline-block;padding:1px 6px;border-radius:3px;font-weight:600}
.counts{display:flex;gap:8px;flex-wrap:wrap}
.count{padding:8px 12px;border-radius:4px;min-width:150px}
.count b{font-size:1.8em;display:block}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:6px 12px}
figure{margin:0;padding:4px;border-top:1px solid #ddd}figcaption{font-size:12px;margin-bottom:2px}
figcaption .id{color:#555}svg text{font-size:8px;font-family:system-ui,sans-serif}
.legend{font-size:12px;display:flex;gap:14px;flex-wrap:wrap;align-items:center}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(x: object) -> str:
    """Occupancy with one decimal (a rounded figure could contradict the level)."""
    return "–" if not isinstance(x, int | float) or x != x else f"{100 * float(x):.1f}%"


def _badge(level: int, text: str | None = None) -> str:
    return f'<span class="lv lv{level}">{_esc(text if text is not None else level)}</span>'


def _trust_label(site_id: str, site_name: str) -> str:
    if site_name and site_name != site_id:
        return f'<b>{_esc(site_name)}</b> <span class="id">{_esc(site_id)}</span>'
    return f"<b>{_esc(site_id)}</b>"


def _check_columns(frame: pd.DataFrame, required: tuple[str, ...], name: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}")


def _check_levels(warnings: pd.DataFrame) -> None:
    levels = pd.to_numeric(warnings["level"], errors="coerce")
    bad = sorted({str(v) for v in warnings["level"][~levels.isin(LEVELS)]})
    if bad:
        raise ValueError(f"warnings level must be 1..4, got {', '.join(bad[:5])}")


def _counts_section(headlines: pd.DataFrame, names: dict[int, str]) -> str:
    counts = level_counts(headlines)
    total = max(int(counts.sum()), 1)
    boxes = "".join(
        f'<div class="count lv{lv}"><b>{int(counts[lv])}</b>level {lv}: {_esc(names[lv])}</div>'
        for lv in LEVELS
    )
    bar = "".join(
        f'<div class="lv{lv}" style="width:{100 * int(counts[lv]) / total:.2f}%"></div>'
        for lv in LEVELS
        if counts[lv]
    )
    return (
        f"<section><h2>Trusts by level ({int(counts.sum())} trusts)</h2>"
        f'<div class="counts">{boxes}</div>'
        f'<div aria-hidden="true" style="display:flex;height:10px;margin-top:6px">{bar}</div>'
        "</section>"
    )


def _changes_section(
    headlines: pd.DataFrame, previous_levels: pd.Series | None, anchors: dict[str, str]
) -> str:
    head = "<section><h2>Changed level since yesterday"
    if previous_levels is None:
        return f"{head}</h2><p>No previous issue to compare with.</p></section>"
    changes = changed_levels(headlines, previous_levels)
    if changes.empty:
        return f"{head} (none)</h2><p>No trust changed level.</p></section>"
    rows = []
    for r in changes.to_dict(orient="records"):
        site, name, level = str(r["site_id"]), str(r["site_name"]), int(r["level"])
        if pd.isna(r["previous_level"]):
            was, arrow = "new (not in yesterday's issue)", ""
        else:
            before = int(r["previous_level"])
            was, arrow = _badge(before), " ▲ up" if level > before else " ▼ down"
        to = _badge(level, f"{level} {r['level_name']}")
        rows.append(
            f'<tr><td><a href="#{anchors[site]}">{_trust_label(site, name)}</a></td>'
            f"<td>{was}</td><td>{to}{arrow}</td><td>{_esc(r['reason'])}</td></tr>"
        )
    return (
        f"{head} ({len(changes)})</h2><table><tr><th>trust</th><th>from</th><th>to</th>"
        f"<th>reason that set the new level</th></tr>{''.join(rows)}</table></section>"
    )


def _legend(names: dict[int, str]) -> str:
    def line(colour: str, dash: str = "", width: float = 1.5) -> str:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return (
            f'<svg width="24" height="10" aria-hidden="true"><line x1="0" x2="24" y1="5" y2="5" '
            f'stroke="{colour}" stroke-width="{width}"{extra}/></svg>'
        )

    band = (
        '<svg width="24" height="10" aria-hidden="true"><rect width="24" height="10" '
        f'fill="{FORECAST_COLOUR}" fill-opacity="0.22"/></svg>'
    )
    items = [
        f"{line(OBSERVED_COLOUR)} observed occupancy",
        f"{line(FORECAST_COLOUR)} forecast (mean)",
        f"{band} 90% forecast range",
        *(f"{line(colour, '3 2', 1)} {label} occupancy" for _, label, colour in REFERENCE_LINES),
        *(_badge(lv, f"{lv} {names[lv]}") for lv in LEVELS),
    ]
    geom = StripGeometry()
    scale = f"{100 * geom.y_min:.0f}–{100 * geom.y_max:.0f}%"
    return (
        f'<div class="legend">{"".join(f"<span>{i}</span>" for i in items)}</div>'
        f'<p class="meta">Each strip: the last {geom.history_days} days observed, then '
        f"{geom.forecast_days} forecast days on a grey background; the cells below give each "
        f"forecast day's level. Common scale {scale} (values beyond are drawn at the edge).</p>"
    )


def _strips_section(
    headlines: pd.DataFrame,
    warnings: pd.DataFrame,
    history: pd.DataFrame,
    previous: dict[str, int],
    start: pd.Timestamp,
    anchors: dict[str, str],
) -> str:
    strips = strip_data(warnings, history, start)
    figures = []
    for r in headlines.to_dict(orient="records"):
        site, level = str(r["site_id"]), int(r["level"])
        name, peak = str(r["site_name"]), pd.Timestamp(r["peak_date"])
        label = f"{name} ({site})" if name != site else site
        was = previous.get(site)
        change = "" if was is None or was == level else f" (was {was})"
        svg = strip_svg(strips[site], f"{label}: level {level}, peak {peak:%a %d %b}")
        figures.append(
            f'<figure id="{anchors[site]}"><figcaption>{_badge(level)} '
            f"{_trust_label(site, name)} · level {level}{change} from "
            f"{peak:%a %d %b} · max {_pct(r['peak_occupancy'])}"
            f"</figcaption>{svg}</figure>"
        )
    return f'<section><h2>Trusts</h2><div class="grid">{"".join(figures)}</div></section>'


def national_page(
    warnings: pd.DataFrame,
    history: pd.DataFrame,
    previous_levels: pd.Series | None,
    *,
    as_of: DayLike,
    issued: DayLike,
    model_ref: str,
    title: str = "National bed pressure",
) -> str:
    """Render the national summary page.

    Args:
        warnings: One row per trust and forecast day: ``site_id, date, level, occupancy,
            occupancy_q0.05, occupancy_q0.95`` (and ``reasons``, optionally ``site_name``,
            ``level_name``; other columns are ignored).
        history: Observed occupancy: ``site_id, date, occupancy`` (NaN allowed); the last 28
            days up to ``as_of`` are drawn.
        previous_levels: Yesterday's headline level by ``site_id`` (may miss trusts), or
            ``None`` when there is no previous issue.
        as_of: The issue's as-of day (last observed day).
        issued: When the issue was made (shown to the minute).
        model_ref: The model behind the forecasts (e.g. a registry URI), shown as given.
        title: Page title.

    Returns:
        The HTML page (every user-supplied string escaped).

    Raises:
        ValueError: A required column is missing or a level is not 1..4.
    """
    _check_columns(warnings, REQUIRED_WARNING_COLUMNS, "warnings")
    _check_columns(history, REQUIRED_HISTORY_COLUMNS, "history")
    _check_levels(warnings)
    day = pd.Timestamp(as_of).normalize()
    stamp = pd.Timestamp(issued)
    geom = StripGeometry()
    start = day - pd.Timedelta(days=geom.history_days - 1)
    warnings = warnings.assign(date=pd.to_datetime(warnings["date"]))
    dates = pd.to_datetime(history["date"])
    history = history.assign(date=dates)[(dates >= start) & (dates <= day)]
    headlines = headline_levels(warnings)
    names = dict(LEVEL_NAMES)
    anchors = {site: f"trust-{i}" for i, site in enumerate(headlines["site_id"])}
    previous = {}
    if previous_levels is not None:
        known = pd.to_numeric(previous_levels, errors="coerce").dropna()
        previous = {str(k): int(v) for k, v in known.items()}
    heading = f"{title}: {day:%A %d %B %Y}"
    return "".join(
        [
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(heading)}'
            f"</title><style>{_CSS}{level_css()}</style></head><body><h1>{_esc(heading)}</h1>",
            f'<p class="meta">Issued {stamp:%Y-%m-%d %H:%M} · model {_esc(model_ref)} · '
            f"{len(headlines)} trusts. A trust's level is the highest recommended OPEL-style "
            "level over its forecast days; the declared level stays a human decision.</p>",
            _counts_section(headlines, names),
            _changes_section(headlines, previous_levels, anchors),
            f"<section><h2>Legend</h2>{_legend(names)}</section>",
            _strips_section(headlines, warnings, history, previous, start, anchors),
            "</body></html>\n",
        ]
    )


def write_national_page(
    path: str | Path,
    warnings: pd.DataFrame,
    history: pd.DataFrame,
    previous_levels: pd.Series | None,
    *,
    as_of: DayLike,
    issued: DayLike,
    model_ref: str,
    title: str = "National bed pressure",
    staged: StagedOutputs | None = None,
) -> Path:
    """Render :func:`national_page` and write it atomically to ``path``.

    Args:
        path: The HTML file to write.
        warnings: See :func:`national_page`.
        history: See :func:`national_page`.
        previous_levels: See :func:`national_page`.
        as_of: See :func:`national_page`.
        issued: See :func:`national_page`.
        model_ref: See :func:`national_page`.
        title: See :func:`national_page`.
        staged: The report's :class:`~forecasting.io.StagedOutputs`, to rename the page into
            place together with the report's other files; without it the page is written
            atomically on its own.

    Returns:
        ``path``.

    Raises:
        OSError: Naming ``path`` when it cannot be written; an earlier page is left as it was.
    """
    text = national_page(
        warnings,
        history,
        previous_levels,
        as_of=as_of,
        issued=issued,
        model_ref=model_ref,
        title=title,
    )
    target = Path(path)
    if staged is not None:
        staged.write_text(target, text)
    else:
        atomic_write_text(target, text)
    return target
