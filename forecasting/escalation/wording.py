"""Shared wording of warnings: occupancy percentages and the planned-care advice sentence.

One phrasing everywhere (terminal table, reasons, JSON and CSV text): non-urgent elective
admissions are *reviewed for deferral*; the table's line is "to review", the sentence starts
"Review N of M deferrable elective admissions for deferral".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forecasting.config import Config

_MAX_DECIMALS = 3
#: The table line and the sentence use the same verb
REVIEW_LABEL = "to review"


def format_occupancy(value: float, lines: Sequence[float] = (0.92,)) -> str:
    """Occupancy as a percentage, with decimals only where rounding would contradict a line.

    A whole percentage is shown unless it sits on a different side of (or on) any of
    ``lines`` than the exact value: 0.919 with a 92% line is "91.9%" (not "92%"), 0.924 is
    "92.4%", 0.92 is "92%", 0.85 is "85%". Up to three decimals are used if one is not enough.
    Missing or infinite values are "n/a".
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    pct = 100.0 * value
    shown, decimals = float(round(pct)), 0
    for decimals in range(_MAX_DECIMALS + 1):
        shown = round(pct, decimals)
        if all(_side(shown, 100.0 * line) == _side(pct, 100.0 * line) for line in lines):
            break
    return f"{shown:.{decimals}f}%"


def _side(x: float, line: float, tol: float = 1e-9) -> int:
    return 0 if abs(x - line) <= tol else (1 if x > line else -1)


def occupancy_lines(cfg: Config) -> tuple[float, float, float]:
    """The occupancy lines that decide levels, highest first: severe, ceiling, comfort."""
    t, e = cfg.thresholds, cfg.escalation
    severe = t.occupancy_ceiling + e.severe_occupancy_margin
    return (severe, t.occupancy_ceiling, t.occupancy_comfort)


def relation(value: float, line: float) -> str:
    """``"above"``, ``"at"`` or ``"below"``: where ``value`` sits against ``line`` (exact)."""
    side = _side(100.0 * value, 100.0 * line)
    return "above" if side > 0 else "at" if side == 0 else "below"


def review_advice(to_review: int, deferrable: int, protected: Iterable[str], ceiling: float) -> str:
    """The planned-care advice sentence of one day ("" when nothing is to be reviewed).

    ``protected`` names the categories never counted (``electives.protected``'s keys).
    Example: ``"Review 15 of 20 deferrable elective admissions for deferral (never cancer or
    urgent work) to keep occupancy below 92%"``.
    """
    if to_review <= 0:
        return ""
    never = " or ".join(protected) or "protected"
    noun = "admission" if deferrable == 1 else "admissions"
    return (
        f"Review {to_review} of {deferrable} deferrable elective {noun} for deferral "
        f"(never {never} work) to keep occupancy below {format_occupancy(ceiling, (ceiling,))}"
    )
