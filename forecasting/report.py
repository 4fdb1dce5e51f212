"""The warnings report: one picture per site and a small self-contained HTML page.

Each picture shows the site's recent history, the forecast fan chart, the surge threshold and the
recommended escalation level of each forecast day; below it, the surge probability and forecast
bed occupancy per day. The HTML page embeds the pictures (base64), so it is one file to e-mail.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from forecasting.data import schema
from forecasting.io import StagedOutputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LEVEL_COLOURS = {1: "#2e7d32", 2: "#f9a825", 3: "#e65100", 4: "#b71c1c"}
LEVEL_NAMES = {
    1: "flow maintained",
    2: "signs of pressure",
    3: "major pressure",
    4: "unable to deliver comprehensive care",
}


def site_warning_figure(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    warnings: pd.DataFrame,
    site: str,
    days: int = 28,
    comfort: float = 0.85,
    ceiling: float = 0.92,
) -> Figure:
    """Draw one site's history, forecast fan, surge line and recommended levels.

    Args:
        history: DemandFrame with the observed days.
        forecast: Forecast frame of the warnings' model (latest cutoff is drawn).
        warnings: Warnings frame (``site_id, date, level, surge_threshold, p_surge`` and
            optionally ``occupancy``).
        site: Site to draw.
        days: Days of history to show.
        comfort: Occupancy comfort line (drawn dotted).
        ceiling: Occupancy ceiling (drawn dotted).

    Returns:
        The matplotlib figure (the caller saves or closes it).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from forecasting.plot import fan_chart

    w = warnings[warnings[schema.SITE].astype(str) == str(site)].sort_values(schema.DATE)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), gridspec_kw={"height_ratios": [3, 1.4]})
    fan_chart(history, forecast, site, days=days, ax=top)
    top.plot(
        pd.to_datetime(w[schema.DATE]),
        w["surge_threshold"],
        "_",
        color="tab:red",
        ms=16,
        mew=2,
        label="surge line (day's)",
    )
    top.legend(loc="upper left", fontsize=8)
    top.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
    top.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))
    half = pd.Timedelta(hours=12)
    for day, level in zip(pd.to_datetime(w[schema.DATE]), w["level"].astype(int), strict=True):
        top.axvspan(day - half, day + half, color=LEVEL_COLOURS[level], alpha=0.12)
    shown = str(site).replace("$", r"\$")  # no mathtext from a site id
    top.set_title(f"{shown}: attendances, forecast and recommended escalation level")
    top.tick_params(axis="x", labelbottom=True, labelrotation=0, labelsize=8)
    labels = [f"{d:%a %d %b}" for d in pd.to_datetime(w[schema.DATE])]
    x = range(len(labels))
    colours = [LEVEL_COLOURS[int(v)] for v in w["level"]]
    bottom.bar(x, 100 * w["p_surge"], color=colours, width=0.7)
    for i, (p, lvl) in enumerate(zip(w["p_surge"], w["level"], strict=True)):
        bottom.text(i, 100 * p + 2, f"level {int(lvl)}", ha="center", va="bottom", fontsize=8)
    bottom.set_xticks(list(x), labels, fontsize=8, rotation=0)
    bottom.set_ylim(0, 115)
    bottom.set_ylabel("P(surge) %")
    if "occupancy" in w and w["occupancy"].notna().any():
        occ = bottom.twinx()
        occ.plot(list(x), 100 * w["occupancy"], "o-", color="0.2", ms=3, lw=1, label="occupancy")
        occ.set_ylabel("bed occupancy %")
        for line, colour in ((comfort, "tab:orange"), (ceiling, "tab:red")):
            occ.axhline(100 * line, color=colour, ls=":", lw=1)
        low = min(100 * comfort, float(100 * w["occupancy"].min())) - 3
        occ.set_ylim(low, max(100 * ceiling, float(100 * w["occupancy"].max())) + 3)
        occ.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def _slug(site: str, taken: set[str]) -> str:
    """A file name stem for ``site``: safe characters only, unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", site).strip("_.") or "site"
    slug, n = base, 1
    while slug.lower() in taken:
        n += 1
        slug = f"{base}_{n}"
    taken.add(slug.lower())
    return slug


def _table_rows(w: pd.DataFrame) -> str:
    rows = []
    for r in w.sort_values(schema.DATE).to_dict(orient="records"):
        level = int(r["level"])
        reasons = r.get("reasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        rows.append(
            "<tr>"
            f"<td>{pd.Timestamp(r['date']):%a %d %b}</td>"
            f"<td style='background:{LEVEL_COLOURS[level]};color:white'>{level}</td>"
            f"<td>{r['attendances_mean']:.0f} ({r['attendances_q0.05']:.0f}–"
            f"{r['attendances_q0.95']:.0f})</td>"
            f"<td>{100 * r['p_surge']:.0f}%</td>"
            f"<td>{_pct(r.get('occupancy'))}</td>"
            f"<td>{int(r.get('electives_to_review') or 0)}</td>"
            f"<td>{'<br>'.join(html.escape(str(s)) for s in reasons)}</td>"
            "</tr>"
        )
    return "\n".join(rows)


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * float(x):.0f}%"


_HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:auto}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
img{{max-width:100%}}</style></head><body><h1>{title}</h1>
<p>Recommended OPEL-style levels (1 flow maintained, 2 signs of pressure, 3 major pressure,
4 unable to deliver comprehensive care). A declared level stays a human decision.</p>
"""


def write_report(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    warnings: pd.DataFrame,
    out_dir: str | Path,
    title: str = "ED demand warnings",
    comfort: float = 0.85,
    ceiling: float = 0.92,
) -> dict[str, Path]:
    """Write one PNG per site and an ``index.html`` page embedding them.

    Args:
        history: DemandFrame with the observed days.
        forecast: Forecast frame behind the warnings.
        warnings: Warnings frame (see :func:`site_warning_figure`).
        out_dir: Folder to write into (created if needed).
        title: Page title.
        comfort: Occupancy comfort line (``thresholds.occupancy_comfort``).
        ceiling: Occupancy ceiling (``thresholds.occupancy_ceiling``).

    Returns:
        Paths by site, plus ``"index"`` for the HTML page.

    Raises:
        OSError: Naming the file that could not be written (``out_dir`` is a file, the folder
            is not writable, the disk is full); no file of an earlier report is replaced.
    """
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    paths: dict[str, Path] = {}
    parts = [_HEAD.format(title=html.escape(title))]
    taken: set[str] = {"index"}
    with StagedOutputs() as staged:  # nothing replaced unless every file is written
        for site in sorted(warnings[schema.SITE].astype(str).unique()):
            fig = site_warning_figure(
                history, forecast, warnings, site, comfort=comfort, ceiling=ceiling
            )
            png = out / f"{_slug(site, taken)}.png"
            try:
                with staged.path(png) as tmp:
                    fig.savefig(tmp, dpi=110, format="png")
                    data = base64.b64encode(tmp.read_bytes()).decode("ascii")
            finally:
                plt.close(fig)
            paths[site] = png
            w = warnings[warnings[schema.SITE].astype(str) == site]
            parts.append(
                f"<h2>{html.escape(site)}</h2><img alt='{html.escape(site, quote=True)}' "
                f"src='data:image/png;base64,{data}'>"
                "<table><tr><th>day</th><th>level</th><th>attendances (90%)</th>"
                "<th>P(surge)</th><th>occupancy</th><th>electives to review</th>"
                f"<th>reasons</th></tr>{_table_rows(w)}</table>"
            )
        parts.append("</body></html>\n")
        paths["index"] = out / "index.html"
        staged.write_text(paths["index"], "\n".join(parts))
    return paths
