"""Choose the surge-probability cut-off that keeps false alarms within a trust's budget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.replay.score import ALL_SITES, score_replay

GRID: tuple[float, ...] = tuple(float(c) for c in np.round(np.arange(0.05, 0.951, 0.05), 2))


@dataclass(frozen=True)
class Policy:
    """The chosen cut-off and the replay figures that justify it.

    Attributes:
        kind: The kind of surge it warns of.
        cutoff: Alert when P(surge) reaches this.
        budget: False alarms per site per month allowed.
        met: Whether any cut-off met the budget (else the strictest one tried).
        recall: Share of surge days warned at this cut-off.
        precision: Share of warned days that were surges.
        false_alarms_per_month: Per site, at this cut-off.
        lead_median: Median days of warning of the warned surges.
    """

    kind: str
    cutoff: float
    budget: float
    met: bool
    recall: float
    precision: float
    false_alarms_per_month: float
    lead_median: float


def choose_cutoff(
    replay: pd.DataFrame,
    kind: str,
    budget: float,
    grid: tuple[float, ...] = GRID,
    p_column: str | None = None,
) -> Policy:
    """The lowest cut-off (most surges caught) whose false alarms stay within ``budget``.

    Args:
        replay: Replay rows of one model.
        kind: ``capacity`` or ``weekday``.
        budget: False alarms per site per month the trust accepts.
        grid: Cut-offs tried, ascending.
        p_column: Probability column judged (default ``p_<kind>``).

    Returns:
        The policy; ``met`` is False when even the highest cut-off exceeds the budget.
    """
    best = None
    for cutoff in grid:
        s = score_replay(replay, kind, probability=cutoff, p_column=p_column)
        overall = s[s["site_id"] == ALL_SITES].iloc[0]
        best = Policy(
            kind=kind,
            cutoff=cutoff,
            budget=budget,
            met=bool(overall["false_alarms_per_month"] <= budget),
            recall=float(overall["recall"]),
            precision=float(overall["precision"]),
            false_alarms_per_month=float(overall["false_alarms_per_month"]),
            lead_median=float(overall["lead_median"]),
        )
        if best.met:
            return best
    assert best is not None
    return best


def policy_yaml(policy: Policy, source: str, levels_from: str, pressure: float) -> str:
    """The policy as a config file, with the figures that justify it as comments.

    Args:
        policy: The chosen policy.
        source: Where the replay data came from (named in a comment).
        levels_from: The kind of surge whose probability drives the levels.
        pressure: The configured level-2 probability; halved to stay below the cut-off.
    """
    level2 = pressure if pressure < policy.cutoff else round(policy.cutoff / 2, 3)
    return (
        f"# Chosen by `forecasting warnings replay` on {source}:\n"
        f"# the lowest P({policy.kind} surge) cut-off with at most {policy.budget:g} false "
        f"alarms per site per month{'' if policy.met else ' (NOT met: strictest tried)'}.\n"
        f"# At {policy.cutoff:.2f}: recall {policy.recall:.2f}, precision "
        f"{policy.precision:.2f}, false alarms/month {policy.false_alarms_per_month:.2f}, "
        f"median lead {policy.lead_median:.0f} day(s).\n"
        f"thresholds:\n  alert_probability: {policy.cutoff:.2f}\n"
        f"escalation:\n  weekday_adjusted_lines: {str(levels_from == 'weekday').lower()}\n"
        f"  pressure_probability: {level2:g}\n"
    )
