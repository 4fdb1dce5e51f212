"""Roll a fitted model forward and forecast, site group by site group, as executor tasks.

Every model forecasts a site from that site's own rows and the parameters fixed at fit (the
global models' features are per site too), so updating and predicting a group of sites gives
those sites' rows of the whole panel's forecast: the morning job can spread its sites over
workers and get the same forecast.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.executors import Executor
from forecasting.models.base import Forecaster

GROUPS_PER_WORKER = 2
"""Site groups per worker: a little slack for groups that take longer."""


def site_groups(sites: list[str], groups: int) -> list[list[str]]:
    """``sites`` (sorted) cut into at most ``groups`` contiguous groups of near-equal size."""
    ordered = sorted(sites)
    k = max(1, min(groups, len(ordered)))
    return [list(part) for part in np.array_split(np.array(ordered, dtype=object), k) if len(part)]


def update_predict_task(model: Forecaster, task: tuple[pd.DataFrame, int]) -> pd.DataFrame:
    """One executor task: a copy of ``model`` rolled forward to a group's history, forecast."""
    history, horizon = task
    return copy.deepcopy(model).update(history).predict(horizon)


def update_predict(
    model: Forecaster, history: pd.DataFrame, horizon: int, executor: Executor | None = None
) -> pd.DataFrame:
    """``model.update(history).predict(horizon)``, by site group on ``executor``.

    Serial (``executor`` ``None`` or one worker), this is exactly the plain call and updates
    ``model`` in place; otherwise the groups run on copies of ``model`` (which is left as it
    was) and the forecast comes back sorted by site and date.
    """
    if executor is None or executor.workers < 2:
        return model.update(history).predict(horizon)
    sites = history[schema.SITE].astype(str)
    groups = site_groups(sites.unique().tolist(), executor.workers * GROUPS_PER_WORKER)
    tasks = [(history[sites.isin(group)], horizon) for group in groups]
    parts = executor.map(update_predict_task, tasks, model)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["site_id", "date"], kind="stable").reset_index(drop=True)
