"""Runs left ``RUNNING`` by a process that was killed: found and marked ``FAILED``.

Every run this package starts carries the process id and host name as tags
(:data:`PID_TAG`, :data:`HOST_TAG`). A run still ``RUNNING`` whose process on this host is
gone can never finish: the next run in the experiment marks it ``FAILED`` with a tag saying
why. Runs from other hosts are left alone (their process cannot be checked from here), except
runs without the tags that started over :data:`UNTAGGED_AFTER` ago.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

PID_TAG = "forecasting.pid"
HOST_TAG = "forecasting.host"
FAILURE_TAG = "forecasting.failure"
UNTAGGED_AFTER = 24 * 3600.0
MAX_CHECKED = 500


def process_tags() -> dict[str, str]:
    """Tags naming this process, set on every run it starts."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def is_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:  # pragma: no cover  (e.g. Windows without the pid)
        return False
    return True


def stale_reason(run: Run, now: float | None = None) -> str | None:
    """Why a ``RUNNING`` run can never finish, or ``None`` if it may still be running."""
    tags = run.data.tags
    pid, host = tags.get(PID_TAG), tags.get(HOST_TAG)
    if pid is None or host is None:
        started = (run.info.start_time or 0) / 1000
        age = (now or time.time()) - started
        if age > UNTAGGED_AFTER:
            return f"still RUNNING {age / 3600:.0f} h after it started, with no process recorded"
        return None
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    if is_alive(int(pid)):
        return None
    return f"process {pid} on {host} ended without closing the run (killed?)"


def close_stale_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark the experiment's runs whose process is gone as ``FAILED``; return their ids."""
    runs = client.search_runs(
        [experiment_id],
        filter_string="attributes.status = 'RUNNING'",
        max_results=MAX_CHECKED,
    )
    closed = []
    for run in runs:
        reason = stale_reason(run)
        if reason is None:
            continue
        client.set_tag(run.info.run_id, FAILURE_TAG, reason)
        client.set_terminated(run.info.run_id, status="FAILED")
        closed.append(run.info.run_id)
    return closed
