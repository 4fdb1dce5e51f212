"""Alert quality of issued warnings against what happened.

The rule: a site-day is *warned* when at least one warning issued for it (any horizon, the
latest run per as-of date) reached ``level`` (or, to judge the surge rule alone, a surge
probability); it is a *surge day* when its observed attendances exceed the surge line (by
default the line the latest warning for that day used). Only site-days with both a warning and
an observation count. Then:

* precision = warned surge days / warned days; recall = warned surge days / surge days;
* false alarms per month = warned days without a surge per 30.44 scored days;
* lead time of a warned surge day = days from the as-of date of its first alert to the day (a
  warning from data up to Monday for Tuesday has lead 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.escalation.errors import EmptyDataError
from forecasting.evaluate.metrics import alert_scores

DAYS_PER_MONTH = 365.25 / 12
ALL_SITES = "all"


def latest_runs(history: pd.DataFrame) -> pd.DataFrame:
    """Keep the latest issued run for each site, as-of date and target day."""
    h = history.copy()
    h[schema.SITE] = h[schema.SITE].astype(str)
    for col in ("as_of", schema.DATE):
        h[col] = pd.to_datetime(h[col]).dt.normalize()
    if "issued_at" in h:
        h = h.sort_values("issued_at", kind="stable")
    return h.drop_duplicates([schema.SITE, "as_of", schema.DATE], keep="last")


def warned_days(
    history: pd.DataFrame, level: int = 3, probability: float | None = None
) -> pd.DataFrame:
    """One row per site-day warned about: highest level, lead time of the alert, line used.

    Args:
        history: Issued warnings (see :func:`evaluate_warnings`).
        level: A warning at this level or above is an alert.
        probability: If given, a warning is an alert when its ``p_surge`` reaches this instead
            (the surge rule alone, whatever the beds).

    Returns:
        Columns ``site_id``, ``date``, ``max_level``, ``warned``, ``lead_days`` (of the first
        alert; NaN when none) and ``surge_threshold`` (of the latest warning for the day).
    """
    h = latest_runs(history)
    h["lead"] = (h[schema.DATE] - h["as_of"]).dt.days
    h["alert"] = h["level"] >= level if probability is None else h["p_surge"] >= probability
    keys = [schema.SITE, schema.DATE]
    latest = h.sort_values("as_of").groupby(keys, sort=True).last()
    out = pd.DataFrame(
        {
            "max_level": h.groupby(keys, sort=True)["level"].max(),
            "warned": h.groupby(keys, sort=True)["alert"].any(),
            "lead_days": h[h["alert"]].groupby(keys, sort=True)["lead"].max(),
            "surge_threshold": latest["surge_threshold"],
        }
    )
    return out.reset_index()


def _scores(g: pd.DataFrame) -> dict[str, float]:
    scores = alert_scores(g["warned"].astype(float), g["surge"].astype(float), cutoff=0.5)
    hits = g[g["warned"] & g["surge"]]["lead_days"]
    return {
        "days": float(len(g)),
        "surge_days": float(g["surge"].sum()),
        "warned_days": scores["alerts"],
        "hits": float(len(hits)),
        "false_alarms": scores["false_alarms"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "false_alarms_per_month": scores["false_alarms"] * DAYS_PER_MONTH / max(len(g), 1),
        "lead_mean": float(hits.mean()) if len(hits) else float("nan"),
        "lead_median": float(hits.median()) if len(hits) else float("nan"),
    }


def evaluate_warnings(
    history: pd.DataFrame,
    actuals: pd.DataFrame,
    level: int = 3,
    thresholds: pd.Series | float | None = None,
    probability: float | None = None,
    kind: str | None = None,
) -> pd.DataFrame:
    """Precision, recall, false alarms per month and lead time of warnings, per site and overall.

    Args:
        history: Issued warnings (``WarningHistory.read()`` or ``assess`` outputs stacked):
            ``site_id``, ``as_of``, ``date``, ``level``, ``surge_threshold`` (``issued_at``
            optional: the latest run per as-of date counts).
        actuals: DemandFrame of what happened (``site_id``, ``date``, ``attendances``).
        level: Warnings at this level or above count as alerts.
        thresholds: Surge line per site (a Series indexed by ``site_id``) or one number;
            ``None`` uses the line each day's latest warning used.
        probability: Judge the surge rule alone: an alert is ``p_surge >= probability``
            instead of a level (levels also rise for full beds, which no surge explains).
        kind: Judge surges of this kind (``capacity`` or ``weekday``): its line makes a surge
            day, and its probability is the one ``probability`` compares. ``None``: the kind
            each warning's levels followed.

    Returns:
        One row per site and a last row ``site_id == "all"``: ``days``, ``surge_days``,
        ``warned_days``, ``hits``, ``false_alarms``, ``precision``, ``recall``,
        ``false_alarms_per_month``, ``lead_mean`` and ``lead_median`` (days; NaN if no hit).

    Raises:
        EmptyDataError: If no warned-about day has an observation.
    """
    if kind is not None:
        history = history.drop(columns=["surge_threshold", "p_surge"]).rename(
            columns={f"{kind}_line": "surge_threshold", f"p_{kind}": "p_surge"}
        )
        history = history.dropna(subset=["surge_threshold"])  # runs from before both kinds
    days = warned_days(history, level, probability) if len(history) else pd.DataFrame()
    obs = actuals[[schema.SITE, schema.DATE, schema.TARGET]].copy()
    obs[schema.SITE] = obs[schema.SITE].astype(str)
    obs[schema.DATE] = pd.to_datetime(obs[schema.DATE]).dt.normalize()
    scored = days.merge(obs, on=[schema.SITE, schema.DATE]) if len(days) else days
    if len(scored) == 0:
        raise EmptyDataError(
            "no day with a warning has an observed attendance yet",
            fix="evaluate once the warned days are in the demand data",
        )
    if isinstance(thresholds, pd.Series):
        line = scored[schema.SITE].map(thresholds.rename(index=str)).to_numpy(dtype=float)
    elif thresholds is not None:
        line = np.full(len(scored), float(thresholds))
    else:
        line = scored["surge_threshold"].to_numpy(dtype=float)
    scored["surge"] = scored[schema.TARGET].to_numpy(dtype=float) > line
    rows = [
        {schema.SITE: str(site), **_scores(g)} for site, g in scored.groupby(schema.SITE, sort=True)
    ]
    rows.append({schema.SITE: ALL_SITES, **_scores(scored)})
    return pd.DataFrame(rows)
