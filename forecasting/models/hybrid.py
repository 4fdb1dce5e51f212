"""ETS baseline + global LightGBM correction: the local level of ETS, the context of trees.

Per site, ETS (weekly, log scale) tracks the level and weekday shape; one LightGBM over all
sites learns what ETS cannot see (holidays, the annual cycle, recent surges, exogenous
drivers) as a correction in log space. Quantiles are conformal: residual quantiles per
horizon on held-out recent cutoffs.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.errors import DataError
from forecasting.features.builder import DirectFeatures
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.base import Forecaster, degenerate_reason, warn_fallbacks
from forecasting.models.conformal import calibration_split, per_horizon
from forecasting.models.ets import _model, _SiteFit, fit_site, in_phase_start
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
            calendar) before ETS, as :class:`ETSForecaster` does, and add them back.
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
        from forecasting.models.regressors import weekly_difference_regression

        z = np.log1p(g[schema.TARGET].to_numpy(dtype=float))
        if not self.calendar:
            return z
        site = str(g[schema.SITE].iloc[0])
        X = self._calendar(pd.DatetimeIndex(g[schema.DATE]))
        if estimate:
            n = self.max_history_days
            design = np.hstack([np.ones((len(z), 1)), X])
            self.betas_[site] = weekly_difference_regression(z[-n:], design[-n:])[1:]
        return z - X @ self.betas_[site]

    def _states(self, history: pd.DataFrame) -> None:
        """Filter each site's ETS states with the fitted parameters.

        The filter starts on the history's first day in phase with the estimation window's start
        (``anchors_``), so the seasonal states keep their weekdays whatever the history's start.
        """
        self.states_: dict[str, pd.DataFrame] = {}
        self.starts_: dict[str, pd.Timestamp] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for site, g in history.groupby(schema.SITE, sort=True):
                if str(site) not in self.fits_:  # a fallback site: seasonal naive
                    continue
                start = in_phase_start(
                    self.anchors_[str(site)], g[schema.DATE].iloc[0], self.season
                )
                g = g[g[schema.DATE] >= start]
                y = self._log_series(g)
                fit = self.fits_[str(site)]
                model = _model(y, fit.trend, fit.damped, self.season)
                _, states = model.smooth(fit.params, return_raw=True)  # 30x cheaper than results
                names = ["level", "trend", "seasonal"] if fit.trend else ["level", "seasonal"]
                self.states_[str(site)] = pd.DataFrame(np.asarray(states), columns=names)
                self.starts_[str(site)] = start

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
        self.fits_ = {}
        self.betas_: dict[str, np.ndarray] = {}
        self.anchors_: dict[str, pd.Timestamp] = {}
        self.fallbacks_: dict[str, str] = {}
        for site, g in history.groupby(schema.SITE, sort=True):
            reason = degenerate_reason(g[schema.TARGET].to_numpy()[-self.max_history_days :])
            if reason is None:
                try:
                    y = self._log_series(g, estimate=True)
                    self.fits_[str(site)] = fit_site(y[-self.max_history_days :], self.season)
                except DataError:
                    raise
                except Exception as exc:  # one site's failure must not end a national run
                    reason = f"ETS could not be fitted: {exc}"
            if reason is not None:
                self.fallbacks_[str(site)] = reason
                continue
            first = max(len(g) - self.max_history_days, 0)
            self.anchors_[str(site)] = pd.Timestamp(g[schema.DATE].iloc[first])
        warn_fallbacks(self.name, self.fallbacks_)
        self.model_: Any = None
        if not self.fits_:
            return
        self._states(history)
        X, y, meta = self._builder().training_rows(history, self.max_horizon)
        start = meta["site_id"].astype(str).map(self.starts_)
        ok = meta["site_id"].astype(str).isin(list(self.fits_)).to_numpy()
        ok &= ((meta["cutoff"] - start).dt.days >= self.warmup_days).fillna(False).to_numpy()
        ok &= np.isfinite(meta["level"].to_numpy()) & (meta["level"].to_numpy() > 0)
        X, y, meta = X[ok].reset_index(drop=True), y[ok], meta[ok].reset_index(drop=True)
        base = self._base(meta)
        target = np.log1p(y) - base
        D = self._design(X, meta, base)
        self.residual_quantiles_, self.mean_factor_ = self._calibrate(D, target, meta)
        self.model_ = self._lgb().fit(D, target)

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

        fallbacks = getattr(self, "fallbacks_", {})
        naive = seasonal_naive(self.history_, horizon, self.season, sites=fallbacks)
        if self.model_ is None:  # every site fell back
            return naive
        X, meta = self._builder().prediction_rows(self.history_, horizon, future)
        fitted = ~meta["site_id"].astype(str).isin(list(fallbacks)).to_numpy()
        X, meta = X[fitted].reset_index(drop=True), meta[fitted].reset_index(drop=True)
        base = self._base(meta)
        centre = base + self.model_.predict(self._design(X, meta, base))
        h = meta["horizon"].to_numpy() - 1
        out = meta.drop(columns="level").copy()
        out["mean"] = np.exp(centre) * self.mean_factor_[h] - 1
        out[list(QUANTILE_COLUMNS)] = np.expm1(centre[:, None] + self.residual_quantiles_[h])
        if not fallbacks:
            return out
        return pd.concat([out, naive[out.columns]], ignore_index=True)
