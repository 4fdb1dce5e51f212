"""The replay of the morning job: forecasts, warnings and their scores, next to a baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.config import Config
from forecasting.executors import Executor
from forecasting.models.base import Forecaster
from forecasting.replay.forecasts import issue_days, replay_forecasts
from forecasting.replay.issue import WARNING_ROWS, replay_warnings
from forecasting.replay.score import KINDS, brier_scores, compare, surge_outcomes

Progress = Callable[[int], None]
# the replay's rows (contract: site_id, issued, date, horizon, level, p_surge, surge_line,
# surge_kind, y; p_<kind> recalibrated on earlier outcomes, p_<kind>_raw read off the forecast)
REPLAY_COLUMNS: tuple[str, ...] = WARNING_ROWS


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced.

    Attributes:
        warnings: Replay rows of every model (:data:`REPLAY_COLUMNS`).
        scores: Alert quality per model, kind, rule and site
            (:data:`forecasting.replay.SCORE_COLUMNS`).
        calibration: Brier skill of the raw and recalibrated probabilities per model and kind.
        issued: The issue days replayed.
    """

    warnings: pd.DataFrame
    scores: pd.DataFrame
    calibration: pd.DataFrame
    issued: list[pd.Timestamp]


def replay_steps(models: int, days: int) -> int:
    """Progress steps of a replay of ``models`` models over ``days`` issue days."""
    return 2 * models * days


def calibration_table(replays: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Brier skill of raw and recalibrated probabilities, on the rows where they differ."""
    records = []
    for label, rows in replays.items():
        for kind in KINDS:
            scored = surge_outcomes(rows, kind)
            active = scored[f"p_{kind}"].to_numpy() != scored[f"p_{kind}_raw"].to_numpy()
            g = scored[active]
            outcome = g["surge"].to_numpy(dtype=float)
            raw = brier_scores(g[f"p_{kind}_raw"].to_numpy(dtype=float), outcome)
            cal = brier_scores(g[f"p_{kind}"].to_numpy(dtype=float), outcome)
            records.append(
                {
                    "model": label,
                    "kind": kind,
                    "rows": len(g),
                    "surge_rate": float(np.mean(outcome)) if len(g) else float("nan"),
                    "brier_raw": raw["brier"],
                    "skill_raw": raw["brier_skill"],
                    "brier_calibrated": cal["brier"],
                    "skill_calibrated": cal["brier_skill"],
                }
            )
    return pd.DataFrame(records)


def replay(
    frame: pd.DataFrame,
    models: dict[str, Forecaster],
    cfg: Config,
    days: int = 365,
    refit_every: int = 28,
    level: int = 3,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    cutoffs: dict[str, float] | None = None,
    executor: Executor | None = None,
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
        cutoffs: Also score "P(kind) >= cut-off" alerts for these kinds.
        executor: Runs the forecast chunks (serial if ``None``); the same replay.

    Returns:
        The replayed warnings and their scores.
    """
    issued = issue_days(frame, days)
    replays = {}
    for label, model in models.items():
        fc = replay_forecasts(
            frame, model, issued, cfg.horizon, refit_every, cache_dir, progress, executor
        )
        rows = replay_warnings(frame, fc, cfg, progress)
        replays[label] = rows.assign(model=label)
    warnings = pd.concat(replays.values(), ignore_index=True)
    return ReplayResult(
        warnings=warnings,
        scores=compare(replays, level, cutoffs),
        calibration=calibration_table(replays),
        issued=issued,
    )
