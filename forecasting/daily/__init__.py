"""The morning job as a library call: the next days' warnings, and today's from hourly arrivals.

:mod:`morning` rolls the champion forward and assesses the next days; :mod:`today` adds a
warning for today from the arrivals so far (the nowcast).
"""

from __future__ import annotations

from forecasting.daily.morning import (
    DailyResult,
    check_model_sites,
    daily_warnings,
    warn_stale_sites,
)
from forecasting.daily.today import (
    TODAY_COLUMNS,
    NowcastInputError,
    check_as_of,
    nowcast_warnings,
    today_warnings,
    with_today,
)

__all__ = [
    "TODAY_COLUMNS",
    "DailyResult",
    "NowcastInputError",
    "check_as_of",
    "check_model_sites",
    "daily_warnings",
    "nowcast_warnings",
    "today_warnings",
    "warn_stale_sites",
    "with_today",
]
