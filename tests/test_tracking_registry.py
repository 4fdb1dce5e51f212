"""Train -> register -> promote -> load by alias, on a real local MLflow store in a tmp folder.

The tests share one store and run in file order: the first model (ETS) becomes champion, a
worse one (seasonal naive, via the CLI) becomes challenger and is refused, then forced.
"""

import json
import warnings

import mlflow
import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli.models import promote_command, train_command, ui_command
from forecasting.config import Config, config_from_dict
from forecasting.data.export import write_synth
from forecasting.data.load import load_demand
from forecasting.data.synth import synth_demand
from forecasting.errors import ShortHistoryWarning
from forecasting.evaluate.backtest import backtest
from forecasting.evaluate.summary import evaluate
from forecasting.models import make_model
from forecasting.tracking import load_champion, train_demand_model
from forecasting.tracking.errors import NoChampionError, RegistryUnavailableWarning
from forecasting.tracking.fingerprint import frame_fingerprint
from forecasting.tracking.server import free_port

runner = CliRunner()
cli = typer.Typer()
cli.command("train")(train_command)
cli.command("promote")(promote_command)
cli.command("ui")(ui_command)
NAME = "ed-demand"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """An empty working folder with a demand file; MLflow uses its default ./mlflow.db."""
    path = tmp_path_factory.mktemp("store")
    data = synth_demand(n_sites=2, years=1.5, end=pd.Timestamp("2024-06-30").date(), seed=4)
    write_synth(data, path / "data")
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        yield path


@pytest.fixture(scope="module")
def frame(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)  # 1.5 years keeps the tests fast
        return load_demand(folder / "data" / "demand.csv")


@pytest.fixture(scope="module")
def first(folder, frame):
    """The first model under the name: ETS, trained through the library."""
    return train_demand_model(frame, Config(), model="ets", windows=4)


@pytest.fixture(scope="module")
def second(folder, first):
    """A worse second model, seasonal naive, trained through the CLI."""
    csv = folder / "data" / "demand.csv"
    result = runner.invoke(
        cli, ["train", "--data", str(csv), "--model", "snaive", "--windows", "4"]
    )
    assert result.exit_code == 0, result.output
    return result


def _client(folder):
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _aliases(folder):
    return {k: str(v) for k, v in _client(folder).get_registered_model(NAME).aliases.items()}


def test_train_when_first_model_under_name_becomes_champion(folder, first):
    assert (first.model_version, first.alias) == ("1", "champion")
    assert (folder / "mlflow.db").is_file()
    assert _aliases(folder) == {"champion": "1"}


def test_train_cli_when_champion_exists_registers_challenger(folder, first, second):
    assert "version 2, alias challenger" in second.stdout
    assert "Review against the champion: refused: overall pinball" in second.stdout
    assert "forecasting promote" in second.stdout
    assert _aliases(folder) == {"champion": "1", "challenger": "2"}


def test_train_run_when_logged_has_config_fingerprint_metrics_and_artifacts(folder, frame, first):
    client = _client(folder)
    run = client.get_run(first.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert run.data.tags["forecasting.kind"] == "train"
    assert run.info.artifact_uri.startswith(str(folder / "mlruns" / "forecasting"))
    assert params["model"] == "ets" and params["backtest.windows"] == "4"
    assert params["data.sha256"] == frame_fingerprint(frame)["sha256"]
    assert (params["data.n_sites"], params["data.end"]) == ("2", "2024-06-30")
    assert params["config.mlflow.model_name"] == NAME
    assert metrics["pinball"] == pytest.approx(first.metrics["pinball"])
    local = client.download_artifacts(first.run_id, "backtest.csv", str(folder / "dl"))
    bt = pd.read_csv(local)
    assert len(bt) == 2 * 4 * 7  # sites x windows x horizon
    assert metrics["MAE"] == pytest.approx((bt["y"] - bt["mean"]).abs().mean(), abs=1e-3)
    h7 = bt[bt["horizon"] == 7]
    assert metrics["h7/MAE"] == pytest.approx((h7["y"] - h7["mean"]).abs().mean(), abs=1e-3)
    assert {"site/RAA/pinball", "site/RAB/cov90", "h1/cov80"} <= set(metrics)
    names = {a.path for a in client.list_artifacts(first.run_id, "plots/forecast")}
    assert names == {"plots/forecast/fan_RAA.png", "plots/forecast/fan_RAB.png"}
    info = mlflow.models.get_model_info(f"models:/{NAME}/1")
    assert info.signature.inputs.input_names() == ["site_id", "date", "attendances"]
    assert info.signature.params.to_dict()[0]["name"] == "horizon"


def test_pyfunc_when_loaded_by_alias_predicts_like_in_memory_model(folder, frame, first):
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    got = loaded.predict(frame)
    pd.testing.assert_frame_equal(got, first.model.predict(7))
    shorter = loaded.predict(frame, params={"horizon": 3})
    assert sorted(shorter["horizon"].unique()) == [1, 2, 3]


def test_load_champion_when_registry_has_one_caches_it(folder, first, second):
    cache = folder / "cache"
    champ = load_champion(Config(), cache_dir=cache)
    assert (champ.version, champ.source, champ.ref) == ("1", "registry", f"models:/{NAME}@champion")
    assert champ.run_id == first.run_id
    pd.testing.assert_frame_equal(champ.model.predict(7), first.model.predict(7))
    meta = json.loads((cache / f"{NAME}.json").read_text())
    assert meta["version"] == "1" and meta["tracking_uri"].endswith("mlflow.db")
    stamp = (cache / f"{NAME}.pkl").stat().st_mtime_ns
    assert load_champion(Config(), cache_dir=cache).source == "registry"
    assert (cache / f"{NAME}.pkl").stat().st_mtime_ns == stamp  # same version: not fetched again


def test_load_champion_when_server_unreachable_uses_cache_and_warns(folder, first):
    cache = folder / "cache"
    load_champion(Config(), cache_dir=cache)
    down = config_from_dict({"mlflow": {"tracking_uri": f"http://127.0.0.1:{free_port()}"}})
    with pytest.warns(RegistryUnavailableWarning, match=r"using the locally cached champion"):
        champ = load_champion(down, cache_dir=cache, timeout=0.5)
    assert (champ.source, champ.version) == ("cache", "1")
    pd.testing.assert_frame_equal(champ.model.predict(7), first.model.predict(7))


def test_load_champion_when_nothing_trained_and_no_cache_says_train_first(tmp_path):
    cfg = config_from_dict({"mlflow": {"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db"}})
    with pytest.raises(NoChampionError, match=r"no champion model for 'ed-demand'.*train --data"):
        load_champion(cfg, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "mlflow.db").exists()


def test_promote_when_challenger_worse_refuses_with_exit_3_and_keeps_champion(folder, second):
    result = runner.invoke(cli, ["promote"])
    assert result.exit_code == 3
    assert "challenger version 2 of 'ed-demand' (pinball" in result.stderr
    assert "does not beat champion version 1" in result.stderr
    assert "Traceback" not in result.output
    assert _aliases(folder) == {"champion": "1", "challenger": "2"}


def test_promote_when_forced_needs_reason_then_records_it_and_better_model_wins(
    folder, frame, second
):
    no_reason = runner.invoke(cli, ["promote", "--force"])
    assert no_reason.exit_code == 2 and "--force needs a reason" in no_reason.stderr
    forced = runner.invoke(cli, ["promote", "--force", "--reason", "baseline for the audit"])
    assert forced.exit_code == 0, forced.output
    assert "version 2 is now champion (forced over version 1" in forced.stdout
    assert _aliases(folder) == {"champion": "2"}
    tags = _client(folder).get_model_version(NAME, "2").tags
    assert (tags["promotion"], tags["promotion_reason"]) == ("forced", "baseline for the audit")

    bt = backtest(frame, {"ets": make_model("ets")}, 7, 7, windows=4, refit_every=4)
    third = train_demand_model(frame, Config(), model="ets", backtest_frame=bt)  # as the demo
    assert (third.model_version, third.alias) == ("3", "challenger")
    assert third.metrics["pinball"] == pytest.approx(evaluate(bt, frame)["pinball"].iloc[0])
    assert _client(folder).get_run(third.run_id).data.params["backtest.windows"] == "4"
    promoted = runner.invoke(cli, ["promote"])
    assert promoted.exit_code == 0, promoted.output
    assert "version 3 is now champion (pinball" in promoted.stdout
    assert _aliases(folder) == {"champion": "3"}
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    pd.testing.assert_frame_equal(loaded.predict(frame), third.model.predict(7))


def test_promote_when_nothing_to_promote_exits_2(folder):
    result = runner.invoke(cli, ["promote"])
    assert result.exit_code == 2
    assert "no challenger for 'ed-demand' to promote" in result.stderr


def test_train_cli_when_model_unknown_exits_2(folder):
    csv = folder / "data" / "demand.csv"
    result = runner.invoke(cli, ["train", "--data", str(csv), "--model", "prophet"])
    assert result.exit_code == 2 and "unknown model 'prophet'" in result.stderr


def test_ui_cli_when_port_busy_exits_2(folder):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        result = runner.invoke(cli, ["ui", "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is already in use. Fix: --port {port + 1}" in result.stderr


def test_ui_cli_when_store_is_a_server_prints_its_address(folder, monkeypatch):
    cfg = folder / "remote.yaml"
    cfg.write_text("mlflow:\n  tracking_uri: http://mlflow.example.org:5000\n")
    result = runner.invoke(cli, ["ui", "--config", str(cfg)])
    assert result.exit_code == 0
    assert "http://mlflow.example.org:5000" in result.stdout and "Model training" in result.stdout


def test_ui_cli_when_started_serves_this_store_prints_address_and_stops(folder, monkeypatch):
    from forecasting.tracking import server

    calls = {}

    class FakeProc:
        def wait(self):
            return 0

    def fake_start(uri, port, env):
        calls["start"] = (uri, port, env.get("MLFLOW_TRACKING_URI"))
        return FakeProc()

    monkeypatch.setattr(server, "start_server", fake_start)
    monkeypatch.setattr(server, "wait_until_up", lambda url, proc: calls.setdefault("up", url))
    monkeypatch.setattr(server, "stop_server", lambda proc: calls.setdefault("stop", True))
    port = free_port()
    result = runner.invoke(cli, ["ui", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert calls["start"][:2] == (f"sqlite:///{folder / 'mlflow.db'}", port)
    assert calls["up"] == f"http://127.0.0.1:{port}" and calls["stop"]
    assert f"MLflow UI: http://127.0.0.1:{port}/#/?workflowType=machine_learning" in result.stdout
    assert "the 'Model training' view" in result.stdout
