"""A readmission run carries no patient identifier: not in artifacts, tags, params or the store."""

import re
import zipfile
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_tracking_support import empty_store

from forecasting.config import config_from_dict
from forecasting.data.synth import synth_demand
from forecasting.tracking import log_readmission_run
from forecasting.tracking.errors import PrivacyError
from forecasting.tracking.store import using_store

NUMERIC = ["length_of_stay", "age", "charlson", "comorbidity_count", "prior_ed_visits_6m"]
CATEGORICAL = ["site_id", "admission_type", "sex", "discharge_destination"]
ID_PATTERN = re.compile(rb"[PE][0-9A-F]{14}")


@pytest.fixture(autouse=True)
def _no_default_store(tmp_path, monkeypatch):
    """Whatever falls back to MLflow's default store lands in tmp, never in the repo."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


def found_ids(blob: bytes, ids: set[bytes]) -> set[bytes]:
    """Identifiers of ``ids`` that occur in ``blob``."""
    return {m for m in ID_PATTERN.findall(blob) if m in ids}


def contents(path: Path) -> bytes:
    """A file's bytes, and for a zip (e.g. the skops model) its members' unpacked bytes too."""
    blob = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            blob += b"".join(archive.read(name) for name in archive.namelist())
    return blob


@pytest.fixture(scope="module")
def episodes():
    return synth_demand(n_sites=2, years=1, end=pd.Timestamp("2024-06-30").date(), seed=7).episodes


@pytest.fixture(scope="module")
def logged(episodes, tmp_path_factory):
    """A readmission run with a model, table and plot artifacts, in a tmp SQLite store."""
    folder = tmp_path_factory.mktemp("readmission")
    uri = empty_store(tmp_path_factory, folder / "mlflow.db")
    cfg = config_from_dict({"mlflow": {"tracking_uri": uri}})
    X, y = episodes[NUMERIC + CATEGORICAL], episodes["readmitted_30d"]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), NUMERIC),
                ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ]
        ),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    scored = episodes.assign(p=p)
    calibration = (
        scored.assign(bin=pd.qcut(scored["p"], 10, labels=False, duplicates="drop"))
        .groupby("bin")
        .agg(predicted=("p", "mean"), observed=("readmitted_30d", "mean"), n=("p", "size"))
        .reset_index()
    )
    calibration.to_csv(folder / "calibration.csv", index=False)
    by_site = {
        f"auroc/site/{s}": roc_auc_score(g["readmitted_30d"], g["p"])
        for s, g in scored.groupby("site_id")
    }
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(calibration["predicted"], calibration["observed"], "o-")
    fig.savefig(folder / "calibration.png")
    plt.close(fig)
    elsewhere = tmp_path_factory.mktemp("cwd")  # artifacts must follow the store, not the cwd
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        run = log_readmission_run(
            cfg,
            params={"model": "logistic", "features": {"numeric": NUMERIC, "other": CATEGORICAL}},
            metrics={"auroc": roc_auc_score(y, p), "brier": brier_score_loss(y, p), **by_site},
            artifacts=[folder / "calibration.csv", folder / "calibration.png"],
            model=model,
            features=X,
            episodes=episodes,
        )
    assert not any(elsewhere.iterdir())
    return folder, cfg, run


def _ids(episodes) -> set[bytes]:
    values = pd.concat([episodes["patient_id"], episodes["episode_id"]]).astype(str)
    return {v.encode() for v in values}


def test_found_ids_when_identifier_planted_finds_it(episodes, tmp_path):
    ids = _ids(episodes)
    planted = b"xx" + episodes["patient_id"].iloc[3].encode() + b"yy"
    assert found_ids(planted, ids) == {episodes["patient_id"].iloc[3].encode()}
    packed = tmp_path / "packed.zip"
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.txt", planted * 50)
    assert found_ids(contents(packed), ids) == {episodes["patient_id"].iloc[3].encode()}


def test_readmission_run_when_logged_registers_champion_with_metrics(logged, episodes):
    folder, cfg, run = logged
    assert (run.model_version, run.alias) == ("1", "champion")
    uri = cfg.mlflow.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    data = client.get_run(run.run_id).data
    assert data.tags["forecasting.kind"] == "readmission"
    assert 0.5 < data.metrics["auroc"] < 1
    assert {"auroc/site/RAA", "auroc/site/RAB", "brier"} <= set(data.metrics)
    assert data.params["data.n_rows"] == str(len(episodes))
    assert data.params["features.numeric"] == repr(NUMERIC)
    artifact_uri = client.get_run(run.run_id).info.artifact_uri
    assert artifact_uri.startswith(str(folder / "mlruns" / "forecasting"))


def test_readmission_run_when_scanned_has_no_patient_or_episode_id(logged, episodes, tmp_path):
    folder, cfg, run = logged
    ids = _ids(episodes)
    uri = cfg.mlflow.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    # every artifact of the run and of its registered model, downloaded through MLflow
    run_dir = client.download_artifacts(run.run_id, "", str(tmp_path / "run"))
    model_dir = tmp_path / "model"
    with using_store(cfg):  # models:/ downloads follow MLflow's global URI only
        mlflow.artifacts.download_artifacts(
            f"models:/ed-readmission/{run.model_version}", dst_path=str(model_dir)
        )
    files = [p for d in (run_dir, model_dir) for p in sorted(Path(d).rglob("*")) if p.is_file()]
    names = {p.name for p in files}
    assert {"calibration.csv", "calibration.png", "config.yaml", "MLmodel", "model.skops"} <= names
    assert "input_example.json" in names
    for path in files:
        assert not found_ids(contents(path), ids), path
    # every tag and parameter of the run, the model version and the registered model
    data = client.get_run(run.run_id).data
    version = client.get_model_version("ed-readmission", run.model_version)
    texts = [*data.tags.items(), *data.params.items(), *version.tags.items()]
    texts += list(client.get_registered_model("ed-readmission").tags.items())
    assert not found_ids(repr(texts).encode(), ids)
    # and the whole store on disk: the database and every stored file
    for path in folder.rglob("*"):
        if path.is_file():
            assert not found_ids(contents(path), ids), path


def test_readmission_run_when_features_carry_ids_refuses_before_logging(episodes, tmp_path):
    cfg = config_from_dict({"mlflow": {"tracking_uri": f"sqlite:///{tmp_path / 'm.db'}"}})
    with pytest.raises(PrivacyError, match=r"the feature table has column 'patient_id'"):
        log_readmission_run(cfg, params={}, metrics={}, features=episodes[["patient_id", "age"]])
    scores = tmp_path / "scores.csv"
    episodes[["episode_id", "age"]].head(3).to_csv(scores, index=False)
    with pytest.raises(PrivacyError, match=r"scores.csv has column 'episode_id'"):
        log_readmission_run(cfg, params={}, metrics={}, artifacts=[scores])
    assert not (tmp_path / "m.db").exists()


@pytest.fixture(scope="module")
def registry_flow(episodes, tmp_path_factory):
    """Two readmission bundles through the CLI: a champion and a reviewed challenger."""
    from typer.testing import CliRunner

    from forecasting.cli import readmission

    folder = tmp_path_factory.mktemp("registry-flow")
    episodes.to_csv(folder / "episodes.csv", index=False)
    uri = empty_store(tmp_path_factory, folder / "store" / "mlflow.db")
    config = folder / "config.yaml"
    config.write_text(f"mlflow:\n  tracking_uri: {uri}\n")
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for kind in ("logistic", "lace"):
            args = ["train", "--data", "episodes.csv", "--model-type", kind, "--no-compare"]
            args += ["--out", f"{kind}/latest.joblib", "--config", str(config)]
            result = runner.invoke(readmission.app, args)
            assert result.exit_code == 0, result.output
    return folder, uri


def test_readmission_registry_when_scanned_has_no_identifier_in_datasets_tags_descriptions(
    registry_flow, episodes, tmp_path
):
    folder, uri = registry_flow
    ids = _ids(episodes)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = client.search_model_versions("name = 'ed-readmission'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    texts: list[object] = []
    for version in versions:
        texts += [version.description, *version.tags.items()]
        run = client.get_run(version.run_id)
        texts += [*run.data.tags.items(), *run.data.params.items()]
        for item in run.inputs.dataset_inputs:
            d = item.dataset
            texts += [d.name, d.digest, d.source, d.schema, d.profile, *item.tags]
        local = client.download_artifacts(version.run_id, "", str(tmp_path / str(version.version)))
        files = [p for p in Path(local).rglob("*") if p.is_file()]
        assert any(p.name == "comparison.md" for p in files) == (str(version.version) == "2")
        for path in files:
            assert not found_ids(contents(path), ids), path
    assert "Review against the champion" in repr(texts)  # the scan covers the review
    assert not found_ids(repr(texts).encode(), ids)
    for path in (folder / "store").rglob("*"):  # the database and every stored file
        if path.is_file():
            assert not found_ids(contents(path), ids), path
