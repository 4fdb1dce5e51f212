"""Frames to the report's chart values: every site's days placed on day columns in one pass.

Grouping once and slicing numpy arrays keeps 100 sites in milliseconds; filtering the frames
again for each site cost tens of milliseconds a site on the 3-year history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.report_svg import SiteChartData

QUANTILE_COLUMNS = ("mean", "q0.05", "q0.1", "q0.25", "q0.75", "q0.9", "q0.95")


def report_as_of(
    history: pd.DataFrame, forecast: pd.DataFrame, warnings: pd.DataFrame
) -> pd.Timestamp:
    """The last observed day behind the warnings.

    The warnings' ``as_of`` when they carry it, else the latest forecast ``cutoff``, else the
    last day of ``history``.
    """
    if "as_of" in warnings.columns and warnings["as_of"].notna().any():
        return pd.Timestamp(pd.to_datetime(warnings["as_of"]).max()).normalize()
    if "cutoff" in forecast.columns and not forecast.empty:
        return pd.Timestamp(pd.to_datetime(forecast["cutoff"]).max()).normalize()
    return pd.Timestamp(pd.to_datetime(history[schema.DATE]).max()).normalize()


def _columns(dates: pd.Series, start: pd.Timestamp) -> np.ndarray:
    """Day column of each date (0 = ``start``)."""
    days = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return (days - np.datetime64(start.date(), "D")).astype(int)


def _rows(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row positions of each site in ``frame`` (already sorted by site and day)."""
    return {
        str(k): np.asarray(v) for k, v in frame.groupby(schema.SITE, sort=False).indices.items()
    }


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _latest_forecast(forecast: pd.DataFrame) -> pd.DataFrame:
    """Each site's rows of its latest cutoff."""
    f = forecast.assign(**{schema.SITE: forecast[schema.SITE].astype(str)})
    if "cutoff" not in f.columns:
        return f
    latest = f.groupby(schema.SITE)["cutoff"].transform("max")
    return f[f["cutoff"] == latest]


def _ticks(start: pd.Timestamp, columns: int) -> tuple[list[int], list[str]]:
    """Mondays (every week) on the chart's columns, with their labels."""
    first = (7 - start.weekday()) % 7
    days = list(range(first, columns, 7))
    return days, [f"{start + pd.Timedelta(days=d):%a %d %b}" for d in days]


def site_chart_data(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    warnings: pd.DataFrame,
    as_of: pd.Timestamp,
    history_days: int = 28,
) -> dict[str, SiteChartData]:
    """Every site's :class:`SiteChartData`, keyed by site id (sites in ``warnings`` only).

    Args:
        history: DemandFrame (``site_id, date, attendances``).
        forecast: Forecast frame (each site's latest cutoff is drawn).
        warnings: Warnings frame (``site_id, date, level, surge_threshold, p_surge`` and
            optionally ``occupancy``).
        as_of: Last observed day; column ``history_days - 1``.
        history_days: Observed days shown.

    Returns:
        Chart values by site id.
    """
    start = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=history_days - 1)
    h = history.assign(
        **{schema.SITE: history[schema.SITE].astype(str)},
        _day=_columns(history[schema.DATE], start),
    )
    h = h[(h["_day"] >= 0) & (h["_day"] < history_days)].sort_values([schema.SITE, "_day"])
    f = _latest_forecast(forecast)
    f = f.assign(_day=_columns(f[schema.DATE], start))
    f = f[f["_day"] >= 0].sort_values([schema.SITE, "_day"])
    w = warnings.assign(
        **{schema.SITE: warnings[schema.SITE].astype(str)},
        _day=_columns(warnings[schema.DATE], start),
    ).sort_values([schema.SITE, "_day"])
    columns = int(max(w["_day"].max() + 1 if len(w) else 0, history_days))
    tick_days, tick_labels = _ticks(start, columns)
    h_day, h_val = h["_day"].to_numpy(), _floats(h, schema.TARGET)
    f_day = f["_day"].to_numpy()
    f_q = {q: _floats(f, q) for q in QUANTILE_COLUMNS if q in f.columns}
    w_day, w_level = w["_day"].to_numpy(), w["level"].to_numpy(dtype=int)
    w_cols = {c: _floats(w, c) for c in ("surge_threshold", "p_surge", "occupancy")}
    labels = pd.to_datetime(w[schema.DATE]).dt.strftime("%a %d %b").to_numpy()
    h_rows, f_rows = _rows(h), _rows(f)
    none = np.array([], dtype=int)
    out = {}
    for site, idx in _rows(w).items():
        hi, fi = h_rows.get(site, none), f_rows.get(site, none)
        out[site] = SiteChartData(
            observed_days=h_day[hi].tolist(),
            observed=h_val[hi].tolist(),
            forecast_days=f_day[fi].tolist(),
            quantiles={q: v[fi].tolist() for q, v in f_q.items()},
            warning_days=w_day[idx].tolist(),
            day_labels=labels[idx].tolist(),
            levels=w_level[idx].tolist(),
            surge_lines=w_cols["surge_threshold"][idx].tolist(),
            p_surge=w_cols["p_surge"][idx].tolist(),
            occupancy=w_cols["occupancy"][idx].tolist(),
            tick_days=tick_days,
            tick_labels=tick_labels,
        )
    return out
