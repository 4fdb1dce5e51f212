"""``--workers`` and ``--scheduler``: where a command's independent tasks run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import err_console, plain

if TYPE_CHECKING:
    from forecasting.executors import Executor

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Run independent tasks on N local processes (with --scheduler local: "
        "a Dask LocalCluster of N workers). Default: 1, in this process.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786), or 'local' to start a LocalCluster. "
        "Needs: pip install 'forecasting\\[dask]'.",
    ),
]


@contextmanager
def executor_from_options(workers: int | None, scheduler: str | None) -> Iterator[Executor]:
    """The executor the options ask for, closed (workers stopped) when the block ends."""
    from forecasting.executors import executor_for

    if scheduler:
        with err_console.status("Connecting to Dask…"):
            executor = executor_for(workers, scheduler)
    else:
        executor = executor_for(workers, scheduler)
    with executor:
        if executor.name != "serial":
            # on stderr: standard output may carry JSON or CSV
            err_console.print(f"Running tasks on {plain(executor.describe())}.")
        yield executor
