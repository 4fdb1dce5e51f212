"""The interface every demand model shares.

A model is fitted on a DemandFrame (history up to a cutoff) and predicts the next ``horizon``
days after the last date of the history it was given, as a forecast frame
(:mod:`forecasting.forecast_frame`). ``update`` hands the model newer history without
re-estimating its parameters, so backtests can refit only every k windows.

Segments (winter-only data): every missing day between two rows of a site is a segment
boundary (:mod:`forecasting.data.segments`). Per-site models set ``latest_segment_only =
True``: they fit, update and predict from each site's latest segment (a state-space filter
cannot skip eight months without imputing across the gap, so it learns from the current run of
days). Global models keep the default ``False``: they get every segment and must keep their
features inside segments themselves.
A latest segment shorter than a model needs (:data:`MIN_SEGMENT_DAYS`) gets the seasonal naive
forecast with a :class:`SeriesFallbackWarning` (:func:`short_segment_reason`).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.segments import has_segments, latest_segment
from forecasting.errors import NotFittedError, SeriesFallbackWarning
from forecasting.forecast_frame import FORECAST_COLUMNS, QUANTILE_COLUMNS, sort_quantiles


class Forecaster(ABC):
    """Base class: ``fit`` returns self, fitted attributes end in ``_``.

    Subclasses implement :meth:`_fit` and :meth:`_predict`; ``__init__`` only stores parameters.
    """

    name: str = "forecaster"
    latest_segment_only: ClassVar[bool] = False
    """Whether ``fit``/``update`` keep only each site's latest segment (per-site models)."""

    def fit(self, history: pd.DataFrame) -> Self:
        """Estimate the model on ``history`` (a DemandFrame) and remember it for prediction.

        ``target_role_`` records what the target counts (``history.attrs["target_role"]``:
        ``attendances`` or ``beds_occupied``), so a morning run can check it against its data.
        """
        self.target_role_ = str(history.attrs.get("target_role", "attendances"))
        self.history_ = self._history(history)
        self._fit(self.history_)
        self.fitted_ = True
        return self

    def update(self, history: pd.DataFrame) -> Self:
        """Give the fitted model newer history without re-estimating its parameters."""
        self._check_fitted()
        self.history_ = self._history(history)
        self._update(self.history_)
        return self

    def _history(self, history: pd.DataFrame) -> pd.DataFrame:
        """The cleaned history the model works on; records ``segmented_sites_``.

        ``segmented_sites_`` names the sites whose earlier segments were left out (per-site
        models only): for them a short history is a short latest segment, not short data.
        """
        out = _clean_history(history)
        self.segmented_sites_: frozenset[str] = frozenset()
        if not (self.latest_segment_only and has_segments(out)):
            return out
        latest = latest_segment(out)
        before = out.groupby(schema.SITE, sort=False)[schema.DATE].size()
        after = latest.groupby(schema.SITE, sort=False)[schema.DATE].size()
        self.segmented_sites_ = frozenset(before.index[before > after.reindex(before.index)])
        return latest

    def predict(self, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast ``horizon`` days after each site's last date.

        Args:
            horizon: Number of days ahead (1..horizon).
            future: Known future exogenous values (``site_id``, ``date``, columns); optional.

        Returns:
            The forecast frame: one row per site and target date, monotone quantiles, finite:
            a site/date whose mean or a quantile is not finite gets the seasonal naive
            forecast instead, with a :class:`SeriesFallbackWarning`.

        Raises:
            NotFittedError: If called before :meth:`fit`.
        """
        self._check_fitted()
        out = self._guard(self._predict(int(horizon), future).reset_index(drop=True))
        out["model"] = self.name
        out = sort_quantiles(out)
        out[list(QUANTILE_COLUMNS)] = np.maximum(out[list(QUANTILE_COLUMNS)], 0.0)
        out["mean"] = np.maximum(out["mean"], 0.0)
        return out[list(FORECAST_COLUMNS)].reset_index(drop=True)

    def _guard(self, out: pd.DataFrame) -> pd.DataFrame:
        """Replace rows with a non-finite mean or quantile by the seasonal naive forecast."""
        from forecasting.models.naive import seasonal_naive

        cols = ["mean", *QUANTILE_COLUMNS]
        bad = ~np.isfinite(out[cols].to_numpy(dtype=float)).all(axis=1)
        if not bad.any():
            return out
        reasons = {
            str(site): "non-finite forecast at horizon "
            + ", ".join(str(int(h)) for h in sorted(g["horizon"].unique()))
            for site, g in out[bad].groupby("site_id", sort=True)
        }
        naive = seasonal_naive(self.history_, int(out["horizon"].max()), sites=set(reasons))
        naive = naive.set_index(["site_id", "date"])[cols]
        keys = pd.MultiIndex.from_frame(out.loc[bad, ["site_id", "date"]].astype({"site_id": str}))
        values = naive.reindex(keys).to_numpy(dtype=float)
        out = out.copy()
        out.loc[bad, cols] = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        warn_fallbacks(self.name, reasons)
        return out

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet. Fix: call fit(history) before predict."
            )

    @abstractmethod
    def _fit(self, history: pd.DataFrame) -> None: ...

    def _update(self, history: pd.DataFrame) -> None:
        """Default: nothing to roll forward beyond ``history_``."""
        del history

    @abstractmethod
    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame: ...

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters (for tracking)."""
        return {
            k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")
        }


def _clean_history(history: pd.DataFrame, latest: bool = False) -> pd.DataFrame:
    """``history`` sorted by site and date, site ids as strings.

    Args:
        history: A DemandFrame.
        latest: Keep only each site's latest segment (run of consecutive days).
    """
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s) {missing}; pass a DemandFrame")
    out = history.sort_values([schema.SITE, schema.DATE]).reset_index(drop=True)
    out[schema.SITE] = out[schema.SITE].astype(str)
    if latest and has_segments(out):
        out = latest_segment(out)
    return out


def warn_fallbacks(model: str, reasons: Mapping[str, str]) -> None:
    """Warn (:class:`SeriesFallbackWarning`) that ``reasons``' series fell back, if any did."""
    if reasons:
        warnings.warn(SeriesFallbackWarning(model, dict(reasons)), stacklevel=3)


def degenerate_reason(y: np.ndarray) -> str | None:
    """Why a site's counts in the estimation window cannot feed a smoothing model, or ``None``.

    All missing, all zero, or constant: such a series gets the seasonal naive forecast. Sparse
    but not constant series (say 99% zeros) stay with the model: smoothing handles them, and
    the finite-output guard of :meth:`Forecaster.predict` catches what it cannot.
    """
    v = np.asarray(y, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "no observed counts in the estimation window"
    if not v.any():
        return "all zero in the estimation window"
    if np.ptp(v) == 0:
        return f"constant ({v[0]:g}) in the estimation window"
    return None


MIN_SEGMENT_DAYS = 28
"""Fewest days of a site's latest segment a smoothing model fits or rolls forward on."""


def short_segment_reason(n_days: int, minimum: int = MIN_SEGMENT_DAYS) -> str | None:
    """Why a latest segment of ``n_days`` days is too short for a model, or ``None``."""
    if n_days >= minimum:
        return None
    return f"latest segment has {n_days} day(s); the model needs at least {minimum}"


class PerSiteFits(Protocol):
    """A per-site smoothing model: fitted sites, fallen-back sites and a one-site fit."""

    name: str
    fits_: dict[str, Any]
    fallbacks_: dict[str, str]
    short_: dict[str, str]

    def _fit_site(self, site: str, history: pd.DataFrame) -> None: ...


def sites_to_refilter(
    model: PerSiteFits,
    history: pd.DataFrame,
    rows: Callable[[pd.DataFrame], pd.DataFrame] = lambda g: g,
) -> list[tuple[str, pd.DataFrame]]:
    """The sites an ``update`` re-filters with their fitted parameters, and their rows.

    A site new to the model is fitted now; a site whose latest segment (``rows`` of its
    history) is too short is put in ``model.short_`` (seasonal naive until long enough); sites
    fallen back at fit stay so. New fallbacks and short sites are warned about once.
    """
    model.short_ = {}
    new: dict[str, str] = {}
    keep = []
    for site, g in history.groupby(schema.SITE, sort=True):
        site = str(site)
        if site in model.fallbacks_:
            continue
        if site not in model.fits_:
            model._fit_site(site, g)
            new.update({site: model.fallbacks_[site]} if site in model.fallbacks_ else {})
            continue
        short = short_segment_reason(len(rows(g)))
        if short is not None:
            model.short_[site] = short
            continue
        keep.append((site, g))
    warn_fallbacks(model.name, {**new, **model.short_})
    return keep


def future_dates(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` days after ``last``."""
    return pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D")


def clone(model: Forecaster) -> Forecaster:
    """A fresh, unfitted copy of ``model`` with the same parameters."""
    return type(model)(**model.get_params())
