"""Dask (``dask.distributed``): a local cluster, or an existing scheduler by address.

The shared data is scattered to every worker once (``broadcast``), then each task is one
``client.submit``. Workers must be able to import ``forecasting`` (install the package on
them: ``pip install 'forecasting[dask]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from forecasting.errors import ExecutorError
from forecasting.executors.base import Executor, Progress, call_recording_warnings, unpack

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "install the extra: pip install 'forecasting[dask]'"
CONNECT_TIMEOUT = "10s"
WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Settings of the workers a local cluster starts: no statistical profiler, and the event
loop's timers woken every second or two rather than every 10-100 ms. Each wake-up takes the
GIL from the task; with two busy workers on two cores the defaults cost a task about 19% more
CPU than the same task in a plain process, these settings about 8% (experiments/scale)."""


def import_distributed() -> Any:
    """The ``dask.distributed`` module.

    Raises:
        ExecutorError: If Dask is not installed (the message says how to install it).
    """
    try:
        import distributed
    except ImportError:
        raise ExecutorError(
            f"--scheduler needs Dask, which is not installed. Fix: {INSTALL_HINT}."
        ) from None
    return distributed


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster through a ``distributed.Client``.

    Build one with :meth:`local` (starts a ``LocalCluster`` of worker processes) or
    :meth:`connect` (an existing scheduler); ``close`` stops what this object started.

    Args:
        client: A connected ``distributed.Client``.
        cluster: The ``LocalCluster`` this executor started, if any.
    """

    name = "dask"

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self.client = client
        self.cluster = cluster
        self.workers = max(len(client.scheduler_info().get("workers", {})), 1)

    @classmethod
    def local(cls, workers: int) -> DaskExecutor:
        """Start a ``LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1."""
        distributed = import_distributed()
        import dask

        with dask.config.set(WORKER_CONFIG):  # the nannies hand the config to their workers
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",  # any free port: none is needed, none may clash
            )
        return cls(distributed.Client(cluster), cluster)

    @classmethod
    def connect(cls, address: str) -> DaskExecutor:
        """Connect to the scheduler at ``address`` (``tcp://host:8786``).

        Raises:
            ExecutorError: If Dask is missing or the scheduler does not answer in 10 s.
        """
        distributed = import_distributed()
        try:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {address!r} ({type(exc).__name__}). "
                "Fix: start it (dask scheduler) or check the address, e.g. tcp://host:8786."
            ) from None
        return cls(client)

    def describe(self) -> str:
        """One line for the user: backend, scheduler address and workers."""
        return f"dask at {self.client.scheduler.address}, {self.workers} worker(s)"

    def map(
        self,
        fn: Callable[[S, T], R],
        items: Sequence[T],
        shared: S,
        progress: Progress | None = None,
    ) -> list[R]:
        """See :meth:`Executor.map`."""
        if not items:
            return []
        distributed = import_distributed()
        data = self.client.scatter(shared, broadcast=True, hash=False)
        futures = [
            self.client.submit(call_recording_warnings, fn, data, item, pure=False)
            for item in items
        ]
        try:
            for future in distributed.as_completed(futures):
                if future.status == "error":
                    future.result()  # raises the task's own exception
                if progress:
                    progress(1)
            return [unpack(f.result()) for f in futures]
        finally:
            self.client.cancel([*futures, data])

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
