"""Rows the combiners learn from and predict: one per site, day and hour of issue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.nowcast.days import DATE, arrivals_before, totals
from forecasting.nowcast.hourly import SITE


def issue_rows(
    matrix: pd.DataFrame, shares: pd.DataFrame, priors: pd.DataFrame, hour: int
) -> pd.DataFrame:
    """The state of each prior's day at ``hour``: arrivals before it, usual share, prior.

    Args:
        matrix: The day matrix (:func:`forecasting.nowcast.days.day_matrix`).
        shares: Usual cumulative shares from earlier days
            (:func:`forecasting.nowcast.shape.usual_shares`).
        priors: Day-ahead priors (:mod:`forecasting.nowcast.prior`), one row per site and day.
        hour: Hour of issue: arrivals in hours ``[0, hour)`` are known.

    Returns:
        ``priors``' rows with ``hour``, ``observed``, ``share`` and ``total`` (NaN for a day
        not complete yet).
    """
    key = pd.MultiIndex.from_frame(priors[[SITE, DATE]])
    out = priors.copy()
    out["hour"] = hour
    out["observed"] = arrivals_before(matrix, hour).reindex(key).to_numpy()
    out["share"] = shares[hour].reindex(key).to_numpy()
    out["total"] = totals(matrix).reindex(key).to_numpy()
    return out


def log_errors(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Today's and tomorrow's log errors of the priors, paired by issue day.

    ``rows`` holds one row per site and consecutive day, with ``prior``, ``next_prior`` and
    ``total``; the pair of day ``d`` is ``log(T_d / prior_d)`` and
    ``log(T_{d+1} / next_prior_d)``.
    """
    frame = rows.sort_values([SITE, DATE])
    today = np.log((frame["total"] / frame["prior"]).to_numpy(float))
    nxt = frame.groupby(SITE)["total"].shift(-1)
    next_day = frame.groupby(SITE)[DATE].shift(-1)
    gap = (next_day - frame[DATE]).dt.days.to_numpy()
    tomorrow = np.where(gap == 1, np.log((nxt / frame["next_prior"]).to_numpy(float)), np.nan)
    return today, tomorrow
