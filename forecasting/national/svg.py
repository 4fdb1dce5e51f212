"""One trust's small-multiple strip as inline SVG, built as a string.

The strip shows the last weeks of observed occupancy, the forecast mean with its 90% band, the
92% and 97% reference lines, and below the plot one coloured cell per forecast day holding that
day's level (the digit as well as the colour, so the level does not rest on colour alone). Every
strip shares one vertical scale so trusts compare at a glance; values outside it are drawn at
the edge.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from forecasting.national.colours import LEVEL_COLOURS, LEVEL_TEXT

REFERENCE_LINES: tuple[tuple[float, str, str], ...] = (
    (0.92, "92%", "#555555"),
    (0.97, "97%", "#b71c1c"),
)
OBSERVED_COLOUR = "#222222"
FORECAST_COLOUR = "#1565c0"
MUTED_TEXT = "#555555"  # 7.5:1 on white


class Scale(Protocol):
    """Maps a day column and a value to SVG coordinates (a strip, or the report's chart)."""

    def x_of(self, day: int, /) -> float:
        """The x of the centre of column ``day``."""
        ...

    def y_of(self, value: float, /) -> float:
        """The y of ``value``."""
        ...


@dataclass(frozen=True)
class StripGeometry:
    """Sizes of one strip, in SVG user units (pixels).

    Attributes:
        history_days: Observed days shown, ending on the issue's as-of day.
        forecast_days: Forecast days shown after it.
        day_width: Width of one day's column.
        left: Room left of the plot for the reference line labels.
        right: Room right of the plot.
        top: Room above the plot.
        plot_height: Height of the plot area.
        cell_gap: Gap between the plot and the level cells.
        cell_height: Height of the row of level cells.
        y_min: Occupancy at the bottom of the plot.
        y_max: Occupancy at the top of the plot.
    """

    history_days: int = 28
    forecast_days: int = 7
    day_width: float = 8.0
    left: float = 26.0
    right: float = 4.0
    top: float = 4.0
    plot_height: float = 80.0
    cell_gap: float = 3.0
    cell_height: float = 14.0
    y_min: float = 0.70
    y_max: float = 1.10

    @property
    def days(self) -> int:
        """Columns in the strip (history and forecast)."""
        return self.history_days + self.forecast_days

    @property
    def width(self) -> float:
        """Total width of the SVG."""
        return self.left + self.days * self.day_width + self.right

    @property
    def plot_bottom(self) -> float:
        """The y of the plot's bottom edge."""
        return self.top + self.plot_height

    @property
    def height(self) -> float:
        """Total height of the SVG."""
        return self.plot_bottom + self.cell_gap + self.cell_height + 1.0

    def x_of(self, day: int) -> float:
        """The x of the centre of column ``day`` (0 = first history day)."""
        return self.left + (day + 0.5) * self.day_width

    def y_of(self, occupancy: float) -> float:
        """The y of an occupancy value (clipped to the plot's scale)."""
        v = min(max(occupancy, self.y_min), self.y_max)
        return self.top + (self.y_max - v) / (self.y_max - self.y_min) * self.plot_height


def _num(x: float) -> str:
    """A coordinate with at most one decimal and no trailing ``.0``."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def observed_path(days: Sequence[int], values: Sequence[float], geom: Scale) -> str:
    """SVG path data for the observed series, broken at missing days and gaps.

    Args:
        days: Column of each value (ascending).
        values: Occupancy per day (NaN for missing).
        geom: Strip geometry (or any :class:`Scale`).

    Returns:
        Path data (``M``/``L`` commands); a lone point is a zero-length ``h0`` that a round
        line cap draws as a dot. Empty when nothing is finite.
    """
    parts: list[str] = []
    previous: int | None = None
    for day, value in zip(days, values, strict=True):
        if not _finite(value):
            previous = None
            continue
        command = "L" if previous is not None and day == previous + 1 else "M"
        if command == "M" and parts and parts[-1].startswith("M"):
            parts[-1] += "h0"
        parts.append(f"{command}{_num(geom.x_of(day))} {_num(geom.y_of(value))}")
        previous = day
    if parts and parts[-1].startswith("M"):
        parts[-1] += "h0"
    return "".join(parts)


def band_points(
    days: Sequence[int], low: Sequence[float], high: Sequence[float], geom: Scale
) -> str:
    """Polygon points of the forecast band: the upper edge forward, the lower edge back."""
    keep = [(d, lo, hi) for d, lo, hi in zip(days, low, high, strict=True) if _finite(lo)]
    keep = [(d, lo, hi) for d, lo, hi in keep if _finite(hi)]
    upper = [f"{_num(geom.x_of(d))},{_num(geom.y_of(hi))}" for d, _, hi in keep]
    lower = [f"{_num(geom.x_of(d))},{_num(geom.y_of(lo))}" for d, lo, _ in reversed(keep)]
    return " ".join(upper + lower)


def _reference_lines(geom: StripGeometry) -> list[str]:
    x0, x1 = _num(geom.left), _num(geom.left + geom.days * geom.day_width)
    out = []
    for value, label, colour in REFERENCE_LINES:
        y = _num(geom.y_of(value))
        out.append(
            f'<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{colour}" '
            'stroke-width="0.8" stroke-dasharray="3 2"/>'
            f'<text x="{_num(geom.left - 2)}" y="{y}" dy="3" text-anchor="end" '
            f'fill="{colour}">{label}</text>'
        )
    return out


def _level_cells(
    days: Sequence[int], levels: Sequence[int], tips: Sequence[str], geom: StripGeometry
) -> list[str]:
    y = geom.plot_bottom + geom.cell_gap
    out = []
    for day, level, tip in zip(days, levels, tips, strict=True):
        x = geom.left + day * geom.day_width
        out.append(
            f"<g><title>{html.escape(tip)}</title>"
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(geom.day_width)}" '
            f'height="{_num(geom.cell_height)}" fill="{LEVEL_COLOURS[level]}" '
            'stroke="#ffffff" stroke-width="0.5"/>'
            f'<text x="{_num(geom.x_of(day))}" y="{_num(y + geom.cell_height - 4)}" '
            f'text-anchor="middle" fill="{LEVEL_TEXT[level]}">{level}</text></g>'
        )
    return out


@dataclass(frozen=True)
class StripData:
    """One trust's values, placed on the strip's day columns (0 = first history day).

    Attributes:
        observed_days: Column of each observed value (ascending, history columns only).
        observed: Observed occupancy (NaN allowed).
        forecast_days: Column of each forecast day (ascending).
        mean: Forecast mean occupancy per forecast day.
        low: Lower edge of the 90% band (``occupancy_q0.05``).
        high: Upper edge of the 90% band (``occupancy_q0.95``).
        levels: Level (1..4) of each forecast day.
        tips: Hover text of each forecast day's cell (escaped when drawn).
        start_label: Label of the first history day (e.g. ``"16 Dec"``).
    """

    observed_days: Sequence[int]
    observed: Sequence[float]
    forecast_days: Sequence[int]
    mean: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]
    levels: Sequence[int]
    tips: Sequence[str]
    start_label: str = ""


def _frame(g: StripGeometry) -> list[str]:
    split = _num(g.left + g.history_days * g.day_width)
    return [
        f'<rect x="{split}" y="{_num(g.top)}" width="{_num(g.forecast_days * g.day_width)}" '
        f'height="{_num(g.plot_height)}" fill="#f2f2f2"/>',
        f'<rect x="{_num(g.left)}" y="{_num(g.top)}" width="{_num(g.days * g.day_width)}" '
        f'height="{_num(g.plot_height)}" fill="none" stroke="#bbbbbb" stroke-width="0.5"/>',
    ]


def strip_svg(data: StripData, label: str, geom: StripGeometry | None = None) -> str:
    """One trust's strip as an ``<svg>`` element.

    Args:
        data: The trust's values on the strip's day columns.
        label: Accessible name of the strip (escaped here).
        geom: Strip geometry (defaults to :class:`StripGeometry`).

    Returns:
        The SVG markup (self-contained, no external references).
    """
    g = geom or StripGeometry()
    parts = [
        f'<svg class="strip" xmlns="http://www.w3.org/2000/svg" width="{_num(g.width)}" '
        f'height="{_num(g.height)}" viewBox="0 0 {_num(g.width)} {_num(g.height)}" role="img">'
        f"<title>{html.escape(label)}</title>",
        *_frame(g),
    ]
    band = band_points(data.forecast_days, data.low, data.high, g)
    if band:
        parts.append(
            f'<polygon class="band" points="{band}" fill="{FORECAST_COLOUR}" fill-opacity="0.22"/>'
        )
    parts.extend(_reference_lines(g))
    path = observed_path(data.observed_days, data.observed, g)
    if path:
        parts.append(
            f'<path class="observed" d="{path}" fill="none" stroke="{OBSERVED_COLOUR}" '
            'stroke-width="1.3" stroke-linecap="round" stroke-linejoin="round"/>'
        )
    mean_path = observed_path(data.forecast_days, data.mean, g)
    if mean_path:
        parts.append(
            f'<path class="forecast" d="{mean_path}" fill="none" stroke="{FORECAST_COLOUR}" '
            'stroke-width="1.6" stroke-linecap="round"/>'
        )
    parts.extend(_level_cells(data.forecast_days, data.levels, data.tips, g))
    parts.append(
        f'<text x="{_num(g.left)}" y="{_num(g.plot_bottom + g.cell_gap + g.cell_height - 4)}" '
        f'fill="{MUTED_TEXT}">{html.escape(data.start_label)}</text></svg>'
    )
    return "".join(parts)
