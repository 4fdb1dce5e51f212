"""A real ``mlflow server`` on 127.0.0.1: log through the package, read back through REST."""

import json
import os
import urllib.request

import pandas as pd
import pytest
from test_tracking_support import empty_store

from forecasting.config import config_from_dict
from forecasting.data.synth import synth_demand
from forecasting.tracking import load_champion, train_demand_model
from forecasting.tracking.server import free_port, start_server, stop_server, wait_until_up


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def server(tmp_path, tmp_path_factory):
    """Start a server on a free port over a SQLite store in tmp_path; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = start_server(
        empty_store(tmp_path_factory, tmp_path / "server.db"),
        port,
        env=env,
        artifacts_destination=tmp_path / "artifacts",
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, timeout=120)
        yield url
    finally:
        stop_server(proc)
        assert proc.poll() is not None
        with pytest.raises(ProcessLookupError):  # uvicorn, its child, is gone too
            os.killpg(proc.pid, 0)


def test_server_when_run_logged_through_package_reads_back_over_rest(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may fall back to ./mlflow.db of the repo
    data = synth_demand(n_sites=2, years=1, end=pd.Timestamp("2024-06-30").date(), seed=2)
    frame = data.demand[["site_id", "date", "attendances"]].astype({"attendances": float})
    cfg = config_from_dict({"mlflow": {"tracking_uri": server, "experiment": "server-test"}})
    result = train_demand_model(frame, cfg, model="snaive", windows=3)
    assert (result.model_version, result.alias) == ("1", "champion")

    api = f"{server}/api/2.0/mlflow"
    run = _get(f"{api}/runs/get?run_id={result.run_id}")["run"]
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert metrics["pinball"] == pytest.approx(result.metrics["pinball"])
    assert metrics["MAE"] == pytest.approx(result.metrics["MAE"])
    assert "h7/cov90" in metrics and "site/RAA/MAE" in metrics
    assert params["model"] == "snaive" and params["data.n_rows"] == str(len(frame))
    assert tags["forecasting.kind"] == "train"

    model = _get(f"{api}/registered-models/get?name=ed-demand")["registered_model"]
    assert model["name"] == "ed-demand"
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]
    version = _get(f"{api}/model-versions/get?name=ed-demand&version=1")["model_version"]
    assert version["run_id"] == result.run_id

    champ = load_champion(cfg, cache_dir=tmp_path / "cache")  # artifacts through the server
    assert (champ.source, champ.version) == ("registry", "1")
    pd.testing.assert_frame_equal(champ.model.predict(7), result.model.predict(7))


@pytest.mark.slow  # a second server start (10-70 s on 2 busy cores) and two trainings
def test_server_when_challenger_trained_shows_review_artifact_and_description_over_rest(
    server, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    data = synth_demand(n_sites=2, years=1, end=pd.Timestamp("2024-06-30").date(), seed=2)
    frame = data.demand[["site_id", "date", "attendances"]].astype({"attendances": float})
    cfg = config_from_dict({"mlflow": {"tracking_uri": server, "experiment": "server-review"}})
    train_demand_model(frame, cfg, model="snaive", windows=3)
    shorter = frame[frame["date"] <= "2024-06-25"]
    challenger = train_demand_model(shorter, cfg, model="snaive", windows=3)
    assert (challenger.model_version, challenger.alias) == ("2", "challenger")

    api = f"{server}/api/2.0/mlflow"
    listed = _get(f"{api}/artifacts/list?run_id={challenger.run_id}&path=review")
    assert sorted(f["path"] for f in listed["files"]) == [
        "review/champion_backtest.csv",
        "review/comparison.csv",
        "review/comparison.md",
        "review/comparison.png",
    ]
    url = f"{server}/get-artifact?path=review/comparison.md&run_uuid={challenger.run_id}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        markdown = resp.read().decode()
    assert markdown.startswith("Challenger version 2 against champion version 1: **Refused**")
    assert "the champion re-scored on them (different data in its own run)" in markdown
    version = _get(f"{api}/model-versions/get?name=ed-demand&version=2")["model_version"]
    assert "## Review against the champion" in version["description"]
    assert markdown.strip() in version["description"]
    tags = {t["key"]: t["value"] for t in version["tags"]}
    assert tags["review.kind"] == "rescored" and tags["review.champion_version"] == "1"
    run = _get(f"{api}/runs/get?run_id={challenger.run_id}")["run"]
    contexts = sorted(
        t["value"]
        for i in run["inputs"]["dataset_inputs"]
        for t in i["tags"]
        if t["key"] == "mlflow.data.context"
    )
    assert contexts == ["backtest", "training"]
