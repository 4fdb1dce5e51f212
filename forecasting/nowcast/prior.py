"""The day-ahead prior: each day's forecast total, issued from the daily totals before it.

For every issue day ``d`` (forecast from the totals up to ``d - 1``) the prior gives today's
mean and log-scale spread and tomorrow's (two days ahead of the data). Two sources:

* a registry model (:func:`forecasting.models.make_model`, e.g. ``"ets"``), fitted once and
  rolled forward day by day with ``update`` (refitted every ``refit_every`` days);
* ``"weekday"``: the mean of the same weekday over the last eight weeks (fast, no model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from forecasting.errors import InsufficientHistoryError
from forecasting.nowcast.days import DATE
from forecasting.nowcast.hourly import SITE

PRIOR_COLUMNS = (SITE, DATE, "prior", "prior_sdlog", "next_prior", "next_sdlog")
WEEKDAY_PRIOR = "weekday"
WEEKDAY_WEEKS = 8
MIN_SDLOG = 0.02
MAX_RATIO = 1.5
_Z90 = float(norm.ppf(0.95))


def fill_totals(totals: pd.Series) -> pd.Series:
    """Daily totals with missing days filled (same weekday's recent mean, else interpolation)."""
    out = totals.astype(float).copy()
    if out.isna().any():
        days = pd.DatetimeIndex(out.index.get_level_values(DATE))
        keys = [out.index.get_level_values(SITE), days.dayofweek]
        recent = out.groupby(keys).transform(
            lambda s: s.rolling(WEEKDAY_WEEKS, min_periods=1).mean().shift(1)
        )
        out = out.fillna(recent)
        out = out.groupby(level=SITE).transform(lambda s: s.interpolate(limit_direction="both"))
    return out


def weekday_priors(totals: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Priors from the mean of the same weekday over the last eight weeks.

    Args:
        totals: Daily totals indexed ``(site_id, date)`` (every day; NaN where unknown).
        start: First issue day.
        end: Last issue day.

    Returns:
        One row per site and issue day in ``[start, end]``, columns :data:`PRIOR_COLUMNS`.
    """
    frames = []
    for site, s in totals.groupby(level=SITE, sort=True):
        series = s.droplevel(SITE)
        full = series.reindex(pd.date_range(series.index.min(), end + pd.Timedelta(days=1)))
        logs = np.log(full.clip(lower=1.0))
        weekday = pd.DatetimeIndex(full.index).dayofweek
        by_day = full.groupby(weekday)
        mean = by_day.transform(lambda x: x.rolling(WEEKDAY_WEEKS, min_periods=2).mean().shift(1))
        spread = logs.groupby(weekday).transform(
            lambda x: x.rolling(WEEKDAY_WEEKS, min_periods=2).std().shift(1)
        )
        # tomorrow's prior issued on d uses totals before d: same weekday, one week less recent
        nxt_mean = by_day.transform(
            lambda x: x.shift(1).rolling(WEEKDAY_WEEKS, min_periods=2).mean()
        )
        days = pd.date_range(start, end)
        frames.append(
            pd.DataFrame(
                {
                    SITE: site,
                    DATE: days,
                    "prior": mean.reindex(days).to_numpy(),
                    "prior_sdlog": spread.reindex(days).clip(lower=MIN_SDLOG).to_numpy(),
                    "next_prior": nxt_mean.shift(-1).reindex(days).to_numpy(),
                    "next_sdlog": spread.shift(-1).reindex(days).clip(lower=MIN_SDLOG).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _sdlog(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    spread = (np.log(np.maximum(hi, 1.0)) - np.log(np.maximum(lo, 1.0))) / (2 * _Z90)
    return np.maximum(spread, MIN_SDLOG)


def model_priors(
    totals: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    model: str = "ets",
    refit_every: int = 28,
    country: str = "GB",
    subdiv: str | None = "ENG",
) -> pd.DataFrame:
    """Priors from a registry model rolled forward one day at a time.

    Args:
        totals: Daily totals indexed ``(site_id, date)`` (every day; NaN where unknown).
        start: First issue day (the model is first fitted on the totals before it).
        end: Last issue day.
        model: Registry name (:data:`forecasting.models.MODELS`).
        refit_every: Re-estimate the parameters every this many issue days (else ``update``).
        country: Public-holiday country of the model's calendar.
        subdiv: Its subdivision.

    Returns:
        One row per site and issue day in ``[start, end]``, columns :data:`PRIOR_COLUMNS`.

    Raises:
        InsufficientHistoryError: Fewer than eight weeks of totals before ``start``.
    """
    from forecasting.models import make_model

    filled = fill_totals(totals)
    demand = filled.rename("attendances").reset_index()
    first = demand.groupby(SITE)[DATE].min().max()
    if (pd.Timestamp(start) - first).days < 7 * WEEKDAY_WEEKS:
        raise InsufficientHistoryError(
            f"fewer than {WEEKDAY_WEEKS} weeks of complete days before {start:%Y-%m-%d}",
            fix="give more hourly history, or use the weekday prior",
        )
    rows = []
    forecaster = None
    for k, day in enumerate(pd.date_range(start, end)):
        history = demand[demand[DATE] < day]
        if forecaster is None or k % refit_every == 0:
            forecaster = make_model(model, horizon=2, country=country, subdiv=subdiv)
            forecaster.fit(history)
        else:
            forecaster.update(history)
        fc = forecaster.predict(2).sort_values([SITE, DATE])
        for site, g in fc.groupby(SITE, sort=True):
            lo, hi, mean = g["q0.05"].to_numpy(), g["q0.95"].to_numpy(), g["mean"].to_numpy()
            spread = _sdlog(lo, hi)
            rows.append((site, day, mean[0], spread[0], mean[1], spread[1]))
    return pd.DataFrame(rows, columns=list(PRIOR_COLUMNS))


def day_ahead_priors(
    totals: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    model: str = "ets",
    refit_every: int = 28,
    country: str = "GB",
    subdiv: str | None = "ENG",
) -> pd.DataFrame:
    """Priors for issue days ``start..end`` from ``model`` (or :data:`WEEKDAY_PRIOR`).

    A model's prior that is missing or strays beyond a factor :data:`MAX_RATIO` of the weekday
    prior (a model fitted on too short a history can drift away) is replaced by the weekday
    prior; ``prior_source`` tells which was used.
    """
    weekday = weekday_priors(totals, pd.Timestamp(start), pd.Timestamp(end))
    weekday["prior_source"] = WEEKDAY_PRIOR
    if model == WEEKDAY_PRIOR:
        return weekday
    out = model_priors(totals, start, end, model, refit_every, country, subdiv)
    out["prior_source"] = model
    ref = weekday.set_index([SITE, DATE]).reindex(pd.MultiIndex.from_frame(out[[SITE, DATE]]))
    for col, spread in (("prior", "prior_sdlog"), ("next_prior", "next_sdlog")):
        ratio = out[col].to_numpy(float) / ref[col].to_numpy(float)
        stray = ~((ratio > 1 / MAX_RATIO) & (ratio < MAX_RATIO)) & np.isfinite(ref[col].to_numpy())
        out.loc[stray, col] = ref[col].to_numpy()[stray]
        out.loc[stray, spread] = ref[spread].to_numpy()[stray]
        if col == "prior":
            out.loc[stray, "prior_source"] = WEEKDAY_PRIOR
    return out
