"""Run independent tasks serially, in local processes, or on a Dask cluster.

One seam (:class:`~forecasting.executors.base.Executor`), three backends. Every backend runs
``fn(shared, item)`` for each item and returns the results in item order, so a backtest or a
replay gives the same forecasts on any of them. Choose one with :func:`executor_for`.
"""

from forecasting.executors.base import Executor, SerialExecutor
from forecasting.executors.choose import executor_for

__all__ = ["Executor", "SerialExecutor", "executor_for"]
