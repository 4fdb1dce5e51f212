import pickle
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from forecasting.data.synth import synth_demand, true_readmission_risk
from forecasting.errors import DataError, DataFileError, NotFittedError
from forecasting.readmission.bundle import bundle_params, load_bundle, save_bundle
from forecasting.readmission.calibration import Calibrator, choose_calibrator, sigmoid
from forecasting.readmission.explain import describe, reasons
from forecasting.readmission.features import EpisodeFeatures
from forecasting.readmission.load import to_episode_frame
from forecasting.readmission.metrics import risk_metrics, subgroup_metrics
from forecasting.readmission.models import LaceRisk, LightGBMRisk, LogisticRisk
from forecasting.readmission.operations import expected_readmissions, spread_weights
from forecasting.readmission.report import run_summary, write_report
from forecasting.readmission.split import patient_split
from forecasting.readmission.train import (
    SCORE_COLUMNS,
    evaluate_bundle,
    score_episodes,
    train_readmission,
)

HOLDOUT = 0.3


@pytest.fixture(scope="module")
def synth():
    data = synth_demand(n_sites=2, years=2, end=pd.Timestamp("2024-06-30"), seed=1)
    return data.episodes


@pytest.fixture(scope="module")
def episodes(synth):
    return to_episode_frame(synth)


@pytest.fixture(scope="module")
def run(episodes):
    return train_readmission(episodes, holdout=HOLDOUT, seed=0)


def test_patient_split_when_patients_have_several_episodes(episodes):
    train, test = patient_split(episodes, 0.25, seed=3)
    assert episodes["patient_id"].duplicated().any()
    shared = set(episodes.loc[train, "patient_id"]) & set(episodes.loc[test, "patient_id"])
    assert shared == set()
    assert (train ^ test).all()
    share = episodes.loc[test, "patient_id"].nunique() / episodes["patient_id"].nunique()
    assert share == pytest.approx(0.25, abs=0.001)


def test_patient_split_when_share_invalid_raises():
    with pytest.raises(DataError, match="between 0 and 1"):
        patient_split(pd.DataFrame({"patient_id": ["a", "b"]}), 1.5)


def test_train_readmission_when_synthetic_recovers_true_ordering(run, synth, episodes):
    _, test = patient_split(episodes, HOLDOUT, seed=0)
    true = true_readmission_risk(synth.loc[test])
    ceiling = risk_metrics(run.evaluation.outcomes, true)["auroc"]
    metrics = run.evaluation.metrics
    # the true risk model is the ceiling; both learnt models come close to it, above LACE
    assert ceiling > 0.68
    assert metrics["lightgbm"]["auroc"] > ceiling - 0.03
    assert metrics["logistic"]["auroc"] > ceiling - 0.02
    assert metrics["lightgbm"]["auroc"] > metrics["lace"]["auroc"]
    assert spearmanr(run.evaluation.risks["logistic"], true)[0] > 0.93
    assert spearmanr(run.evaluation.risks["lightgbm"], true)[0] > 0.85
    assert 0.8 < metrics["lightgbm"]["calibration_slope"] < 1.2


def test_train_readmission_when_calibrated_lightgbm_chooses_by_measurement(run):
    model = run.bundle.model
    assert isinstance(model, LightGBMRisk)
    scores = model.calibration_scores_
    assert set(scores) == {"platt", "isotonic"}
    assert model.calibrator_.method == min(scores, key=lambda m: (scores[m], m != "platt"))


def test_score_episodes_when_scored_has_only_episode_id(run, episodes):
    scored = score_episodes(run.bundle, episodes)
    assert tuple(scored.columns) == SCORE_COLUMNS
    assert scored["episode_id"].tolist() == episodes["episode_id"].tolist()
    tokens = set(re.split(r"[\s,;]+", scored.to_csv(index=False)))
    assert tokens.isdisjoint(episodes["patient_id"])
    assert set(scored["risk_band"]) == {"low", "medium", "high"}
    assert scored["risk"].between(0, 1).all()
    high = (scored["risk_band"] == "high").mean()
    assert high == pytest.approx(0.10, abs=0.03)


def test_score_episodes_when_reasons_name_features_with_direction(run, episodes):
    scored = score_episodes(run.bundle, episodes.iloc[:50], top=2)
    parts = [p for line in scored["reasons"] for p in line.split("; ")]
    assert all(p.endswith(("raises risk", "lowers risk")) for p in parts)
    assert max(len(line.split("; ")) for line in scored["reasons"]) == 2


def test_bundle_when_saved_holds_no_identifier(run, episodes, tmp_path):
    blob = pickle.dumps(run.bundle)
    for value in [*episodes["patient_id"].unique()[:200], *episodes["episode_id"][:200]]:
        assert value.encode() not in blob
    path = save_bundle(run.bundle, tmp_path / "m" / "latest.joblib")
    loaded = load_bundle(path)
    x = loaded.features.transform(episodes.iloc[:20])
    np.testing.assert_allclose(
        loaded.model.predict_risk(x), run.bundle.model.predict_risk(x), rtol=1e-12
    )


def test_bundle_params_when_lightgbm_lists_settings_not_data(run):
    params = bundle_params(run.bundle)
    assert params["model"] == "lightgbm"
    assert params["calibration"] in {"platt", "isotonic"}
    assert params["role.length_of_stay"] == "length_of_stay"
    assert params["param.num_leaves"] == 31
    assert all(isinstance(v, str | int | float) for v in params.values())


def test_load_bundle_when_missing_says_train_first(tmp_path):
    with pytest.raises(DataFileError, match="readmission train"):
        load_bundle(tmp_path / "none.joblib")


def test_evaluate_bundle_when_labelled_reports_lace_and_subgroups(run, episodes, tmp_path):
    _, test = patient_split(episodes, HOLDOUT, seed=0)
    evaluation = evaluate_bundle(run.bundle, episodes.loc[test])
    assert set(evaluation.metrics) == {"lightgbm", "lace"}
    assert evaluation.metrics["lightgbm"]["auroc"] == pytest.approx(
        run.evaluation.metrics["lightgbm"]["auroc"]
    )
    assert {"age_band", "sex", "site_id", "admission"} <= set(evaluation.subgroups["variable"])
    paths = write_report(evaluation, run.bundle, tmp_path / "rep")
    assert paths["calibration_plot"].read_bytes()[:4] == b"\x89PNG"
    assert "TRIPOD" in paths["report"].read_text()
    metrics, plots = run_summary(evaluation, paths)
    assert metrics["lightgbm.auroc"] == pytest.approx(evaluation.metrics["lightgbm"]["auroc"])
    assert list(plots) == ["calibration_plot"]


def test_models_when_not_fitted_raise():
    x = pd.DataFrame({"lace": [1.0]})
    for model in (LaceRisk(), LogisticRisk(), LightGBMRisk()):
        with pytest.raises(NotFittedError):
            model.predict_risk(x)
    with pytest.raises(NotFittedError):
        EpisodeFeatures().transform(pd.DataFrame())


def test_lightgbm_contributions_when_path_attributions_sum_to_log_odds(run, episodes):
    model = run.bundle.model
    x = run.bundle.features.transform(episodes.iloc[:200])
    raw = model.model_.predict_proba(x)[:, 1]
    path = model.contributions(x).sum(axis=1).to_numpy()
    shap = model.contributions(x, exact=True).sum(axis=1).to_numpy()
    # both decompositions differ from the log-odds by the same constant (the expected output)
    logit = np.log(raw / (1 - raw))
    assert np.ptp(logit - path) < 1e-9 and np.ptp(logit - shap) < 1e-9


def test_calibration_metrics_when_risk_is_the_truth():
    rng = np.random.default_rng(0)
    p = sigmoid(rng.normal(-2, 1, 200_000))
    y = rng.random(len(p)) < p
    m = risk_metrics(y, p)
    assert m["calibration_slope"] == pytest.approx(1.0, abs=0.03)
    assert m["calibration_intercept"] == pytest.approx(0.0, abs=0.02)
    too_extreme = risk_metrics(y, sigmoid(2 * np.log(p / (1 - p))))
    assert too_extreme["calibration_slope"] == pytest.approx(0.5, abs=0.02)


def test_choose_calibrator_when_risks_are_distorted_restores_calibration():
    rng = np.random.default_rng(1)
    p = sigmoid(rng.normal(-2, 1, 40_000))
    y = (rng.random(len(p)) < p).astype(int)
    distorted = sigmoid(0.5 * np.log(p / (1 - p)) - 0.5)
    calibrator, scores = choose_calibrator(distorted, y, np.arange(len(y)) // 2)
    fixed = calibrator.transform(distorted)
    assert risk_metrics(y, fixed)["calibration_slope"] == pytest.approx(1.0, abs=0.05)
    assert scores["platt"] <= scores["isotonic"]  # the distortion is exactly logistic
    with pytest.raises(NotFittedError):
        Calibrator().transform(p)


def test_subgroup_metrics_when_small_groups_are_left_out(episodes):
    sub = subgroup_metrics(episodes, np.full(len(episodes), 0.1), min_size=500)
    assert (sub["n"] >= 500).all()
    assert set(sub.loc[sub["variable"] == "sex", "level"]) == {"F", "M"}


def test_describe_when_known_and_generic_features():
    assert describe("length_of_stay", 5.0) == "length of stay 5 days"
    assert describe("emergency", 1.0) == "emergency admission"
    assert describe("cci_heart_failure", 1.0) == "has heart failure"
    assert describe("diag_1_group", "circulatory") == "diag_1 group circulatory"
    lines = reasons(pd.DataFrame({"age": [0.4, -0.1]}), pd.DataFrame({"age": [80.0, 30.0]}))
    assert lines == ["age 80 raises risk", "age 30 lowers risk"]


def test_spread_weights_when_decaying_or_uniform():
    decaying = spread_weights(15.0)
    assert decaying.sum() == pytest.approx(1.0) and decaying[0] > decaying[-1]
    assert decaying[:7].sum() == pytest.approx(0.431, abs=0.001)
    np.testing.assert_allclose(spread_weights(None), np.full(30, 1 / 30))


def test_expected_readmissions_when_two_sites_hand_computed():
    scored = pd.DataFrame(
        {
            "site_id": ["a", "a", "b"],
            "discharge_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"]),
            "risk": [0.3, 0.6, 0.9],
        }
    )
    out = expected_readmissions(scored, decay_days=None)
    a = out[out["site_id"] == "a"].set_index("date")["expected_readmissions"]
    assert a[pd.Timestamp("2024-01-02")] == pytest.approx(0.3 / 30)
    assert a[pd.Timestamp("2024-01-03")] == pytest.approx(0.9 / 30)
    assert a[pd.Timestamp("2024-02-01")] == pytest.approx(0.6 / 30)  # day 30 of the second
    assert out["expected_readmissions"].sum() == pytest.approx(1.8)
    assert list(out.columns) == ["site_id", "date", "expected_readmissions"]
    # every site has every day, zeros included
    assert out.groupby("site_id").size().tolist() == [31, 31]


def test_expected_readmissions_when_window_restricted_counts_only_inside():
    scored = pd.DataFrame({"discharge_date": ["2024-03-01"], "risk": [0.5]})
    out = expected_readmissions(scored, start="2024-03-02", end="2024-03-08", decay_days=15.0)
    assert set(out["site_id"]) == {"all"}
    assert out["expected_readmissions"].sum() == pytest.approx(0.5 * 0.431, abs=0.001)


def test_readmission_package_when_lazy_names_resolve():
    import forecasting.readmission as rx

    assert all(getattr(rx, name) is not None for name in rx.__all__)
    with pytest.raises(AttributeError):
        _ = rx.no_such_name
