"""Drivers shared by the sites of one region: temperature and respiratory-virus waves.

Sites are grouped in regions of :data:`SITES_PER_REGION` consecutive sites; each region has its
own weather and winter waves, and each site adds a small jitter (see ``demand``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.data.synth._seeding import STREAM_REGION, stream

SITES_PER_REGION = 8
TEMP_MEAN = 10.5  # °C, annual mean of daily mean temperature (UK lowlands)
TEMP_AMPLITUDE = 6.0  # °C: about 5 °C in mid-January, 17 °C in mid-July
TEMP_COLDEST_DOY = 18
TEMP_AR = 0.75
TEMP_NOISE_SD = 2.3  # °C, marginal sd of the day-to-day weather noise
HEATWAVE_PEAK = (28.0, 34.0)
HEATWAVE_DAYS = (3, 7)
_DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class RespiratoryWave:
    """One winter respiratory-virus wave (flu, RSV, COVID) of a region.

    Attributes:
        peak: Day of the wave's peak.
        width_days: Standard deviation of the (Gaussian) wave shape, days.
        attendance_bump: Relative rise of attendances at the peak (e.g. 0.04).
        conversion_bump: Relative rise of the admission conversion rate at the peak.
    """

    peak: pd.Timestamp
    width_days: float
    attendance_bump: float
    conversion_bump: float


@dataclass(frozen=True)
class RegionDrivers:
    """Daily drivers of one region, aligned with ``dates``.

    Attributes:
        dates: The days.
        temperature: Regional daily temperature, °C.
        heatwave: Whether each day belongs to a heat wave.
        waves: The winter respiratory waves overlapping the period.
    """

    dates: pd.DatetimeIndex
    temperature: np.ndarray
    heatwave: np.ndarray
    waves: tuple[RespiratoryWave, ...]


def region_of(site_index: int) -> int:
    """Return the region number of the ``site_index``-th site."""
    return site_index // SITES_PER_REGION


def _heatwaves(
    dates: pd.DatetimeIndex, rng: np.random.Generator, temp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    temp = temp.copy()
    hot = np.zeros(len(dates), dtype=bool)
    for year in range(int(dates.min().year), int(dates.max().year) + 1):
        n_waves = 1 + rng.poisson(0.5)
        for _ in range(n_waves):
            start = pd.Timestamp(year=year, month=6, day=15) + pd.Timedelta(
                days=int(rng.integers(0, 72))
            )
            length = int(rng.integers(HEATWAVE_DAYS[0], HEATWAVE_DAYS[1] + 1))
            peak = rng.uniform(*HEATWAVE_PEAK)
            # Rise to the peak and fall back: the first and last days are a little cooler.
            shape = np.sin(np.linspace(0.25, np.pi - 0.25, length))
            profile = peak - (1.0 - shape) * 4.0 + rng.normal(0.0, 0.6, length)
            idx = dates.get_indexer(pd.date_range(start, periods=length, freq="D"))
            ok = idx >= 0
            temp[idx[ok]] = np.maximum(temp[idx[ok]], profile[ok])
            hot[idx[ok]] = True
    return temp, hot


def synth_temperature(
    dates: pd.DatetimeIndex, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return a UK-like daily temperature series and its heat-wave mask.

    An annual cosine (about 5 °C in January, 17 °C in July) plus AR(1) weather noise, and
    each summer one or more heat waves of 3-7 days peaking at 28-34 °C. Heat-wave values sit
    near daily maxima rather than means, so that the heat effect on demand is visible.

    Args:
        dates: Consecutive days.
        rng: Random generator of the region.

    Returns:
        ``(temperature, heatwave)`` arrays aligned with ``dates``.
    """
    doy = np.asarray(dates.dayofyear, dtype=float)
    seasonal = TEMP_MEAN - TEMP_AMPLITUDE * np.cos(2 * np.pi * (doy - TEMP_COLDEST_DOY) / 365.25)
    innov = rng.normal(0.0, TEMP_NOISE_SD * np.sqrt(1 - TEMP_AR**2), len(dates))
    noise = np.empty(len(dates))
    prev = rng.normal(0.0, TEMP_NOISE_SD)
    for i, e in enumerate(innov):
        prev = TEMP_AR * prev + e
        noise[i] = prev
    return _heatwaves(dates, rng, seasonal + noise)


def synth_waves(dates: pd.DatetimeIndex, rng: np.random.Generator) -> tuple[RespiratoryWave, ...]:
    """Return one respiratory wave per winter overlapping ``dates``.

    Peaks fall between mid-November and early February (centred on mid-December); sizes vary
    from winter to winter (lognormal), raising conversion (older, sicker patients) about twice
    as much as attendances.

    Args:
        dates: Consecutive days.
        rng: Random generator of the region.

    Returns:
        The waves, in time order.
    """
    waves = []
    for year in range(int(dates.min().year) - 1, int(dates.max().year) + 1):
        offset = float(np.clip(rng.normal(0.0, 20.0), -30.0, 50.0))
        peak = pd.Timestamp(year=year, month=12, day=22) + pd.Timedelta(days=round(offset))
        size = float(np.exp(rng.normal(0.0, 0.45)))
        waves.append(
            RespiratoryWave(
                peak=peak,
                width_days=float(rng.uniform(12.0, 24.0)),
                attendance_bump=round(0.025 * size, 4),
                conversion_bump=round(0.06 * size, 4),
            )
        )
    return tuple(waves)


def wave_intensity(
    dates: pd.DatetimeIndex, waves: tuple[RespiratoryWave, ...], shift_days: int, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the relative attendance and conversion bumps of the waves at one site.

    Args:
        dates: Consecutive days.
        waves: The region's waves.
        shift_days: Site's delay of the waves (days; negative is earlier).
        scale: Site's multiplier of the wave sizes.

    Returns:
        ``(attendance_bump, conversion_bump)`` arrays, e.g. 0.03 for +3%.
    """
    att = np.zeros(len(dates))
    conv = np.zeros(len(dates))
    t = np.asarray((dates - dates[0]).days, dtype=float)
    for w in waves:
        centre = (w.peak - dates[0]).days + shift_days
        shape = np.exp(-0.5 * ((t - centre) / w.width_days) ** 2)
        att += scale * w.attendance_bump * shape
        conv += scale * w.conversion_bump * shape
    return att, conv


def region_drivers(dates: pd.DatetimeIndex, region: int, seed: int) -> RegionDrivers:
    """Return the shared drivers of one region over ``dates``.

    Args:
        dates: Consecutive days.
        region: Region number (see :func:`region_of`).
        seed: The user's seed.

    Returns:
        The region's temperature, heat waves and respiratory waves.
    """
    rng = stream(seed, STREAM_REGION, region)
    temp, hot = synth_temperature(dates, rng)
    temp = temp + rng.normal(0.0, 0.8)  # regional climate offset
    return RegionDrivers(dates=dates, temperature=temp, heatwave=hot, waves=synth_waves(dates, rng))
