"""The peers of the benchmark: the tools an analyst would otherwise use, on our cutoffs.

Every peer takes a DemandFrame (``site_id, date, attendances[, temperature]``) and the cutoffs of
our backtest (``forecasting.evaluate.backtest.cutoffs_for``) and returns a :class:`PeerResult`:
the forecast frame of DESIGN.md (``site_id, cutoff, date, horizon, model, mean, q0.05 … q0.95``
plus the observed ``y``) and the wall time of the whole peer backtest.

Quantiles come from the peer's own prediction intervals at levels 50, 80 and 90:
``q0.25/q0.75``, ``q0.1/q0.9`` and ``q0.05/q0.95``; ``q0.5`` is the point forecast (the
peers' intervals are symmetric around it), except Prophet whose quantiles are all taken from
its posterior predictive samples. Rows are sorted to be monotone and clipped at zero (counts),
as our own models' ``predict`` does.

Refit policy (``refit_every`` = k): the model is re-estimated at windows 0, k, 2k, …; in between
the peer's own mechanism rolls the fitted model forward over the newer data:
statsforecast's ``forward`` (same parameters, state filtered through the new observations),
mlforecast's ``predict(new_df=…)`` (same trees, lags recomputed from the new data). Prophet has no
such state, so in between it would only extrapolate its last fit: give it ``refit_every=1``
(the default of ``run.py``) unless time is short.

Settings (see README.md):

- ``snaive``: statsforecast ``SeasonalNaive(season_length=7)``; its intervals are Gaussian with the
  in-sample seasonal-naive residual sd, widened with the number of seasons ahead.
- ``autoarima``: ``AutoARIMA(season_length=7)`` (stepwise search, defaults).
- ``autoets``: ``AutoETS(season_length=7)`` (model "ZZZ", defaults).
- ``mlforecast``: ``LGBMRegressor`` (library defaults, ``n_jobs=1``), direct strategy
  (``max_horizon=h``), lags 1, 7, 14, 28, rolling means over 7 and 28 days of lag 1, calendar of
  the *target* day (day of week, month, day of year) as dynamic exogenous columns (mlforecast's
  built-in ``date_features`` are misaligned under the direct strategy, see DESIGN.md), conformal
  intervals ``PredictionIntervals(n_windows=CONFORMAL_WINDOWS, h=h)``.
- ``prophet``: weekly and yearly seasonality, country holidays, posterior predictive samples
  (``PROPHET_SAMPLES``) for all quantiles from one fit per refit.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.forecast_frame import FORECAST_COLUMNS, QUANTILE_COLUMNS, QUANTILES

LEVELS: tuple[int, ...] = (50, 80, 90)
#: interval level -> (lower, upper) quantile column of the forecast frame
LEVEL_COLUMNS: dict[int, tuple[str, str]] = {
    90: ("q0.05", "q0.95"),
    80: ("q0.1", "q0.9"),
    50: ("q0.25", "q0.75"),
}
PEERS: tuple[str, ...] = ("snaive", "autoarima", "autoets", "mlforecast", "prophet")
DISPLAY: dict[str, str] = {
    "snaive": "statsforecast: SeasonalNaive",
    "autoarima": "statsforecast: AutoARIMA",
    "autoets": "statsforecast: AutoETS",
    "mlforecast": "mlforecast: LightGBM",
    "prophet": "prophet",
}
CONFORMAL_WINDOWS = 20
PROPHET_SAMPLES = 1000
#: what a cached peer frame depends on besides the protocol (bump when a peer's setup changes)
SETTINGS: dict[str, object] = {
    "version": 1,
    "levels": LEVELS,
    "conformal_windows": CONFORMAL_WINDOWS,
    "prophet_samples": PROPHET_SAMPLES,
}


@dataclass
class PeerResult:
    """A peer's backtest frame (with ``y``) and its wall time in seconds."""

    forecasts: pd.DataFrame
    seconds: float
    note: str = ""


# --------------------------------------------------------------------------------------------
# shared helpers


def _step_of(cutoffs: Sequence[pd.Timestamp]) -> int:
    if len(cutoffs) < 2:
        return 1
    steps = {int((b - a).days) for a, b in itertools.pairwise(cutoffs)}
    if len(steps) != 1:
        raise ValueError(f"cutoffs must be evenly spaced, got steps {sorted(steps)}")
    return steps.pop()


def _nixtla_frame(frame: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], horizon: int):
    """``unique_id, ds, y`` up to the last scored day (Nixtla tools count windows from the end)."""
    end = pd.Timestamp(cutoffs[-1]) + pd.Timedelta(days=horizon)
    df = frame[frame["date"] <= end]
    out = pd.DataFrame(
        {
            "unique_id": df["site_id"].astype(str).to_numpy(),
            "ds": pd.to_datetime(df["date"]).to_numpy(),
            "y": df["attendances"].to_numpy(dtype=float),
        }
    )
    counts = out.groupby("unique_id")["ds"].agg(["min", "max", "count"])
    span = (counts["max"] - counts["min"]).dt.days + 1
    if (span != counts["count"]).any() or (counts["max"] != end).any():
        raise ValueError("Nixtla peers need contiguous daily series that all end on the same day")
    return out.sort_values(["unique_id", "ds"]).reset_index(drop=True)


def _check_cutoffs(got: pd.Series, want: Sequence[pd.Timestamp], peer: str) -> None:
    got_set = sorted(pd.to_datetime(pd.Series(got).unique()))
    want_set = sorted(pd.Timestamp(c) for c in want)
    if [pd.Timestamp(g) for g in got_set] != want_set:
        raise AssertionError(
            f"{peer}: cutoffs differ from ours (got {got_set[0]}..{got_set[-1]}, "
            f"n={len(got_set)}; want {want_set[0]}..{want_set[-1]}, n={len(want_set)})"
        )


def _finish(out: pd.DataFrame, model: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Contract columns, monotone non-negative quantiles, ``horizon``, and the observed ``y``."""
    out = out.copy()
    out["site_id"] = out["site_id"].astype(str)
    out["cutoff"] = pd.to_datetime(out["cutoff"])
    out["date"] = pd.to_datetime(out["date"])
    out["horizon"] = (out["date"] - out["cutoff"]).dt.days.astype(int)
    out["model"] = model
    q = np.sort(out[list(QUANTILE_COLUMNS)].to_numpy(dtype=float), axis=1)
    out[list(QUANTILE_COLUMNS)] = np.maximum(q, 0.0)
    out["mean"] = np.maximum(out["mean"].to_numpy(dtype=float), 0.0)
    out = out[list(FORECAST_COLUMNS)]
    truth = pd.DataFrame(
        {
            "site_id": frame["site_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(frame["date"]).to_numpy(),
            "y": frame["attendances"].to_numpy(dtype=float),
        }
    )
    out = out.merge(truth, on=["site_id", "date"], how="left")
    return out.sort_values(["site_id", "cutoff", "horizon"]).reset_index(drop=True)


def _from_intervals(cv: pd.DataFrame, point: str, prefix: str) -> pd.DataFrame:
    """Nixtla cross-validation output -> forecast columns (``prefix-lo-90`` etc.)."""
    out = pd.DataFrame(
        {
            "site_id": cv["unique_id"].astype(str),
            "cutoff": cv["cutoff"],
            "date": cv["ds"],
            "mean": cv[point].astype(float),
            "q0.5": cv[point].astype(float),
        }
    )
    for level, (lo, hi) in LEVEL_COLUMNS.items():
        out[lo] = cv[f"{prefix}-lo-{level}"].astype(float)
        out[hi] = cv[f"{prefix}-hi-{level}"].astype(float)
    return out


# --------------------------------------------------------------------------------------------
# statsforecast


def _statsforecast(
    kind: str,
    frame: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    horizon: int,
    refit_every: int,
) -> PeerResult:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    start = time.perf_counter()
    make = {
        "snaive": lambda: SeasonalNaive(season_length=7, alias="peer"),
        "autoarima": lambda: AutoARIMA(season_length=7, alias="peer"),
        "autoets": lambda: AutoETS(season_length=7, alias="peer"),
    }[kind]
    df = _nixtla_frame(frame, cutoffs, horizon)
    sf = StatsForecast(models=[make()], freq="D", n_jobs=1)
    cv = sf.cross_validation(
        h=horizon,
        df=df,
        n_windows=len(cutoffs),
        step_size=_step_of(cutoffs),
        level=list(LEVELS),
        refit=True if refit_every <= 1 else int(refit_every),
    )
    _check_cutoffs(cv["cutoff"], cutoffs, kind)
    out = _finish(_from_intervals(cv, "peer", "peer"), DISPLAY[kind], frame)
    return PeerResult(out, time.perf_counter() - start, f"refit every {max(refit_every, 1)}")


# --------------------------------------------------------------------------------------------
# mlforecast


def _calendar(dates: pd.Series) -> pd.DataFrame:
    """Calendar of each row's own date; mlforecast aligns dynamic exog to the target day."""
    d = pd.to_datetime(dates)
    return pd.DataFrame(
        {
            "dayofweek": d.dt.dayofweek.to_numpy(),
            "month": d.dt.month.to_numpy(),
            "dayofyear": d.dt.dayofyear.to_numpy(),
        },
        index=dates.index,
    )


def _mlforecast(
    frame: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    horizon: int,
    refit_every: int,
    conformal_windows: int = CONFORMAL_WINDOWS,
    seed: int = 0,
) -> PeerResult:
    """A manual loop rather than ``MLForecast.cross_validation(refit=k)``.

    In mlforecast 1.1, ``cross_validation`` with an integer ``refit`` predicts the windows it does
    not refit with ``predict(new_df=…, level=…)``, which runs the "transfer conformal" backtest
    and then fails because it passes no ``X_df`` for the exogenous calendar. Here the windows in
    between refits call ``update`` (append the new observations: lags move on, trees and
    conformity scores stay) and ``predict(h, X_df=…, level=…)``. With ``refit_every=1`` this is
    exactly ``cross_validation(refit=True)``.
    """
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.utils import PredictionIntervals

    start = time.perf_counter()
    df = _nixtla_frame(frame, cutoffs, horizon)
    df = pd.concat([df, _calendar(df["ds"])], axis=1)
    exog = ["unique_id", "ds", *_calendar(df["ds"].head(1)).columns]
    k = max(int(refit_every), 1)
    fcst = None
    previous = None
    rows = []
    for i, cut in enumerate(cutoffs):
        if i % k == 0:
            fcst = MLForecast(
                models={"peer": lgb.LGBMRegressor(n_jobs=1, verbose=-1, random_state=seed)},
                freq="D",
                lags=[1, 7, 14, 28],
                lag_transforms={1: [RollingMean(window_size=7), RollingMean(window_size=28)]},
                num_threads=1,
            )
            fcst.fit(
                df[df["ds"] <= cut],
                # empty list: the calendar columns are dynamic (None would make them static)
                static_features=[],
                max_horizon=horizon,
                prediction_intervals=PredictionIntervals(n_windows=conformal_windows, h=horizon),
            )
        else:
            assert fcst is not None and previous is not None
            new = df[(df["ds"] > previous) & (df["ds"] <= cut)]
            fcst.update(new[["unique_id", "ds", "y"]])
        assert fcst is not None
        future = df[(df["ds"] > cut) & (df["ds"] <= cut + pd.Timedelta(days=horizon))]
        pred = fcst.predict(h=horizon, X_df=future[exog], level=list(LEVELS))
        rows.append(pred.assign(cutoff=cut))
        previous = cut
    cv = pd.concat(rows, ignore_index=True)
    _check_cutoffs(cv["cutoff"], cutoffs, "mlforecast")
    out = _finish(_from_intervals(cv, "peer", "peer"), DISPLAY["mlforecast"], frame)
    note = f"refit every {k}; conformal n_windows={conformal_windows}"
    return PeerResult(out, time.perf_counter() - start, note)


# --------------------------------------------------------------------------------------------
# Prophet


def _prophet(
    frame: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    horizon: int,
    refit_every: int,
    country: str | None,
    samples: int = PROPHET_SAMPLES,
    seed: int = 0,
) -> PeerResult:
    from prophet import Prophet

    logging.getLogger("cmdstanpy").disabled = True  # one INFO line per fit otherwise
    logging.getLogger("prophet").setLevel(logging.WARNING)
    start = time.perf_counter()
    df = _nixtla_frame(frame, cutoffs, horizon)
    k = max(int(refit_every), 1)
    rows = []
    for site, g in df.groupby("unique_id", sort=True):
        g = g[["ds", "y"]].reset_index(drop=True)
        model = None
        for i, cut in enumerate(cutoffs):
            if i % k == 0:
                model = Prophet(
                    weekly_seasonality=True,
                    yearly_seasonality=True,
                    daily_seasonality=False,
                    uncertainty_samples=samples,
                )
                if country:
                    model.add_country_holidays(country_name=country)
                model.fit(g[g["ds"] <= cut])
            assert model is not None
            future = pd.DataFrame(
                {"ds": pd.date_range(cut + pd.Timedelta(days=1), periods=horizon)}
            )
            model.uncertainty_samples = 0  # point forecast only, without the sampling
            yhat = model.predict(future)["yhat"].to_numpy()
            model.uncertainty_samples = samples
            np.random.seed(seed + i)  # Prophet samples with numpy's global generator
            draws = model.predictive_samples(future)["yhat"]  # (horizon, samples)
            q = np.quantile(draws, QUANTILES, axis=1).T
            block = pd.DataFrame(
                {"site_id": site, "cutoff": cut, "date": future["ds"], "mean": yhat}
            )
            block[list(QUANTILE_COLUMNS)] = q
            rows.append(block)
    out = _finish(pd.concat(rows, ignore_index=True), DISPLAY["prophet"], frame)
    note = f"refit every {k}; holidays {country or 'none'}; {samples} predictive samples"
    return PeerResult(out, time.perf_counter() - start, note)


# --------------------------------------------------------------------------------------------
# entry point


def run_peer(
    name: str,
    frame: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    horizon: int,
    refit_every: int = 1,
    country: str | None = None,
) -> PeerResult | None:
    """Backtest one peer on our cutoffs; ``None`` (with a printed note) if it cannot import.

    Args:
        name: One of :data:`PEERS`.
        frame: The DemandFrame.
        cutoffs: Our backtest's cutoffs (evenly spaced).
        horizon: Days ahead at each cutoff.
        refit_every: Re-estimate every this many windows (roll forward in between).
        country: ISO country code for Prophet's holidays (``CH``, ``US``, ``GB``).
    """
    runners: dict[str, Callable[[], PeerResult]] = {
        "snaive": lambda: _statsforecast("snaive", frame, cutoffs, horizon, refit_every),
        "autoarima": lambda: _statsforecast("autoarima", frame, cutoffs, horizon, refit_every),
        "autoets": lambda: _statsforecast("autoets", frame, cutoffs, horizon, refit_every),
        "mlforecast": lambda: _mlforecast(frame, cutoffs, horizon, refit_every),
        "prophet": lambda: _prophet(frame, cutoffs, horizon, refit_every, country),
    }
    if name not in runners:
        raise ValueError(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")
    try:
        return runners[name]()
    except ImportError as exc:
        print(f"  skipping peer {name}: cannot import ({exc})", flush=True)
        return None
