"""Bed pressure: occupancy probabilities, OPEL-style scoring and planned-care advice.

Pure functions on pandas/numpy frames (no CLI, no MLflow):

- :mod:`.probability`: occupancy quantiles from a forecast of beds occupied, P(occupancy >=
  line), trust-relative pressure and a logistic recalibrator;
- :mod:`.opel`: the configurable scoring table, score and level 1-4 with reasons;
- :mod:`.advice`: deferrals that bring P(occupancy >= ceiling) under a target, stated honestly;
- :mod:`.assess`: all of the above per trust-day in one call, and the daily JSON fields.
"""

from __future__ import annotations

from forecasting.pressure.advice import deferrable_cases, format_occupancy, plan_deferrals
from forecasting.pressure.assess import assess_pressure, pressure_record
from forecasting.pressure.opel import handover_rate, score_opel
from forecasting.pressure.probability import (
    PressureCalibrator,
    exceedance,
    occupancy_probabilities,
    occupancy_quantiles,
    own_normal,
    p_column,
    pressure_probabilities,
    relative_pressure,
)

__all__ = [
    "PressureCalibrator",
    "assess_pressure",
    "deferrable_cases",
    "exceedance",
    "format_occupancy",
    "handover_rate",
    "occupancy_probabilities",
    "occupancy_quantiles",
    "own_normal",
    "p_column",
    "plan_deferrals",
    "pressure_probabilities",
    "pressure_record",
    "relative_pressure",
    "score_opel",
]
