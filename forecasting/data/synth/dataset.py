"""Assemble the synthetic multi-site data set: sites, regions, demand, surges, episodes."""

from __future__ import annotations

from datetime import date

import pandas as pd

from forecasting.data.synth.containers import SynthData, event_frame
from forecasting.data.synth.demand import Calendar, site_demand
from forecasting.data.synth.episodes import synth_episodes
from forecasting.data.synth.region import region_drivers, region_of
from forecasting.data.synth.sites import synth_sites

DEFAULT_END = date(2025, 12, 31)
DEMAND_COLUMNS = (
    "site_id",
    "date",
    "attendances",
    "admissions",
    "beds",
    "electives_planned",
    "temperature",
)


def synth_dates(years: float, end: str | date | pd.Timestamp | None = None) -> pd.DatetimeIndex:
    """Return the days of a synthetic series: ``round(years * 365)`` days before ``end``, to it.

    Args:
        years: Length in years (more than 0).
        end: Last day; ``None`` is the fixed :data:`DEFAULT_END` (never today, so results are
            reproducible; callers that want today pass it).

    Returns:
        Consecutive midnight timestamps.

    Raises:
        ValueError: If ``years`` is not positive or ``end`` is not a date.
    """
    if not years > 0:
        raise ValueError(f"years must be positive, got {years}")
    last = pd.Timestamp(DEFAULT_END if end is None else end).normalize()
    return pd.date_range(last - pd.Timedelta(days=round(years * 365)), last, freq="D")


def synth_demand(
    n_sites: int = 4,
    years: float = 3.0,
    end: str | date | None = None,
    seed: int = 0,
    *,
    episodes_per_site_day: float = 6.0,
) -> SynthData:
    """Generate a realistic, fully deterministic multi-site data set.

    The same ``(n_sites, years, end, seed)`` always gives identical frames, and site ``k``'s
    data do not depend on ``n_sites`` (each site and region has its own random stream).

    Args:
        n_sites: Number of sites (at least 1). Sites are grouped in regions of 8 that share
            temperature and respiratory waves.
        years: Years of history.
        end: Last day (``"YYYY-MM-DD"`` or a date); defaults to 2025-12-31.
        seed: Random seed.
        episodes_per_site_day: Approximate discharge episodes kept per site and day.

    Returns:
        Demand, episodes, site profiles and the ground truth of injected events.

    Raises:
        ValueError: If ``n_sites`` is below 1, ``years`` is not positive or ``end`` is invalid.
    """
    sites = synth_sites(n_sites, seed)
    dates = synth_dates(years, end)
    c = Calendar.build(dates)
    drivers = {}
    frames, surge_sites, surge_days, surge_mult = [], [], [], []
    shift_sites, shift_days, shift_mult = [], [], []
    for k, profile in enumerate(sites):
        region = region_of(k)
        if region not in drivers:
            drivers[region] = region_drivers(dates, region, seed)
        out = site_demand(profile, c, drivers[region], seed)
        frames.append(out.frame)
        surge_sites += [profile.site_id] * len(out.surge_days)
        surge_days += list(out.surge_days)
        surge_mult += out.surge_multipliers.tolist()
        if out.level_shift is not None:
            shift_sites.append(profile.site_id)
            shift_days.append(out.level_shift[0])
            shift_mult.append(out.level_shift[1])
    demand = pd.concat(frames, ignore_index=True)
    demand = demand.sort_values(["site_id", "date"], kind="stable", ignore_index=True)
    demand = demand.loc[:, list(DEMAND_COLUMNS)]
    surges = event_frame(surge_sites, surge_days, surge_mult)
    data = SynthData(
        demand=demand,
        episodes=pd.DataFrame(),
        sites=sites,
        surges=surges.sort_values(["site_id", "date"], ignore_index=True),
        level_shifts=event_frame(shift_sites, shift_days, shift_mult),
    )
    episodes = synth_episodes(data, seed=seed, episodes_per_site_day=episodes_per_site_day)
    return SynthData(
        demand=demand,
        episodes=episodes,
        sites=sites,
        surges=data.surges,
        level_shifts=data.level_shifts,
    )
