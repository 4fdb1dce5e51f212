"""Surge probabilities recalibrated on the outcomes of earlier warnings.

Exceedance probabilities read off forecast quantiles are poorly calibrated in the tails. Once
enough earlier warnings have an observed outcome (at least ``min_surges`` surge days and as many
ordinary days: days, not warnings, since each day is warned about from several mornings), a
logistic regression of the observed surge on ``logit(p_raw)`` and the horizon is fitted per
kind of surge, pooled over sites, and applied to today's raw probabilities. The
earlier warnings come from the warning history (``forecasting daily``) or from the replay's own
earlier days (``forecasting warnings replay``): only outcomes up to the as-of day are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.escalation.alerts import latest_runs
from forecasting.escalation.thresholds import SURGE_KINDS

EPS = 1e-3
DEFAULT_MIN_SURGES = 15


@dataclass(frozen=True)
class Recalibration:
    """Logistic recalibration per kind of surge.

    Attributes:
        coefficients: Per kind: (intercept, slope on logit(p), slope on horizon).
        cases: Per kind: the observed site-days it was learned from.
        surges: Per kind: how many of those were surge days.
    """

    coefficients: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    surges: dict[str, int] = field(default_factory=dict)

    def apply(self, kind: str, p: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        """Recalibrated probabilities of ``kind`` (``p`` unchanged if not learned)."""
        if kind not in self.coefficients:
            return np.asarray(p, dtype=float)
        a, b, c = self.coefficients[kind]
        z = a + b * _logit(np.asarray(p, dtype=float)) + c * np.asarray(horizon, dtype=float)
        return 1.0 / (1.0 + np.exp(-z))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.log(q / (1 - q))


def learn_recalibration(
    issued: pd.DataFrame | None,
    actuals: pd.DataFrame,
    as_of: pd.Timestamp,
    min_surges: int = DEFAULT_MIN_SURGES,
) -> Recalibration:
    """Learn the recalibration from earlier warnings whose day was observed by ``as_of``.

    Args:
        issued: Earlier warnings (``None`` or empty: nothing learned): ``site_id``,
            ``as_of``, ``date``, ``horizon`` and per kind ``<kind>_line`` and ``p_<kind>_raw``
            (rows without them are ignored). When several runs warned from the same as-of
            day, the last one counts.
        actuals: DemandFrame of what happened.
        as_of: Only target days up to this day (observed by the morning of it) are used.
        min_surges: Surge days and ordinary days (site-days, not warnings) each needed
            before a kind is recalibrated; 0 turns recalibration off.

    Returns:
        The recalibration (empty for kinds with too few outcomes).
    """
    out = Recalibration()
    if issued is None or len(issued) == 0 or min_surges <= 0:
        return out
    from sklearn.linear_model import LogisticRegression

    rows = _scored(issued, actuals, as_of)
    for kind in SURGE_KINDS:
        raw, line = f"p_{kind}_raw", f"{kind}_line"
        if raw not in rows or line not in rows:
            continue
        g = rows.dropna(subset=[raw, line])
        surge = (g[schema.TARGET].to_numpy(float) > g[line].to_numpy(float)).astype(int)
        # count days, not rows: one surge day is warned about from up to `horizon` mornings
        days = g.assign(surge=surge).groupby([schema.SITE, schema.DATE])["surge"].max()
        n_surges = int(days.sum())
        if n_surges < min_surges or len(days) - n_surges < min_surges:
            continue
        x = np.column_stack([_logit(g[raw].to_numpy(float)), g["horizon"].to_numpy(float)])
        fit = LogisticRegression(C=1.0).fit(x, surge)
        out.coefficients[kind] = (
            float(fit.intercept_[0]),
            float(fit.coef_[0][0]),
            float(fit.coef_[0][1]),
        )
        out.cases[kind] = len(days)
        out.surges[kind] = n_surges
    return out


def _scored(issued: pd.DataFrame, actuals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Earlier forecast-day warnings observed by ``as_of``, joined with what happened.

    The latest run per site, as-of and target day counts; today's nowcast rows (horizon 0)
    never do.
    """
    h = latest_runs(issued[pd.to_numeric(issued["horizon"], errors="coerce") >= 1])
    h = h[(h[schema.DATE] <= as_of) & (h["as_of"] < as_of)]
    obs = actuals[[schema.SITE, schema.DATE, schema.TARGET]].copy()
    obs[schema.SITE] = obs[schema.SITE].astype(str)
    obs[schema.DATE] = pd.to_datetime(obs[schema.DATE]).dt.normalize()
    obs = obs[obs[schema.DATE] <= as_of].dropna(subset=[schema.TARGET])
    return h.drop(columns=[schema.TARGET], errors="ignore").merge(
        obs, on=[schema.SITE, schema.DATE]
    )
