"""Stage 1 of the replay: the forecast the morning job would have made on each issue day.

The model is re-estimated every ``refit_every`` issue days and rolled forward (``update``) in
between, as a daily cron job with a periodic retrain does. Each chunk of issue days that
shares one fit is a pure task (:func:`forecasting.evaluate.backtest.run_chunk`), cached as
Parquet under a key of its inputs, so an interrupted replay resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from forecasting.data import schema
from forecasting.errors import DataError
from forecasting.evaluate.backtest import ChunkTask, chunk_task
from forecasting.executors import Executor, SerialExecutor
from forecasting.models.base import Forecaster

Progress = Callable[[int], None]
MIN_HISTORY_DAYS = 56


def issue_days(frame: pd.DataFrame, days: int) -> list[pd.Timestamp]:
    """The last ``days`` dates of the data: the mornings the replay issues warnings on.

    Raises:
        DataError: If fewer than 56 days of history precede the first issue day.
    """
    last = pd.Timestamp(frame[schema.DATE].max())
    first = pd.Timestamp(frame[schema.DATE].min())
    days_out = [last - pd.Timedelta(days=days - 1 - i) for i in range(days)]
    if days_out[0] - first < pd.Timedelta(days=MIN_HISTORY_DAYS):
        raise DataError(
            f"replaying {days} days leaves too little history before the first issue day "
            f"({days_out[0]:%Y-%m-%d}; data start {first:%Y-%m-%d})",
            column=schema.DATE,
            fix=f"use fewer --days (at most {max((last - first).days - MIN_HISTORY_DAYS, 0)})",
        )
    return days_out


def chunk_key(
    template: Forecaster, frame: pd.DataFrame, cuts: Sequence[pd.Timestamp], horizon: int
) -> str:
    """A key of everything one chunk's forecasts depend on (data up to its last day included)."""
    seen = frame[frame[schema.DATE] <= cuts[-1] + pd.Timedelta(days=horizon)]
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(seen, index=False).to_numpy().tobytes())
    spec = {
        "model": type(template).__name__,
        "params": {k: repr(v) for k, v in sorted(template.get_params().items())},
        "cuts": [f"{c:%Y-%m-%d}" for c in cuts],
        "horizon": horizon,
    }
    digest.update(json.dumps(spec, sort_keys=True).encode())
    return digest.hexdigest()[:24]


def replay_forecasts(
    frame: pd.DataFrame,
    template: Forecaster,
    issued: Sequence[pd.Timestamp],
    horizon: int = 7,
    refit_every: int = 28,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """One forecast frame per issue day, each from the data up to that day only.

    Args:
        frame: A validated DemandFrame.
        template: Unfitted model (cloned per chunk).
        issued: Issue days, ascending (see :func:`issue_days`).
        horizon: Days ahead of each issue day.
        refit_every: Re-estimate every this many issue days; roll forward in between.
        cache_dir: Folder for finished chunks (reused when their inputs are unchanged).
        progress: Called with the number of issue days just forecast.
        executor: Runs the chunks not in the cache (serial if ``None``); same forecasts.

    Returns:
        The forecast frames stacked (``cutoff`` is the issue day); no observed values.
    """
    cache = Path(cache_dir) if cache_dir is not None else None
    cols = [c for c in frame.columns if c != "imputed"]
    data = frame[cols]
    chunks = [list(issued[i : i + refit_every]) for i in range(0, len(issued), refit_every)]
    paths: list[Path | None] = [
        None
        if cache is None
        else cache / f"{template.name}-{chunk_key(template, data, c, horizon)}.parquet"
        for c in chunks
    ]
    parts: list[pd.DataFrame | None] = [None] * len(chunks)
    todo = []
    for k, path in enumerate(paths):
        if path is not None and path.is_file():
            parts[k] = pd.read_parquet(path)
            if progress:
                progress(len(chunks[k]))
        else:
            todo.append(k)
    tasks: list[ChunkTask] = [(template, chunks[k], horizon) for k in todo]
    advance = _days_progress(progress, [len(chunks[k]) for k in todo])
    done = (executor or SerialExecutor()).map(chunk_task, tasks, data, advance)
    for k, part in zip(todo, done, strict=True):
        path = paths[k]
        if path is not None:
            _save(part, path)
        parts[k] = part
    return pd.concat(parts, ignore_index=True)


def _days_progress(progress: Progress | None, sizes: list[int]) -> Progress | None:
    """Turn "tasks finished" into issue days (every chunk but the last has the same size)."""
    if progress is None:
        return None
    left = sum(sizes)
    step = max(sizes, default=0)

    def advance(tasks: int) -> None:
        nonlocal left
        days = min(tasks * step, left)
        left -= days
        progress(days)

    return advance


def _save(part: pd.DataFrame, path: Path) -> None:
    from forecasting.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        part.to_parquet(tmp, index=False)
