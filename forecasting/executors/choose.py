"""Pick the executor from the command line's ``--workers`` and ``--scheduler``."""

from __future__ import annotations

from forecasting.errors import ExecutorError
from forecasting.executors.base import Executor, SerialExecutor

LOCAL = "local"
"""``--scheduler local``: start a Dask ``LocalCluster`` of ``--workers`` processes."""


def executor_for(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for ``--workers N`` and ``--scheduler ADDRESS``.

    - neither, or ``workers`` 1: serial, in this process;
    - ``workers`` N > 1 alone: N local processes (no Dask needed; a pool starts in well under
      a second, a Dask ``LocalCluster`` takes seconds, which a morning job notices);
    - ``scheduler`` ``local``: a Dask ``LocalCluster`` of ``workers`` (default 2) processes;
    - ``scheduler`` ADDRESS: the existing Dask cluster at ADDRESS (``workers`` ignored).

    Raises:
        ExecutorError: If ``workers`` < 1, Dask is missing, or the scheduler is unreachable.
    """
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers {workers}: need at least 1. Fix: pass --workers 1 or more.")
    if scheduler:
        from forecasting.executors.dask_backend import DaskExecutor

        if scheduler == LOCAL:
            return DaskExecutor.local(workers or 2)
        return DaskExecutor.connect(scheduler)
    if workers and workers > 1:
        from forecasting.executors.processes import ProcessExecutor

        return ProcessExecutor(workers)
    return SerialExecutor()
