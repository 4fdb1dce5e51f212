"""Rare, unexplained demand surges with heavy-tailed sizes (the events alerts must catch)."""

from __future__ import annotations

import numpy as np

SURGE_START_RATE = (0.010, 0.018)  # per site, share of days on which a surge starts
SURGE_SCALE = 0.14  # excess = SCALE * (1 + Lomax(SHAPE)): median about +20%
SURGE_SHAPE = 2.2
SURGE_MAX_EXCESS = 1.5
SURGE_LENGTH_P = (0.65, 0.25, 0.10)  # 1, 2 or 3 days
SURGE_DECAY = 0.6  # each later day keeps this share of the previous day's excess


def draw_surges(n_days: int, rng: np.random.Generator, start_rate: float) -> np.ndarray:
    """Return the surge multiplier of each day (1.0 on ordinary days).

    ``round(start_rate * n_days)`` surges (at least one) start on random days and last 1-3
    days; the first day's excess is ``SURGE_SCALE * (1 + Lomax(SURGE_SHAPE))``: mostly
    +15..30%, sometimes +50% or more (capped at +150%). Later days of a surge decay towards
    normal.

    Args:
        n_days: Length of the series.
        rng: Random generator of the site.
        start_rate: Share of days on which a surge starts.

    Returns:
        Multipliers aligned with the days.
    """
    mult = np.ones(n_days)
    n_starts = min(n_days, max(1, round(start_rate * n_days)))
    starts = np.sort(rng.choice(n_days, size=n_starts, replace=False))
    excess = np.minimum(
        SURGE_SCALE * (1.0 + rng.pareto(SURGE_SHAPE, len(starts))), SURGE_MAX_EXCESS
    )
    lengths = rng.choice(len(SURGE_LENGTH_P), size=len(starts), p=SURGE_LENGTH_P) + 1
    for start, size, length in zip(starts, excess, lengths, strict=True):
        for k in range(int(length)):
            day = start + k
            if day < n_days:
                mult[day] = max(mult[day], 1.0 + size * SURGE_DECAY**k)
    return mult
