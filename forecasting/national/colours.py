"""Level colours and the text colour that reads on each (WCAG 2.x contrast).

The backgrounds are the per-site report's (:data:`forecasting.report.LEVEL_COLOURS`, repeated
here so the report can import this package without a cycle; a test keeps them equal). The text
on each is whichever of near-black or white contrasts more: dark on amber and orange, white on
green and red, every pair at least 4.5:1 (WCAG AA for normal text).
"""

from __future__ import annotations

LEVEL_COLOURS: dict[int, str] = {1: "#2e7d32", 2: "#f9a825", 3: "#e65100", 4: "#b71c1c"}
DARK_TEXT = "#111111"
LIGHT_TEXT = "#ffffff"
AA_NORMAL_TEXT = 4.5


def _channel(value: int) -> float:
    """Linearise one sRGB channel (0..255) as WCAG 2.x defines it."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """Relative luminance of a ``#rrggbb`` colour (0 black .. 1 white).

    Args:
        colour: Hex colour, ``#rrggbb``.

    Returns:
        The WCAG relative luminance.

    Raises:
        ValueError: ``colour`` is not ``#rrggbb``.
    """
    hex_digits = colour.removeprefix("#")
    if len(hex_digits) != 6:
        raise ValueError(f"colour must be #rrggbb, got {colour!r}")
    r, g, b = (int(hex_digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 .. 21, order does not matter)."""
    a, b = relative_luminance(foreground), relative_luminance(background)
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)


def text_colour(background: str) -> str:
    """The text colour (near-black or white) with the higher contrast on ``background``."""
    dark = contrast_ratio(DARK_TEXT, background)
    light = contrast_ratio(LIGHT_TEXT, background)
    return DARK_TEXT if dark >= light else LIGHT_TEXT


LEVEL_TEXT: dict[int, str] = {level: text_colour(bg) for level, bg in LEVEL_COLOURS.items()}


def level_css(prefix: str = "lv") -> str:
    """CSS classes ``.lv1`` … ``.lv4``: each level's background with its readable text colour."""
    return "".join(
        f".{prefix}{lv}{{background:{LEVEL_COLOURS[lv]};color:{LEVEL_TEXT[lv]}}}"
        for lv in LEVEL_COLOURS
    )
