"""One site's warnings chart as inline SVG, built as a string (no matplotlib).

Top panel: the last weeks of observed attendances, the forecast mean with its 50/80/90% bands,
each forecast day's surge line and a light shading in the colour of the day's recommended level.
Bottom panel, one column per forecast day: the chance of a surge (bars, left axis), the forecast
bed occupancy (line with dots, right axis) with the comfort and ceiling lines labelled on the
chart, and a cell per day holding the level as text on its colour. About 9 KB and 10 ms a site;
the matplotlib figure it replaces took about 0.8 s of CPU a site.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from forecasting.national.colours import LEVEL_COLOURS, LEVEL_TEXT
from forecasting.national.svg import band_points, observed_path

OBSERVED_COLOUR = "#333333"
FORECAST_COLOUR = "#1565c0"
SURGE_COLOUR = "#b71c1c"
BAR_COLOUR = "#90a4ae"
OCCUPANCY_COLOUR = "#222222"
COMFORT_COLOUR = "#8a4f00"  # 6.6:1 on white: its label is text
CEILING_COLOUR = "#b71c1c"  # 6.6:1 on white
MUTED_TEXT = "#555555"
GRID_COLOUR = "#e3e3e3"
LEVEL_SHADE_OPACITY = 0.16
BANDS = (("q0.05", "q0.95", 0.15), ("q0.1", "q0.9", 0.25), ("q0.25", "q0.75", 0.4))
CHART_CSS = (
    "svg.chart text{font-family:system-ui,sans-serif;font-size:11px;fill:#111111}"
    "svg.chart .muted{fill:#555555}svg.chart .axis{font-size:11px;font-weight:600}"
)


@dataclass(frozen=True)
class SiteChartData:
    """One site's values on the chart's day columns (0 = first history day).

    Attributes:
        observed_days: Column of each observed day (ascending).
        observed: Observed attendances (NaN allowed).
        forecast_days: Column of each forecast day of the forecast frame (ascending).
        quantiles: Forecast per column of ``forecast_days``: ``mean`` and ``q0.05`` … ``q0.95``.
        warning_days: Column of each warnings day (ascending).
        day_labels: Label of each warnings day (``"Tue 01 Dec"``).
        levels: Recommended level (1..4) of each warnings day.
        surge_lines: Surge threshold of each warnings day (NaN allowed).
        p_surge: Chance of a surge (0..1) of each warnings day.
        occupancy: Forecast bed occupancy (0..1, NaN without beds) of each warnings day.
        tick_days: Columns that get a date label on the top panel.
        tick_labels: Those labels.
    """

    observed_days: Sequence[int]
    observed: Sequence[float]
    forecast_days: Sequence[int]
    quantiles: dict[str, Sequence[float]]
    warning_days: Sequence[int]
    day_labels: Sequence[str]
    levels: Sequence[int]
    surge_lines: Sequence[float]
    p_surge: Sequence[float]
    occupancy: Sequence[float]
    tick_days: Sequence[int]
    tick_labels: Sequence[str]


@dataclass(frozen=True)
class Panel:
    """A plot area mapping day columns and values to SVG coordinates.

    Attributes:
        left: x of the area's left edge.
        top: y of the area's top edge.
        width: Width of the area.
        height: Height of the area.
        columns: Day columns across the width.
        low: Value at the bottom edge.
        high: Value at the top edge.
    """

    left: float
    top: float
    width: float
    height: float
    columns: int
    low: float
    high: float

    @property
    def column_width(self) -> float:
        """Width of one day column."""
        return self.width / max(self.columns, 1)

    @property
    def bottom(self) -> float:
        """The y of the bottom edge."""
        return self.top + self.height

    @property
    def right(self) -> float:
        """The x of the right edge."""
        return self.left + self.width

    def x_of(self, day: int, /) -> float:
        """The x of the centre of column ``day``."""
        return self.left + (day + 0.5) * self.column_width

    def y_of(self, value: float, /) -> float:
        """The y of ``value`` (clipped to the area)."""
        v = min(max(value, self.low), self.high)
        span = self.high - self.low or 1.0
        return self.top + (self.high - v) / span * self.height


def num(x: float) -> str:
    """A coordinate with at most one decimal and no trailing ``.0``."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def finite(x: object) -> bool:
    """True for a finite int or float."""
    return isinstance(x, int | float) and math.isfinite(x)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2, 2.5 or 5 × 10^k).

    Args:
        low: Smallest value to cover.
        high: Largest value to cover.
        count: About how many ticks.

    Returns:
        Ascending ticks; the first is at or below ``low`` and the last at or above ``high``.
    """
    if not high > low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9:
        ticks.append(ticks[-1] + step)
    return ticks


def _text(
    x: float, y: float, text: str, anchor: str = "start", cls: str = "", extra: str = ""
) -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}"{klass}{extra}>'
        f"{html.escape(text)}</text>"
    )


def _hline(panel: Panel, y: float, colour: str, width: float = 1.0, dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{num(panel.left)}" x2="{num(panel.right)}" y1="{num(y)}" y2="{num(y)}" '
        f'stroke="{colour}" stroke-width="{width}"{extra}/>'
    )


@dataclass(frozen=True)
class ChartLayout:
    """Sizes of the chart, in SVG user units (pixels)."""

    width: float = 900.0
    left: float = 60.0
    right: float = 110.0
    top: float = 10.0
    top_height: float = 200.0
    gap: float = 44.0
    bottom_height: float = 110.0
    cell_height: float = 18.0
    footer: float = 22.0

    @property
    def height(self) -> float:
        """Total height of the SVG."""
        return self.top + self.top_height + self.gap + self.bottom_height + self.cell_height + 30


def _top_panel(data: SiteChartData, layout: ChartLayout, columns: int) -> tuple[Panel, list[str]]:
    values = [v for v in data.observed if finite(v)]
    for key in ("q0.05", "q0.95", "mean"):
        values += [v for v in data.quantiles.get(key, ()) if finite(v)]
    values += [v for v in data.surge_lines if finite(v)]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    width = layout.width - layout.left - layout.right
    p = Panel(layout.left, layout.top, width, layout.top_height, columns, ticks[0], ticks[-1])
    out: list[str] = []
    w = p.column_width
    for day, level in zip(data.warning_days, data.levels, strict=True):
        out.append(
            f'<rect x="{num(p.x_of(day) - w / 2)}" y="{num(p.top)}" width="{num(w)}" '
            f'height="{num(p.height)}" fill="{LEVEL_COLOURS[level]}" '
            f'fill-opacity="{LEVEL_SHADE_OPACITY}"/>'
        )
    for t in ticks:
        out.append(_hline(p, p.y_of(t), GRID_COLOUR))
        out.append(_text(p.left - 4, p.y_of(t) + 4, f"{t:,.0f}", "end", "muted"))
    for lo, hi, alpha in BANDS:
        if lo in data.quantiles and hi in data.quantiles:
            pts = band_points(data.forecast_days, data.quantiles[lo], data.quantiles[hi], p)
            if pts:
                out.append(
                    f'<polygon points="{pts}" fill="{FORECAST_COLOUR}" fill-opacity="{alpha}"/>'
                )
    path = observed_path(data.observed_days, data.observed, p)
    if path:
        out.append(
            f'<path class="observed" d="{path}" fill="none" stroke="{OBSERVED_COLOUR}" '
            'stroke-width="1.4" stroke-linejoin="round" stroke-linecap="round"/>'
        )
    mean = observed_path(data.forecast_days, data.quantiles.get("mean", ()), p)
    if mean:
        out.append(
            f'<path class="forecast" d="{mean}" fill="none" stroke="{FORECAST_COLOUR}" '
            'stroke-width="2" stroke-linecap="round"/>'
        )
    for day, line in zip(data.warning_days, data.surge_lines, strict=True):
        if finite(line):
            x, y = p.x_of(day), num(p.y_of(line))
            out.append(
                f'<line class="surge" x1="{num(x - 0.4 * w)}" x2="{num(x + 0.4 * w)}" y1="{y}" '
                f'y2="{y}" stroke="{SURGE_COLOUR}" stroke-width="2.5"/>'
            )
    if data.warning_days:
        split = num(p.x_of(min(data.warning_days)) - w / 2)
        out.append(
            f'<line x1="{split}" x2="{split}" y1="{num(p.top)}" y2="{num(p.bottom)}" '
            'stroke="#777777" stroke-dasharray="4 3"/>'
        )
        out.append(_text(p.x_of(min(data.warning_days)) - w / 2 + 3, p.top + 12, "forecast →"))
    out.append(
        f'<rect x="{num(p.left)}" y="{num(p.top)}" width="{num(p.width)}" '
        f'height="{num(p.height)}" fill="none" stroke="#bbbbbb"/>'
    )
    for day, label in zip(data.tick_days, data.tick_labels, strict=True):
        out.append(_text(p.x_of(day), p.bottom + 14, label, "middle", "muted"))
    mid = p.top + p.height / 2
    out.append(
        _text(
            14,
            mid,
            "attendances per day",
            "middle",
            "axis",
            f' transform="rotate(-90 14 {num(mid)})"',
        )
    )
    return p, out


def _occupancy_scale(data: SiteChartData, comfort: float, ceiling: float) -> list[float]:
    occ = [100 * v for v in data.occupancy if finite(v)]
    low = min([100 * comfort, *occ]) - 3
    high = max([100 * ceiling, *occ]) + 3
    return nice_ticks(low, high, 4)


def _bottom_panel(
    data: SiteChartData, layout: ChartLayout, comfort: float, ceiling: float
) -> list[str]:
    n = len(data.warning_days)
    width = layout.width - layout.left - layout.right
    top = layout.top + layout.top_height + layout.gap
    bars = Panel(layout.left, top, width, layout.bottom_height, n, 0.0, 100.0)
    cw = bars.column_width
    out = [_hline(bars, bars.y_of(t), GRID_COLOUR) for t in (0, 50, 100)]
    out += [_text(bars.left - 4, bars.y_of(t) + 4, f"{t}%", "end", "muted") for t in (0, 50, 100)]
    for i, p in enumerate(data.p_surge):
        if finite(p):
            y = bars.y_of(100 * p)
            out.append(
                f'<rect class="p-surge" x="{num(bars.x_of(i) - 0.2 * cw)}" y="{num(y)}" '
                f'width="{num(0.4 * cw)}" height="{num(bars.bottom - y)}" fill="{BAR_COLOUR}"/>'
            )
            inside = bars.bottom - y >= 14  # beside the bar's top, or above a short bar
            out.append(
                _text(
                    bars.x_of(i) - 0.2 * cw - 3,
                    y + 11 if inside else y - 3,
                    f"{100 * p:.0f}%",
                    "end",
                )
            )
    mid = bars.top + bars.height / 2
    out.append(
        _text(14, mid, "P(surge)", "middle", "axis", f' transform="rotate(-90 14 {num(mid)})"')
    )
    has_occ = any(finite(v) for v in data.occupancy)
    if has_occ:
        ticks = _occupancy_scale(data, comfort, ceiling)
        occ = Panel(bars.left, bars.top, bars.width, bars.height, n, ticks[0], ticks[-1])
        lines = ((comfort, "comfort", COMFORT_COLOUR), (ceiling, "ceiling", CEILING_COLOUR))
        marks = [occ.y_of(100 * value) for value, _, _ in lines]
        for t in (ticks[0], ticks[-1]):  # the scale's ends, unless a line's label is there
            if all(abs(occ.y_of(t) - m) > 12 for m in marks):
                out.append(_text(occ.right + 4, occ.y_of(t) + 4, f"{t:.0f}%", cls="muted"))
        for (value, label, colour), y in zip(lines, marks, strict=True):
            out.append(_hline(occ, y, colour, 1.2, "2 3"))
            out.append(
                _text(
                    occ.right + 4,
                    y + 4,
                    f"{100 * value:.0f}% {label}",
                    extra=f' style="fill:{colour};font-weight:600"',
                )
            )
        path = observed_path(range(n), [100 * v for v in data.occupancy], occ)
        out.append(
            f'<path class="occupancy" d="{path}" fill="none" stroke="{OCCUPANCY_COLOUR}" '
            'stroke-width="1.6"/>'
        )
        for i, v in enumerate(data.occupancy):
            if finite(v):
                x, y = occ.x_of(i), occ.y_of(100 * v)
                out.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="3" fill="{OCCUPANCY_COLOUR}"/>')
                out.append(_text(x + 6, y - 4, f"{100 * v:.1f}%"))
        rx = layout.width - 8
        out.append(
            _text(
                rx,
                mid,
                "forecast bed occupancy",
                "middle",
                "axis",
                f' transform="rotate(90 {num(rx)} {num(mid)})"',
            )
        )
    key = "bars: P(surge), left axis"
    key += " · line with dots: forecast bed occupancy, right axis" if has_occ else " (no bed data)"
    out.append(_text(bars.left, bars.top - 6, key, cls="muted"))
    out.append(
        f'<rect x="{num(bars.left)}" y="{num(bars.top)}" width="{num(bars.width)}" '
        f'height="{num(bars.height)}" fill="none" stroke="#bbbbbb"/>'
    )
    y = bars.bottom + 2
    for i, (level, label) in enumerate(zip(data.levels, data.day_labels, strict=True)):
        x = bars.left + i * cw
        out.append(
            f'<rect x="{num(x + 1)}" y="{num(y)}" width="{num(cw - 2)}" '
            f'height="{num(layout.cell_height)}" fill="{LEVEL_COLOURS[level]}"/>'
        )
        out.append(
            _text(
                bars.x_of(i),
                y + layout.cell_height - 5,
                f"level {level}",
                "middle",
                extra=f' style="fill:{LEVEL_TEXT[level]};font-weight:600"',
            )
        )
        out.append(_text(bars.x_of(i), y + layout.cell_height + 14, label, "middle"))
    return out


def site_chart_svg(
    data: SiteChartData,
    label: str,
    comfort: float = 0.85,
    ceiling: float = 0.92,
    layout: ChartLayout | None = None,
) -> str:
    """One site's chart as an ``<svg>`` element.

    Args:
        data: The site's values on the chart's day columns.
        label: Accessible name of the chart (escaped here).
        comfort: Occupancy comfort line (0..1).
        ceiling: Occupancy ceiling (0..1).
        layout: Sizes (defaults to :class:`ChartLayout`).

    Returns:
        The SVG markup (no external references, no script); its text styles are the page's
        (:data:`CHART_CSS`), see :func:`standalone_svg` for a file of its own.
    """
    g = layout or ChartLayout()
    columns = max([*data.observed_days, *data.forecast_days, *data.warning_days], default=0) + 1
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{num(g.width)}" '
        f'height="{num(g.height)}" viewBox="0 0 {num(g.width)} {num(g.height)}" role="img">'
        f"<title>{html.escape(label)}</title>",
    ]
    parts += _top_panel(data, g, columns)[1]
    parts += _bottom_panel(data, g, comfort, ceiling)
    parts.append("</svg>")
    return "".join(parts)


def standalone_svg(svg: str) -> str:
    """A chart from :func:`site_chart_svg` with its text styles inside, for a ``.svg`` file."""
    head, sep, rest = svg.partition(">")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{head}{sep}<style>{CHART_CSS}</style>{rest}\n'
