"""Rolling-origin backtest: refit or roll forward at each cutoff, forecast, join the truth.

Each chunk of windows that shares one fit is a pure function of the frame, so chunks are
independent tasks for the executor (serial today, joblib with ``n_jobs``; Dask later).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from forecasting.data import schema
from forecasting.errors import DataError
from forecasting.models.base import Forecaster, clone

Progress = Callable[[int], None]


def cutoffs_for(frame: pd.DataFrame, horizon: int, step: int, windows: int) -> list[pd.Timestamp]:
    """The ``windows`` cutoffs, ``step`` days apart, the last leaving ``horizon`` days to score.

    Raises:
        DataError: If the data is too short for that many windows.
    """
    last = pd.Timestamp(frame[schema.DATE].max())
    first = pd.Timestamp(frame[schema.DATE].min())
    final = last - pd.Timedelta(days=horizon)
    cuts = [final - pd.Timedelta(days=step * (windows - 1 - i)) for i in range(windows)]
    if cuts[0] - first < pd.Timedelta(days=2 * horizon + 28):
        raise DataError(
            f"{windows} windows of step {step} leave too little history before the first cutoff "
            f"({cuts[0]:%Y-%m-%d}; data starts {first:%Y-%m-%d})",
            fix="use fewer --windows or a smaller --step",
        )
    return cuts


def run_chunk(
    template: Forecaster, frame: pd.DataFrame, cuts: Sequence[pd.Timestamp], horizon: int
) -> pd.DataFrame:
    """Fit at the first cutoff of ``cuts``, roll forward through the rest (no ``y`` joined).

    At each cutoff the model sees the rows up to it; the target days' rows reach ``predict``
    only as known-future exogenous values, without the target.
    """
    model = clone(template)
    out = []
    for i, cut in enumerate(cuts):
        history = frame[frame[schema.DATE] <= cut]
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
    n_jobs: int = 1,
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
        n_jobs: Parallel chunks (joblib); 1 runs serially.
        progress: Called with the number of chunks just finished.

    Returns:
        The forecast frame with the observed ``y``.
    """
    cuts = cutoffs_for(frame, horizon, step, windows)
    chunks = [cuts[i : i + refit_every] for i in range(0, len(cuts), refit_every)]
    labelled = models.items() if isinstance(models, Mapping) else [(None, m) for m in models]
    tasks = [(label, m, c) for label, m in labelled for c in chunks]
    if n_jobs == 1:
        results = []
        for _, m, c in tasks:
            results.append(run_chunk(m, frame, c, horizon))
            if progress:
                progress(1)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(
            delayed(run_chunk)(m, frame, c, horizon) for _, m, c in tasks
        )
        if progress:
            progress(len(tasks))
    for (label, _, _), result in zip(tasks, results, strict=True):
        if label is not None:
            result["model"] = label
    forecasts = pd.concat(results, ignore_index=True)
    truth = frame[[schema.SITE, schema.DATE, schema.TARGET]].rename(columns={schema.TARGET: "y"})
    truth = truth.assign(site_id=truth[schema.SITE].astype(str))
    return forecasts.merge(truth, on=[schema.SITE, schema.DATE], how="left")
