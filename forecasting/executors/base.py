"""The executor seam: map a pure function over tasks, results in task order.

A task is ``fn(shared, item)``: ``shared`` is sent to each worker once (the data frame of a
backtest), ``item`` is small (a model template and its cutoffs). Warnings the library raises
for users (:class:`~forecasting.errors.ForecastingWarning`) inside a worker are sent back with
the result and raised again here, so a fallback on a worker is reported like one in process.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from forecasting.errors import ForecastingWarning

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

Progress = Callable[[int], None]
"""Called with the number of tasks just finished."""


class Executor(ABC):
    """Runs ``fn(shared, item)`` for every item; a context manager that frees its workers.

    Attributes:
        name: ``serial``, ``processes`` or ``dask``.
        workers: How many tasks run at once.
    """

    name: str = "executor"
    workers: int = 1

    @abstractmethod
    def map(
        self,
        fn: Callable[[S, T], R],
        items: Sequence[T],
        shared: S,
        progress: Progress | None = None,
    ) -> list[R]:
        """``[fn(shared, item) for item in items]``, run by the backend, in item order.

        Args:
            fn: A module-level function (it is pickled by name for other processes).
            items: One task each.
            shared: Sent once per worker, then passed to every task.
            progress: Called with 1 as each task finishes (in finishing order).

        Raises:
            Exception: The first failed task's own exception, as raised in the task.
        """

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Free the workers (nothing to do by default)."""

    def describe(self) -> str:
        """One line for the user: backend and workers."""
        return f"{self.name}, {self.workers} worker(s)"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs the tasks one after another in this process (the default)."""

    name = "serial"
    workers = 1

    def map(
        self,
        fn: Callable[[S, T], R],
        items: Sequence[T],
        shared: S,
        progress: Progress | None = None,
    ) -> list[R]:
        """See :meth:`Executor.map`."""
        out = []
        for item in items:
            out.append(fn(shared, item))
            if progress:
                progress(1)
        return out


def call_recording_warnings(
    fn: Callable[[S, T], R], shared: S, item: T
) -> tuple[R, list[ForecastingWarning]]:
    """Run one task on a worker; return its result and the user warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ForecastingWarning)
        result = fn(shared, item)
    kept = [w.message for w in caught if isinstance(w.message, ForecastingWarning)]
    return result, kept


def unpack(outcome: tuple[R, list[Any]]) -> R:
    """The task's result; its recorded warnings are raised again in this process."""
    result, caught = outcome
    for message in caught:
        warnings.warn(message, stacklevel=2)
    return result
