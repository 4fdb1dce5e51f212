"""Surge lines: the flat capacity line and the unusual-for-the-weekday line."""

from __future__ import annotations

import numpy as np
import pandas as pd

SURGE_QUANTILE = 0.9
SURGE_WINDOW = 365


def flat_line(
    past_totals: pd.Series, quantile: float = SURGE_QUANTILE, window: int = SURGE_WINDOW
) -> float:
    """The ``quantile`` of the last ``window`` daily totals (missing days skipped).

    Args:
        past_totals: Daily totals before the day, in date order.
        quantile: The line's quantile (0.9: about 36 surge days a year).
        window: Number of most recent days.
    """
    values = past_totals.iloc[-window:].dropna().to_numpy(dtype=float)
    return float(np.quantile(values, quantile)) if len(values) else float("nan")


def weekday_line(
    past_totals: pd.Series,
    day: pd.Timestamp,
    quantile: float = SURGE_QUANTILE,
    window: int = SURGE_WINDOW,
) -> float:
    """A line unusual for ``day``'s weekday.

    The ``quantile`` of totals relative to their weekday's mean over the last ``window`` days,
    times the mean of ``day``'s weekday.

    Args:
        past_totals: Daily totals before ``day``, indexed by date.
        day: The day the line is for.
        quantile: The line's quantile.
        window: Number of most recent days.
    """
    recent = past_totals.iloc[-window:].dropna()
    if recent.empty:
        return float("nan")
    weekday = pd.DatetimeIndex(recent.index).dayofweek
    means = recent.groupby(weekday).transform("mean")
    ratio = float(np.quantile((recent / means).to_numpy(dtype=float), quantile))
    same = recent[weekday == pd.Timestamp(day).dayofweek]
    return ratio * float(same.mean()) if len(same) else float("nan")
