"""Stage 3 of the replay: alert quality of the replayed warnings, per site and overall.

Alerts are judged by :func:`forecasting.escalation.evaluate_warnings` (precision, recall,
false alarms per month, lead time), and the surge probabilities by their Brier score against
the base rate of surge days before each issue day (a skill above 0 beats "always the usual
rate").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.escalation import evaluate_warnings
from forecasting.evaluate.metrics import brier

ALL_SITES = "all"
SCORE_COLUMNS: tuple[str, ...] = (
    "model",
    "site_id",
    "surge_days",
    "warned_days",
    "precision",
    "recall",
    "false_alarms_per_month",
    "lead_median",
    "brier",
    "brier_skill",
)


def as_history(replay: pd.DataFrame) -> pd.DataFrame:
    """Replay rows in the shape of the warning history (``as_of``, ``surge_threshold``)."""
    return replay.rename(columns={"issued": "as_of", "surge_line": "surge_threshold"})


def surge_outcomes(replay: pd.DataFrame) -> pd.DataFrame:
    """Rows with an observation, with ``surge`` (y above the day's surge line)."""
    scored = replay.dropna(subset=["y"]).copy()
    scored["surge"] = scored["y"].to_numpy(dtype=float) > scored["surge_line"].to_numpy(float)
    return scored


def brier_scores(scored: pd.DataFrame) -> dict[str, float]:
    """Brier score of ``p_surge`` and its skill against the rate of surges in these rows."""
    p = scored["p_surge"].to_numpy(dtype=float)
    outcome = scored["surge"].to_numpy(dtype=float)
    if len(p) == 0:
        return {"brier": float("nan"), "brier_skill": float("nan")}
    rate = float(outcome.mean())
    reference = brier(np.full(len(p), rate), outcome)
    score = brier(p, outcome)
    skill = 1.0 - score / reference if reference > 0 else float("nan")
    return {"brier": score, "brier_skill": skill}


def score_replay(replay: pd.DataFrame, level: int = 3) -> pd.DataFrame:
    """Alert quality of one model's replay, per site and overall (``site_id == "all"``).

    Args:
        replay: Rows of :func:`forecasting.replay.replay_warnings` (one model).
        level: Warnings at this level or above are alerts.

    Returns:
        The columns of :data:`SCORE_COLUMNS`.
    """
    actuals = replay.dropna(subset=["y"])[[schema.SITE, schema.DATE, "y"]]
    actuals = actuals.drop_duplicates([schema.SITE, schema.DATE])
    actuals = actuals.rename(columns={"y": schema.TARGET})
    alerts = evaluate_warnings(as_history(replay), actuals, level=level)
    scored = surge_outcomes(replay)
    skill = {str(s): brier_scores(g) for s, g in scored.groupby(schema.SITE, sort=True)}
    skill[ALL_SITES] = brier_scores(scored)
    alerts["brier"] = alerts[schema.SITE].map(lambda s: skill[str(s)]["brier"])
    alerts["brier_skill"] = alerts[schema.SITE].map(lambda s: skill[str(s)]["brier_skill"])
    alerts["model"] = str(replay["model"].iloc[0]) if len(replay) else ""
    return alerts[list(SCORE_COLUMNS)]


def compare(replays: dict[str, pd.DataFrame], level: int = 3) -> pd.DataFrame:
    """Scores of several replays (keyed by label) stacked, overall rows first."""
    parts = []
    for label, replay in replays.items():
        scores = score_replay(replay, level).assign(model=label)
        parts.append(scores)
    out = pd.concat(parts, ignore_index=True)
    order = (out[schema.SITE] != ALL_SITES).astype(int)
    return out.assign(_o=order).sort_values(["_o", schema.SITE], kind="stable").drop(columns="_o")
