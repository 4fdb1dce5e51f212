"""Hardening of ``readmission`` (issue 10): model files checked before loading, clean refusals.

A bundle trained once (logistic, no comparison: fast) is copied per test. CLI behaviour is
checked in real subprocesses: exit code 2, one line on stderr, no traceback, nothing replaced.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.cli import readmission as readmission_cli
from forecasting.data.synth import synth_demand
from forecasting.errors import DataError, SchemaError
from forecasting.readmission.bundle import RiskBundle, load_bundle, save_bundle
from forecasting.readmission.columns import EpisodeColumns
from forecasting.readmission.load import load_episodes
from forecasting.readmission.train import score_episodes, train_readmission
from forecasting.tracking.errors import TrackingError, UntrustedModelError
from forecasting.tracking.server import free_port
from forecasting.trust import sha256_file, sidecar_path

runner = CliRunner()


class Payload:
    """Unpickling this creates ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def cli(folder: Path, *args: str, env: dict[str, str] | None = None):
    """Run ``python -m forecasting readmission ARGS`` in ``folder``."""
    environ = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "forecasting", "readmission", *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
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
def source(tmp_path_factory):
    """Episode files (all, 50 rows, 10 rows, ids only) and a bundle saved with its hash."""
    folder = tmp_path_factory.mktemp("readmission-hardening")
    end = pd.Timestamp("2024-06-30")
    episodes = synth_demand(n_sites=2, years=1.0, end=end, seed=11).episodes
    episodes.to_csv(folder / "episodes.csv", index=False)
    episodes.head(50).to_csv(folder / "ep50.csv", index=False)
    episodes.head(10).to_csv(folder / "ep10.csv", index=False)
    episodes[["episode_id", "patient_id", "discharge_date"]].head(50).to_csv(
        folder / "ids_only.csv", index=False
    )
    frame = load_episodes(folder / "episodes.csv", EpisodeColumns(), require_label=True)
    run = train_readmission(frame, model="logistic", compare=False)
    save_bundle(run.bundle, folder / "models" / "latest.joblib")
    return folder


@pytest.fixture
def folder(source, tmp_path):
    copy = tmp_path / "work"
    shutil.copytree(source, copy)
    return copy


def _plant(model: Path, marker: Path) -> None:
    joblib.dump(Payload(marker), model)


# --- 2. the bundle is checked before it is loaded ---------------------------------------------


def test_save_bundle_when_saved_writes_sha256_sidecar_and_private_file(folder):
    model = folder / "models" / "latest.joblib"
    assert sidecar_path(model).read_text().split() == [sha256_file(model), "latest.joblib"]
    assert model.stat().st_mode & 0o022 == 0
    assert isinstance(load_bundle(model), RiskBundle)


def test_load_bundle_when_payload_planted_refuses_without_running(folder):
    model, marker = folder / "models" / "latest.joblib", folder / "ran"
    _plant(model, marker)
    with pytest.raises(UntrustedModelError, match="does not match the SHA-256"):
        load_bundle(model)
    assert not marker.exists()


def test_load_bundle_when_sidecar_missing_refuses_and_says_how_to_accept(folder):
    model, marker = folder / "models" / "latest.joblib", folder / "ran"
    _plant(model, marker)
    sidecar_path(model).unlink()
    with pytest.raises(UntrustedModelError, match="sha256sum"):
        load_bundle(model)
    assert not marker.exists()


@pytest.mark.parametrize("which", ["model", "sidecar"])
def test_load_bundle_when_group_writable_refuses_even_with_matching_hash(folder, which):
    model, marker = folder / "models" / "latest.joblib", folder / "ran"
    _plant(model, marker)
    sidecar_path(model).write_text(f"{sha256_file(model)}  latest.joblib\n")
    os.chmod(model if which == "model" else sidecar_path(model), 0o664)
    with pytest.raises(UntrustedModelError, match="can be written by other users"):
        load_bundle(model)
    assert not marker.exists()


def test_load_bundle_when_symlink_refuses(folder):
    model = folder / "models" / "latest.joblib"
    link = folder / "link.joblib"
    link.symlink_to(model)
    shutil.copyfile(sidecar_path(model), sidecar_path(link))
    with pytest.raises(UntrustedModelError, match="symbolic link"):
        load_bundle(link)


def test_load_bundle_when_hash_matches_but_not_a_bundle_gives_data_file_error(folder):
    model = folder / "models" / "latest.joblib"
    model.write_bytes(pickle.dumps({"format": 1, "bundle": "text"}))
    sidecar_path(model).write_text(f"{sha256_file(model)}  latest.joblib\n")
    with pytest.raises(DataError, match="not a readmission model bundle"):
        load_bundle(model)


def test_score_when_payload_planted_exits_2_with_one_line_and_runs_nothing(folder):
    marker = folder / "ran"
    _plant(folder / "models" / "latest.joblib", marker)
    proc = cli(
        folder,
        "score",
        "--data",
        "ep50.csv",
        "--out",
        "risk.csv",
        "--model",
        "models/latest.joblib",
    )
    assert_one_line_error(proc, "latest.joblib", "not loaded")
    assert not marker.exists() and not (folder / "risk.csv").exists()


def test_score_help_when_shown_says_a_model_file_is_code():
    result = runner.invoke(readmission_cli.app, ["score", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())
    assert "A model file is code" in text and "sha256" in text.lower()


# --- 3. columns the model needs ---------------------------------------------------------------


def test_score_episodes_when_feature_columns_missing_raises_schema_error_naming_them(folder):
    bundle = load_bundle(folder / "models" / "latest.joblib")
    episodes = load_episodes(folder / "ids_only.csv", bundle.columns, require_label=False)
    with pytest.raises(SchemaError, match=r"'age'.*Fix: add the columns"):
        score_episodes(bundle, episodes)


def test_score_when_feature_columns_missing_exits_2_naming_them(folder):
    proc = cli(
        folder,
        "score",
        "--data",
        "ids_only.csv",
        "--out",
        "risk.csv",
        "--model",
        "models/latest.joblib",
    )
    assert_one_line_error(proc, "ids_only.csv", "'length_of_stay'", "'sex'")
    assert not (folder / "risk.csv").exists()


# --- 4. train: check first, replace last ------------------------------------------------------


def test_train_readmission_when_ten_episodes_raises_data_error(folder):
    frame = load_episodes(folder / "ep10.csv", EpisodeColumns(), require_label=True)
    with pytest.raises(DataError, match="too few"):
        train_readmission(frame, model="logistic", compare=False)


def test_train_when_ten_episodes_exits_2_and_keeps_the_model(folder):
    model = folder / "models" / "latest.joblib"
    before = model.read_bytes()
    proc = cli(folder, "train", "--data", "ep10.csv", "--out", "models/latest.joblib")
    assert_one_line_error(proc, "ep10.csv", "too few")
    assert model.read_bytes() == before
    assert not (folder / "models" / "report").exists()


def test_train_when_tracking_server_down_exits_2_before_training(folder):
    url = f"http://127.0.0.1:{free_port()}"
    proc = cli(
        folder,
        "train",
        "--data",
        "episodes.csv",
        "--out",
        "models/new.joblib",
        env={"MLFLOW_TRACKING_URI": url},
    )
    assert_one_line_error(proc, url, "unreachable")
    assert "Read" not in proc.stdout  # refused before the episodes were even read
    assert not (folder / "models" / "new.joblib").exists()


def test_train_when_logging_fails_replaces_neither_model_nor_report(folder, monkeypatch):
    import forecasting.tracking as tracking

    def broken(*args, **kwargs):
        raise TrackingError("store went away")

    monkeypatch.setattr(tracking, "log_readmission_run", broken, raising=False)
    monkeypatch.chdir(folder)
    (folder / "models" / "report").mkdir()
    (folder / "models" / "report" / "report.md").write_text("old report")
    model = folder / "models" / "latest.joblib"
    before = model.read_bytes()
    result = runner.invoke(
        readmission_cli.app,
        [
            "train",
            "--data",
            "episodes.csv",
            "--model-type",
            "logistic",
            "--no-compare",
            "--out",
            "models/latest.joblib",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 2 and "store went away" in result.output
    assert model.read_bytes() == before
    assert (folder / "models" / "report" / "report.md").read_text() == "old report"
    assert [p.name for p in (folder / "models").iterdir() if p.name.startswith(".")] == []


def test_train_when_store_damaged_exits_2_before_training(folder):
    (folder / "mlflow.db").write_bytes(b"not a database at all" * 10)
    proc = cli(folder, "train", "--data", "episodes.csv", "--out", "models/new.joblib")
    assert_one_line_error(proc, "mlflow.db", "Fix: move it aside")
    assert not (folder / "models" / "new.joblib").exists()
