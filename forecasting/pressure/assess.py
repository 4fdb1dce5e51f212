"""Bed pressure per trust-day in one call: probabilities, recent handovers, OPEL-style score.

:func:`assess_pressure` chains :func:`~forecasting.pressure.probability.pressure_probabilities`,
the recent ambulance handover rate at each cutoff
(:func:`~forecasting.pressure.opel.handover_rate`, the same value on every day ahead: it is a
recent measure, not a forecast), an optional attendance surge probability and
:func:`~forecasting.pressure.opel.score_opel`. :func:`pressure_record` gives the fields of the
daily JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecasting.config import PressureConfig
from forecasting.data.schema import DATE, SITE
from forecasting.pressure.opel import HANDOVER_RATE, handover_rate, score_opel
from forecasting.pressure.probability import P_OWN, p_column, pressure_probabilities

P_SURGE = "p_surge"


def assess_pressure(
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    settings: PressureConfig,
    surge: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score bed pressure for every row of a forecast frame of beds occupied.

    Args:
        forecast: Forecast frame of beds occupied (one model).
        history: DemandFrame with the target (beds occupied), ``beds`` and, when reported,
            ``ambulance_handover_over_60min``.
        settings: The pressure settings.
        surge: Optional ``site_id, date, p_surge`` (attendance surge probability, where the
            data has attendances); without it the parameter is skipped.

    Returns:
        The forecast rows with occupancy quantiles, ``p_occupancy_ge_<line>``, ``own_normal``,
        ``p_above_own_normal``, ``handovers_over_60min_per_100_beds``, ``p_surge`` (with
        ``surge`` only) and the columns of :func:`~forecasting.pressure.opel.score_opel`.
    """
    out = pressure_probabilities(forecast, history, settings)
    out[HANDOVER_RATE] = np.nan
    cutoffs = pd.to_datetime(out["cutoff"])
    sites = out[SITE].astype(str)
    for cutoff in cutoffs.unique():
        rates = handover_rate(history, cutoff, settings.handover_window_days)
        rows = cutoffs == cutoff
        out.loc[rows, HANDOVER_RATE] = sites[rows].map(rates).to_numpy(dtype=float)
    if surge is not None:
        keys = pd.MultiIndex.from_arrays([surge[SITE].astype(str), pd.to_datetime(surge[DATE])])
        p = pd.Series(surge[P_SURGE].to_numpy(dtype=float), index=keys)
        p = p[~p.index.duplicated(keep="last")]
        wanted = pd.MultiIndex.from_arrays([sites, pd.to_datetime(out[DATE])])
        out[P_SURGE] = p.reindex(wanted).to_numpy(dtype=float)
    return score_opel(out, settings.parameters, settings.level_cuts)


def pressure_record(row: pd.Series, lines: tuple[float, ...] = (0.92, 0.97)) -> dict[str, Any]:
    """The daily JSON fields of one scored row (NaN becomes ``None``).

    Fields: ``occupancy``, ``occupancy_q0.05``, ``occupancy_q0.95``, ``p_occupancy_ge_<line>``
    for each of ``lines``, ``p_above_own_normal``, ``opel_score``, ``opel_level``,
    ``parameters`` (name -> value, band, points), ``reasons`` and ``missing_parameters``.
    """
    keys = ["occupancy", "occupancy_q0.05", "occupancy_q0.95", *map(p_column, lines), P_OWN]
    rec: dict[str, Any] = {k: _plain(row.get(k)) for k in keys}
    rec["opel_score"] = _plain(row.get("opel_score"))
    level = row.get("opel_level")
    rec["opel_level"] = None if level is None or pd.isna(level) else int(level)
    rec["parameters"] = row.get("parameters", {})
    rec["reasons"] = list(row.get("reasons", []))
    rec["missing_parameters"] = list(row.get("missing_parameters", []))
    return rec


def _plain(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if np.isnan(v) else round(v, 4)
