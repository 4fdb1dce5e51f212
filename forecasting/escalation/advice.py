"""Planned-care advice: how many non-urgent elective admissions to review on pressured days.

The rule, per site, day by day in date order:

1. Only days at level 3 or above get advice; other days get 0.
2. Deferrable electives = ``floor(planned electives x deferrable share)``, where the share is
   ``1 - sum(electives.protected)``: protected work (cancer, clinically urgent or
   time-critical) is never counted, and rounding down never eats into it.
3. Beds needed = the upper occupancy path (attendances at ``escalation.upper_quantile``) times
   beds, minus the beds already freed by advice on earlier days.
4. To review = the smallest whole number of electives whose deferral brings that day strictly
   below ``thresholds.occupancy_ceiling`` (an elective admitted on the day occupies one bed
   that day), capped at the deferrable count.
5. Each deferral frees beds on the following days along the elective length-of-stay curve
   (:func:`forecasting.escalation.occupancy.los_kernel`), which lowers the next days' need.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

MIN_ADVICE_LEVEL = 3


def deferrable_electives(planned: npt.ArrayLike, deferrable_share: float) -> np.ndarray:
    """Electives that may be reviewed for deferral: planned times share, rounded down."""
    p = np.nan_to_num(np.asarray(planned, dtype=float))
    return np.floor(np.maximum(p, 0.0) * deferrable_share + 1e-9).astype(int)


def electives_to_review(
    occupied_high: npt.ArrayLike,
    beds: npt.ArrayLike,
    deferrable: npt.ArrayLike,
    levels: npt.ArrayLike,
    elective_kernel: np.ndarray,
    ceiling: float,
) -> np.ndarray:
    """Electives to review on each consecutive day of one site (the module rule).

    Args:
        occupied_high: Occupied beds on the upper path, per day.
        beds: Beds open, per day.
        deferrable: Deferrable electives, per day.
        levels: Recommended levels, per day.
        elective_kernel: Share of an elective admission still in a bed k days later.
        ceiling: Target occupancy to get below (fraction of beds).

    Returns:
        Whole numbers, never above ``deferrable``.
    """
    need = np.asarray(occupied_high, dtype=float).copy()
    cap = np.asarray(beds, dtype=float) * ceiling
    limit = np.asarray(deferrable, dtype=int)
    lvl = np.asarray(levels, dtype=int)
    first_day_bed = float(elective_kernel[0])
    out = np.zeros(len(need), dtype=int)
    for day in range(len(need)):
        excess = need[day] - cap[day]
        if lvl[day] < MIN_ADVICE_LEVEL or excess < 0 or limit[day] <= 0:
            continue
        n = min(int(limit[day]), math.floor(excess / first_day_bed) + 1)
        out[day] = n
        freed = n * elective_kernel[: len(need) - day]
        need[day : day + len(freed)] -= freed
    return out
