"""Unit tests of the tracking helpers that need no MLflow store."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from forecasting.config import config_from_dict
from forecasting.tracking.errors import PrivacyError, StoreError
from forecasting.tracking.fingerprint import frame_fingerprint
from forecasting.tracking.privacy import check_private
from forecasting.tracking.runs import (
    anonymous_example,
    flat_params,
    metric_key,
    table_metrics,
)
from forecasting.tracking.server import free_port, server_command
from forecasting.tracking.store import (
    check_store,
    is_file_store,
    resolve_tracking_uri,
    sqlite_path,
    using_store,
)


def _frame() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=4, freq="D")
    return pd.DataFrame(
        {
            "site_id": ["a"] * 4 + ["b"] * 4,
            "date": list(dates) * 2,
            "attendances": [10, 11, 12, 13, 20, 21, 22, 23],
        }
    )


def test_fingerprint_when_rows_and_columns_reordered_is_unchanged():
    f = _frame()
    shuffled = f.sample(frac=1, random_state=3)[["attendances", "date", "site_id"]]
    assert frame_fingerprint(shuffled) == frame_fingerprint(f)


def test_fingerprint_when_one_value_changes_changes_hash_only():
    f = _frame()
    g = f.copy()
    g.loc[5, "attendances"] = 99
    a, b = frame_fingerprint(f), frame_fingerprint(g)
    assert a["sha256"] != b["sha256"]
    assert {k: v for k, v in a.items() if k != "sha256"} == {
        "n_rows": 8,
        "n_columns": 3,
        "start": "2024-01-01",
        "end": "2024-01-04",
        "n_sites": 2,
    }
    assert {k: v for k, v in b.items() if k != "sha256"} == {
        k: v for k, v in a.items() if k != "sha256"
    }


def test_fingerprint_when_ints_become_floats_is_unchanged():
    f = _frame()
    assert frame_fingerprint(f.astype({"attendances": float})) == frame_fingerprint(f)


def test_fingerprint_when_episodes_given_reports_no_identifier():
    ep = pd.DataFrame(
        {
            "patient_id": ["P0123456789ABCD", "P0123456789ABCE"],
            "episode_id": ["E0123456789ABCD", "E0123456789ABCE"],
            "discharge_date": pd.to_datetime(["2024-02-01", "2024-03-05"]),
            "site_id": ["a", "a"],
        }
    )
    fp = frame_fingerprint(ep, "discharge_date")
    text = repr(fp)
    assert "P0123456789ABC" not in text and "E0123456789ABC" not in text
    assert (fp["start"], fp["end"], fp["n_sites"], fp["n_rows"]) == (
        "2024-02-01",
        "2024-03-05",
        1,
        2,
    )


def test_metric_key_when_site_has_odd_characters_keeps_allowed_ones():
    assert metric_key("ets", "site", "W1|Cardiff&Vale", "MAE") == "ets/site/W1_Cardiff_Vale/MAE"


def test_table_metrics_when_by_horizon_and_site_names_keys():
    table = pd.DataFrame(
        {"model": ["m", "m"], "horizon": [1, 2], "MAE": [1.5, np.nan], "pinball": [0.5, 0.7]}
    )
    got = table_metrics(table, ["horizon"], prefix=["m"])
    assert got == {"m/h1/MAE": 1.5, "m/h1/pinball": 0.5, "m/h2/pinball": 0.7}  # NaN dropped
    sites = pd.DataFrame({"model": ["m"], "site_id": ["RAA"], "MAE": [2.0]})
    assert table_metrics(sites, ["site_id"]) == {"site/RAA/MAE": 2.0}


def test_flat_params_when_nested_gives_dotted_names():
    got = flat_params({"a": {"b": 1, "c": {"d": None}}, "e": [1, 2], "f": "x" * 900})
    assert got["a.b"] == "1" and got["a.c.d"] == "None" and got["e"] == "[1, 2]"
    assert len(got["f"]) == 500


def test_check_private_when_identifier_column_raises_privacy_error():
    with pytest.raises(PrivacyError, match=r"scores.csv has column 'patient_id'"):
        check_private(["age", "patient_id"], "artifact scores.csv")
    check_private(["age", "los"], "features")  # no identifiers: fine


def test_anonymous_example_when_built_is_no_real_row():
    features = pd.DataFrame({"age": [20, 40, 90], "los": [1.0, 3.5, 10.0], "sex": ["F", "M", "F"]})
    ex = anonymous_example(features)
    assert ex.to_dict(orient="records") == [{"age": 40, "los": 3.5, "sex": "F"}]
    assert list(ex.dtypes) == list(features.dtypes)


def test_sqlite_path_when_uri_is_sqlite_gives_file():
    assert str(sqlite_path("sqlite:////tmp/x/mlflow.db")) == "/tmp/x/mlflow.db"
    assert sqlite_path("http://127.0.0.1:5000") is None
    assert is_file_store("file:///tmp/mlruns") and is_file_store("./mlruns")
    assert not is_file_store("sqlite:///mlflow.db") and not is_file_store("https://x")


def test_resolve_uri_when_config_has_relative_sqlite_makes_it_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config_from_dict({"mlflow": {"tracking_uri": "sqlite:///runs/mlflow.db"}})
    assert resolve_tracking_uri(cfg) == f"sqlite:///{tmp_path}/runs/mlflow.db"


def test_resolve_uri_when_nothing_configured_is_mlflow_db_in_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri(config_from_dict({})) == f"sqlite:///{tmp_path}/mlflow.db"
    assert not (tmp_path / "mlflow.db").exists()  # resolving creates nothing


def test_check_store_when_leftover_mlruns_names_the_trap_and_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    uri = resolve_tracking_uri(config_from_dict({}))
    with pytest.raises(StoreError, match=r"\./mlruns holds an old MLflow file store.*Fix: migrate"):
        check_store(uri)


def test_check_store_when_configured_file_store_refuses_it():
    with pytest.raises(StoreError, match=r"mlflow.tracking_uri 'file:///tmp/x' is a file store"):
        check_store("file:///tmp/x", configured=True)


def test_check_store_when_server_unreachable_fails_fast():
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match=r"unreachable.*Fix: start the server"):
        check_store(uri, configured=True, timeout=0.5)


def test_using_store_when_config_sets_uri_restores_mlflow_state(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////somewhere/else.db")
    cfg = config_from_dict({"mlflow": {"tracking_uri": f"sqlite:///{tmp_path}/a.db"}})
    with using_store(cfg) as uri:
        assert mlflow.get_tracking_uri() == uri == f"sqlite:///{tmp_path}/a.db"
    assert mlflow.get_tracking_uri() == "sqlite:////somewhere/else.db"


def test_server_command_when_built_binds_localhost_with_one_worker():
    cmd = server_command("sqlite:////tmp/m.db", 5123)
    assert cmd[1:] == [
        "server",
        "--backend-store-uri",
        "sqlite:////tmp/m.db",
        "--host",
        "127.0.0.1",
        "--port",
        "5123",
        "--workers",
        "1",
    ]


def test_import_tracking_when_package_imported_loads_no_mlflow():
    code = "import forecasting.tracking, sys; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def small_history():
    from forecasting.data.synth import synth_demand

    data = synth_demand(n_sites=3, years=1, end=pd.Timestamp("2024-06-30").date(), seed=1)
    return data.demand[["site_id", "date", "attendances"]]


def test_feature_importance_when_ensemble_has_lightgbm_member_labels_it(small_history, tmp_path):
    from forecasting.models.ensemble import EnsembleForecaster
    from forecasting.models.lightgbm import LightGBMForecaster
    from forecasting.models.naive import SeasonalNaive
    from forecasting.tracking.artifacts import feature_importance, importance_plot

    lgb = LightGBMForecaster(max_horizon=7, params={"n_estimators": 10})
    model = EnsembleForecaster([lgb, SeasonalNaive()]).fit(small_history)
    table = feature_importance(model)
    assert set(table["model"]) == {"ensemble/lightgbm"}
    assert table["share"].sum() == pytest.approx(1.0)
    assert {"dayofweek", "site"} <= set(table["feature"])
    assert importance_plot(table, tmp_path / "fi.png").stat().st_size > 5_000
    assert feature_importance(SeasonalNaive().fit(small_history)) is None


def test_fan_charts_when_more_sites_than_cap_draws_the_first_ones(small_history, tmp_path):
    from forecasting.models.naive import SeasonalNaive
    from forecasting.tracking.artifacts import fan_charts

    forecast = SeasonalNaive().fit(small_history).predict(7)
    paths = fan_charts(small_history, forecast, tmp_path, max_sites=2)
    assert [p.name for p in paths] == ["fan_RAA.png", "fan_RAB.png"]
    assert all(p.stat().st_size > 5_000 for p in paths)


def test_coverage_plot_when_two_models_writes_png(tmp_path):
    from forecasting.tracking.artifacts import coverage_plot

    table = pd.DataFrame(
        {
            "model": ["a"] * 3 + ["b"] * 3,
            "horizon": [1, 2, 3] * 2,
            "cov80": [0.8, 0.78, 0.75, 0.85, 0.83, 0.8],
            "cov90": [0.9, 0.88, 0.86, 0.93, 0.92, 0.9],
        }
    )
    assert coverage_plot(table, tmp_path / "p" / "cov.png").stat().st_size > 5_000
