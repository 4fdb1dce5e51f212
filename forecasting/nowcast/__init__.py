"""Intraday nowcast: today's ED total and P(surge) from the arrivals so far.

The day-ahead forecast (a prior from the daily totals up to yesterday) is combined with the
arrivals before the issue time and the day's usual shape (share of the day by each hour,
learned per weekday from earlier days). Modules: :mod:`~forecasting.nowcast.hourly` (load),
:mod:`~forecasting.nowcast.days` (day matrix), :mod:`~forecasting.nowcast.shape` (usual shape),
:mod:`~forecasting.nowcast.prior` (day-ahead prior), :mod:`~forecasting.nowcast.combine`
(combiners), :mod:`~forecasting.nowcast.surge` (surge lines),
:mod:`~forecasting.nowcast.rows` (learning rows), :mod:`~forecasting.nowcast.today` (the
nowcast).
"""

from __future__ import annotations

from forecasting.nowcast.combine import (
    COMBINERS,
    GammaPoissonNowcaster,
    ShrinkageNowcaster,
    TomorrowUpdate,
)
from forecasting.nowcast.hourly import HourlyColumns, load_hourly, to_hourly_frame
from forecasting.nowcast.shape import DayShape, usual_shares
from forecasting.nowcast.today import (
    NOWCAST_COLUMNS,
    NowcastOptions,
    TodayState,
    nowcast_today,
    today_state,
)

__all__ = [
    "COMBINERS",
    "NOWCAST_COLUMNS",
    "DayShape",
    "GammaPoissonNowcaster",
    "HourlyColumns",
    "NowcastOptions",
    "ShrinkageNowcaster",
    "TodayState",
    "TomorrowUpdate",
    "load_hourly",
    "nowcast_today",
    "to_hourly_frame",
    "today_state",
    "usual_shares",
]
