"""Stage 3 of the replay: alert quality of the replayed warnings, per site and overall.

Two kinds of surge are judged apart: *capacity* (above the site's flat line) and *weekday*
(unusual for the weekday). Alerts are judged by :func:`forecasting.escalation.evaluate_warnings`
(precision, recall, false alarms per month, lead time) under a rule: the recommended level, or
the kind's surge probability reaching a cut-off. The probabilities are judged by their Brier
score and its skill against the rate of surges of the same rows (a skill above 0 beats "always
the usual rate").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.escalation import evaluate_warnings
from forecasting.evaluate.metrics import brier

ALL_SITES = "all"
KINDS: tuple[str, ...] = ("capacity", "weekday")
SCORE_COLUMNS: tuple[str, ...] = (
    "model",
    "kind",
    "rule",
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
    """Replay rows in the shape of a warning history."""
    return replay.rename(columns={"issued": "as_of", "surge_line": "surge_threshold"})


def surge_outcomes(replay: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rows with an observation, with ``surge`` (y above the day's line of ``kind``)."""
    scored = replay.dropna(subset=["y"]).copy()
    line = scored[f"{kind}_line"].to_numpy(dtype=float)
    scored["surge"] = scored["y"].to_numpy(dtype=float) > line
    return scored


def brier_scores(p: np.ndarray, outcome: np.ndarray) -> dict[str, float]:
    """Brier score of ``p`` and its skill against the rate of ``outcome`` in these rows."""
    if len(p) == 0:
        return {"brier": float("nan"), "brier_skill": float("nan")}
    rate = float(np.mean(outcome))
    reference = brier(np.full(len(p), rate), outcome)
    score = brier(p, outcome)
    skill = 1.0 - score / reference if reference > 0 else float("nan")
    return {"brier": score, "brier_skill": skill}


def rule_label(level: int, probability: float | None) -> str:
    """``"level>=3"`` or ``"P>=0.30"``."""
    return f"level>={level}" if probability is None else f"P>={probability:.2f}"


def score_replay(
    replay: pd.DataFrame,
    kind: str = "capacity",
    level: int = 3,
    probability: float | None = None,
    p_column: str | None = None,
) -> pd.DataFrame:
    """Alert quality of one model's replay on one kind of surge, per site and overall.

    Args:
        replay: Rows of :func:`forecasting.replay.replay_warnings` (one model).
        kind: ``capacity`` or ``weekday``: whose line makes a surge day.
        level: Warnings at this level or above are alerts (when ``probability`` is None).
        probability: Alert when the kind's surge probability reaches this instead.
        p_column: Column of the surge probability (default ``p_<kind>``), e.g. a recalibrated
            one.

    Returns:
        The columns of :data:`SCORE_COLUMNS`; the last row is ``site_id == "all"``.
    """
    rows = replay if p_column is None else replay.assign(**{f"p_{kind}": replay[p_column]})
    actuals = rows.dropna(subset=["y"])[[schema.SITE, schema.DATE, "y"]]
    actuals = actuals.drop_duplicates([schema.SITE, schema.DATE])
    actuals = actuals.rename(columns={"y": schema.TARGET})
    alerts = evaluate_warnings(
        as_history(rows), actuals, level=level, probability=probability, kind=kind
    )
    scored = surge_outcomes(rows, kind)
    skill: dict[str, dict[str, float]] = {}
    for site, g in [*scored.groupby(schema.SITE, sort=True), (ALL_SITES, scored)]:
        p = g[f"p_{kind}"].to_numpy(dtype=float)
        skill[str(site)] = brier_scores(p, g["surge"].to_numpy(dtype=float))
    alerts["brier"] = [skill[str(s)]["brier"] for s in alerts[schema.SITE]]
    alerts["brier_skill"] = [skill[str(s)]["brier_skill"] for s in alerts[schema.SITE]]
    alerts["model"] = str(rows["model"].iloc[0]) if len(rows) else ""
    alerts["kind"] = kind
    alerts["rule"] = rule_label(level, probability)
    return alerts[list(SCORE_COLUMNS)]


def compare(
    replays: dict[str, pd.DataFrame],
    level: int = 3,
    cutoffs: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Scores of several replays (keyed by label) on both kinds, overall rows first.

    Args:
        replays: Replay rows by model label.
        level: The level rule's alert level.
        cutoffs: Also score "P(kind) >= cutoff" for these kinds.
    """
    parts = []
    for label, replay in replays.items():
        for kind in KINDS:
            parts.append(score_replay(replay, kind, level).assign(model=label))
            if cutoffs and kind in cutoffs:
                parts.append(score_replay(replay, kind, level, cutoffs[kind]).assign(model=label))
    out = pd.concat(parts, ignore_index=True)
    order = (out[schema.SITE] != ALL_SITES).astype(int)
    out = out.assign(_o=order).sort_values(["_o", schema.SITE, "kind"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)
