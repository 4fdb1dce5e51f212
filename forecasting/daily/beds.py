"""The morning job when the target is beds occupied: occupancy, OPEL-style level, advice.

When the data's target role is ``beds_occupied`` (e.g. ``--target-col ga_beds_occupied``), the
forecast is of beds occupied, so occupancy comes from it (not from attendances × length of
stay): :func:`forecasting.pressure.assess_pressure` gives occupancy quantiles, P(occupancy >=
line), the trust's own normal and the OPEL-style score; the level is the score's level, and
:func:`forecasting.pressure.plan_deferrals` says how many deferrable electives bring
P(occupancy >= ceiling) under the target, or that even all of them do not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecasting.config import PressureConfig, SiteSettings
from forecasting.data import schema
from forecasting.escalation.levels import LEVEL_NAMES
from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.pressure import assess_pressure, deferrable_cases, plan_deferrals
from forecasting.pressure.probability import BEDS_OPEN, p_column

TARGET_ROLE = "beds_occupied"
ELECTIVES = "electives_planned"

#: Columns of a bed-pressure warning (the daily JSON and CSV), in order.
BEDS_WARNING_COLUMNS: tuple[str, ...] = (
    "site_id",
    "as_of",
    "date",
    "horizon",
    "model",
    "level",
    "level_name",
    "beds_occupied_mean",
    "beds_occupied_q0.05",
    "beds_occupied_q0.95",
    "beds",
    "occupancy",
    "occupancy_q0.05",
    "occupancy_q0.95",
    "p_occupancy_ge_0.92",
    "p_occupancy_ge_0.95",
    "p_occupancy_ge_0.97",
    "own_normal",
    "p_above_own_normal",
    "handovers_over_60min_per_100_beds",
    "opel_score",
    "parameters",
    "electives_planned",
    "electives_deferrable",
    "electives_to_review",
    "reasons",
    "advice",
)


def is_beds_target(frame: pd.DataFrame) -> bool:
    """Whether the frame's target column counts beds occupied."""
    return frame.attrs.get("target_role") == TARGET_ROLE


def _planned(
    rows: pd.DataFrame, data: pd.DataFrame, site_settings: Callable[[str], SiteSettings]
) -> np.ndarray:
    """Planned elective admissions of each forecast row: the data's plan, else the config's."""
    out = np.full(len(rows), np.nan)
    if ELECTIVES in data.columns:
        plan = data.set_index([schema.SITE, schema.DATE])[ELECTIVES]
        keys = pd.MultiIndex.from_arrays([rows[schema.SITE].astype(str), rows[schema.DATE]])
        out = plan[~plan.index.duplicated()].reindex(keys).to_numpy(dtype=float)
    for i, (site, day) in enumerate(zip(rows[schema.SITE], rows[schema.DATE], strict=True)):
        if np.isnan(out[i]):
            weekly = site_settings(str(site)).electives_by_weekday
            if weekly is not None:
                out[i] = float(weekly[pd.Timestamp(day).dayofweek])
    return out


def beds_warnings(
    forecast: pd.DataFrame,
    data: pd.DataFrame,
    settings: PressureConfig,
    site_settings: Callable[[str], SiteSettings],
    deferrable_share: float,
    day: pd.Timestamp,
    horizon: int,
) -> pd.DataFrame:
    """Turn a forecast of beds occupied into bed-pressure warnings, one row per trust-day.

    Args:
        forecast: Forecast frame of beds occupied from data up to ``day``.
        data: DemandFrame (target = beds occupied, ``beds`` open, optional handovers); rows
            after ``day`` are read only for planned electives.
        settings: Pressure settings (lines, scoring table, advice ceiling and target).
        site_settings: A site's settings (``Config.site``: stays of electives, weekday plan).
        deferrable_share: Share of planned electives that may be deferred.
        day: The as-of day.
        horizon: Days ahead to keep.

    Returns:
        The columns of :data:`BEDS_WARNING_COLUMNS`; ``level`` is the OPEL-style level.
    """
    past = data[data[schema.DATE] <= day]
    fc = forecast.copy()
    for col in ("cutoff", "date"):
        fc[col] = pd.to_datetime(fc[col]).astype("datetime64[ns]")
    fc["horizon"] = (fc["date"] - day).dt.days
    fc = fc[(fc["horizon"] >= 1) & (fc["horizon"] <= horizon)].reset_index(drop=True)
    scored = assess_pressure(fc, past, settings)
    scored["electives_planned"] = _planned(scored, data, site_settings)
    scored["deferrable"] = deferrable_cases(
        np.nan_to_num(scored["electives_planned"].to_numpy(float)), deferrable_share
    )
    # sites sharing an elective stay are planned together (one vectorised call each)
    sites = scored[schema.SITE].astype(str)
    stays = {s: float(site_settings(s).mean_los_elective or 1.0) for s in sites.unique()}
    parts = [
        plan_deferrals(
            g,
            ceiling=settings.advice_ceiling,
            target_probability=settings.advice_target_probability,
            mean_los_elective=los,
        )
        for los, g in scored.groupby(sites.map(stays), sort=True)
    ]
    out = pd.concat(parts, ignore_index=True).sort_values([schema.SITE, schema.DATE])
    out = out.reset_index(drop=True)
    out["level"] = out["opel_level"].fillna(1).astype(int)
    out["level_name"] = out["level"].map(LEVEL_NAMES)
    out["as_of"] = day
    out["beds"] = out[BEDS_OPEN]
    out["electives_deferrable"] = out["deferrable"].astype(int)
    out["electives_to_review"] = np.where(out["level"] >= 3, out["defer"], 0).astype(int)
    names = {q: f"beds_occupied_{q}" for q in QUANTILE_COLUMNS}
    out = out.rename(columns={"mean": "beds_occupied_mean", **names})
    for line in (0.92, 0.95, 0.97):
        if p_column(line) not in out:
            out[p_column(line)] = np.nan
    return out[list(BEDS_WARNING_COLUMNS)]
