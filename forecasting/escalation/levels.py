"""Recommended escalation levels, aligned with NHS OPEL (Operational Pressures Escalation Levels).

The rules (thresholds in the config, ``thresholds`` and ``escalation`` sections):

* **4, unable to deliver comprehensive care**: P(attendances > high surge line) >=
  ``escalation.severe_probability``, or forecast occupancy >=
  ``thresholds.occupancy_ceiling + escalation.severe_occupancy_margin``.
* **3, major pressure**: P(attendances > surge line) >= ``thresholds.alert_probability``, or
  forecast occupancy >= ``thresholds.occupancy_ceiling``.
* **2, signs of pressure**: P(surge) >= ``escalation.pressure_probability``, or forecast
  occupancy >= ``thresholds.occupancy_comfort``.
* **1, flow maintained**: otherwise.

Occupancy rules use the mean path: the upper path (every day at its upper attendance quantile)
widens with the horizon, so it sizes the planned-care advice instead of the level.

The level is a *recommendation* from forecasts; the declared level stays a human decision.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from forecasting.config import Config

EPS = 1e-9  # lines are inclusive, whatever the float rounding of their sums
LEVEL_NAMES: dict[int, str] = {
    1: "flow maintained",
    2: "signs of pressure",
    3: "major pressure",
    4: "unable to deliver comprehensive care",
}


def recommend_levels(
    p_surge: npt.ArrayLike,
    p_surge_high: npt.ArrayLike,
    occupancy: npt.ArrayLike,
    cfg: Config,
) -> np.ndarray:
    """Apply the level rules row by row.

    Args:
        p_surge: Chance attendances exceed the surge line.
        p_surge_high: Chance they exceed the high surge line.
        occupancy: Forecast occupancy (mean path), a fraction of beds.
        cfg: The configuration holding the thresholds.

    Returns:
        Levels 1-4 (int).
    """
    t, e = cfg.thresholds, cfg.escalation
    p = np.asarray(p_surge, dtype=float)
    p_high = np.asarray(p_surge_high, dtype=float)
    occ = np.asarray(occupancy, dtype=float)
    severe = t.occupancy_ceiling + e.severe_occupancy_margin - EPS  # 0.92 + 0.05 is 0.97
    level4 = (p_high >= e.severe_probability - EPS) | (occ >= severe)
    level3 = (p >= t.alert_probability - EPS) | (occ >= t.occupancy_ceiling - EPS)
    level2 = (p >= e.pressure_probability - EPS) | (occ >= t.occupancy_comfort - EPS)
    return np.select([level4, level3, level2], [4, 3, 2], default=1).astype(int)
