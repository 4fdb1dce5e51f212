"""Start the MLflow UI / tracking server on this machine (used by ``forecasting ui`` and tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from forecasting.tracking.errors import StoreError
from forecasting.tracking.store import reachable

HOST = "127.0.0.1"
# the job runner costs memory and start-up time and serves GenAI features only
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def server_command(
    backend_uri: str,
    port: int,
    host: str = HOST,
    artifacts_destination: Path | None = None,
) -> list[str]:
    """The ``mlflow server`` command line: one worker, on ``host:port``, over ``backend_uri``."""
    mlflow_script = Path(sys.executable).with_name("mlflow")
    cmd = [str(mlflow_script), "server", "--backend-store-uri", backend_uri]
    cmd += ["--host", host, "--port", str(port), "--workers", "1"]
    if artifacts_destination is not None:
        cmd += ["--artifacts-destination", str(artifacts_destination)]
    return cmd


def start_server(
    backend_uri: str,
    port: int,
    env: Mapping[str, str],
    host: str = HOST,
    artifacts_destination: Path | None = None,
    cwd: Path | None = None,
    quiet: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``mlflow server`` in the background; the caller stops it (``terminate``).

    Args:
        backend_uri: Tracking/registry store the server serves.
        port: Port to listen on.
        env: Environment of the server process (``SERVER_ENV`` is added).
        host: Interface to listen on (127.0.0.1: this machine only).
        artifacts_destination: Where artifacts of runs logged through the server go.
        cwd: Working folder of the server.
        quiet: Discard the server's output.
    """
    out = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        server_command(backend_uri, port, host, artifacts_destination),
        env={**env, **SERVER_ENV},
        cwd=cwd,
        stdout=out,
        stderr=out,
        start_new_session=True,  # its own process group: mlflow runs uvicorn as a child
    )


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90.0
) -> None:
    """Wait until the server at ``url`` answers its health check.

    Raises:
        StoreError: If the process exits first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StoreError(f"mlflow server exited with code {proc.returncode} before answering")
        if reachable(url, timeout=1.0):
            return
        time.sleep(0.5)
    raise StoreError(f"mlflow server at {url} did not answer within {timeout:g} s")


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a server started by :func:`start_server` and its children (terminate, then kill)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)  # the group start_server created, nothing else
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=timeout)
            if sig == signal.SIGTERM:
                time.sleep(0.5)  # let uvicorn follow its parent before the group is checked
        except subprocess.TimeoutExpired:
            continue
    proc.poll()
