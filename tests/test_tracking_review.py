"""The evidence a reviewer decides on, in a real SQLite store: datasets, per-window steps,
version tags and description, and a challenger compared with the champion on equal footing.

The module's tests share one store and run in file order: seasonal naive on all the data is
champion; seasonal naive on ten days less is the challenger, reviewed by re-scoring the
champion on the challenger's data (same model, same data, same cutoffs: the same scores).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli.models import promote_command
from forecasting.config import config_from_dict
from forecasting.data.synth import synth_demand
from forecasting.errors import ShortHistoryWarning
from forecasting.evaluate.summary import evaluate
from forecasting.tracking import train_demand_model
from forecasting.tracking.comparison import compare_backtests, judge
from forecasting.tracking.errors import PromotionRefusedError, RegistrationSkippedWarning
from forecasting.tracking.library import promote
from forecasting.tracking.review import review_version

runner = CliRunner()
cli = typer.Typer()
cli.command("promote")(promote_command)
cli.command("noop")(lambda: None)
NAME = "ed-demand"
QUANTILES = ["q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"]
Z = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("review")
    uri = empty_store(tmp_path_factory, folder / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(folder)
        yield uri


@pytest.fixture(scope="module")
def cfg(store):
    return config_from_dict({"mlflow": {"tracking_uri": store}})


@pytest.fixture(scope="module")
def client(store):
    return MlflowClient(tracking_uri=store, registry_uri=store)


@pytest.fixture(scope="module")
def frame():
    data = synth_demand(n_sites=2, years=1.5, end=pd.Timestamp("2024-06-30").date(), seed=4)
    return data.demand[["site_id", "date", "attendances"]].astype({"attendances": float})


@pytest.fixture(scope="module")
def champion(cfg, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)
        return train_demand_model(frame, cfg, model="snaive", windows=4)


@pytest.fixture(scope="module")
def shorter(frame):
    return frame[frame["date"] <= "2024-06-20"].reset_index(drop=True)


@pytest.fixture(scope="module")
def challenger(cfg, shorter, champion):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)
        return train_demand_model(shorter, cfg, model="snaive", windows=4)


def test_train_when_logged_has_training_and_backtest_datasets_in_run_inputs(
    client, champion, frame
):
    inputs = client.get_run(champion.run_id).inputs.dataset_inputs
    by_context = {i.tags[0].value: i.dataset for i in inputs}
    assert sorted(by_context) == ["backtest", "training"]
    training, backtest = by_context["training"], by_context["backtest"]
    assert training.name == "demand 2 sites 2022-12-30..2024-06-30"
    assert training.profile == f'{{"num_rows": {len(frame)}, "num_elements": {3 * len(frame)}}}'
    assert backtest.name == "backtest 4 cutoffs 2024-06-02..2024-06-23"
    assert backtest.profile == '{"num_rows": 56, "num_elements": 168}'  # 2 sites x 4 x 7 days
    params = client.get_run(champion.run_id).data.params
    assert training.digest == params["data.sha256"][:12]


def test_train_when_logged_has_one_step_per_backtest_window(client, champion):
    history = client.get_metric_history(champion.run_id, "window/pinball")
    cutoffs = pd.to_datetime(["2024-06-02", "2024-06-09", "2024-06-16", "2024-06-23"], utc=True)
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert [m.timestamp for m in history] == [int(c.timestamp() * 1000) for c in cutoffs]
    assert len({m.value for m in history}) == 4
    for name in ("window/MAE", "window/brier", "window/cov90"):
        assert len(client.get_metric_history(champion.run_id, name)) == 4
    run = client.get_run(champion.run_id).data
    assert run.tags["backtest.cutoffs"] == "0=2024-06-02 1=2024-06-09 2=2024-06-16 3=2024-06-23"
    assert (run.params["backtest.step"], run.params["backtest.refit_every"]) == ("7", "4")


def test_version_when_registered_has_tags_and_description(client, champion):
    version = client.get_model_version(NAME, "1")
    tags = version.tags
    assert (tags["data.start"], tags["data.end"], tags["data.sites"]) == (
        "2022-12-30",
        "2024-06-30",
        "2",
    )
    assert tags["data.site_ids"] == "RAA, RAB"
    assert tags["backtest.protocol"] == (
        "4 cutoffs every 7 days from 2024-06-02 to 2024-06-23, 7 days ahead, re-estimated every 4"
    )
    assert tags["metric.pinball"] == f"{champion.metrics['pinball']:.4g}"
    assert version.description.startswith("**snaive** trained on 2 sites, 2022-12-30 to 2024-06-30")
    assert f"| pinball | {champion.metrics['pinball']:.4g} |" in version.description


def test_challenger_when_trained_on_other_data_is_rescored_not_compared_as_logged(
    client, champion, challenger, shorter, tmp_path
):
    assert (challenger.model_version, challenger.alias) == ("2", "challenger")
    tags = client.get_model_version(NAME, "2").tags
    assert tags["review.kind"] == "rescored"
    assert tags["review.champion_version"] == "1"
    assert "the champion re-scored on them (different data in its own run)" in tags["review.basis"]
    names = {a.path for a in client.list_artifacts(challenger.run_id, "review")}
    assert names == {
        "review/comparison.csv",
        "review/comparison.md",
        "review/comparison.png",
        "review/champion_backtest.csv",
    }
    local = client.download_artifacts(challenger.run_id, "review", str(tmp_path))
    rescored = pd.read_csv(f"{local}/champion_backtest.csv", parse_dates=["cutoff", "date"])
    mine = pd.read_csv(
        client.download_artifacts(challenger.run_id, "backtest.csv", str(tmp_path)),
        parse_dates=["cutoff"],
    )
    assert sorted(rescored["cutoff"].unique()) == sorted(mine["cutoff"].unique())
    assert rescored["cutoff"].max() == pd.Timestamp("2024-06-13")  # the challenger's, not 06-23
    table = pd.read_csv(f"{local}/comparison.csv", dtype={"key": str})
    overall = table[table["scope"] == "overall"].iloc[0]
    rescored = rescored.astype({"site_id": str})
    assert overall["pinball_champion"] == pytest.approx(
        evaluate(rescored, shorter)["pinball"].iloc[0], rel=1e-5
    )
    assert overall["pinball_challenger"] == pytest.approx(challenger.metrics["pinball"], rel=1e-5)
    # the same model re-scored on the same data and cutoffs scores the same, row for row
    assert overall["pinball_champion"] == pytest.approx(overall["pinball_challenger"], rel=1e-5)
    assert overall["brier_champion"] == pytest.approx(overall["brier_challenger"], rel=1e-5)
    assert sorted(table.loc[table["scope"] == "horizon", "key"]) == list("1234567")
    assert sorted(table.loc[table["scope"] == "site", "key"]) == ["RAA", "RAB"]
    description = client.get_model_version(NAME, "2").description
    assert "## Review against the champion" in description
    assert "Challenger version 2 against champion version 1" in description


def test_promote_when_challenger_rescored_and_worse_exits_3_naming_the_basis(client, challenger):
    with open("review.yaml", "w") as handle:
        handle.write(f"mlflow:\n  tracking_uri: {client.tracking_uri}\n")
    result = runner.invoke(cli, ["promote", "--config", "review.yaml"])
    assert result.exit_code == 3, result.output
    assert "challenger version 2 of 'ed-demand' (pinball" in result.stderr
    assert "does not beat champion version 1" in result.stderr
    assert "the champion re-scored on them" in result.stderr
    aliases = client.get_registered_model(NAME).aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "1", "challenger": "2"}


def _surge_case():
    """One site whose every tenth day is a surge; two backtests of it.

    The champion is centred on the truth with a wide spread; the challenger is sharp and
    right on ordinary days but sits just under the surge line on surge days, so it wins on
    pinball and loses on surge Brier.
    """
    days = pd.date_range("2023-01-01", periods=420)
    y = np.where(np.arange(420) % 10 == 0, 140.0, 100.0)
    frame = pd.DataFrame({"site_id": "A", "date": days, "attendances": y})
    rows = []
    for c in range(5):
        cut = days[380 + 7 * c]
        for h in range(1, 8):
            day = cut + pd.Timedelta(days=h)
            rows.append(
                {"site_id": "A", "cutoff": cut, "date": day, "horizon": h, "y": y[days == day][0]}
            )
    base = pd.DataFrame(rows)

    def make(centre, sd):
        bt = base.assign(model="snaive", mean=centre)
        for q, k in zip(QUANTILES, Z, strict=True):
            bt[q] = centre + k * sd
        return bt

    surge_line = 124.0  # the 90th percentile of the year before the first cutoff
    challenger = np.where(base["y"] > surge_line, surge_line - 2.0, base["y"])
    return frame, make(base["y"].to_numpy(), 15.0), make(challenger, 1.0)


def test_judge_when_challenger_better_on_pinball_worse_on_brier_refuses_for_brier():
    frame, champ, chall = _surge_case()
    table = compare_backtests(champ, chall, frame, "pinball")
    overall = table[table["scope"] == "overall"].iloc[0]
    assert overall["pinball_challenger"] < overall["pinball_champion"]
    reasons = judge(table, "pinball", tolerance=1.0, brier_tolerance=0.01)
    assert [r.split(":")[0] for r in reasons] == ["overall", "horizon 2", "horizon 3", "horizon 6"]
    assert reasons[0] == "overall: surge Brier 0.0814 vs 0.0049 (+0.0765, tolerance 0.01)"
    assert judge(table, "pinball", tolerance=1.0, brier_tolerance=0.2) == []


@pytest.mark.slow  # ~11 s: trains two models into a real store
def test_promote_when_challenger_worse_on_surge_brier_is_refused(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("brier")
    monkeypatch.chdir(folder)
    uri = empty_store(tmp_path_factory, folder / "mlflow.db")
    cfg = config_from_dict({"mlflow": {"tracking_uri": uri, "promotion_tolerance": 1.0}})
    frame, champ, chall = _surge_case()
    first = train_demand_model(frame, cfg, model="snaive", backtest_frame=champ)
    second = train_demand_model(frame, cfg, model="snaive", backtest_frame=chall)
    assert (first.alias, second.alias) == ("champion", "challenger")
    assert first.metrics["pinball"] > second.metrics["pinball"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    tags = client.get_model_version(NAME, second.model_version).tags
    assert tags["review.kind"] == "same"
    assert tags["review.verdict"].startswith("refused: overall: surge Brier 0.0814 vs 0.0049")
    with pytest.raises(PromotionRefusedError) as refused:
        promote(cfg)
    assert "is worse than champion version 1 where it matters" in str(refused.value)
    assert "surge Brier 0.0814 vs 0.0049" in str(refused.value)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    (folder / "plain.yaml").write_text(f"mlflow:\n  tracking_uri: {uri}\n")
    by_cli = runner.invoke(cli, ["promote", "--config", "plain.yaml", "--tolerance", "1.0"])
    assert by_cli.exit_code == 3, by_cli.output
    assert "surge Brier 0.0814 vs 0.0049 (+0.0765, tolerance 0.01)" in by_cli.stderr
    looser = promote(cfg, brier_tolerance=0.5)  # the tolerance is the reviewer's to set
    assert (looser.version, looser.previous) == ("2", "1")
    assert looser.basis is not None and looser.basis.startswith("the same data (sha256")
    # compared at the logged precision (3 decimals), so within rounding of the run metric
    assert looser.challenger_value == pytest.approx(second.metrics["pinball"], abs=1e-3)

    # a re-run with the same data, parameters and backtest registers nothing new
    with pytest.warns(RegistrationSkippedWarning, match=r"ed-demand version 2 already holds"):
        again = train_demand_model(frame, cfg, model="snaive", backtest_frame=chall)
    assert (again.registered, again.model_version, again.alias) == (False, "2", "champion")
    assert len(client.search_model_versions(f"name = '{NAME}'")) == 2
    assert client.get_run(again.run_id).data.tags["registration"] == "skipped: same as version 2"
    assert review_version(cfg, client, uri, NAME, "2") is None  # the champion itself


def test_judge_when_challenger_is_the_champion_as_logged_refuses_the_tie():
    frame, champ, _ = _surge_case()
    noisy = champ.assign(**{q: champ[q] + 1e-6 for q in ["mean", *QUANTILES]})
    logged = noisy.round(3)  # what backtest.csv keeps
    table = compare_backtests(logged, noisy, frame, "pinball")
    overall = table[table["scope"] == "overall"].iloc[0]
    assert overall["pinball_challenger"] == overall["pinball_champion"]
    reasons = judge(table, "pinball", tolerance=0.05, brier_tolerance=0.01)
    value = overall["pinball_champion"]
    assert reasons == [f"overall pinball {value:.4g} does not beat the champion's {value:.4g}"]


def test_promote_when_champion_cannot_be_rescored_refuses_saying_why(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("impossible")
    monkeypatch.chdir(folder)
    uri = empty_store(tmp_path_factory, folder / "mlflow.db")
    frame, _, _ = _surge_case()
    short = config_from_dict({"horizon": 3, "mlflow": {"tracking_uri": uri}})
    week = config_from_dict({"horizon": 7, "mlflow": {"tracking_uri": uri}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)
        train_demand_model(frame, short, model="snaive", windows=2)
        second = train_demand_model(frame.iloc[:-5], week, model="snaive", windows=2)
    expected = (
        "cannot score champion version 1 on the challenger's backtest (different data): it "
        "forecasts 3 days ahead and the challenger's backtest needs 7"
    )
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version(NAME, second.model_version)
    assert version.tags["review.verdict"].startswith(f"not reviewed: {expected}")
    assert f"Not reviewed: {expected}" in version.description
    with pytest.raises(PromotionRefusedError, match=r"forecasts 3 days ahead and the challenger"):
        promote(week)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"


def test_backtest_run_when_logged_has_datasets_and_window_steps_per_model(
    tmp_path_factory, monkeypatch
):
    from forecasting.tracking import log_backtest_run

    folder = tmp_path_factory.mktemp("backtest-run")
    monkeypatch.chdir(folder)
    uri = empty_store(tmp_path_factory, folder / "mlflow.db")
    cfg = config_from_dict({"mlflow": {"tracking_uri": uri}})
    frame, champ, chall = _surge_case()
    bt = pd.concat([champ.assign(model="wide"), chall.assign(model="sharp")], ignore_index=True)
    run = log_backtest_run(bt, frame, cfg, {"models": ["wide", "sharp"], "step": 7})
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    inputs = client.get_run(run.run_id).inputs.dataset_inputs
    names = sorted((i.tags[0].value, i.dataset.name) for i in inputs)
    assert names == [
        ("backtest", "backtest 5 cutoffs 2024-01-16..2024-02-13"),
        ("training", "demand 1 sites 2023-01-01..2024-02-24"),
    ]
    for model in ("wide", "sharp"):
        history = client.get_metric_history(run.run_id, f"{model}/window/brier")
        assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert client.list_artifacts(run.run_id, "data") == []  # a backtest run stores no data copy
