"""The morning run's fast champion load (issue 15): no MLflow import when the cache is current.

A local SQLite store's champion is read with one read-only query; the cached copy is used when
it is that version with the hash the registry recorded. Anything else goes through MLflow.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
from test_tracking_support import empty_store

from forecasting.config import Config, MlflowConfig
from forecasting.data.export import write_synth
from forecasting.data.load import load_demand
from forecasting.data.synth import synth_demand
from forecasting.tracking import load_champion, train_demand_model
from forecasting.tracking.champion import (
    FORECASTER_FILE,
    registry_record,
    tracking_uri,
)
from forecasting.tracking.store import resolve_tracking_uri
from forecasting.trust import HASH_TAG, sha256_file

NAME = "ed-demand"
CACHE = Path(".forecasting") / "champion"
PROBE = (
    "import sys\n"
    "from forecasting.config import Config\n"
    "from forecasting.tracking import load_champion\n"
    "c = load_champion(Config())\n"
    "print(c.source, c.version, 'mlflow' in sys.modules, 'sqlalchemy' in sys.modules)\n"
)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with demand data, a store with two snaive versions (1 champion) and a cache."""
    path = tmp_path_factory.mktemp("fast-champion")
    end = pd.Timestamp("2024-06-30").date()
    write_synth(synth_demand(n_sites=2, years=1.2, end=end, seed=3), path / "data")
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        frame = load_demand(path / "data" / "demand.csv")
        first = train_demand_model(frame, Config(), model="snaive", windows=1)
        second = train_demand_model(frame.iloc[:-2], Config(), model="snaive", windows=1)
        load_champion(Config())  # fills the cache with version 1
    assert (first.alias, second.alias) == ("champion", "challenger")
    return path


@pytest.fixture
def folder(trained, tmp_path, monkeypatch):
    """A private copy of the trained folder as the working folder."""
    copy = tmp_path / "work"
    shutil.copytree(trained, copy)
    meta = copy / CACHE / f"{NAME}.json"  # the cache names its store: the copy's now
    meta.write_text(meta.read_text().replace(str(trained.resolve()), str(copy.resolve())))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(copy)
    return copy


def _probe(folder: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=folder, env=_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_forecaster_file_when_compared_is_the_one_pyfunc_logs():
    from forecasting.tracking import pyfunc

    assert FORECASTER_FILE == pyfunc.FORECASTER_FILE


def _without_mlflow_loaded(cfg: Config) -> str:
    """:func:`tracking_uri` as in a fresh process (MLflow not imported yet)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delitem(sys.modules, "mlflow", raising=False)
        return tracking_uri(cfg)


def test_tracking_uri_when_nothing_set_is_mlflows_default(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    cheap = _without_mlflow_loaded(Config())
    assert cheap == resolve_tracking_uri(Config()) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_tracking_uri_when_folder_name_has_a_space_is_quoted_as_mlflow_does(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "my folder").mkdir()
    monkeypatch.chdir(tmp_path / "my folder")
    cheap = _without_mlflow_loaded(Config())
    assert cheap == resolve_tracking_uri(Config())
    assert cheap.endswith("/my%20folder/mlflow.db")


def test_tracking_uri_when_environment_names_a_store_is_that_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////tmp/elsewhere.db")
    monkeypatch.chdir(tmp_path)
    cheap = _without_mlflow_loaded(Config())
    assert cheap == resolve_tracking_uri(Config()) == "sqlite:////tmp/elsewhere.db"


def test_tracking_uri_when_config_names_a_relative_store_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config(mlflow=MlflowConfig(tracking_uri="sqlite:///x/m.db"))
    assert tracking_uri(cfg) == f"sqlite:///{tmp_path.resolve() / 'x' / 'm.db'}"


def test_tracking_uri_when_mlruns_holds_a_file_store_is_left_to_mlflow(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    assert tracking_uri(Config()) == resolve_tracking_uri(Config())
    assert not tracking_uri(Config()).startswith("sqlite:")


def test_registry_record_when_champion_set_gives_version_run_and_hash(folder):
    record = registry_record(folder / "mlflow.db", NAME)
    assert record is not None
    assert record["version"] == "1"
    assert record["sha256"] == sha256_file(folder / CACHE / f"{NAME}.pkl")
    with sqlite3.connect(folder / "mlflow.db") as conn:
        (run_id,) = conn.execute(
            "SELECT run_id FROM model_versions WHERE name = ? AND version = 1", (NAME,)
        ).fetchone()
    assert record["run_id"] == run_id


def test_registry_record_when_model_unknown_or_file_not_a_store_is_none(folder):
    assert registry_record(folder / "mlflow.db", "no-such-model") is None
    other = folder / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert registry_record(other, NAME) is None
    assert registry_record(folder / "missing.db", NAME) is None


def test_registry_record_when_version_tag_missing_falls_back_to_run_tag(folder):
    db = folder / "mlflow.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM model_version_tags WHERE key = ?", (HASH_TAG,))
    record = registry_record(db, NAME)
    assert record is not None
    assert record["sha256"] == sha256_file(folder / CACHE / f"{NAME}.pkl")


def test_load_champion_when_cache_current_imports_no_mlflow(folder):
    assert _probe(folder) == ["registry", "1", "False", "False"]


@pytest.mark.slow  # a real MLflow download (5-7 s)
def test_load_champion_when_champion_moved_loads_the_new_version(folder):
    with sqlite3.connect(folder / "mlflow.db") as conn:
        conn.execute(
            "UPDATE registered_model_aliases SET version = 2 WHERE name = ? AND alias = ?",
            (NAME, "champion"),
        )
    assert _probe(folder) == ["registry", "2", "True", "True"]  # downloaded through MLflow
    assert _probe(folder) == ["registry", "2", "False", "False"]  # then cached


@pytest.mark.slow  # a real MLflow download (5-7 s)
def test_load_champion_when_cache_changed_downloads_again(folder):
    cached = folder / CACHE / f"{NAME}.pkl"
    cached.write_bytes(cached.read_bytes() + b"\n")
    assert _probe(folder) == ["registry", "1", "True", "True"]
    record = registry_record(folder / "mlflow.db", NAME)
    assert record is not None and sha256_file(cached) == record["sha256"]


@pytest.mark.slow  # a real MLflow download (5-7 s)
def test_load_champion_when_cache_meta_names_another_store_downloads_again(folder):
    meta = folder / CACHE / f"{NAME}.json"
    meta.write_text(meta.read_text().replace("mlflow.db", "other.db"))
    assert _probe(folder) == ["registry", "1", "True", "True"]


def test_daily_when_cache_current_runs_without_mlflow(folder):
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('MLFLOW', 'mlflow' in sys.modules, file=sys.stderr))\n"
        "from forecasting.cli import main\n"
        "main(['daily', '--data', 'data/demand.csv', '--no-history', '--format', 'json'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env=_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "MLFLOW False" in proc.stderr
    assert '"model_source": "registry"' in proc.stdout
