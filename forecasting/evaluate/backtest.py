"""Rolling-origin backtest: refit or roll forward at each cutoff, forecast, join the truth.

Each chunk of windows that shares one fit is a pure function of the frame, so chunks are
independent tasks for an executor (:mod:`forecasting.executors`: serial, local processes or
Dask); every backend gives the same forecasts, in the same order.

Segments (winter-only data): a cutoff is kept only where the panel (the union of all sites'
days) has the cutoff and every day of the horizon after it, so no window falls in a gap; at
each cutoff only the sites with a row on that day are forecast (a site whose segment ended, or
that is absent that winter, sits the window out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.errors import DataError
from forecasting.executors import Executor, SerialExecutor
from forecasting.models.base import Forecaster, clone

Progress = Callable[[int], None]


def cutoffs_for(frame: pd.DataFrame, horizon: int, step: int, windows: int) -> list[pd.Timestamp]:
    """The ``windows`` latest cutoffs, ``step`` days apart, each followed by ``horizon`` days.

    Candidates step back by ``step`` from the last day that leaves ``horizon`` days to score;
    one is kept only if the panel (the union of all sites' days) has it and each of the
    ``horizon`` days after it, and at least ``2 * horizon + 28`` days of data precede it. On a
    contiguous panel these are the ``windows`` cutoffs ending ``horizon`` days before the end.

    Raises:
        DataError: If fewer than ``windows`` such cutoffs exist (the message says how many).
    """
    days = _panel_days(frame)
    first, last = days[0], days[-1]
    final = last - horizon
    earliest = first + 2 * horizon + 28
    run = _run_ahead(days)  # consecutive panel days from each day on, itself included
    present = np.zeros(last - first + 1, dtype=np.int64)
    present[days - first] = run
    candidates = np.arange(final, earliest - 1, -step, dtype=np.int64)
    ok = present[candidates - first] >= horizon + 1
    cuts = candidates[ok][:windows]
    if len(cuts) < windows:
        day = np.datetime64(int(final), "D")
        raise DataError(
            f"{windows} windows of step {step} need {windows} cutoffs with {horizon} observed "
            f"days after each and {2 * horizon + 28} days of data before; found {len(cuts)} "
            f"(stepping back from {pd.Timestamp(day):%Y-%m-%d}; data starts "
            f"{pd.Timestamp(np.datetime64(int(first), 'D')):%Y-%m-%d})",
            fix="use fewer --windows or a smaller --step",
        )
    return [pd.Timestamp(np.datetime64(int(c), "D")) for c in cuts[::-1]]


def _panel_days(frame: pd.DataFrame) -> np.ndarray:
    """The sorted unique days of the panel, as integer days since the epoch."""
    dates = pd.DatetimeIndex(frame[schema.DATE]).normalize().unique().sort_values()
    return dates.to_numpy(dtype="datetime64[D]").astype(np.int64)


def _run_ahead(days: np.ndarray) -> np.ndarray:
    """For each of the sorted unique ``days``, how many consecutive days start there."""
    out = np.ones(len(days), dtype=np.int64)
    for i in range(len(days) - 2, -1, -1):
        if days[i + 1] == days[i] + 1:
            out[i] = out[i + 1] + 1
    return out


def run_chunk(
    template: Forecaster, frame: pd.DataFrame, cuts: Sequence[pd.Timestamp], horizon: int
) -> pd.DataFrame:
    """Fit at the first cutoff of ``cuts``, roll forward through the rest (no ``y`` joined).

    At each cutoff the model sees the rows up to it of the sites with a row on the cutoff day
    (the others sit the window out; a chunk may straddle a segment gap, so sites come and go
    between updates); the target days' rows reach ``predict`` only as known-future exogenous
    values, without the target.
    """
    model = clone(template)
    out = []
    for i, cut in enumerate(cuts):
        history = frame[frame[schema.DATE] <= cut]
        active = history.loc[history[schema.DATE] == cut, schema.SITE].unique()
        if len(active) < history[schema.SITE].nunique():
            history = history[history[schema.SITE].isin(active)]
        if i == 0:
            model.fit(history)
        else:
            model.update(history)
        window_end = cut + pd.Timedelta(days=horizon)
        future = frame[(frame[schema.DATE] > cut) & (frame[schema.DATE] <= window_end)]
        future = future.drop(columns=[schema.TARGET])
        out.append(model.predict(horizon, future=future))
    return pd.concat(out, ignore_index=True)


def backtest(
    frame: pd.DataFrame,
    models: Sequence[Forecaster] | Mapping[str, Forecaster],
    horizon: int = 7,
    step: int = 7,
    windows: int = 52,
    refit_every: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Rolling-origin evaluation of several models on the same cutoffs.

    Args:
        frame: A validated DemandFrame.
        models: Unfitted model templates (cloned per fit); a mapping labels each model's
            rows with its key (so two settings of one class stay apart).
        horizon: Days ahead at each cutoff.
        step: Days between cutoffs.
        windows: Number of cutoffs.
        refit_every: Re-estimate every this many windows; in between, roll the state forward.
        executor: Runs the chunks (one per model and fit); serial if ``None``.
        progress: Called with the number of chunks just finished.

    Returns:
        The forecast frame with the observed ``y``.
    """
    plan = plan_backtest(frame, models, horizon, step, windows, refit_every)
    runner = executor or SerialExecutor()
    results = runner.map(chunk_task, plan.tasks, frame, progress=progress)
    return join_truth(frame, plan, results)


ChunkTask = tuple[Forecaster, Sequence[pd.Timestamp], int]
"""One executor task: a model template, the cutoffs sharing its fit, the horizon."""


@dataclass(frozen=True)
class BacktestPlan:
    """The chunks of a backtest as executor tasks, and the label of each one's rows.

    Attributes:
        tasks: One :data:`ChunkTask` per model and fit, model by model.
        labels: Per task, the label its rows get in ``model`` (``None``: the model's name).
    """

    tasks: list[ChunkTask]
    labels: list[str | None]


def plan_backtest(
    frame: pd.DataFrame,
    models: Sequence[Forecaster] | Mapping[str, Forecaster],
    horizon: int = 7,
    step: int = 7,
    windows: int = 52,
    refit_every: int = 1,
) -> BacktestPlan:
    """The tasks of :func:`backtest` (same arguments), to run on any executor."""
    cuts = cutoffs_for(frame, horizon, step, windows)
    chunks = [cuts[i : i + refit_every] for i in range(0, len(cuts), refit_every)]
    labelled = models.items() if isinstance(models, Mapping) else [(None, m) for m in models]
    pairs = [(label, (m, c, horizon)) for label, m in labelled for c in chunks]
    return BacktestPlan([t for _, t in pairs], [label for label, _ in pairs])


def chunk_task(frame: pd.DataFrame, task: ChunkTask) -> pd.DataFrame:
    """:func:`run_chunk` in the executor's ``fn(shared, item)`` form."""
    template, cuts, horizon = task
    return run_chunk(template, frame, cuts, horizon)


def join_truth(
    frame: pd.DataFrame, plan: BacktestPlan, results: Sequence[pd.DataFrame]
) -> pd.DataFrame:
    """The chunks' forecasts in plan order, labelled, with the observed ``y`` joined."""
    for label, result in zip(plan.labels, results, strict=True):
        if label is not None:
            result["model"] = label
    forecasts = pd.concat(list(results), ignore_index=True)
    truth = frame[[schema.SITE, schema.DATE, schema.TARGET]].rename(columns={schema.TARGET: "y"})
    truth = truth.assign(site_id=truth[schema.SITE].astype(str))
    return forecasts.merge(truth, on=[schema.SITE, schema.DATE], how="left")
