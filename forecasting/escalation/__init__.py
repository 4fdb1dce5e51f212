"""Escalation warnings: from a demand forecast to recommended OPEL levels and planned-care advice.

Pipeline (:func:`assess`): surge lines -> surge risk -> bed occupancy -> levels -> advice ->
reasons. Warnings are recommendations; a declared level stays a human decision.
"""

from __future__ import annotations

from forecasting.escalation.alerts import evaluate_warnings
from forecasting.escalation.assess import WARNING_COLUMNS, assess
from forecasting.escalation.history import WarningHistory
from forecasting.escalation.levels import LEVEL_NAMES, recommend_levels
from forecasting.escalation.los import learned_los, with_learned_los
from forecasting.escalation.output import to_flat, to_records

__all__ = [
    "LEVEL_NAMES",
    "WARNING_COLUMNS",
    "WarningHistory",
    "assess",
    "evaluate_warnings",
    "learned_los",
    "recommend_levels",
    "to_flat",
    "to_records",
    "with_learned_los",
]
