"""Calendar regressors (annual Fourier terms, public holidays) and their robust estimation.

Shared by the ARIMA and ETS models: both remove these effects on the log scale before the
time-series model sees the series, and add them back to the forecast.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from forecasting.features.calendar import holiday_dates

WEEK = 7
YEAR_DAYS = 365.25
MIN_DAYS_FOR_ANNUAL = 365
"""Below this many days the annual Fourier terms are not identifiable: their coefficients are 0
(a winter segment of about 100 days would otherwise extrapolate a wild annual curve)."""


def calendar_regressors(
    dates: pd.DatetimeIndex,
    *,
    fourier_k: int = 3,
    country: str = "GB",
    subdiv: str | None = "ENG",
) -> pd.DataFrame:
    """Annual Fourier terms and public-holiday dummies for ``dates``.

    Args:
        dates: Days (need not be consecutive).
        fourier_k: Sine/cosine pairs of the annual cycle (``sin1, cos1, ..., sinK, cosK``).
        country: ``holidays`` country code.
        subdiv: ``holidays`` subdivision code, or ``None``.

    Returns:
        A float frame indexed by ``dates``: ``sin1 .. cosK``, ``holiday`` (a public holiday) and
        ``after_holiday`` (the day after one, when not itself a holiday). Consecutive days are
        computed once per first day, length and calendar (the models ask for the same windows
        site after site); the caller gets its own copy.
    """
    dates = pd.DatetimeIndex(dates).normalize()
    n = len(dates)
    consecutive = n > 1 and dates.tz is None and (dates[-1] - dates[0]).days == n - 1
    if consecutive and dates.is_monotonic_increasing and dates.is_unique:
        out = _consecutive_regressors(dates[0], n, fourier_k, country, subdiv).copy()
        out.index = dates
        return out
    return _regressors(dates, fourier_k, country, subdiv)


@lru_cache(maxsize=128)
def _consecutive_regressors(
    first: pd.Timestamp, n: int, fourier_k: int, country: str, subdiv: str | None
) -> pd.DataFrame:
    return _regressors(pd.date_range(first, periods=n, freq="D"), fourier_k, country, subdiv)


def _regressors(
    dates: pd.DatetimeIndex, fourier_k: int, country: str, subdiv: str | None
) -> pd.DataFrame:
    t = (dates - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float) / YEAR_DAYS
    columns: dict[str, np.ndarray] = {}
    for k in range(1, fourier_k + 1):
        columns[f"sin{k}"] = np.sin(2 * np.pi * k * t)
        columns[f"cos{k}"] = np.cos(2 * np.pi * k * t)
    if len(dates):
        days = holiday_dates(country, subdiv, int(dates.min().year) - 1, int(dates.max().year))
    else:
        days = pd.DatetimeIndex([])
    holiday = dates.isin(days)
    after = (dates - pd.Timedelta(days=1)).isin(days) & ~holiday
    columns["holiday"] = holiday.astype(float)
    columns["after_holiday"] = after.astype(float)
    return pd.DataFrame(columns, index=dates)


def weekly_difference_regression(z: np.ndarray, exog: np.ndarray) -> np.ndarray:
    """Regression coefficients: OLS on lag-7 differences, the constant from the mean remainder.

    Differencing removes the weekly shape and level shifts, which would otherwise leak into the
    annual terms. ``exog[:, 0]`` is the constant.
    """
    beta = np.zeros(exog.shape[1])
    if exog.shape[1] > 1 and len(z) > WEEK:
        dz = z[WEEK:] - z[:-WEEK]
        dx = exog[WEEK:, 1:] - exog[:-WEEK, 1:]
        rows = np.isfinite(dz)
        if rows.sum() > dx.shape[1]:
            beta[1:] = np.linalg.lstsq(dx[rows], dz[rows], rcond=None)[0]
    beta[0] = np.nanmean(z - exog[:, 1:] @ beta[1:])
    return beta


def calendar_coefficients(z: np.ndarray, X: np.ndarray, fourier_k: int) -> np.ndarray:
    """Coefficients of the calendar regressors ``X`` (no constant) for the log series ``z``.

    Estimated by :func:`weekly_difference_regression`. The annual Fourier columns (the first
    ``2 * fourier_k`` of :func:`calendar_regressors`) get coefficient 0 when ``z`` covers fewer
    than :data:`MIN_DAYS_FOR_ANNUAL` days.

    Args:
        z: The log-scale series of one site (one segment, consecutive days).
        X: Its calendar regressors, as :func:`calendar_regressors` orders them.
        fourier_k: The number of annual sine/cosine pairs in ``X``.

    Returns:
        One coefficient per column of ``X``.
    """
    use = np.ones(X.shape[1], dtype=bool)
    if len(z) < MIN_DAYS_FOR_ANNUAL:
        use[: 2 * fourier_k] = False
    beta = np.zeros(X.shape[1])
    design = np.hstack([np.ones((len(z), 1)), X[:, use]])
    beta[use] = weekly_difference_regression(z, design)[1:]
    return beta


_CONTROLLER: Any = None


def single_thread() -> AbstractContextManager[Any]:
    """A context limiting BLAS (and the other thread pools loaded) to one thread, cheaply.

    ``threadpoolctl.threadpool_limits(1)`` inspects every loaded library at each call (about
    5 ms, as long as an update of one site); the controller here inspects them once per
    process, so entering the context costs microseconds. Pools of libraries loaded after the
    first call are not limited (the smoothing models' statsmodels code uses numpy's and
    scipy's BLAS, loaded by then).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)
