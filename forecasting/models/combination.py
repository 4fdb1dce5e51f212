"""Combination weights learned from the members' recent out-of-sample forecasts.

Before it forecasts, an ensemble with ``weighting="recent"`` replays its members over the last
``windows`` weekly cutoffs of its own history (the validation windows): each member is fitted
once at the first validation cutoff, forecasts ``horizon`` days, is rolled forward (``update``)
to the next cutoff, and so on, and finally rolled forward to the end of the history. That final
state is the member used for forecasting, so learning the weights costs no extra fit: the
members' parameters are estimated ``windows * step + horizon`` days before the end and rolled
forward since, as a backtest refitting every 13 windows does.

Each member's weight for a site and horizon is proportional to ``L ** -power``, ``L`` being its
mean pinball loss (over the forecast frame's quantiles) on that site's and horizon's validation
days: a member clearly worse at a site loses weight there. Sites or horizons without validation
days get equal weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.segments import has_segments
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import Forecaster, clone

MIN_FIT_DAYS = 365
"""Fewest days of history before the first validation cutoff; with less, the members are
fitted on the whole history and weighted equally."""

LOSS_FLOOR = 1e-9
"""Added to every loss so a perfect member (an all-zero series) gets a finite weight."""


@dataclass(frozen=True)
class ValidationPlan:
    """Where the validation windows of an ensemble's members fall.

    Attributes:
        windows: Number of validation cutoffs.
        step: Days between cutoffs.
        horizon: Days forecast from each cutoff.
        refit: Fit the member again on the whole history after the validation windows
            (twice the fitting cost) instead of rolling the validation fit forward.
    """

    windows: int = 12
    step: int = 7
    horizon: int = 7
    refit: bool = False

    def cutoffs(self, history: pd.DataFrame) -> list[pd.Timestamp]:
        """The validation cutoffs of ``history``, or ``[]`` when it is too short or segmented.

        The last cutoff leaves ``horizon`` observed days before the end of the history; the
        first leaves at least :data:`MIN_FIT_DAYS` days of history before it.
        """
        if self.windows < 1 or history.empty or has_segments(history):
            return []
        dates = pd.to_datetime(history[schema.DATE])
        first, last = dates.min(), dates.max()
        final = last - pd.Timedelta(days=self.horizon)
        cuts = [final - pd.Timedelta(days=self.step * k) for k in range(self.windows)][::-1]
        if (cuts[0] - first).days < MIN_FIT_DAYS:
            return []
        return cuts


@dataclass(frozen=True)
class MemberFit:
    """A member fitted through the validation windows, and what it forecast there.

    Attributes:
        model: The member rolled forward to the end of the history (ready to forecast).
        validation: Its forecasts at the validation cutoffs with the observed ``y``
            (empty when the history had no validation windows).
    """

    model: Forecaster
    validation: pd.DataFrame


def fit_member(history: pd.DataFrame, member: Forecaster, plan: ValidationPlan) -> MemberFit:
    """Fit a fresh copy of ``member`` through ``plan``'s validation windows of ``history``.

    Only data up to each cutoff is used for that cutoff's forecast. Without validation
    windows (a short or segmented history) the member is fitted on the whole history.
    """
    cuts = plan.cutoffs(history)
    model = clone(member)
    if not cuts:
        return MemberFit(model.fit(history), pd.DataFrame())
    dates = pd.to_datetime(history[schema.DATE])
    frames = []
    for i, cut in enumerate(cuts):
        upto = history[dates <= cut]
        if i == 0:
            model.fit(upto)
        else:
            model.update(upto)
        frames.append(model.predict(plan.horizon))
    model = clone(member).fit(history) if plan.refit else model.update(history)
    forecasts = pd.concat(frames, ignore_index=True)
    truth = history[[schema.SITE, schema.DATE, schema.TARGET]].rename(columns={schema.TARGET: "y"})
    truth = truth.assign(**{schema.SITE: truth[schema.SITE].astype(str)})
    forecasts = forecasts.merge(truth, on=[schema.SITE, schema.DATE], how="inner")
    return MemberFit(model, forecasts)


def pinball_rows(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Mean pinball loss over the forecast frame's quantiles, one value per row of ``q``."""
    tau = np.asarray(QUANTILES)
    d = np.asarray(y, dtype=float).reshape(-1, 1) - q
    return np.maximum(tau * d, (tau - 1.0) * d).mean(axis=1)


def member_losses(validation: pd.DataFrame) -> pd.Series:
    """Mean pinball loss of one member's validation forecasts, by ``(site_id, horizon)``."""
    if validation.empty:
        return pd.Series(dtype=float)
    q = validation[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    loss = pinball_rows(validation["y"].to_numpy(dtype=float), q)
    keys = validation[[schema.SITE, "horizon"]].astype({schema.SITE: str, "horizon": int})
    return pd.Series(loss, index=pd.MultiIndex.from_frame(keys)).groupby(level=[0, 1]).mean()


def recent_weights(validations: list[pd.DataFrame], power: float) -> pd.DataFrame:
    """Weights per ``(site_id, horizon)`` (rows) and member (columns ``0..M-1``), summing to 1.

    Rows are only the site/horizon pairs every member has validation days for.
    """
    losses = pd.concat([member_losses(v) for v in validations], axis=1, join="inner")
    if losses.empty:
        return pd.DataFrame(columns=range(len(validations)), dtype=float)
    raw = (losses.to_numpy(dtype=float) + LOSS_FLOOR) ** -float(power)
    raw /= raw.sum(axis=1, keepdims=True)
    return pd.DataFrame(raw, index=losses.index, columns=range(len(validations)))


SCALE_GRID = np.linspace(0.5, 1.6, 45)
"""Candidate interval scales of :func:`interval_scale`."""


def interval_scale(combined: pd.DataFrame, shrink: float) -> float:
    """One factor for the quantiles' distance from the median, learned on validation days.

    The factor on :data:`SCALE_GRID` with the lowest mean pinball loss of
    ``q0.5 + s * (q - q0.5)`` over ``combined`` (the ensemble's validation forecasts, with
    ``y``), moved ``shrink`` of the way from 1 (0: no change; 1: the full factor).
    A value below 1 narrows intervals that were too wide.
    """
    if combined.empty:
        return 1.0
    q = combined[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    med = combined["q0.5"].to_numpy(dtype=float)[:, None]
    y = combined["y"].to_numpy(dtype=float)
    losses = [pinball_rows(y, med + s * (q - med)).mean() for s in SCALE_GRID]
    best = float(SCALE_GRID[int(np.argmin(losses))])
    return 1.0 + float(shrink) * (best - 1.0)
