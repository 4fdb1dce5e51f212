"""Daily demand of synthetic sites: attendances, admissions, beds, electives, temperature.

Attendances are Poisson-lognormal counts around a mean built multiplicatively from: slow
trend, an occasional level shift, the weekly shape (Monday busiest), an early-summer annual
peak, bank-holiday dips and next-working-day rebounds, school holidays (children), winter
respiratory waves, heat (+1% per °C above 20 °C) and rare heavy-tailed surges. Admissions are
Binomial(attendances, conversion), the conversion peaking in winter and in respiratory waves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.data.synth import calendar as cal
from forecasting.data.synth._seeding import STREAM_SITE_DEMAND, stable_key, stream
from forecasting.data.synth.region import RegionDrivers, wave_intensity
from forecasting.data.synth.sites import SiteProfile
from forecasting.data.synth.surges import SURGE_START_RATE, draw_surges

# Relative attendances Mon..Sun before the Monday excess (drawn per site) is added.
WEEK_SHAPE = (1.0, 1.01, 0.995, 0.99, 0.995, 0.955, 0.965)
MONDAY_EXCESS = (0.08, 0.12)
ATTENDANCE_AMPLITUDE = (0.04, 0.06)  # annual cosine, peak late June / early July
ATTENDANCE_PEAK_DOY = (160.0, 190.0)
CONVERSION_AMPLITUDE = (0.06, 0.09)  # annual cosine, peak mid-January
CONVERSION_PEAK_DOY = 15.0
TREND_PER_YEAR = (0.01, 0.03)
LEVEL_SHIFT_PROB = 0.25
LEVEL_SHIFT_SIZE = (0.05, 0.12)
HOLIDAY_DIP = (0.82, 0.90)
CHRISTMAS_DIP = (0.68, 0.76)
REBOUND = (1.05, 1.10)
CHILD_HOLIDAY_WEEKDAY = 0.88  # children's weekday attendances in school holidays: -12%
CHILD_BACK_TO_SCHOOL = 1.10  # first two weeks of the autumn term: +10% children
HEAT_COMFORT = 20.0  # °C
HEAT_EFFECT = 0.01  # +1% attendances per °C above comfort
NOISE_SD = (0.035, 0.055)  # log-scale, AR(1)
NOISE_AR = 0.4
WINTER_ESCALATION = (0.03, 0.05)  # extra beds 1 Dec - 31 Mar
NOROVIRUS_CLOSURE = (0.02, 0.05)  # share of beds closed by an outbreak
BED_PLANNING_LAG = 120  # days before bed capacity follows a lasting change in demand


@dataclass(frozen=True)
class Calendar:
    """Calendar masks shared by all sites (aligned with ``dates``)."""

    dates: pd.DatetimeIndex
    bank_holiday: np.ndarray
    christmas: np.ndarray
    rebound: np.ndarray
    school_holiday: np.ndarray
    back_to_school: np.ndarray

    @classmethod
    def build(cls, dates: pd.DatetimeIndex) -> Calendar:
        """Compute the masks for consecutive ``dates``."""
        hol = cal.bank_holiday_mask(dates)
        return cls(
            dates=dates,
            bank_holiday=hol,
            christmas=np.asarray((dates.month == 12) & (dates.day == 25)),
            rebound=cal.rebound_mask(dates, hol),
            school_holiday=cal.school_holiday_mask(dates),
            back_to_school=cal.back_to_school_mask(dates),
        )


@dataclass(frozen=True)
class SiteDemand:
    """One site's demand rows and the events injected into them."""

    frame: pd.DataFrame
    surge_days: pd.DatetimeIndex
    surge_multipliers: np.ndarray
    level_shift: tuple[pd.Timestamp, float] | None


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float) -> np.ndarray:
    innov = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), n)
    out = np.empty(n)
    prev = rng.normal(0.0, sd)
    for i in range(n):
        prev = phi * prev + innov[i]
        out[i] = prev
    return out


def _cosine(doy: np.ndarray, peak: float, amplitude: float) -> np.ndarray:
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (doy - peak) / 365.25)


def _calendar_factor(rng: np.random.Generator, c: Calendar, child_share: float) -> np.ndarray:
    n = len(c.dates)
    weekday = np.asarray(c.dates.dayofweek) < cal.WEEKEND
    dip = np.where(c.christmas, rng.uniform(*CHRISTMAS_DIP, n), rng.uniform(*HOLIDAY_DIP, n))
    factor = np.where(c.bank_holiday, dip, 1.0)
    factor = factor * np.where(c.rebound, rng.uniform(*REBOUND, n), 1.0)
    child = np.ones(n)
    child[c.school_holiday & weekday & ~c.bank_holiday] = CHILD_HOLIDAY_WEEKDAY
    child[c.back_to_school] = CHILD_BACK_TO_SCHOOL
    return factor * (1.0 - child_share + child_share * child)


def _beds(
    rng: np.random.Generator, dates: pd.DatetimeIndex, base: int, growth: np.ndarray
) -> np.ndarray:
    """Beds open: ``base`` grown with demand (``growth``), winter escalation, norovirus closures."""
    beds = float(base) * growth
    months = np.asarray(dates.month)
    season = np.asarray(dates.year) - (months < 7)  # winter of Dec Y - Mar Y+1 is season Y
    for year in np.unique(season):
        winter = (season == year) & ((months == 12) | (months <= 3))
        beds[winter] += round(base * rng.uniform(*WINTER_ESCALATION))
        for _ in range(rng.poisson(0.6)):
            start = pd.Timestamp(year=int(year), month=11, day=1) + pd.Timedelta(
                days=int(rng.integers(0, 150))
            )
            closed = (dates >= start) & (
                dates < start + pd.Timedelta(days=int(rng.integers(5, 13)))
            )
            beds[np.asarray(closed)] -= round(base * rng.uniform(*NOROVIRUS_CLOSURE))
    return np.rint(beds).astype(np.int64)


def _lagged(level: np.ndarray, lag: int) -> np.ndarray:
    """A level shift as capacity planning follows it: ``lag`` days late."""
    return np.concatenate(
        [np.full(min(lag, len(level)), level[0]), level[: max(len(level) - lag, 0)]]
    )


def _electives(rng: np.random.Generator, c: Calendar, schedule: tuple[int, ...]) -> np.ndarray:
    d = c.dates
    planned = np.asarray(schedule, dtype=float)[np.asarray(d.dayofweek)]
    late_dec = np.asarray(((d.month == 12) & (d.day >= 23)) | ((d.month == 1) & (d.day <= 2)))
    planned *= np.where(late_dec, 0.4, np.where(np.asarray(d.month == 8), 0.85, 1.0))
    planned *= 1.0 + rng.normal(0.0, 0.05, len(d))
    planned[c.bank_holiday] = 0.0
    return np.maximum(np.rint(planned), 0).astype(np.int64)


def site_demand(profile: SiteProfile, c: Calendar, drivers: RegionDrivers, seed: int) -> SiteDemand:
    """Generate one site's daily demand.

    Args:
        profile: The site.
        c: Calendar masks of the days.
        drivers: The region's temperature and respiratory waves over the same days.
        seed: The user's seed (the site's stream also depends on its ``site_id``).

    Returns:
        The site's rows and injected events.
    """
    rng = stream(seed, STREAM_SITE_DEMAND, stable_key(profile.site_id))
    dates = c.dates
    n = len(dates)
    doy = np.asarray(dates.dayofyear, dtype=float)
    years = np.asarray((dates - dates[0]).days, dtype=float) / 365.25

    week = np.asarray(WEEK_SHAPE) * (1.0 + rng.normal(0.0, 0.005, 7))
    week[0] += rng.uniform(*MONDAY_EXCESS)
    annual = _cosine(doy, rng.uniform(*ATTENDANCE_PEAK_DOY), rng.uniform(*ATTENDANCE_AMPLITUDE))
    trend = (1.0 + rng.uniform(*TREND_PER_YEAR)) ** years

    level = np.ones(n)
    shift: tuple[pd.Timestamp, float] | None = None
    if rng.random() < LEVEL_SHIFT_PROB and n >= 60:
        at = int(rng.integers(int(0.1 * n), int(0.9 * n)))
        size = 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(*LEVEL_SHIFT_SIZE)
        level[at:] = size
        shift = (dates[at], round(float(size), 4))

    att_bump, conv_bump = wave_intensity(
        dates, drivers.waves, int(rng.integers(-3, 4)), float(np.exp(rng.normal(0.0, 0.15)))
    )
    temperature = drivers.temperature + rng.normal(0.0, 0.5) + rng.normal(0.0, 0.4, n)
    heat = 1.0 + HEAT_EFFECT * np.maximum(temperature - HEAT_COMFORT, 0.0)
    surge = draw_surges(n, rng, rng.uniform(*SURGE_START_RATE))
    sd = rng.uniform(*NOISE_SD)
    noise = np.exp(_ar1(rng, n, sd, NOISE_AR) - 0.5 * sd**2)

    mean = (
        profile.mean_attendances
        * trend
        * level
        * week[np.asarray(dates.dayofweek)]
        * annual
        * _calendar_factor(rng, c, profile.child_share)
        * (1.0 + att_bump)
        * heat
        * surge
        * noise
    )
    attendances = rng.poisson(mean)

    # Unexplained surges bring mostly minor cases: their conversion is diluted.
    conversion = (
        profile.admission_rate
        * _cosine(doy, CONVERSION_PEAK_DOY, rng.uniform(*CONVERSION_AMPLITUDE))
        * (1.0 + conv_bump)
        * np.exp(rng.normal(0.0, 0.03, n))
        / np.sqrt(surge)
    )
    admissions = rng.binomial(attendances, np.clip(conversion, 0.0, 0.9))

    frame = pd.DataFrame(
        {
            "site_id": pd.Series([profile.site_id] * n, dtype=object),
            "date": dates.astype("datetime64[ns]"),
            "attendances": attendances.astype(np.int64),
            "admissions": admissions.astype(np.int64),
            "beds": _beds(rng, dates, profile.beds, trend * _lagged(level, BED_PLANNING_LAG)),
            "electives_planned": _electives(rng, c, profile.electives_by_weekday),
            "temperature": np.round(temperature, 1),
        }
    )
    hit = surge > 1.0
    return SiteDemand(
        frame=frame,
        surge_days=dates[hit],
        surge_multipliers=np.round(surge[hit], 4),
        level_shift=shift,
    )
