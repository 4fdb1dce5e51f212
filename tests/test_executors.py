"""The executor seam: serial, local processes and Dask give the same forecasts, in order."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import ExecutorError, SeriesFallbackWarning
from forecasting.evaluate.backtest import backtest
from forecasting.executors import SerialExecutor, executor_for
from forecasting.executors.processes import ProcessExecutor
from forecasting.models import make_model
from forecasting.models.fitting import fit_model
from forecasting.models.partition import site_groups, update_predict


def _frame(n_sites: int = 4, n_days: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    weekly = np.where(dates.dayofweek == 0, 1.25, np.where(dates.dayofweek >= 5, 0.85, 1.0))
    parts = []
    for i in range(n_sites):
        y = rng.poisson((60 + 25 * i) * weekly) if i else np.zeros(n_days)  # site 0: all zero
        site = pd.DataFrame({"site_id": f"S{i}", "date": dates, "attendances": y.astype(float)})
        parts.append(site)
    return pd.concat(parts, ignore_index=True)


def _square(shared: int, item: int) -> int:
    return shared + item * item


def _fails_on_three(shared: int, item: int) -> int:
    if item == 3:
        raise ValueError("task 3 failed")
    return item


def _warns(shared: int, item: int) -> int:
    warnings.warn(SeriesFallbackWarning("m", {f"s{item}": "all zero"}), stacklevel=1)
    return item


def test_executor_for_when_no_options_is_serial() -> None:
    assert isinstance(executor_for(), SerialExecutor)
    assert isinstance(executor_for(workers=1), SerialExecutor)
    assert isinstance(executor_for(workers=3), ProcessExecutor)
    assert executor_for(workers=3).workers == 3


def test_executor_for_when_workers_below_one_raises_executor_error() -> None:
    with pytest.raises(ExecutorError, match="--workers 0"):
        executor_for(workers=0)


def test_process_map_when_tasks_finish_out_of_order_keeps_item_order() -> None:
    done: list[int] = []
    with ProcessExecutor(2) as ex:
        out = ex.map(_square, [5, 1, 4, 2, 3], 10, progress=done.append)
    assert out == [35, 11, 26, 14, 19]
    assert sum(done) == 5


def test_process_map_when_a_task_raises_reraises_its_own_exception() -> None:
    with ProcessExecutor(2) as ex, pytest.raises(ValueError, match="task 3 failed"):
        ex.map(_fails_on_three, [1, 2, 3, 4], 0)


def test_process_map_when_task_warns_reraises_the_warning_here() -> None:
    with ProcessExecutor(2) as ex, pytest.warns(SeriesFallbackWarning) as caught:
        assert ex.map(_warns, [1, 2], 0) == [1, 2]
    sites = sorted(s for w in caught for s in w.message.reasons)  # type: ignore[union-attr]
    assert sites == ["s1", "s2"]


def test_site_groups_when_more_groups_than_sites_gives_one_site_each() -> None:
    assert site_groups(["b", "a", "c"], 8) == [["a"], ["b"], ["c"]]
    assert site_groups(["d", "a", "c", "b", "e"], 2) == [["a", "b", "c"], ["d", "e"]]


@pytest.mark.parametrize("model", ["snaive", "ets", "lightgbm"])
def test_backtest_when_run_on_two_processes_equals_serial(model: str) -> None:
    frame = _frame()
    template = {model: make_model(model, 7)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = backtest(frame, template, 7, 7, windows=4, refit_every=2)
        with ProcessExecutor(2) as ex:
            parallel = backtest(frame, template, 7, 7, windows=4, refit_every=2, executor=ex)
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert serial.to_csv(index=False) == parallel.to_csv(index=False)


def test_backtest_when_a_series_is_all_zero_on_processes_reports_it_and_goes_on() -> None:
    frame = _frame()
    with ProcessExecutor(2) as ex, pytest.warns(SeriesFallbackWarning, match="S0"):
        out = backtest(frame, [make_model("ets", 7)], 7, 7, windows=2, refit_every=1, executor=ex)
    assert set(out["site_id"]) == {f"S{i}" for i in range(4)}
    assert np.isfinite(out["mean"]).all()


def test_fit_model_when_ensemble_parts_run_in_parallel_equals_plain_fit() -> None:
    frame = _frame(n_sites=3)
    template = make_model("ensemble", 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = template.fit(frame).predict(7)
        with ProcessExecutor(2) as ex:
            fitted = fit_model(make_model("ensemble", 7), frame, ex)
        parallel = fitted.predict(7)
    assert [type(m).__name__ for m in fitted.members_] == [  # type: ignore[attr-defined]
        "HybridForecaster",
        "ETSForecaster",
        "ArimaForecaster",
    ]
    pd.testing.assert_frame_equal(plain, parallel, check_exact=True)


@pytest.mark.parametrize("model", ["ets", "hybrid", "lightgbm"])
def test_update_predict_when_sites_split_over_processes_equals_whole_panel(model: str) -> None:
    frame = _frame()
    first = frame[frame["date"] <= "2024-05-15"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = make_model(model, 7).fit(first)
        with ProcessExecutor(2) as ex:
            split = update_predict(fitted, frame, 7, ex)
        whole = fitted.update(frame).predict(7)
    whole = whole.sort_values(["site_id", "date"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, split, check_exact=True)
    assert split["cutoff"].eq(frame["date"].max()).all()


@pytest.mark.dask
def test_backtest_when_run_on_dask_local_cluster_equals_serial() -> None:
    pytest.importorskip("distributed")
    from forecasting.executors.dask_backend import DaskExecutor

    frame = _frame()
    template = {"ets": make_model("ets", 7), "snaive": make_model("snaive", 7)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = backtest(frame, template, 7, 7, windows=4, refit_every=2)
        with DaskExecutor.local(2) as ex:
            assert ex.workers == 2
            on_dask = backtest(frame, template, 7, 7, windows=4, refit_every=2, executor=ex)
    assert serial.to_csv(index=False) == on_dask.to_csv(index=False)


@pytest.mark.dask
def test_dask_connect_when_scheduler_unreachable_raises_one_line() -> None:
    pytest.importorskip("distributed")
    from forecasting.executors.dask_backend import DaskExecutor

    with pytest.raises(
        ExecutorError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"
    ):
        DaskExecutor.connect("tcp://127.0.0.1:9")


def test_executor_for_when_dask_missing_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_distributed(name: str, *args: object, **kwargs: object) -> object:
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(ExecutorError, match=r"pip install 'forecasting\[dask\]'"):
        executor_for(scheduler="tcp://127.0.0.1:8786")


def _data_error(shared: int, item: int) -> int:
    from forecasting.errors import DataValueError

    raise DataValueError("bad count", path="d.csv", row=item, column="y", fix="correct it")


def test_process_map_when_task_raises_data_error_keeps_its_fields() -> None:
    from forecasting.errors import DataValueError

    with ProcessExecutor(2) as ex, pytest.raises(DataValueError) as info:
        ex.map(_data_error, [7], 0)
    assert (info.value.path, info.value.row, info.value.column) == ("d.csv", 7, "y")
    assert str(info.value) == "d.csv, row 7, column 'y': bad count. Fix: correct it."
