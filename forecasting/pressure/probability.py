"""Occupancy quantiles and pressure probabilities from a forecast of beds occupied.

Occupancy is beds occupied over G&A beds open. The forecast gives quantiles of beds occupied;
beds open are held at the latest value reported up to the cutoff (the morning the forecast is
made). Escalation beds opened under pressure are treated as a *response* to pressure, not as
capacity known in advance: counting them as open in the forecast would hide exactly the
pressure that makes a trust open them. Because the divisor is fixed, occupancy quantiles are the
beds-occupied quantiles divided by it.

Exceedance probabilities are read off the seven quantile knots: the CDF is piecewise linear
between knots (so ``x`` exactly at a knot gives ``1 - level``; at tied knots, the lowest of
their levels), and beyond the outer knots it
follows a normal tail matched to the outer quantiles: below ``q0.05`` a normal through ``q0.05``
and ``q0.25``, above ``q0.95`` a normal through ``q0.75`` and ``q0.95`` (continuous at the
outer knots). Probabilities are clipped to ``[0.001, 0.999]``: a forecast is never certain.

Trust-relative pressure: a trust's own normal is the 90th percentile (configurable) of its
occupancy in its previous segment (the previous winter; a gap of more than one day between rows
starts a new segment, see ``forecasting.data.segments``), or of its last 90 observed days when
it has no previous segment (with at least ``MIN_NORMAL_DAYS`` values).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from forecasting.config import PressureConfig
from forecasting.data.schema import DATE, SITE, TARGET
from forecasting.data.segments import segment_ids
from forecasting.errors import DataError, NotFittedError
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES

#: Probabilities are clipped to this range (never certain).
P_MIN, P_MAX = 0.001, 0.999
#: Fewest observed days a previous segment needs to define a trust's own normal.
MIN_NORMAL_DAYS = 28
BEDS = "beds"
BEDS_OPEN = "beds_open"
OCCUPANCY = "occupancy"
OWN_NORMAL = "own_normal"
P_OWN = "p_above_own_normal"
#: Occupancy quantile columns, in the order of ``QUANTILE_COLUMNS``.
OCCUPANCY_QUANTILE_COLUMNS: tuple[str, ...] = tuple(f"occupancy_{c}" for c in QUANTILE_COLUMNS)


def p_column(line: float) -> str:
    """Name of the column of P(occupancy >= ``line``), e.g. ``p_occupancy_ge_0.92``."""
    return f"p_occupancy_ge_{line:g}"


def exceedance(knots: np.ndarray, x: np.ndarray | float) -> np.ndarray:
    """P(Y >= x) from quantile knots at the forecast frame's levels (see the module notes).

    Args:
        knots: Array (n, 7) of non-decreasing quantiles at ``QUANTILES``.
        x: The thresholds, one per row (or one for all).

    Returns:
        Array (n,) of probabilities clipped to ``[0.001, 0.999]``.
    """
    q = np.atleast_2d(np.asarray(knots, dtype=float))
    levels = np.asarray(QUANTILES, dtype=float)
    if q.shape[1] != len(levels):
        raise ValueError(f"expected {len(levels)} quantile knots per row, got {q.shape[1]}")
    xs = np.broadcast_to(np.asarray(x, dtype=float), (q.shape[0],))
    cdf = np.full(q.shape[0], np.nan)
    # top segment first, so that at tied knots the lowest level wins: P(Y >= x) = 1 - F(x-)
    for j in reversed(range(len(levels) - 1)):
        lo, hi = q[:, j], q[:, j + 1]
        inside = (xs >= lo) & (xs <= hi)
        width = hi - lo
        frac = np.divide(xs - lo, width, out=np.zeros_like(xs), where=width > 0)
        cdf = np.where(inside, levels[j] + frac * (levels[j + 1] - levels[j]), cdf)
    cdf = np.where(xs < q[:, 0], _tail(q[:, 0], q[:, 2], levels[0], levels[2], xs), cdf)
    cdf = np.where(xs > q[:, -1], _tail(q[:, -1], q[:, -3], levels[-1], levels[-3], xs), cdf)
    p = np.clip(1.0 - cdf, P_MIN, P_MAX)
    return np.where(np.isnan(xs) | np.isnan(q).any(axis=1), np.nan, p)


def _tail(
    outer: np.ndarray, inner: np.ndarray, level: float, inner_level: float, x: np.ndarray
) -> np.ndarray:
    """Normal CDF through (outer, level) and (inner, inner_level), evaluated at ``x``."""
    z_outer, z_inner = float(ndtri(level)), float(ndtri(inner_level))
    sigma = (outer - inner) / (z_outer - z_inner)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = z_outer + (x - outer) / sigma
    # a degenerate tail (sigma 0) puts everything at the outer knot
    step = np.where(x > outer, 1.0, 0.0)
    return np.where(sigma > 0, ndtr(z), step)


def latest_beds_open(history: pd.DataFrame, cutoffs: pd.DataFrame) -> pd.Series:
    """Beds open per forecast row: the latest non-missing ``beds`` of the site up to its cutoff.

    Args:
        history: DemandFrame with ``site_id``, ``date`` and ``beds``.
        cutoffs: Rows with ``site_id`` and ``cutoff``.

    Returns:
        Float series aligned with ``cutoffs`` (NaN where no beds were reported by then).
    """
    if BEDS not in history:
        raise DataError(
            "no beds column: occupancy needs G&A beds open",
            column=BEDS,
            fix="map the beds-open column, e.g. --col beds=ga_beds_open",
        )
    beds = history[[SITE, DATE, BEDS]].dropna(subset=[BEDS]).copy()
    beds[SITE] = beds[SITE].astype(str)
    beds[DATE] = pd.to_datetime(beds[DATE])
    beds = beds.sort_values(DATE)
    left = pd.DataFrame(
        {
            SITE: cutoffs[SITE].astype(str).to_numpy(),
            "_cutoff": pd.to_datetime(cutoffs["cutoff"]).to_numpy(),
            "_row": np.arange(len(cutoffs)),
        }
    ).sort_values("_cutoff")
    joined = pd.merge_asof(
        left, beds, left_on="_cutoff", right_on=DATE, by=SITE, direction="backward"
    )
    out = joined.set_index("_row")[BEDS].reindex(np.arange(len(cutoffs)))
    return pd.Series(out.to_numpy(dtype=float), index=cutoffs.index, name=BEDS_OPEN)


def occupancy_quantiles(forecast: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Add occupancy to a forecast frame of beds occupied.

    Args:
        forecast: Forecast frame (``site_id, cutoff, date, horizon, model, mean, q0.05 ...``)
            whose values are beds occupied.
        history: DemandFrame with ``beds`` (G&A beds open).

    Returns:
        A copy with ``beds_open`` (latest reported at the cutoff, see the module notes),
        ``occupancy`` (mean / beds open) and ``occupancy_q0.05`` ... ``occupancy_q0.95``.
    """
    out = forecast.copy()
    beds = latest_beds_open(history, out).to_numpy(dtype=float)
    beds = np.where(beds > 0, beds, np.nan)
    out[BEDS_OPEN] = beds
    out[OCCUPANCY] = out["mean"].to_numpy(dtype=float) / beds
    for src, dst in zip(QUANTILE_COLUMNS, OCCUPANCY_QUANTILE_COLUMNS, strict=True):
        out[dst] = out[src].to_numpy(dtype=float) / beds
    return out


def occupancy_probabilities(frame: pd.DataFrame, lines: Sequence[float]) -> pd.DataFrame:
    """Add P(occupancy >= line) for each line (columns ``p_occupancy_ge_<line>``).

    Args:
        frame: Output of :func:`occupancy_quantiles`.
        lines: Occupancy lines, e.g. ``PressureConfig.occupancy_lines``.
    """
    out = frame.copy()
    knots = out[list(OCCUPANCY_QUANTILE_COLUMNS)].to_numpy(dtype=float)
    for line in lines:
        out[p_column(line)] = exceedance(knots, line)
    return out


def observed_occupancy(history: pd.DataFrame) -> pd.Series:
    """Observed occupancy of a DemandFrame whose target is beds occupied (NaN without beds)."""
    beds = history[BEDS].to_numpy(dtype=float) if BEDS in history else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = history[TARGET].to_numpy(dtype=float) / np.where(beds > 0, beds, np.nan)
    return pd.Series(occ, index=history.index, name=OCCUPANCY)


def own_normal(
    history: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    quantile: float = 0.9,
    fallback_days: int = 90,
) -> pd.Series:
    """Each trust's own normal occupancy: a high quantile of its previous segment.

    The current segment is the run of consecutive days that holds the site's last row up to
    ``as_of``; the previous segment is the run before it (the previous winter). With no previous
    segment (or fewer than ``MIN_NORMAL_DAYS`` observed values in it), the site's last
    ``fallback_days`` observed days up to ``as_of`` are used instead; with fewer than
    ``MIN_NORMAL_DAYS`` of those the normal is NaN.

    Args:
        history: DemandFrame with the target (beds occupied) and ``beds``.
        as_of: Only rows up to this day count (``None``: all rows).
        quantile: The quantile that defines "normal" (default the 90th percentile).
        fallback_days: Observed days used when there is no previous segment.

    Returns:
        Series of the normal occupancy indexed by ``site_id`` (str), named ``own_normal``.
    """
    frame = pd.DataFrame(
        {
            SITE: history[SITE].astype(str).to_numpy(),
            DATE: pd.to_datetime(history[DATE]).to_numpy(),
            OCCUPANCY: observed_occupancy(history).to_numpy(),
        }
    )
    if as_of is not None:
        frame = frame[frame[DATE] <= pd.Timestamp(as_of)]
    normals: dict[str, float] = {}
    for site, rows in frame.sort_values([SITE, DATE]).groupby(SITE, sort=True):
        occ = rows[OCCUPANCY].to_numpy(dtype=float)
        ids = segment_ids(rows[DATE].to_numpy())
        previous = occ[ids == ids[-1] - 1] if ids[-1] > 0 else occ[:0]
        previous = previous[np.isfinite(previous)]
        if len(previous) >= MIN_NORMAL_DAYS:
            normals[str(site)] = float(np.quantile(previous, quantile))
            continue
        recent = occ[np.isfinite(occ)][-fallback_days:]
        normals[str(site)] = (
            float(np.quantile(recent, quantile)) if len(recent) >= MIN_NORMAL_DAYS else np.nan
        )
    return pd.Series(normals, name=OWN_NORMAL, dtype=float).rename_axis(SITE)


def relative_pressure(frame: pd.DataFrame, normals: pd.Series) -> pd.DataFrame:
    """Add ``own_normal`` and ``p_above_own_normal`` (P(occupancy >= own normal)).

    Args:
        frame: Output of :func:`occupancy_quantiles`.
        normals: Output of :func:`own_normal`.
    """
    out = frame.copy()
    out[OWN_NORMAL] = out[SITE].astype(str).map(normals).to_numpy(dtype=float)
    knots = out[list(OCCUPANCY_QUANTILE_COLUMNS)].to_numpy(dtype=float)
    out[P_OWN] = exceedance(knots, out[OWN_NORMAL].to_numpy(dtype=float))
    return out


def pressure_probabilities(
    forecast: pd.DataFrame, history: pd.DataFrame, settings: PressureConfig
) -> pd.DataFrame:
    """Occupancy quantiles, P(occupancy >= each line) and trust-relative pressure in one go.

    Own normals are taken as of each row's cutoff (a backtest's earlier cutoffs never see
    later days).

    Args:
        forecast: Forecast frame of beds occupied.
        history: DemandFrame with the target (beds occupied) and ``beds``.
        settings: ``occupancy_lines``, ``normal_quantile`` and ``normal_fallback_days``.
    """
    out = occupancy_probabilities(occupancy_quantiles(forecast, history), settings.occupancy_lines)
    out[OWN_NORMAL] = np.nan
    cutoffs = pd.to_datetime(out["cutoff"])
    sites = out[SITE].astype(str)
    for cutoff in cutoffs.unique():
        normals = own_normal(
            history, cutoff, settings.normal_quantile, settings.normal_fallback_days
        )
        rows = cutoffs == cutoff
        out.loc[rows, OWN_NORMAL] = sites[rows].map(normals).to_numpy(dtype=float)
    knots = out[list(OCCUPANCY_QUANTILE_COLUMNS)].to_numpy(dtype=float)
    out[P_OWN] = exceedance(knots, out[OWN_NORMAL].to_numpy(dtype=float))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), P_MIN, P_MAX)
    return np.log(q / (1 - q))


class PressureCalibrator:
    """Logistic recalibration of exceedance probabilities: ``logit(p)`` and the horizon.

    Raw probabilities read off forecast quantiles are often over- or under-confident in the
    tails. Fitted on earlier (probability, outcome, horizon) triples, e.g. from a backtest, it
    maps ``p`` to ``sigmoid(a + b * logit(p) + c * horizon)``. With fewer than ``min_events``
    events or non-events it learns the identity (``a = c = 0``, ``b = 1``) and says so in
    ``identity_``.

    Args:
        min_events: Events and non-events each needed to learn a recalibration.
        C: Inverse regularisation strength of the logistic regression.
        use_horizon: Whether the horizon is a feature.
    """

    def __init__(self, min_events: int = 15, C: float = 1.0, use_horizon: bool = True) -> None:
        self.min_events = min_events
        self.C = C
        self.use_horizon = use_horizon

    def fit(
        self, p: np.ndarray, outcome: np.ndarray, horizon: np.ndarray | None = None
    ) -> PressureCalibrator:
        """Learn the recalibration from raw probabilities and 0/1 outcomes (NaNs dropped)."""
        x, y = self._design(p, horizon), np.asarray(outcome, dtype=float)
        keep = np.isfinite(x).all(axis=1) & np.isfinite(y)
        x, y = x[keep], y[keep].astype(int)
        events = int(y.sum())
        self.n_cases_, self.n_events_ = len(y), events
        self.identity_ = events < self.min_events or len(y) - events < self.min_events
        if self.identity_:
            self.intercept_, self.coef_ = 0.0, np.array([1.0, 0.0])
            return self
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C).fit(x, y)
        coef = model.coef_[0]
        self.intercept_ = float(model.intercept_[0])
        self.coef_ = np.array([float(coef[0]), float(coef[1]) if self.use_horizon else 0.0])
        return self

    def apply(self, p: np.ndarray, horizon: np.ndarray | None = None) -> np.ndarray:
        """Recalibrated probabilities, clipped to ``[0.001, 0.999]``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        if not hasattr(self, "coef_"):
            raise NotFittedError("PressureCalibrator is not fitted: call fit(p, outcome) first")
        x = self._design(p, horizon)
        z = self.intercept_ + x[:, 0] * self.coef_[0]
        if self.use_horizon:
            z = z + x[:, 1] * self.coef_[1]
        return np.clip(1.0 / (1.0 + np.exp(-z)), P_MIN, P_MAX)

    def _design(self, p: np.ndarray, horizon: np.ndarray | None) -> np.ndarray:
        lp = _logit(np.asarray(p, dtype=float).ravel())
        if not self.use_horizon:
            return lp[:, None]
        if horizon is None:
            raise ValueError("horizon is needed when use_horizon is true")
        h = np.broadcast_to(np.asarray(horizon, dtype=float), lp.shape)
        return np.column_stack([lp, h])
