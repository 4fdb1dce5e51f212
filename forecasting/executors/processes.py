"""Local worker processes (:mod:`concurrent.futures`), no extra dependency.

Workers start from a fork server (not a plain fork: a forked copy of a process whose
LightGBM/OpenMP threads are running can hang), and get the shared data once, through the
pool's initializer. The fork server imports the models once (:data:`PRELOAD`), so a new pool's
workers start in milliseconds instead of importing pandas, statsmodels and LightGBM each.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from forecasting.errors import ExecutorError
from forecasting.executors.base import Executor, Progress, call_recording_warnings, unpack

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_SHARED: Any = None

PRELOAD = [
    "forecasting.evaluate.backtest",
    "forecasting.models.ets",
    "forecasting.models.arima",
    "forecasting.models.hybrid",
    "forecasting.models.lightgbm",
    "forecasting.models.ensemble",
]
"""Modules the fork server imports before it forks workers (no threads run there)."""


def _set_shared(shared: Any) -> None:
    global _SHARED
    _SHARED = shared


def _run(fn: Callable[[Any, T], R], item: T) -> tuple[R, list[Any]]:
    return call_recording_warnings(fn, _SHARED, item)


class ProcessExecutor(Executor):
    """Runs tasks on ``workers`` local processes (a new pool per :meth:`map`).

    Args:
        workers: Number of processes.
    """

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(
        self,
        fn: Callable[[S, T], R],
        items: Sequence[T],
        shared: S,
        progress: Progress | None = None,
    ) -> list[R]:
        """See :meth:`Executor.map`.

        Raises:
            ExecutorError: If a worker process died (killed, or out of memory).
        """
        if not items:
            return []
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)  # takes effect when the server first starts
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(items)),
            mp_context=context,
            initializer=_set_shared,
            initargs=(shared,),
        )
        try:
            futures = [pool.submit(_run, fn, item) for item in items]
            failed = _wait_all(futures, progress)
            if failed is not None:
                raise failed
            return [unpack(f.result()) for f in futures]
        except BrokenProcessPool as exc:
            raise ExecutorError(
                "a worker process died before its task finished (killed, or out of memory). "
                "Fix: use fewer --workers, or run without --workers."
            ) from exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _wait_all(futures: list[Future[Any]], progress: Progress | None) -> BaseException | None:
    """Wait for every future, reporting progress; return the first failure, if any."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_EXCEPTION)
        if progress:
            progress(len(done))
        for f in futures:
            if f in done and f.exception() is not None:
                return f.exception()
    return None
