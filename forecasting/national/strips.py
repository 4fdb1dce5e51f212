"""Frames to strip values: every trust's days placed on the strip's columns in one pass.

Grouping once and slicing numpy arrays keeps 150 trusts in milliseconds (per-trust pandas
filtering cost about 20 ms a trust).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.national.svg import StripData, StripGeometry


def _columns(dates: pd.Series, start: pd.Timestamp) -> np.ndarray:
    """Day column of each date (0 = ``start``)."""
    days = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return (days - np.datetime64(start.date(), "D")).astype(int)


def _by_site(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row positions of each site in ``frame`` (already sorted by site and day)."""
    return {str(k): np.asarray(v) for k, v in frame.groupby("site_id", sort=False).indices.items()}


def strip_data(
    warnings: pd.DataFrame,
    history: pd.DataFrame,
    start: pd.Timestamp,
    geom: StripGeometry | None = None,
) -> dict[str, StripData]:
    """Every trust's :class:`StripData`, keyed by site id (trusts in ``warnings`` only).

    Args:
        warnings: ``site_id, date, level, occupancy, occupancy_q0.05, occupancy_q0.95``.
        history: ``site_id, date, occupancy``.
        start: First history day shown (column 0).
        geom: Strip geometry: history columns ``[0, history_days)``, forecast columns
            ``[history_days, days)``; rows outside are dropped.

    Returns:
        Strip values by site id.
    """
    g = geom or StripGeometry()
    start = pd.Timestamp(start).normalize()
    h = history.assign(
        site_id=history["site_id"].astype(str), _day=_columns(history["date"], start)
    )
    h = h[(h["_day"] >= 0) & (h["_day"] < g.history_days)].sort_values(["site_id", "_day"])
    w = warnings.assign(
        site_id=warnings["site_id"].astype(str), _day=_columns(warnings["date"], start)
    )
    w = w[(w["_day"] >= g.history_days) & (w["_day"] < g.days)].sort_values(["site_id", "_day"])
    h_day, h_occ = h["_day"].to_numpy(), h["occupancy"].to_numpy(dtype=float)
    cols = {
        c: w[c].to_numpy(dtype=float) for c in ("occupancy", "occupancy_q0.05", "occupancy_q0.95")
    }
    w_day, w_level = w["_day"].to_numpy(), w["level"].to_numpy(dtype=int)
    day_text = pd.to_datetime(w["date"]).dt.strftime("%a %d %b").to_numpy()
    tips = np.array(
        [
            f"{d}: level {lv}, forecast occupancy {100 * m:.1f}%"
            for d, lv, m in zip(day_text, w_level, cols["occupancy"], strict=True)
        ],
        dtype=object,
    )
    h_rows = _by_site(h)
    none = np.array([], dtype=int)
    label = f"from {start:%d %b}"
    out = {}
    for site, idx in _by_site(w).items():
        hi = h_rows.get(site, none)
        out[site] = StripData(
            observed_days=h_day[hi].tolist(),
            observed=h_occ[hi].tolist(),
            forecast_days=w_day[idx].tolist(),
            mean=cols["occupancy"][idx].tolist(),
            low=cols["occupancy_q0.05"][idx].tolist(),
            high=cols["occupancy_q0.95"][idx].tolist(),
            levels=w_level[idx].tolist(),
            tips=tips[idx].tolist(),
            start_label=label,
        )
    return out
