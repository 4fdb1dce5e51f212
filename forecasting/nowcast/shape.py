"""The day's usual shape: the share of a day's arrivals that have come by each hour.

Learned per site and weekday from earlier complete days only (a ratio of sums over the last
``window_weeks`` same weekdays), so a nowcast for a day never sees that day's own arrivals.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from forecasting.errors import InsufficientHistoryError, NotFittedError
from forecasting.nowcast.days import DATE, HOURS, complete, cumulative
from forecasting.nowcast.hourly import SITE


def usual_shares(matrix: pd.DataFrame, window_weeks: int = 52, min_weeks: int = 4) -> pd.DataFrame:
    """For every site and day, the usual cumulative share by each hour, from earlier days.

    Args:
        matrix: The day matrix (:func:`forecasting.nowcast.days.day_matrix`).
        window_weeks: Number of earlier same weekdays used (complete days only).
        min_weeks: Fewer earlier complete same weekdays than this: NaN shares.

    Returns:
        Index ``(site_id, date)`` like ``matrix``; columns ``0..24``: share of the day's
        arrivals that came before that hour (column 0 is 0, column 24 is 1).
    """
    ok = complete(matrix).to_numpy()
    cum = np.where(ok[:, None], cumulative(matrix), 0.0)
    cols = list(range(HOURS + 1))
    sums = pd.DataFrame(cum, index=matrix.index, columns=cols)
    sums["n"] = ok.astype(float)
    days = pd.DatetimeIndex(matrix.index.get_level_values(DATE))
    keys = [matrix.index.get_level_values(SITE), days.dayofweek]
    rolled = (
        sums.groupby(keys, sort=False, group_keys=False)
        .apply(lambda g: g.shift(1).rolling(window_weeks, min_periods=1).sum())
        .reindex(matrix.index)
    )
    shares = rolled[cols].div(rolled[HOURS], axis=0)
    shares[rolled["n"].fillna(0) < min_weeks] = np.nan
    return shares


class DayShape:
    """Usual cumulative share of the day by hour, per site and weekday.

    Args:
        window_weeks: Number of most recent same weekdays learned from.
        min_weeks: Fewest complete same weekdays needed.
    """

    def __init__(self, window_weeks: int = 52, min_weeks: int = 4) -> None:
        self.window_weeks = window_weeks
        self.min_weeks = min_weeks

    def fit(self, matrix: pd.DataFrame) -> Self:
        """Learn the shapes from the complete days of ``matrix`` (history before the day)."""
        ok = complete(matrix)
        rows = matrix[ok]
        cum = pd.DataFrame(cumulative(rows), index=rows.index)
        cum["weekday"] = pd.DatetimeIndex(rows.index.get_level_values(DATE)).dayofweek
        cum = cum.groupby([rows.index.get_level_values(SITE), "weekday"]).tail(self.window_weeks)
        grouped = cum.groupby([cum.index.get_level_values(SITE), "weekday"])
        sums = grouped.sum()
        self.counts_ = grouped.size()
        self.shares_ = sums[list(range(HOURS + 1))].div(sums[HOURS], axis=0)
        return self

    def share(self, site: str, day: pd.Timestamp, hour: int) -> float:
        """Usual share of ``site``'s arrivals on ``day``'s weekday that come before ``hour``.

        Raises:
            NotFittedError: Before :meth:`fit`.
            InsufficientHistoryError: Fewer than ``min_weeks`` complete same weekdays.
        """
        if not hasattr(self, "shares_"):
            raise NotFittedError("DayShape is not fitted yet. Fix: call fit(matrix) first.")
        key = (site, pd.Timestamp(day).dayofweek)
        if key not in self.counts_.index or self.counts_[key] < self.min_weeks:
            raise InsufficientHistoryError(
                f"site '{site}' has fewer than {self.min_weeks} complete "
                f"{pd.Timestamp(day):%A}s before {pd.Timestamp(day):%Y-%m-%d}",
                fix="give more hourly history (at least a month of complete days)",
            )
        return float(np.asarray(self.shares_.loc[key], dtype=float)[hour])
