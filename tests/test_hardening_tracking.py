"""Hardening of tracking (issue 10): no code run from untrusted model files, clean errors.

One module-scoped working folder holds synthetic demand, a local MLflow store and a champion
(seasonal naive) trained through the library. CLI behaviour is checked in real subprocesses:
exit code 2, exactly one line on stderr, no traceback, and the planted payload never runs.
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from test_tracking_support import empty_store

from forecasting.config import Config
from forecasting.data.export import write_synth
from forecasting.data.load import load_demand
from forecasting.data.synth import synth_demand
from forecasting.errors import ShortHistoryWarning
from forecasting.models.base import Forecaster
from forecasting.tracking import load_champion, train_demand_model
from forecasting.tracking.errors import (
    NoChampionError,
    RegistryUnavailableWarning,
    StoreError,
    UntrustedModelError,
)
from forecasting.tracking.registry import CHALLENGER, alias_of, assign_alias
from forecasting.tracking.sqlite import check_sqlite, store_lock
from forecasting.tracking.stale import (
    FAILURE_TAG,
    HOST_TAG,
    PID_TAG,
    close_stale_runs,
    stale_reason,
)
from forecasting.trust import HASH_TAG, sha256_file

NAME = "ed-demand"
CACHE = Path(".forecasting") / "champion"


class Payload:
    """Unpickling this creates ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def plant(path: Path, marker: Path) -> None:
    """Overwrite ``path`` with a pickle whose loading would create ``marker``."""
    path.write_bytes(pickle.dumps(Payload(marker)))


def cli(folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Run ``python -m forecasting ARGS`` in ``folder`` with the default local store."""
    environ = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "forecasting", *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2, one line on stderr, no traceback; the line holds ``words``."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with demand data (no sites.yaml), a store and a champion with a cache."""
    path = tmp_path_factory.mktemp("hardening")
    end = pd.Timestamp("2024-06-30").date()
    # over 2 years: no short-history warning on stderr
    write_synth(synth_demand(n_sites=2, years=2.1, end=end, seed=7), path / "data")
    (path / "data" / "sites.yaml").unlink()  # daily then prints nothing else on stderr
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        frame = load_demand(path / "data" / "demand.csv")
        result = train_demand_model(frame, Config(), model="snaive", windows=2)
        load_champion(Config())
    assert result.alias == "champion"
    return path


@pytest.fixture
def folder(trained, tmp_path, monkeypatch):
    """A private copy of the trained folder (same store and artifacts), as the working folder."""
    copy = tmp_path / "work"
    shutil.copytree(trained, copy)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(copy)
    return copy


def _client(folder: Path) -> MlflowClient:
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _registry_down(folder: Path) -> None:
    (folder / "mlflow.db").rename(folder / "mlflow.db.away")


# --- 1. the champion cache -------------------------------------------------------------------


def test_register_when_trained_records_forecaster_hash_on_version_and_run(folder):
    client = _client(folder)
    version = client.get_model_version_by_alias(NAME, "champion")
    run = client.get_run(version.run_id)
    cached = folder / CACHE / f"{NAME}.pkl"
    assert version.tags[HASH_TAG] == run.data.tags[HASH_TAG] == sha256_file(cached)


def test_load_champion_when_cache_planted_and_registry_up_downloads_again(folder):
    marker = folder / "ran"
    plant(folder / CACHE / f"{NAME}.pkl", marker)
    champ = load_champion(Config())
    assert not marker.exists()
    assert champ.source == "registry" and isinstance(champ.model, Forecaster)
    version = _client(folder).get_model_version_by_alias(NAME, "champion")
    assert sha256_file(folder / CACHE / f"{NAME}.pkl") == version.tags[HASH_TAG]


def test_load_champion_when_cache_planted_and_registry_down_refuses(folder):
    marker = folder / "ran"
    plant(folder / CACHE / f"{NAME}.pkl", marker)
    _registry_down(folder)
    with pytest.raises(UntrustedModelError, match="does not match the SHA-256"):
        load_champion(Config())
    assert not marker.exists()


def test_load_champion_when_cache_garbage_and_registry_down_refuses_cleanly(folder):
    (folder / CACHE / f"{NAME}.pkl").write_bytes(b"garbage\n")
    _registry_down(folder)
    with pytest.raises(UntrustedModelError):
        load_champion(Config())


@pytest.mark.parametrize("where", ["ed-demand.pkl", "ed-demand.json", "."])
def test_load_champion_when_cache_group_writable_and_registry_down_refuses(folder, where):
    os.chmod(folder / CACHE / where, 0o770 if where == "." else 0o620)
    _registry_down(folder)
    with pytest.raises(UntrustedModelError, match="can be written by other users"):
        load_champion(Config())


def test_load_champion_when_cache_meta_has_no_hash_and_registry_down_refuses(folder):
    meta = folder / CACHE / f"{NAME}.json"
    meta.write_text('{"name": "ed-demand", "version": "1"}')
    os.chmod(meta, 0o600)
    _registry_down(folder)
    with pytest.raises(UntrustedModelError):
        load_champion(Config())


def test_load_champion_when_cache_intact_and_registry_down_warns_and_loads(folder):
    _registry_down(folder)
    with pytest.warns(RegistryUnavailableWarning):
        champ = load_champion(Config())
    assert champ.source == "cache" and isinstance(champ.model, Forecaster)


def test_load_champion_when_registry_artifact_tampered_refuses_without_running(folder):
    location = _client(folder).get_experiment_by_name("forecasting").artifact_location
    found = sorted(Path(location.removeprefix("file://")).rglob("forecaster.pkl"))
    assert found, location
    original = [path.read_bytes() for path in found]
    marker = folder / "ran"
    shutil.rmtree(folder / CACHE)
    try:
        for path in found:
            plant(path, marker)
        with pytest.raises(UntrustedModelError, match="registry recorded"):
            load_champion(Config())
    finally:
        for path, data in zip(found, original, strict=True):
            path.write_bytes(data)
    assert not marker.exists()
    assert not (folder / CACHE / f"{NAME}.pkl").exists()


def test_daily_when_cache_planted_and_registry_up_runs_no_payload(folder):
    marker = folder / "ran"
    plant(folder / CACHE / f"{NAME}.pkl", marker)
    proc = cli(folder, "daily", "--data", "data/demand.csv", "--no-history")
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()


def test_daily_when_cache_planted_and_registry_down_exits_2_with_one_line(folder):
    marker = folder / "ran"
    plant(folder / CACHE / f"{NAME}.pkl", marker)
    _registry_down(folder)
    proc = cli(folder, "daily", "--data", "data/demand.csv", "--no-history")
    assert_one_line_error(proc, "SHA-256", "not loaded")
    assert not marker.exists()


def test_daily_when_cache_garbage_and_registry_down_exits_2_with_one_line(folder):
    (folder / CACHE / f"{NAME}.pkl").write_bytes(b"\x80\x04garbage")
    _registry_down(folder)
    proc = cli(folder, "daily", "--data", "data/demand.csv", "--no-history")
    assert_one_line_error(proc, "ed-demand.pkl")


# --- 5. the run's source name ------------------------------------------------------------------


def test_run_when_logged_has_harmless_source_name_and_process_tags(folder):
    client = _client(folder)
    version = client.get_model_version_by_alias(NAME, "champion")
    tags = client.get_run(version.run_id).data.tags
    assert tags["mlflow.source.name"] == "forecasting train"
    assert sys.prefix not in str(tags.values())
    assert tags[PID_TAG].isdigit() and tags[HOST_TAG] == socket.gethostname()


# --- 6. a damaged store ------------------------------------------------------------------------


def _garbage(db: Path) -> None:
    db.write_bytes(os.urandom(8192))


def _truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def _bad_pages(db: Path) -> None:
    with open(db, "r+b") as handle:  # the header stays whole; b-tree pages 2-9 do not
        handle.seek(4096)
        handle.write(os.urandom(8 * 4096))


@pytest.mark.parametrize("damage", [_garbage, _truncated, _bad_pages])
def test_check_sqlite_when_store_damaged_raises_store_error_naming_file(folder, damage):
    db = folder / "mlflow.db"
    damage(db)
    with pytest.raises(StoreError, match=r"mlflow\.db.*Fix: move it aside"):
        check_sqlite(db)


def test_check_sqlite_when_missing_empty_or_whole_passes(folder, tmp_path):
    check_sqlite(tmp_path / "none.db")
    (tmp_path / "empty.db").write_bytes(b"")
    check_sqlite(tmp_path / "empty.db")
    check_sqlite(folder / "mlflow.db")


@pytest.mark.parametrize("command", ["train", "daily"])
@pytest.mark.parametrize("damage", [_garbage, _truncated])
def test_cli_when_store_damaged_exits_2_with_one_line(folder, command, damage):
    damage(folder / "mlflow.db")
    args = ["--model", "snaive", "--windows", "2"] if command == "train" else ["--no-history"]
    proc = cli(folder, command, "--data", "data/demand.csv", *args)
    assert_one_line_error(proc, "mlflow.db", "Fix:")


# --- 7. locks, aliases, stale runs -------------------------------------------------------------


def test_store_lock_when_held_by_other_process_times_out_with_store_error(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from forecasting.tracking.sqlite import store_lock\n"
            f"with store_lock({uri!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(StoreError, match="another forecasting process"),
            store_lock(uri, timeout=0.3),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with store_lock(uri, timeout=5), store_lock(uri, timeout=0.1):  # free again; re-entrant
        pass


def test_alias_of_when_challenger_moved_by_another_run_reads_back_none(folder):
    client = _client(folder)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    version = client.get_model_version_by_alias(NAME, "champion")
    other = client.create_model_version(NAME, version.source, run_id=version.run_id)
    again = client.create_model_version(NAME, version.source, run_id=version.run_id)
    assert assign_alias(client, NAME, str(other.version), uri) == CHALLENGER
    client.set_registered_model_alias(NAME, CHALLENGER, str(again.version))  # a later run
    assert alias_of(client, NAME, str(other.version)) is None
    assert alias_of(client, NAME, str(again.version)) == CHALLENGER


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_close_stale_runs_when_process_gone_marks_failed_and_keeps_live_ones(folder):
    client = _client(folder)
    exp = client.get_experiment_by_name("forecasting").experiment_id
    host = socket.gethostname()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_run = client.create_run(exp, tags={PID_TAG: str(_dead_pid()), HOST_TAG: host})
        live_run = client.create_run(exp, tags={PID_TAG: str(live.pid), HOST_TAG: host})
        other_host = client.create_run(exp, tags={PID_TAG: "1", HOST_TAG: host + "-elsewhere"})
        untagged = client.create_run(exp)
        old = client.create_run(exp, start_time=int((time.time() - 3 * 86400) * 1000))
        closed = close_stale_runs(client, exp)
        assert stale_reason(client.get_run(live_run.info.run_id)) is None
    finally:
        live.kill()
        live.wait()
    assert sorted(closed) == sorted([dead_run.info.run_id, old.info.run_id])
    failed = client.get_run(dead_run.info.run_id)
    assert (
        failed.info.status == "FAILED" and "ended without closing" in failed.data.tags[FAILURE_TAG]
    )
    for run in (live_run, other_host, untagged):
        assert client.get_run(run.info.run_id).info.status == "RUNNING"


def test_no_champion_error_when_store_missing_and_no_cache_names_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoChampionError, match="Fix: run `forecasting train"):
        load_champion(Config())
