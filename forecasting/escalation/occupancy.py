"""Forecast general-and-acute bed occupancy from attendances, admissions and electives.

The data hold no occupancy, so it is derived (the rule, per site and day ``t``):

* Emergency admissions ``A_t``: the ``admissions`` column for past days (attendances times the
  conversion rate where it is missing); for forecast days, forecast attendances times the
  conversion rate: admissions over attendances of the last ``escalation.conversion_window_days``
  when the data have admissions, else the site's configured ``admission_rate``.
* Elective admissions ``E_t``: the ``electives_planned`` column (rows after the as-of date are
  plans, known in advance, so they are used); else the site's ``electives_by_weekday``; else, for
  forecast days, the mean of the same weekday over the last four weeks; else none.
* Length of stay is geometric with the site's mean (``mean_los_emergency``,
  ``mean_los_elective``): a patient admitted on day ``s`` is still in a bed on day ``s + k``
  with probability ``(1 - 1/L)^k`` (the admission day counts), so ``L`` bed-days on average.
* Occupied beds ``B_t = sum_k A_{t-k} (1 - 1/L_em)^k + sum_k E_{t-k} (1 - 1/L_el)^k``; days
  before the data start are taken at the mean of the first four weeks (steady state).
* Occupancy = ``B_t / beds``: the latest ``beds`` value up to the as-of date, else the site's
  configured ``beds``; neither is an error naming the site and the fix.

``occupancy`` follows the mean attendance forecast; ``occupancy_q_high`` follows the
``escalation.upper_quantile`` path (default q0.95 on every day: a deliberately cautious path).
On the synthetic sites (beds sized for the 85% comfort line and grown with demand) the derived
occupancy averages about 0.85.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from forecasting.config import Config, SiteSettings
from forecasting.data import schema
from forecasting.escalation.errors import ForecastMismatchError, MissingBedsError

ADMISSIONS = "admissions"
BEDS = "beds"
ELECTIVES = "electives_planned"
WARMUP_DAYS = 28
KERNEL_TOLERANCE = 1e-3


def los_kernel(mean_los: float, tolerance: float = KERNEL_TOLERANCE) -> np.ndarray:
    """Share of a day's admissions still in a bed ``k`` days later (geometric, mean ``L``).

    The kernel sums to ``mean_los`` (bed-days per admission) up to the truncation at
    ``tolerance``; a mean below one day gives ``[mean_los]``.
    """
    if mean_los <= 1:
        return np.array([float(mean_los)])
    stay = 1.0 - 1.0 / mean_los
    n = math.ceil(math.log(tolerance) / math.log(stay)) + 1
    return np.asarray(stay ** np.arange(n), dtype=float)


def occupied_beds(admissions: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Beds occupied each day by consecutive daily ``admissions`` with a stay ``kernel``.

    Days before the first are assumed at the mean of the first four weeks.
    """
    a = np.asarray(admissions, dtype=float)
    if len(a) == 0:
        return a
    pad = np.full(len(kernel) - 1, float(np.mean(a[:WARMUP_DAYS])))
    full = np.convolve(np.concatenate([pad, a]), kernel)[: len(pad) + len(a)]
    return full[len(pad) :]


def conversion_rate(history: pd.DataFrame, settings: SiteSettings, window: int) -> float:
    """Emergency admissions per attendance of one site over its last ``window`` days.

    Uses the ``admissions`` column when it has values there, else the configured rate.
    """
    recent = history.tail(window)
    if ADMISSIONS in recent and recent[ADMISSIONS].notna().any():
        ok = recent[ADMISSIONS].notna()
        att = float(recent.loc[ok, schema.TARGET].sum())
        if att > 0:
            return float(recent.loc[ok, ADMISSIONS].sum()) / att
    return float(settings.admission_rate or 0.0)


def site_beds(history: pd.DataFrame, settings: SiteSettings, site: str) -> float:
    """Latest bed count of one site up to the as-of date, else the configured one.

    Raises:
        MissingBedsError: If neither the data nor the config give beds.
    """
    if BEDS in history:
        known = history[BEDS].dropna()
        if len(known) and float(known.iloc[-1]) > 0:
            return float(known.iloc[-1])
    if settings.beds is not None:
        return float(settings.beds)
    raise MissingBedsError(
        f"site '{site}' has no bed count (no 'beds' values in the data and no "
        f"sites.{site}.beds in the config), so occupancy cannot be forecast",
        column=BEDS,
        fix=f"add a 'beds' column or set sites.{site}.beds in the config",
    )


def _weekday_schedule(dates: pd.DatetimeIndex, settings: SiteSettings) -> np.ndarray | None:
    if settings.electives_by_weekday is None:
        return None
    return np.asarray(settings.electives_by_weekday, dtype=float)[dates.dayofweek]


def past_electives(history: pd.DataFrame, settings: SiteSettings) -> np.ndarray:
    """Elective admissions of past days: the column, else the weekday schedule, else zero."""
    dates = pd.DatetimeIndex(history[schema.DATE])
    schedule = _weekday_schedule(dates, settings)
    fallback = np.zeros(len(dates)) if schedule is None else schedule
    if ELECTIVES in history:
        values = history[ELECTIVES].to_numpy(dtype=float)
        return np.where(np.isnan(values), fallback, values)
    return fallback


def planned_electives(
    dates: pd.DatetimeIndex,
    plan: pd.DataFrame,
    history: pd.DataFrame,
    settings: SiteSettings,
) -> np.ndarray:
    """Planned elective admissions of forecast days (see the module rule)."""
    schedule = _weekday_schedule(dates, settings)
    if schedule is None:
        recent = history.tail(WARMUP_DAYS)
        if ELECTIVES in recent and recent[ELECTIVES].notna().any():
            weekday = pd.DatetimeIndex(recent[schema.DATE]).dayofweek
            means = recent[ELECTIVES].groupby(weekday).mean()
            schedule = np.nan_to_num(means.reindex(dates.dayofweek).to_numpy(dtype=float))
        else:
            schedule = np.zeros(len(dates))
    if ELECTIVES in plan and len(plan):
        planned = plan.set_index(schema.DATE)[ELECTIVES].reindex(dates).to_numpy(dtype=float)
        return np.where(np.isnan(planned), schedule, planned)
    return np.asarray(schedule, dtype=float)


def site_occupancy(
    rows: pd.DataFrame,
    history: pd.DataFrame,
    plan: pd.DataFrame,
    cfg: Config,
    site: str,
) -> pd.DataFrame:
    """Admissions, beds and occupancy of one site's forecast days (the module rule).

    Args:
        rows: The site's forecast rows, consecutive days after its last history day.
        history: The site's DemandFrame rows up to the as-of date, sorted by date.
        plan: The site's rows after the as-of date (only ``electives_planned`` is used).
        cfg: The configuration.
        site: The site id (for messages).

    Returns:
        ``rows`` with ``conversion``, ``admissions_mean``, ``admissions_q_high``,
        ``electives_planned``, ``beds``, ``occupancy`` and ``occupancy_q_high``.

    Raises:
        MissingBedsError: If the site has no bed count.
        ForecastMismatchError: If the forecast days do not follow the history without a gap.
    """
    settings = cfg.site(site)
    esc = cfg.escalation
    dates = pd.DatetimeIndex(rows[schema.DATE])
    expected = pd.date_range(
        history[schema.DATE].iloc[-1] + pd.Timedelta(days=1), periods=len(rows), freq="D"
    )
    if not dates.equals(expected):
        raise ForecastMismatchError(
            f"forecast of site '{site}' does not continue its history (history ends "
            f"{expected[0] - pd.Timedelta(days=1):%Y-%m-%d}, forecast days start "
            f"{dates[0]:%Y-%m-%d} and must be consecutive)",
            fix="forecast from the latest data, one row per day",
        )
    beds = site_beds(history, settings, site)
    rate = conversion_rate(history, settings, esc.conversion_window_days)
    att = history[schema.TARGET].to_numpy(dtype=float)
    past_adm = att * rate
    if ADMISSIONS in history:
        observed = history[ADMISSIONS].to_numpy(dtype=float)
        past_adm = np.where(np.isnan(observed), past_adm, observed)
    past_el = past_electives(history, settings)
    future_el = planned_electives(dates, plan, history, settings)
    k_em = los_kernel(float(settings.mean_los_emergency or 1.0))
    k_el = los_kernel(float(settings.mean_los_elective or 1.0))
    electives_beds = occupied_beds(np.concatenate([past_el, future_el]), k_el)[len(history) :]
    upper = f"q{esc.upper_quantile:g}"
    out = rows.copy()
    out["conversion"] = rate
    out["electives_planned"] = future_el
    out["beds"] = beds
    for path, name in (("mean", "admissions_mean"), (upper, "admissions_q_high")):
        future_adm = rows[path].to_numpy(dtype=float) * rate
        out[name] = future_adm
        emergency_beds = occupied_beds(np.concatenate([past_adm, future_adm]), k_em)
        occupied = emergency_beds[len(history) :] + electives_beds
        suffix = "" if path == "mean" else "_q_high"
        out[f"occupancy{suffix}"] = occupied / beds
    return out


def past_occupancy(history: pd.DataFrame, cfg: Config, site: str) -> pd.Series:
    """Derived occupancy of one site's past days (same rule, observed admissions and beds).

    Useful to check the rule against what a hospital reports; indexed by date.
    """
    settings = cfg.site(site)
    rate = conversion_rate(history, settings, cfg.escalation.conversion_window_days)
    adm = history[schema.TARGET].to_numpy(dtype=float) * rate
    if ADMISSIONS in history:
        observed = history[ADMISSIONS].to_numpy(dtype=float)
        adm = np.where(np.isnan(observed), adm, observed)
    occupied = occupied_beds(
        adm, los_kernel(float(settings.mean_los_emergency or 1.0))
    ) + occupied_beds(
        past_electives(history, settings), los_kernel(float(settings.mean_los_elective or 1.0))
    )
    if BEDS in history and history[BEDS].notna().all():
        beds = history[BEDS].to_numpy(dtype=float)
    else:
        beds = np.full(len(history), site_beds(history, settings, site))
    return pd.Series(occupied / beds, index=pd.DatetimeIndex(history[schema.DATE]))
