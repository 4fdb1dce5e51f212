"""The readmission model in the registry, through the CLI, on a real SQLite store.

The tests share one store and run in file order: a logistic model is the first version
(champion); a LACE model is the challenger, reviewed on the same held-out patients and refused;
``score`` uses the champion unless told otherwise; a forced promotion changes what it uses.
"""

import json

import pandas as pd
import pytest
from mlflow import MlflowClient
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import readmission
from forecasting.data.synth import synth_demand
from forecasting.readmission.columns import EpisodeColumns
from forecasting.readmission.load import load_episodes
from forecasting.readmission.split import patient_split
from forecasting.tracking.readmission_review import judge_readmission

runner = CliRunner()
NAME = "ed-readmission"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("readmission-registry")
    data = synth_demand(n_sites=2, years=1.5, end=pd.Timestamp("2024-06-30"), seed=2)
    data.episodes.to_csv(path / "episodes.csv", index=False)
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        yield path


@pytest.fixture(scope="module")
def client(folder):
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _train(folder, kind):
    args = ["train", "--data", "episodes.csv", "--model-type", kind, "--no-compare"]
    result = runner.invoke(readmission.app, [*args, "--out", f"{kind}/latest.joblib"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def first(folder):
    return _train(folder, "logistic")


@pytest.fixture(scope="module")
def second(folder, first):
    return _train(folder, "lace")


@pytest.fixture(scope="module")
def loaded(folder):
    """The episodes as train reads them, and its held-out share (20% of patients, seed 0)."""
    episodes = load_episodes(folder / "episodes.csv", EpisodeColumns(), require_label=True)
    return episodes, episodes.loc[patient_split(episodes, 0.2, 0)[1]]


def test_train_when_first_readmission_model_registers_champion_with_tags(client, first, loaded):
    assert "Registered ed-readmission version 1, alias champion." in first.stdout
    version = client.get_model_version(NAME, "1")
    assert version.aliases == ["champion"]
    assert version.tags["model"] == "logistic"
    held_out = loaded[1]
    assert version.tags["holdout.episodes"] == str(len(held_out))
    assert version.tags["holdout.patients"] == str(held_out["patient_id"].nunique())
    assert version.description.startswith("**logistic**: 30-day readmission risk, trained on")
    files = {a.path for a in client.list_artifacts(version.run_id, "model")}
    assert files == {"model/latest.joblib", "model/latest.joblib.sha256"}


def test_train_when_logged_has_schema_only_datasets_with_counts(client, first, loaded):
    run = client.get_run(client.get_model_version(NAME, "1").run_id)
    by_context = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
    assert sorted(by_context) == ["evaluation", "training"]
    for context, frame in zip(("training", "evaluation"), loaded, strict=True):
        assert json.loads(by_context[context].profile) == {
            "episodes": len(frame),
            "patients": frame["patient_id"].nunique(),
            "events": int(frame["label"].sum()),
        }
    training = by_context["training"]
    assert training.source_type == "code"
    assert "patient_id" not in training.schema and "episode_id" not in training.schema
    assert '"name": "age"' in training.schema


def test_train_when_challenger_is_reviewed_on_the_same_held_out_patients(client, second):
    assert "Registered ed-readmission version 2, alias challenger." in second.stdout
    assert "Against champion version 1 on the same held-out patients" in second.stdout
    version = client.get_model_version(NAME, "2")
    assert version.tags["review.champion_version"] == "1"
    assert "held out from both (same episodes, holdout and seed)" in version.tags["review.basis"]
    assert version.tags["review.verdict"].startswith("refused: AUROC")
    names = {a.path for a in client.list_artifacts(version.run_id, "review")}
    assert names == {"review/comparison.csv", "review/comparison.md", "review/comparison.png"}
    assert "## Review against the champion" in version.description


def test_promote_when_readmission_challenger_worse_exits_3(client, second):
    result = runner.invoke(readmission.app, ["promote"])
    assert result.exit_code == 3, result.output
    assert "readmission challenger version 2 of 'ed-readmission' is not promoted" in result.stderr
    assert "does not beat the champion's" in result.stderr
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"


def test_score_when_no_model_given_uses_the_registry_champion(folder, second):
    result = runner.invoke(readmission.app, ["score", "--data", "episodes.csv", "--out", "a.csv"])
    assert result.exit_code == 0, result.output
    assert "Scoring with ed-readmission version 1 (champion in MLflow)." in result.stderr
    args = ["score", "--data", "episodes.csv", "--out", "b.csv"]
    by_file = runner.invoke(readmission.app, [*args, "--model", "logistic/latest.joblib"])
    assert by_file.exit_code == 0, by_file.output
    assert (folder / "a.csv").read_text() == (folder / "b.csv").read_text()


def test_score_when_champion_forced_to_lace_uses_it(folder, client, second):
    forced = runner.invoke(readmission.app, ["promote", "--force", "--reason", "audit baseline"])
    assert forced.exit_code == 0, forced.output
    assert "ed-readmission version 2 is now champion (forced over version 1" in forced.stdout
    result = runner.invoke(readmission.app, ["score", "--data", "episodes.csv", "--out", "c.csv"])
    assert result.exit_code == 0, result.output
    assert "Scoring with ed-readmission version 2" in result.stderr
    args = ["score", "--data", "episodes.csv", "--out", "d.csv"]
    by_file = runner.invoke(readmission.app, [*args, "--model", "lace/latest.joblib"])
    assert by_file.exit_code == 0, by_file.output
    assert (folder / "c.csv").read_text() == (folder / "d.csv").read_text()
    assert (folder / "c.csv").read_text() != (folder / "a.csv").read_text()


def test_judge_readmission_when_each_rule_broken_names_it():
    table = pd.DataFrame(
        {
            "metric": ["auroc", "brier", "calibration_slope"],
            "champion": [0.70, 0.090, 1.00],
            "challenger": [0.72, 0.095, 1.35],
        }
    )
    assert judge_readmission(table, brier_tolerance=0.002, slope_tolerance=0.2) == [
        "Brier 0.0950 vs 0.0900 (+0.0050, tolerance 0.002)",
        "calibration slope 1.35 is not within 1 ± 0.2",
    ]
    assert judge_readmission(table, brier_tolerance=0.01, slope_tolerance=0.4) == []
    worse = table.assign(challenger=[0.69, 0.090, 1.0])
    assert judge_readmission(worse, 0.002, 0.2) == [
        "AUROC 0.6900 does not beat the champion's 0.7000"
    ]
