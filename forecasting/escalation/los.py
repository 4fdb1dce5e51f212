"""Lengths of stay learned from discharge episodes, as site settings of the config."""

from __future__ import annotations

import pandas as pd

from forecasting.config import Config, SiteSettings
from forecasting.data import schema
from forecasting.errors import SchemaError

EPISODE_COLUMNS = ("site_id", "admission_type", "length_of_stay")
_SETTING = {"emergency": "mean_los_emergency", "elective": "mean_los_elective"}
MAX_LOS = 60.0
MIN_EPISODES = 30


def learned_los(episodes: pd.DataFrame, min_episodes: int = MIN_EPISODES) -> pd.DataFrame:
    """Mean length of stay per site and admission type (``emergency``, ``elective``).

    A day-case (length 0) counts as the admission day, as in the occupancy rule; groups with
    fewer than ``min_episodes`` episodes are left out.

    Returns:
        Index ``site_id``; columns ``mean_los_emergency`` and ``mean_los_elective`` (NaN when
        too few episodes).

    Raises:
        SchemaError: If a needed column is missing.
    """
    for col in EPISODE_COLUMNS:
        if col not in episodes:
            raise SchemaError(
                "episodes lack a column needed for lengths of stay",
                column=col,
                fix="pass discharge episodes with site_id, admission_type, length_of_stay",
            )
    e = episodes[episodes["admission_type"].isin(list(_SETTING))]
    stay = e["length_of_stay"].astype(float).clip(lower=1.0)
    keys = [e[schema.SITE].astype(str), e["admission_type"]]
    stats = stay.groupby(keys).agg(["mean", "count"])
    means = stats["mean"].where(stats["count"] >= min_episodes).clip(upper=MAX_LOS)
    table = means.unstack("admission_type").reindex(columns=list(_SETTING))
    return table.rename(columns=_SETTING).rename_axis(index=schema.SITE, columns=None)


def with_learned_los(cfg: Config, episodes: pd.DataFrame) -> Config:
    """A copy of ``cfg`` whose sites take their mean lengths of stay from ``episodes``.

    Values set in the config's ``sites`` section win over learned ones.
    """
    table = learned_los(episodes)
    sites = dict(cfg.sites)
    for site, row in table.iterrows():
        learned: dict[str, float] = {
            str(k): round(float(v), 2) for k, v in row.items() if pd.notna(v)
        }
        own = sites.get(str(site), SiteSettings()).model_dump(exclude_none=True)
        sites[str(site)] = SiteSettings(**{**learned, **own})
    return cfg.model_copy(update={"sites": sites})
