"""The replay of the morning job: forecasts, warnings and their scores, next to a baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecasting.config import Config
from forecasting.models.base import Forecaster
from forecasting.replay.forecasts import issue_days, replay_forecasts
from forecasting.replay.issue import replay_warnings
from forecasting.replay.score import compare

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced.

    Attributes:
        warnings: Replay rows of every model (:data:`forecasting.replay.REPLAY_COLUMNS`).
        scores: Alert quality per model and site (:data:`forecasting.replay.SCORE_COLUMNS`).
        issued: The issue days replayed.
    """

    warnings: pd.DataFrame
    scores: pd.DataFrame
    issued: list[pd.Timestamp]


def replay_steps(models: int, days: int) -> int:
    """Progress steps of a replay of ``models`` models over ``days`` issue days."""
    return 2 * models * days


def replay(
    frame: pd.DataFrame,
    models: dict[str, Forecaster],
    cfg: Config,
    days: int = 365,
    refit_every: int = 28,
    level: int = 3,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Replay the morning job over the last ``days`` days for each model, and score it.

    Args:
        frame: A validated DemandFrame.
        models: Unfitted models by label (e.g. the champion's type and ``snaive``).
        cfg: Configuration of the warning rules (``cfg.horizon`` days ahead).
        days: Issue days to replay, ending on the last day of the data.
        refit_every: Re-estimate every this many days; roll forward in between.
        level: Warnings at this level or above count as alerts in the scores.
        cache_dir: Folder caching finished forecast chunks (resumable replays).
        progress: Called with the steps just done (see :func:`replay_steps`).

    Returns:
        The replayed warnings and their scores.
    """
    issued = issue_days(frame, days)
    replays = {}
    for label, model in models.items():
        fc = replay_forecasts(frame, model, issued, cfg.horizon, refit_every, cache_dir, progress)
        rows = replay_warnings(frame, fc, cfg, progress)
        replays[label] = rows.assign(model=label)
    warnings = pd.concat(replays.values(), ignore_index=True)
    return ReplayResult(warnings=warnings, scores=compare(replays, level), issued=issued)
