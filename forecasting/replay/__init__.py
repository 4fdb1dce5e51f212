"""Replay the morning job over past days, as cron would have run it, and judge its alerts.

Stages: forecasts per issue day (:mod:`forecasts`, refit every k days and rolled forward in
between, cached) -> warnings per issue day from the data up to that day (:mod:`issue`) ->
alert quality per site against what happened (:mod:`score`) -> a picture (:mod:`plot`).
"""

from __future__ import annotations

from forecasting.replay.forecasts import issue_days, replay_forecasts
from forecasting.replay.issue import replay_warnings
from forecasting.replay.run import REPLAY_COLUMNS, ReplayResult, replay, replay_steps
from forecasting.replay.score import SCORE_COLUMNS, compare, score_replay

__all__ = [
    "REPLAY_COLUMNS",
    "SCORE_COLUMNS",
    "ReplayResult",
    "compare",
    "issue_days",
    "replay",
    "replay_forecasts",
    "replay_steps",
    "replay_warnings",
    "score_replay",
]
