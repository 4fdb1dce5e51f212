"""The benchmark's forecasters on common cutoffs: ours and the peers.

Every function returns rows ``site_id, cutoff, date, horizon, model, mean, q0.05 … q0.95``
(beds occupied) and optionally ``p_ge_0.95`` / ``p_ge_0.97`` (exceedance probabilities of
occupancy). The ground truth and the simple baselines come from :func:`pairs_table`: every
(trust, day, horizon) whose target day lies in the same segment (winter run of days).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from forecasting.data.segments import with_segments
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.occupancy import OccupancyForecaster

LINES: tuple[float, ...] = (0.95, 0.97)
LEVELS: tuple[int, ...] = (50, 80, 90)
H = 7


def pairs_table(frame: pd.DataFrame, horizon: int = H) -> pd.DataFrame:
    """Every (site, day t, h) with t + h in t's segment: last, same-weekday and target values."""
    seg = with_segments(frame)
    rows = []
    key = seg["site_id"].astype(str) + "|" + seg["segment"].astype(str)
    for h in range(1, horizon + 1):
        g = seg.groupby(key, sort=False)
        fut = g["attendances"].shift(-h)
        fut_beds = g["beds"].shift(-h)
        same = g["attendances"].shift(7 - h) if h < 7 else seg["attendances"]
        rows.append(
            pd.DataFrame(
                {
                    "site_id": seg["site_id"].astype(str),
                    "cutoff": seg["date"],
                    "date": seg["date"] + pd.Timedelta(days=h),
                    "horizon": h,
                    "y_last": seg["attendances"],
                    "beds_last": seg["beds"],
                    "y_sameweekday": same,
                    "y": fut,
                    "beds_y": fut_beds,
                    "day_in_segment": g.cumcount(),
                }
            ).dropna(subset=["y"])
        )
    out = pd.concat(rows, ignore_index=True)
    out["occ_last"] = out["y_last"] / out["beds_last"]
    out["occ"] = out["y"] / out["beds_y"]
    return out


# --------------------------------------------------------------------------------------------
# simple baselines (calibrated on the pairs before each cutoff)


def _empirical_quantiles(train: pd.DataFrame, residual: pd.Series) -> dict[int, np.ndarray]:
    """Per horizon: quantiles of a residual (occupancy points) in the training pairs."""
    out = {}
    for h, r in residual.groupby(train["horizon"]):
        out[int(h)] = np.quantile(r.dropna().to_numpy(), QUANTILES)
    return out


def _bins(occ: pd.Series) -> np.ndarray:
    return np.clip(np.floor(occ.to_numpy(dtype=float) * 100), 80, 104)


def persistence_probability(train: pd.DataFrame, test: pd.DataFrame, line: float) -> np.ndarray:
    """Empirical P(occ[t+h] >= line | occ[t] in its 1-point bin, h), learned on ``train``."""
    hit = (train["occ"] >= line).astype(float)
    table = hit.groupby([train["horizon"].to_numpy(), _bins(train["occ_last"])]).agg(
        ["sum", "count"]
    )
    prior = float(hit.mean())
    rate = (table["sum"] + prior) / (table["count"] + 1.0)  # one pseudo-observation
    keys = pd.MultiIndex.from_arrays([test["horizon"].to_numpy(), _bins(test["occ_last"])])
    return rate.reindex(keys).fillna(prior).to_numpy()


def baseline(
    pairs: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], kind: str, sites: Sequence[str]
) -> pd.DataFrame:
    """Persistence (``last``) or same weekday last week (``sameweekday``) on every cutoff.

    Quantiles: per-horizon empirical quantiles of the baseline's error in occupancy points on
    all pairs whose target day is on or before the cutoff, times beds open at the cutoff.
    """
    col = "y_last" if kind == "last" else "y_sameweekday"
    out = []
    for cut in cutoffs:
        train = pairs[(pairs["date"] <= cut) & pairs["beds_last"].ge(50)]
        test = pairs[(pairs["cutoff"] == cut) & pairs["site_id"].isin(sites)].copy()
        resid = (train["y"] - train[col]) / train["beds_last"]
        qs = _empirical_quantiles(train, resid)
        test["mean"] = test[col]
        q = np.vstack([qs[int(h)] for h in test["horizon"]])
        test[list(QUANTILE_COLUMNS)] = test[[col]].to_numpy() + q * test[["beds_last"]].to_numpy()
        if kind == "last":
            for line in LINES:
                test[f"p_ge_{line:g}"] = persistence_probability(train, test, line)
        out.append(test)
    name = "persistence" if kind == "last" else "same weekday last week"
    return pd.concat(out, ignore_index=True).assign(model=name)


# --------------------------------------------------------------------------------------------
# ours


def ours(
    frame: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    sites: Sequence[str],
    make: Callable[[], OccupancyForecaster],
    refits: Sequence[bool],
    name: str,
) -> pd.DataFrame:
    """Our model: refit where ``refits`` says (else roll forward) on all data to the cutoff."""
    model: OccupancyForecaster | None = None
    out = []
    for i, cut in enumerate(cutoffs):
        history = frame[frame["date"] <= cut]
        if model is None or refits[i]:
            model = make().fit(history)
        else:
            model.update(history)
        pred = model.predict_occupancy(H, thresholds=LINES)
        pred = pred[pred["site_id"].isin(sites) & (pred["cutoff"] == cut)]
        out.append(pred.rename(columns={f"p_occupancy_ge_{x:g}": f"p_ge_{x:g}" for x in LINES}))
    keep = ["site_id", "cutoff", "date", "horizon", "mean", *QUANTILE_COLUMNS]
    keep += [f"p_ge_{x:g}" for x in LINES]
    return pd.concat(out, ignore_index=True)[keep].assign(model=name)


# --------------------------------------------------------------------------------------------
# statsforecast AutoETS per trust on the current segment


def _from_levels(pred: pd.DataFrame, col: str) -> pd.DataFrame:
    out = pred.rename(columns={"unique_id": "site_id", "ds": "date", col: "mean"})
    for lv in LEVELS:
        lo, hi = (100 - lv) / 200, 1 - (100 - lv) / 200
        out[f"q{lo:g}"] = pred[f"{col}-lo-{lv}"]
        out[f"q{hi:g}"] = pred[f"{col}-hi-{lv}"]
    out["q0.5"] = out["mean"]
    return out


def autoets(
    frame: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], sites: Sequence[str]
) -> pd.DataFrame:
    """AutoETS(season_length=7) per trust, fitted at every cutoff on the cutoff's segment."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    seg = with_segments(frame[frame["site_id"].isin(sites)])
    out = []
    for cut in cutoffs:
        hist = seg[seg["date"] <= cut]
        last = hist.groupby("site_id")["segment"].transform("max")
        cur = hist[(hist["segment"] == last)]
        ends = cur.groupby("site_id")["date"].transform("max")
        size = cur.groupby("site_id")["date"].transform("size")
        cur = cur[(ends == cut) & (size >= 14)]
        df = cur.rename(columns={"site_id": "unique_id", "date": "ds", "attendances": "y"})
        sf = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=1)
        pred = sf.forecast(df=df[["unique_id", "ds", "y"]], h=H, level=list(LEVELS))
        pred = _from_levels(pred.reset_index(drop="unique_id" in pred.columns), "AutoETS")
        pred["cutoff"] = cut
        pred["horizon"] = (pred["date"] - cut).dt.days
        out.append(pred)
    return pd.concat(out, ignore_index=True).assign(model="statsforecast AutoETS")


# --------------------------------------------------------------------------------------------
# mlforecast LightGBM (global, one unique_id per trust and winter)


def _calendar(dates: pd.Series) -> pd.DataFrame:
    """Calendar of each row's own date (mlforecast aligns dynamic exogenous to the target)."""
    from forecasting.features.occupancy import christmas_offset

    d = pd.DatetimeIndex(dates)
    return pd.DataFrame(
        {"dayofweek": d.dayofweek, "xmas_offset": christmas_offset(d)}, index=dates.index
    )


def mlforecast_peer(
    frame: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    sites: Sequence[str],
    refits: Sequence[bool],
    n_estimators: int = 100,
) -> pd.DataFrame:
    """mlforecast LightGBM on occupancy (occupied / open), series = trust x winter.

    Direct strategy (``max_horizon=7``), lags 1, 7, 14 and a 7-day rolling mean of lag 1 (all
    within the trust-winter series, so no lag spans the summer gap), calendar of the target day
    as dynamic exogenous, conformal intervals (2 windows of 7 days). Forecast occupied =
    forecast occupancy x beds open at the cutoff.
    """
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.utils import PredictionIntervals

    seg = with_segments(frame[frame["beds"] > 0])
    df = pd.DataFrame(
        {
            "unique_id": seg["site_id"].astype(str) + "|" + seg["segment"].astype(str),
            "site_id": seg["site_id"].astype(str),
            "ds": seg["date"],
            "y": seg["attendances"] / seg["beds"],
            "beds": seg["beds"],
        }
    )
    df = pd.concat([df, _calendar(df["ds"])], axis=1)
    exog = ["unique_id", "ds", "dayofweek", "xmas_offset"]
    fcst = None
    known: set[str] = set()
    wanted = set(sites)
    previous = cutoffs[0]
    out = []
    for i, cut in enumerate(cutoffs):
        hist = df[df["ds"] <= cut]
        lengths = hist.groupby("unique_id")["ds"].transform("size")
        hist = hist[lengths >= 21]  # conformal windows (2 x 7 days) + lags need 3 weeks
        if fcst is None or refits[i]:
            fcst = MLForecast(
                models={
                    "lgb": lgb.LGBMRegressor(
                        n_estimators=n_estimators, n_jobs=1, verbose=-1, random_state=0
                    )
                },
                freq="D",
                lags=[1, 7, 14],
                lag_transforms={1: [RollingMean(window_size=7)]},
                num_threads=1,
            )
            fcst.fit(
                hist[[*exog, "y"]],
                static_features=[],
                max_horizon=H,
                prediction_intervals=PredictionIntervals(n_windows=2, h=H),
            )
            known = set(hist["unique_id"])
        else:
            fresh = df[(df["ds"] > previous) & (df["ds"] <= cut) & df["unique_id"].isin(known)]
            fcst.update(fresh[["unique_id", "ds", "y"]])
        current = df[df["ds"] <= cut].groupby("unique_id")["ds"].max()
        ids = [
            u
            for u in current.index[(current == cut).to_numpy()]
            if u in known and u.split("|")[0] in wanted
        ]
        if not ids:
            continue
        new = df[df["unique_id"].isin(ids) & (df["ds"] <= cut)]
        pred = fcst.predict(h=H, X_df=_future(ids, cut), level=list(LEVELS), ids=ids)
        previous = cut
        beds = new.groupby("unique_id")["beds"].last()
        pred = _from_levels(pred, "lgb")
        factor = pred["site_id"].map(beds).to_numpy()
        cols = ["mean", *QUANTILE_COLUMNS]
        pred[cols] = pred[cols].to_numpy() * factor[:, None]
        pred["site_id"] = pred["site_id"].str.split("|").str[0]
        pred["cutoff"] = cut
        pred["horizon"] = (pred["date"] - cut).dt.days
        out.append(pred)
    return pd.concat(out, ignore_index=True).assign(model="mlforecast LightGBM")


def _future(ids: Sequence[str], cut: pd.Timestamp) -> pd.DataFrame:
    """Calendar rows of the 7 target days of each series (built from dates, not data)."""
    dates = pd.date_range(cut + pd.Timedelta(days=1), periods=H, freq="D")
    rows = pd.DataFrame([(u, d) for u in ids for d in dates], columns=["unique_id", "ds"])
    return pd.concat([rows, _calendar(rows["ds"])], axis=1)


def timed(fn: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, float]:
    """Run ``fn`` and return its result and wall time in seconds."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
