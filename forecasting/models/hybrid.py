"""ETS baseline + global LightGBM correction: the local level of ETS, the context of trees.

Per site, ETS (weekly, log scale) tracks the level and weekday shape; one LightGBM over all
sites learns what ETS cannot see (holidays, the annual cycle, recent surges, exogenous
drivers) as a correction in log space. Quantiles are conformal: residual quantiles per
horizon on held-out recent cutoffs.

Segments (winter-only data): the ETS parameters are estimated on each site's latest segment
(run of consecutive days) — a state-space filter cannot skip an eight-month gap without
imputing across it — and the states are filtered with them over every segment separately, each
from its first day in phase with the estimation window's start (the weekdays of the fitted
initial seasonal states). The correction model learns from all segments: its training rows
never span a gap (:class:`~forecasting.features.builder.DirectFeatures`). A site whose latest
segment is shorter than :data:`~forecasting.models.base.MIN_SEGMENT_DAYS` gets the seasonal
naive forecast until it is long enough.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.segments import segment_ids
from forecasting.errors import DataError
from forecasting.features.builder import DirectFeatures
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import (
    Forecaster,
    degenerate_reason,
    short_segment_reason,
    sites_to_refilter,
    warn_fallbacks,
)
from forecasting.models.conformal import calibration_split, per_horizon
from forecasting.models.ets import _model, _SiteFit, fit_params, in_phase_start
from forecasting.models.lightgbm import DEFAULT_PARAMS


def ets_forecasts(
    states: pd.DataFrame, fit: _SiteFit, cutoffs: np.ndarray, horizons: np.ndarray, season: int = 7
) -> np.ndarray:
    """h-step ETS forecasts (log scale) from the filtered states at each cutoff index.

    Uses only states at or before each cutoff: level and trend at ``c``, and the seasonal
    state of the last same-season day at or before ``c``.
    """
    c = np.asarray(cutoffs, dtype=np.int64)
    h = np.asarray(horizons, dtype=np.int64)
    level = states["level"].to_numpy()[c]
    out = level.copy()
    if fit.trend is not None and "trend" in states:
        phi = float(fit.params[3]) if fit.damped else 1.0
        growth = np.array([sum(phi**i for i in range(1, k + 1)) for k in range(0, h.max() + 1)])
        out += growth[h] * states["trend"].to_numpy()[c]
    back = -(-h // season)
    out += states["seasonal"].to_numpy()[c + h - season * back]
    return out


# corrections should be small: shallow trees, many samples per leaf
CORRECTION_PARAMS: dict[str, Any] = {
    "num_leaves": 7,
    "n_estimators": 200,
    "min_child_samples": 200,
    "learning_rate": 0.03,
}


class HybridForecaster(Forecaster):
    """ETS per site plus a global LightGBM correction in log space.

    Args:
        max_horizon: Largest horizon trained for.
        features: Design builder for the correction model.
        season: Season length for ETS.
        max_history_days: Days used to estimate each site's ETS parameters. The ETS states
            are filtered over all the history, from its first day in phase (a whole number of
            weeks) with the first day of that estimation window, whose weekdays the fitted
            initial seasonal states belong to; ``update`` filters from that same day.
        calibration_days: Recent cutoffs held out to calibrate the quantiles.
        params: LightGBM parameters over ``DEFAULT_PARAMS`` and ``CORRECTION_PARAMS``.
        warmup_days: Days of ETS filtering before a cutoff may be a training row.
        calendar: Remove annual Fourier and holiday effects (the feature builder's holiday
            calendar) before ETS, as :class:`ETSForecaster` does, and add them back. The
            annual terms need a year of days in the estimation window (a winter segment has
            holiday effects only).
        fourier_k: Annual harmonics when ``calendar`` is on.
        seed: Random seed.
    """

    name = "hybrid"

    def __init__(
        self,
        max_horizon: int = 14,
        features: DirectFeatures | None = None,
        season: int = 7,
        max_history_days: int = 1100,
        calibration_days: int = 91,
        params: dict[str, Any] | None = None,
        warmup_days: int = 56,
        calendar: bool = True,
        fourier_k: int = 3,
        seed: int = 0,
    ) -> None:
        self.max_horizon = max_horizon
        self.features = features
        self.season = season
        self.max_history_days = max_history_days
        self.calibration_days = calibration_days
        self.params = params
        self.warmup_days = warmup_days
        self.calendar = calendar
        self.fourier_k = fourier_k
        self.seed = seed

    def _builder(self) -> DirectFeatures:
        return self.features or DirectFeatures()

    def _lgb(self) -> Any:
        import lightgbm as lgb

        p: dict[str, Any] = {**DEFAULT_PARAMS, **CORRECTION_PARAMS, **(self.params or {})}
        p.update(random_state=self.seed, objective="regression")
        return lgb.LGBMRegressor(**p)

    def _calendar(self, dates: pd.DatetimeIndex) -> np.ndarray:
        from forecasting.models.regressors import calendar_regressors

        hol = self._builder().holidays
        frame = calendar_regressors(
            dates, fourier_k=self.fourier_k, country=hol.country, subdiv=hol.subdiv
        )
        return frame.to_numpy()

    def _log_series(self, g: pd.DataFrame, estimate: bool = False) -> np.ndarray:
        """log1p counts of one site, calendar effects removed when ``calendar`` is on."""
        from forecasting.models.regressors import calendar_coefficients

        z = np.log1p(g[schema.TARGET].to_numpy(dtype=float))
        if not self.calendar:
            return z
        site = str(g[schema.SITE].iloc[0])
        X = self._calendar(pd.DatetimeIndex(g[schema.DATE]))
        if estimate:
            n = self.max_history_days
            self.betas_[site] = calendar_coefficients(z[-n:], X[-n:], self.fourier_k)
        return z - X @ self.betas_[site]

    def _states(self, history: pd.DataFrame) -> dict[str, np.ndarray]:
        """Filter each site's ETS states with the fitted parameters, segment by segment.

        Each segment's filter starts on its first day in phase with the estimation window's
        start (``anchors_``), so the seasonal states keep their weekdays whatever the history's
        start. ``states_[site]`` holds one row per day from ``starts_[site]`` (the first
        segment's filter start) to the last day, NaN on days no filter covers (gaps).

        Returns:
            Per site, the days since the filter start of each day's segment (NaN in gaps).
        """
        self.states_: dict[str, pd.DataFrame] = {}
        self.starts_: dict[str, pd.Timestamp] = {}
        since: dict[str, np.ndarray] = {}
        skip = getattr(self, "short_", {})
        for site, g in history.groupby(schema.SITE, sort=True):
            if str(site) not in self.fits_ or str(site) in skip:  # seasonal naive
                continue
            runs = self._filtered_runs(str(site), g)
            if not runs:
                continue
            start = runs[0][0]
            days = (pd.Timestamp(g[schema.DATE].iloc[-1]) - start).days + 1
            names = list(runs[0][1].columns)
            values = np.full((days, len(names)), np.nan)
            elapsed = np.full(days, np.nan)
            for first, states in runs:
                at = (first - start).days
                values[at : at + len(states)] = states.to_numpy()
                elapsed[at : at + len(states)] = np.arange(len(states))
            self.states_[str(site)] = pd.DataFrame(values, columns=names)
            self.starts_[str(site)] = start
            since[str(site)] = elapsed
        return since

    def _filtered_runs(self, site: str, g: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.DataFrame]]:
        """``(filter start, states)`` of each segment of one site long enough to filter."""
        fit = self.fits_[site]
        names = ["level", "trend", "seasonal"] if fit.trend else ["level", "seasonal"]
        out = []
        ids = segment_ids(g[schema.DATE].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, run in g.groupby(ids, sort=True):
                start = in_phase_start(self.anchors_[site], run[schema.DATE].iloc[0], self.season)
                run = run[run[schema.DATE] >= start]
                if len(run) < self.season:
                    continue
                y = self._log_series(run)
                model = _model(y, fit.trend, fit.damped, self.season)
                _, states = model.smooth(fit.params, return_raw=True)  # 30x cheaper than results
                out.append((start, pd.DataFrame(np.asarray(states), columns=names)))
        return out

    def _base(self, meta: pd.DataFrame) -> np.ndarray:
        out = np.empty(len(meta))
        for site, idx in meta.groupby("site_id", sort=False).indices.items():
            rows = meta.iloc[idx]
            c = (rows["cutoff"] - self.starts_[str(site)]).dt.days.to_numpy()
            out[idx] = ets_forecasts(
                self.states_[str(site)], self.fits_[str(site)], c, rows["horizon"].to_numpy()
            )
            if self.calendar:
                target = pd.DatetimeIndex(rows["date"])
                out[idx] += self._calendar(target) @ self.betas_[str(site)]
        return out

    def _design(self, X: pd.DataFrame, meta: pd.DataFrame, base: np.ndarray) -> pd.DataFrame:
        D = X.copy()
        D["ets_rel"] = np.expm1(base) / meta["level"].to_numpy()
        D["site"] = pd.Categorical(meta["site_id"].astype(str), categories=self.sites_)
        return D

    def _fit(self, history: pd.DataFrame) -> None:
        self.sites_ = sorted(history[schema.SITE].astype(str).unique())
        self.fits_: dict[str, _SiteFit] = {}
        self.betas_: dict[str, np.ndarray] = {}
        self.anchors_: dict[str, pd.Timestamp] = {}
        self.fallbacks_: dict[str, str] = {}
        self.short_: dict[str, str] = {}
        for site, g in history.groupby(schema.SITE, sort=True):
            self._fit_site(str(site), g)
        warn_fallbacks(self.name, {**self.fallbacks_, **self.short_})
        self.model_: Any = None
        if not self.fits_:
            return
        since = self._states(history)
        X, y, meta = self._builder().training_rows(history, self.max_horizon)
        ok = self._trainable(meta, since)
        if not ok.any():
            reason = f"no cutoff has {self.warmup_days} days of its segment behind it to learn from"
            warn_fallbacks(self.name, {site: reason for site in self.fits_})
            return
        X, y, meta = X[ok].reset_index(drop=True), y[ok], meta[ok].reset_index(drop=True)
        base = self._base(meta)
        target = np.log1p(y) - base
        D = self._design(X, meta, base)
        self.residual_quantiles_, self.mean_factor_ = self._calibrate(D, target, meta)
        self.model_ = self._lgb().fit(D, target)

    def _fit_site(self, site: str, g: pd.DataFrame) -> None:
        """Estimate one site's ETS on its latest segment, or record why it falls back.

        A latest segment too short goes to ``short_`` (fitted once it is long enough); a
        degenerate series or a failed fit to ``fallbacks_``.
        """
        g = _latest_rows(g)
        short = short_segment_reason(len(g))
        if short is not None:
            self.short_[site] = short
            return
        reason = degenerate_reason(g[schema.TARGET].to_numpy()[-self.max_history_days :])
        if reason is None:
            try:
                y = self._log_series(g, estimate=True)
                self.fits_[site] = fit_params(y[-self.max_history_days :], self.season)
            except DataError:
                raise
            except Exception as exc:  # one site's failure must not end a national run
                reason = f"ETS could not be fitted: {exc}"
        if reason is not None:
            self.fallbacks_[site] = reason
            return
        first = max(len(g) - self.max_history_days, 0)
        self.anchors_[site] = pd.Timestamp(g[schema.DATE].iloc[first])

    def _trainable(self, meta: pd.DataFrame, since: dict[str, np.ndarray]) -> np.ndarray:
        """Rows of fitted sites whose cutoff has ``warmup_days`` of filtering in its segment."""
        sites = meta["site_id"].astype(str)
        ok = sites.isin(list(self.states_)).to_numpy()
        ok &= np.isfinite(meta["level"].to_numpy()) & (meta["level"].to_numpy() > 0)
        elapsed = np.full(len(meta), np.nan)
        for site, idx in meta[ok].groupby(sites[ok], sort=False).indices.items():
            rows = meta[ok].iloc[idx]
            offset = (rows["cutoff"] - self.starts_[str(site)]).dt.days.to_numpy()
            inside = (offset >= 0) & (offset < len(since[str(site)]))
            values = np.full(len(rows), np.nan)
            values[inside] = since[str(site)][offset[inside]]
            elapsed[np.flatnonzero(ok)[idx]] = values
        with np.errstate(invalid="ignore"):
            return ok & (elapsed >= self.warmup_days)

    def _calibrate(
        self, D: pd.DataFrame, target: np.ndarray, meta: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        train, cal = calibration_split(meta, self.calibration_days)
        model = self._lgb().fit(D[train], target[train])
        resid = target[cal] - model.predict(D[cal])
        h = meta.loc[cal, "horizon"].to_numpy()
        q = per_horizon(resid, h, self.max_horizon, lambda e: np.quantile(e, QUANTILES))
        factor = per_horizon(resid, h, self.max_horizon, lambda e: np.mean(np.exp(e)))
        return q, factor

    def _update(self, history: pd.DataFrame) -> None:
        """Re-filter the states with the fitted parameters; fit sites never fitted.

        A site new to the model, or whose latest segment was too short at fit, gets its ETS
        estimated now (the correction model is kept); a site whose latest segment is too short
        gets the seasonal naive forecast until it is long enough.
        """
        sites_to_refilter(self, history, _latest_rows)
        if self.fits_:
            self._states(history)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a model pickled before ``anchors_`` existed keeps its old filter start.

        Its correction model was trained on ETS states filtered from the history's first day,
        so it keeps filtering from there (its old behaviour) rather than mixing the two.
        """
        self.__dict__.update(state)
        if "starts_" in state and "anchors_" not in state:
            self.anchors_ = dict(self.starts_)

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        if horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} exceeds max_horizon {self.max_horizon}; refit")
        from forecasting.models.naive import seasonal_naive

        fallbacks = {**getattr(self, "fallbacks_", {}), **getattr(self, "short_", {})}
        sites = set(self.history_[schema.SITE].astype(str))
        fitted_sites = set() if self.model_ is None else set(getattr(self, "states_", {}))
        fitted_sites = (fitted_sites & sites) - set(fallbacks)
        naive = seasonal_naive(self.history_, horizon, self.season, sites=sites - fitted_sites)
        if not fitted_sites:
            return naive
        X, meta = self._builder().prediction_rows(self.history_, horizon, future)
        fitted = meta["site_id"].astype(str).isin(list(fitted_sites)).to_numpy()
        X, meta = X[fitted].reset_index(drop=True), meta[fitted].reset_index(drop=True)
        base = self._base(meta)
        centre = base + self.model_.predict(self._design(X, meta, base))
        h = meta["horizon"].to_numpy() - 1
        out = meta.drop(columns="level").copy()
        out["mean"] = np.exp(centre) * self.mean_factor_[h] - 1
        out[list(QUANTILE_COLUMNS)] = np.expm1(centre[:, None] + self.residual_quantiles_[h])
        if naive.empty:
            return out
        return pd.concat([out, naive[out.columns]], ignore_index=True)


def _latest_rows(g: pd.DataFrame) -> pd.DataFrame:
    """The rows of the latest segment of one site's rows, sorted by date."""
    ids = segment_ids(g[schema.DATE].to_numpy())
    if len(ids) == 0:
        return g
    return g.iloc[int(np.argmax(ids == ids[-1])) :]
