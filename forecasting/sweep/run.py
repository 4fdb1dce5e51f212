"""Run a sweep: every configuration's backtest chunks in one executor map, then rank them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from forecasting.errors import ConfigError
from forecasting.evaluate.backtest import chunk_task, join_truth, plan_backtest
from forecasting.executors import Executor, SerialExecutor
from forecasting.sweep.models import build_models
from forecasting.sweep.spec import SweepSpec, check_metric, lower_is_better

Progress = Callable[[int], None]


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found.

    Attributes:
        table: The comparison table, best first: ``rank``, ``config``, ``model``, ``best``,
            the overrides (one column per key, empty where a configuration leaves the default)
            and every metric of :func:`forecasting.evaluate.summary.evaluate`.
        forecasts: The backtest forecast frame with ``y``; ``model`` holds the configuration
            name.
        by_horizon: Metrics per configuration (``model`` column) and horizon.
        best: Name of the best configuration by ``metric``.
        metric: The ranking metric.
        spec: The sweep that ran.
    """

    table: pd.DataFrame
    forecasts: pd.DataFrame
    by_horizon: pd.DataFrame
    best: str
    metric: str
    spec: SweepSpec


def sweep_chunks(spec: SweepSpec, n_windows: int | None = None) -> int:
    """How many executor tasks the sweep runs (for a progress bar)."""
    windows = n_windows or spec.backtest.windows
    return -(-windows // spec.backtest.refit_every) * len(spec.configurations)


def run_sweep(
    frame: pd.DataFrame,
    spec: SweepSpec,
    executor: Executor | None = None,
    progress: Progress | None = None,
    country: str = "GB",
    subdiv: str | None = "ENG",
    metric: str | None = None,
) -> SweepResult:
    """Backtest every configuration on the same cutoffs and rank them.

    All configurations' chunks go to one ``executor.map``, so workers stay busy across
    configurations; the forecasts are those of a serial run, in the same order.

    Args:
        frame: A validated DemandFrame.
        spec: The sweep (see :func:`forecasting.sweep.load_sweep`).
        executor: Runs the chunks; serial if ``None``.
        progress: Called with the number of chunks just finished.
        country: Public-holiday country of the models that use holidays.
        subdiv: Its subdivision, or ``None``.
        metric: Ranking metric; default the spec's.

    Raises:
        ConfigError: If a configuration names an unknown model or parameter, or the metric
            is unknown.
        DataError: If the data are too short for the backtest.
    """
    from forecasting.evaluate.summary import evaluate

    try:
        metric = check_metric(metric or spec.metric)
    except ValueError as exc:
        raise ConfigError(f"{exc}. Fix: choose one of these.") from exc
    models = build_models(spec, country, subdiv)
    b = spec.backtest
    # one plan over all configurations: their chunks share one map, model by model
    plan = plan_backtest(frame, models, b.horizon, b.step, b.windows, b.refit_every)
    runner = executor or SerialExecutor()
    results = runner.map(chunk_task, plan.tasks, frame, progress=progress)
    forecasts = join_truth(frame, plan, results)
    overall = evaluate(forecasts, frame)
    by_horizon = evaluate(forecasts, frame, by=("model", "horizon"))
    table = comparison_table(overall, spec, metric)
    return SweepResult(table, forecasts, by_horizon, str(table["config"].iloc[0]), metric, spec)


def comparison_table(overall: pd.DataFrame, spec: SweepSpec, metric: str) -> pd.DataFrame:
    """One row per configuration, best first by ``metric`` (ties: file order)."""
    order = {c.name: i for i, c in enumerate(spec.configurations)}
    keys = list(dict.fromkeys(k for c in spec.configurations for k in c.overrides))
    rows = []
    for c in spec.configurations:
        rows.append({"config": c.name, "model": c.model, **{k: c.overrides.get(k) for k in keys}})
    params = pd.DataFrame(rows, columns=["config", "model", *keys], dtype=object)
    scores = overall.rename(columns={"model": "config"})
    table = params.merge(scores, on="config", how="left")
    table["_order"] = table["config"].map(order)
    ascending = lower_is_better(metric)
    table = table.sort_values([metric, "_order"], ascending=[ascending, True], na_position="last")
    table = table.drop(columns="_order").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    table.insert(3, "best", table["rank"] == 1)
    return table
