"""Inputs of the escalation pipeline, checked: demand history, as-of date, config sites, forecast.

Each check raises one clear error naming the site, date or column and the fix.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from forecasting.config import Config
from forecasting.data import schema
from forecasting.data.segments import DEFAULT_SEGMENT_GAP_DAYS
from forecasting.errors import SchemaError
from forecasting.escalation.errors import (
    AsOfError,
    EmptyDataError,
    ForecastMismatchError,
    UnknownSiteError,
)

MAX_LISTED_SITES = 10


def _listed(sites: list[str]) -> str:
    shown = ", ".join(sites[:MAX_LISTED_SITES])
    more = len(sites) - MAX_LISTED_SITES
    return shown + (f" and {more} more" if more > 0 else "")


def _short_gaps_filled(dates: pd.DatetimeIndex, max_gap: int) -> pd.DatetimeIndex:
    """``dates`` plus the days of every gap of at most ``max_gap`` days (longer: segments)."""
    if len(dates) < 2:
        return dates
    gaps = (dates[1:] - dates[:-1]).days - 1
    extra = [
        pd.date_range(start + pd.Timedelta(days=1), periods=n, freq="D")
        for start, n in zip(dates[:-1], gaps, strict=True)
        if 0 < n <= max_gap
    ]
    return pd.DatetimeIndex(dates.append(extra)).sort_values() if extra else dates


def prepare_history(history: pd.DataFrame) -> pd.DataFrame:
    """Normalise a DemandFrame: string site ids, midnight dates, one row per site and day.

    Missing days inside a site's range are added, up to ``attrs["segment_gap_days"]`` in a
    row (default 14; a longer gap splits the series into segments and stays missing):
    attendances interpolated, beds carried forward, admissions and electives left missing (the
    occupancy rule fills them).

    Raises:
        EmptyDataError: If there are no rows.
        SchemaError: If a required column is missing.
    """
    if history is None or len(history) == 0:
        raise EmptyDataError(
            "the demand data have no rows", fix="pass a file with at least a year of days"
        )
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise SchemaError(
            "the demand data lack a required column",
            column=missing[0],
            fix="pass a DemandFrame (site_id, date, attendances)",
        )
    h = history.copy()
    h[schema.SITE] = h[schema.SITE].astype(str)
    h[schema.DATE] = pd.to_datetime(h[schema.DATE]).dt.normalize()
    h = h.sort_values([schema.SITE, schema.DATE]).drop_duplicates([schema.SITE, schema.DATE])
    max_gap = int(history.attrs.get("segment_gap_days", DEFAULT_SEGMENT_GAP_DAYS))
    parts = []
    for site, g in h.groupby(schema.SITE, sort=True):
        days = _short_gaps_filled(pd.DatetimeIndex(g[schema.DATE]), max_gap)
        if len(days) == len(g):
            parts.append(g)
            continue
        full = g.set_index(schema.DATE).reindex(days)
        full[schema.SITE] = site
        full[schema.TARGET] = full[schema.TARGET].astype(float).interpolate()
        if "beds" in full:
            full["beds"] = full["beds"].ffill()
        parts.append(full.rename_axis(schema.DATE).reset_index())
    return pd.concat(parts, ignore_index=True)


def resolve_as_of(history: pd.DataFrame, as_of: date | str | pd.Timestamp | None) -> pd.Timestamp:
    """The as-of date: the given one, else the last day in the data.

    Raises:
        AsOfError: If the date is after the last day of the data or before the first.
    """
    first, last = history[schema.DATE].min(), history[schema.DATE].max()
    if as_of is None:
        return pd.Timestamp(last)
    day = pd.Timestamp(as_of).normalize()
    if day > last:
        raise AsOfError(
            f"as-of date {day:%Y-%m-%d} is beyond the data, which end on {last:%Y-%m-%d}",
            column=schema.DATE,
            fix=f"pass an as-of date on or before {last:%Y-%m-%d}, or update the data",
        )
    if day < first:
        raise AsOfError(
            f"as-of date {day:%Y-%m-%d} is before the data, which start on {first:%Y-%m-%d}",
            column=schema.DATE,
            fix=f"pass an as-of date on or after {first:%Y-%m-%d}",
        )
    return day


def check_config_sites(history: pd.DataFrame, cfg: Config) -> None:
    """Every site configured under ``sites:`` must be in the data.

    Raises:
        UnknownSiteError: Naming the unknown site and listing the known ones.
    """
    known = sorted(history[schema.SITE].unique())
    unknown = sorted(set(cfg.sites) - set(known))
    if unknown:
        raise UnknownSiteError(
            f"config key 'sites.{unknown[0]}': site '{unknown[0]}' is not in the data (sites in "
            f"the data: {_listed(known)}). Fix: correct the site id or remove it from the config."
        )


def forecast_rows(forecast: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Each site's latest forecast made from data up to its last history day.

    Returns:
        Forecast rows after each site's last history day, with midnight dates.

    Raises:
        EmptyDataError: If the forecast has no rows.
        ForecastMismatchError: Unknown site, several models, or a forecast made after the data.
    """
    if forecast is None or len(forecast) == 0:
        raise EmptyDataError("the forecast has no rows", fix="forecast at least one day ahead")
    f = forecast.copy()
    f[schema.SITE] = f[schema.SITE].astype(str)
    for col in ("cutoff", schema.DATE):
        f[col] = pd.to_datetime(f[col]).dt.normalize()
    last = history.groupby(schema.SITE)[schema.DATE].max()
    unknown = sorted(set(f[schema.SITE]) - set(last.index))
    if unknown:
        raise ForecastMismatchError(
            f"forecast site '{unknown[0]}' is not in the demand data (sites in the data: "
            f"{_listed(sorted(last.index))})",
            column=schema.SITE,
            fix="forecast from the same demand file",
        )
    f = f[f["cutoff"] <= f[schema.SITE].map(last)]
    if f.empty:
        raise ForecastMismatchError(
            "every forecast was made after the as-of date",
            column="cutoff",
            fix="pass the as-of date the forecast was made on",
        )
    f = f[f["cutoff"] == f.groupby(schema.SITE)["cutoff"].transform("max")]
    models = sorted(f["model"].astype(str).unique())
    if len(models) > 1:
        raise ForecastMismatchError(
            f"the forecast holds several models ({', '.join(models)})",
            column="model",
            fix="filter the forecast to one model",
        )
    f = f[f[schema.DATE] > f[schema.SITE].map(last)]
    if f.empty:
        raise ForecastMismatchError(
            "the forecast has no days after the last day of the data",
            column=schema.DATE,
            fix="forecast from data up to the as-of date",
        )
    return f.sort_values([schema.SITE, schema.DATE]).reset_index(drop=True)
