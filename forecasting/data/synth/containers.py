"""The synthetic data set returned by :func:`forecasting.data.synth.synth_demand`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from forecasting.data.synth.sites import SiteProfile

EVENT_COLUMNS = ("site_id", "date", "multiplier")


def event_frame(
    site_ids: list[str], dates: list[pd.Timestamp], multipliers: list[float]
) -> pd.DataFrame:
    """Return an event table (``site_id``, ``date``, ``multiplier``) with stable dtypes."""
    return pd.DataFrame(
        {
            "site_id": pd.Series(site_ids, dtype=object),
            "date": pd.Series(pd.DatetimeIndex(dates), dtype="datetime64[ns]"),
            "multiplier": pd.Series(multipliers, dtype=float),
        }
    )


@dataclass(frozen=True)
class SynthData:
    """A synthetic multi-site data set and the ground truth of what was injected.

    Attributes:
        demand: DemandFrame: ``site_id`` (str), ``date`` (midnight ``datetime64[ns]``),
            ``attendances``, ``admissions``, ``beds``, ``electives_planned`` (int64) and
            ``temperature`` (°C); one row per site per day, no gaps, sorted by site and date.
        episodes: Patient-level discharge episodes (see
            :func:`forecasting.data.synth.synth_episodes`).
        sites: The sites' profiles, in site-code order.
        surges: Injected unexplained surges, one row per affected site-day: ``site_id``,
            ``date`` and ``multiplier`` (e.g. 1.25 for +25% attendances).
        level_shifts: Injected permanent level shifts (service reconfigurations): ``site_id``,
            first ``date`` at the new level and ``multiplier``.
    """

    demand: pd.DataFrame
    episodes: pd.DataFrame
    sites: list[SiteProfile]
    surges: pd.DataFrame
    level_shifts: pd.DataFrame = field(default_factory=lambda: event_frame([], [], []))
