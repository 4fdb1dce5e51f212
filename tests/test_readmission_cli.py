import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import readmission
from forecasting.data.synth import synth_demand

runner = CliRunner()
UCI = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci_diabetes_130us"


@pytest.fixture(scope="module")
def episodes_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("episodes")
    data = synth_demand(n_sites=2, years=1.5, end=pd.Timestamp("2024-06-30"), seed=2)
    path = folder / "episodes.csv"
    data.episodes.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _in_tmp_folder(tmp_path, monkeypatch):
    """Nothing (models, MLflow stores) lands in the repository."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def trained(episodes_csv, tmp_path_factory):
    """A model trained with MLflow tracking on a local store in its own folder."""
    folder = tmp_path_factory.mktemp("model")
    model = folder / "latest.joblib"
    empty_store(tmp_path_factory, folder / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(folder)
        result = runner.invoke(
            readmission.app, ["train", "--data", str(episodes_csv), "--out", str(model)]
        )
    assert result.exit_code == 0, result.output
    return model, result.output


def test_train_when_tracked_logs_an_mlflow_run_with_held_out_metrics(trained):
    from mlflow import MlflowClient

    model, output = trained
    assert "MLflow run" in output
    client = MlflowClient(tracking_uri=f"sqlite:///{model.parent / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.run_name for r in runs] == ["readmission lightgbm"]
    assert 0.5 < runs[0].data.metrics["lightgbm.auroc"] <= 1.0


def test_train_when_synthetic_defaults_saves_model_and_report(trained):
    model, output = trained
    assert model.is_file()
    assert "lightgbm" in output and "lace" in output and "AUROC" in output
    report = model.parent / "report"
    assert (report / "calibration.png").is_file() and (report / "report.md").is_file()
    metrics = pd.read_csv(report / "metrics.csv")
    assert metrics["model"].tolist() == ["lace", "logistic", "lightgbm"]


def test_score_when_trained_writes_exactly_the_contract_columns(trained, episodes_csv, tmp_path):
    model, _ = trained
    out = tmp_path / "risk.csv"
    result = runner.invoke(
        readmission.app,
        ["score", "--data", str(episodes_csv), "--out", str(out), "--model", str(model)],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["episode_id", "risk", "risk_band", "lace", "reasons"]
    source = pd.read_csv(episodes_csv)
    assert len(scored) == len(source)
    assert scored["episode_id"].tolist() == source["episode_id"].tolist()
    assert scored["lace"].between(0, 19).all()
    # nothing but the episode id identifies anyone, and no patient id is printed
    assert not set(source["patient_id"]) & set(out.read_text().replace("\n", ",").split(","))
    assert not any(pid in result.output for pid in source["patient_id"].unique()[:100])


def test_score_when_label_column_absent_still_scores(trained, episodes_csv, tmp_path):
    model, _ = trained
    unlabelled = tmp_path / "new.csv"
    pd.read_csv(episodes_csv).drop(columns="readmitted_30d").head(50).to_csv(unlabelled)
    out = tmp_path / "risk.csv"
    result = runner.invoke(
        readmission.app,
        ["score", "--data", str(unlabelled), "--out", str(out), "--model", str(model)],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 50


def test_evaluate_when_labelled_file_prints_table_and_writes_report(
    trained, episodes_csv, tmp_path
):
    model, _ = trained
    result = runner.invoke(
        readmission.app,
        ["evaluate", "--data", str(episodes_csv), "--model", str(model), "--out-dir",
         str(tmp_path / "ev")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "AUROC" in result.output
    subgroups = pd.read_csv(tmp_path / "ev" / "subgroups.csv")
    assert {"age_band", "sex"} <= set(subgroups["variable"])


def test_train_when_label_column_missing_exits_2_with_one_line(episodes_csv, tmp_path):
    result = runner.invoke(
        readmission.app,
        ["train", "--data", str(episodes_csv), "--label-col", "readmited",
         "--out", str(tmp_path / "m.joblib")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert (
        "column 'readmited'" in result.output and "did you mean 'readmitted_30d'" in result.output
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "m.joblib").exists()


def test_score_when_no_model_exits_2_saying_train_first(episodes_csv, tmp_path):
    result = runner.invoke(
        readmission.app,
        ["score", "--data", str(episodes_csv), "--out", str(tmp_path / "r.csv"),
         "--model", str(tmp_path / "none.joblib")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "readmission train" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_train_when_bad_mapping_key_exits_2(episodes_csv, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("los_days: length_of_stay\n")
    result = runner.invoke(
        readmission.app,
        ["train", "--data", str(episodes_csv), "--mapping", str(mapping), "--no-track"],
    )
    assert result.exit_code == 2
    assert "unknown key 'los_days'" in result.output


def test_import_when_cli_module_loads_no_heavy_library():
    code = (
        "import sys, forecasting.cli.readmission; "
        "print([m for m in ('pandas', 'lightgbm', 'sklearn', 'mlflow', 'matplotlib') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
@pytest.mark.skipif(not UCI.exists(), reason="../shared/data is not available")
def test_train_and_score_when_raw_uci_file(tmp_path):
    data = str(UCI / "diabetic_data.csv.gz")
    flags = ["--label-col", "readmitted", "--positive", "<30", "--patient-col", "patient_nbr",
             "--id-col", "encounter_id"]  # fmt: skip
    model = tmp_path / "uci.joblib"
    result = runner.invoke(
        readmission.app,
        [
            "train",
            "--data",
            data,
            *flags,
            "--no-compare",
            "--no-track",
            "--cv",
            "2",
            "--out",
            str(model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2,423 discharges to death or hospice left out" in result.output
    out = tmp_path / "risk.csv"
    result = runner.invoke(
        readmission.app, ["score", "--data", data, "--out", str(out), "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["episode_id", "risk", "risk_band", "lace", "reasons"]
    assert len(scored) == 99_343
    metrics = pd.read_csv(tmp_path / "report" / "metrics.csv").set_index("model")
    assert metrics.loc["lightgbm", "auroc"] > metrics.loc["lace", "auroc"] + 0.03
