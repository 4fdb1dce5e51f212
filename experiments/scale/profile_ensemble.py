"""Per-series CPU of fit, update and predict of each ensemble member on Welsh series.

Runs the backtest loop of :func:`forecasting.evaluate.backtest.run_chunk` (fit at the first
cutoff of each chunk of ``--refit-every`` windows, ``update`` at the others, ``predict`` at
every cutoff) for each member of the default ``ensemble`` (hybrid, ets, arima) separately,
timing each call with :func:`time.process_time` (CPU of this process, all threads), and prints
CPU seconds per series per call and per series for the whole backtest.

The series: ``--series N`` of the 691 bottom-level Welsh ambulance series (health board x
category x nature of incident), chosen by a fixed rule: the site ids sorted, ``N`` evenly
spaced positions (``numpy.linspace(0, 690, N)`` rounded).

``--save PATH`` writes the members' and the ensemble's forecasts (Parquet) so that a later run
(``--compare PATH``) prints the largest absolute difference of the mean and quantiles and the
MAE and pinball loss of both runs, member by member.

Usage (from the repository root)::

    .venv/bin/python experiments/scale/profile_ensemble.py --series 40 --windows 8 \\
        --save /tmp/before.parquet
    .venv/bin/python experiments/scale/profile_ensemble.py --series 40 --windows 8 \\
        --compare /tmp/before.parquet
    .venv/bin/python experiments/scale/profile_ensemble.py --series 5 --windows 8 \\
        --profile arima   # cProfile of one member, top functions by cumulative time
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.load import load_demand
from forecasting.data.schema import ColumnMapping
from forecasting.evaluate.backtest import cutoffs_for
from forecasting.evaluate.metrics import pinball
from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.models import make_model
from forecasting.models.base import Forecaster, clone

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
WALES = (
    DATA / "wales_ambulance_hierarchical" / "wales_ambulance_incidents_hierarchical_daily.csv.gz"
)
KEYS = ["site_id", "cutoff", "date", "horizon"]
COLS = ["mean", *QUANTILE_COLUMNS]


def load_wales(n_series: int, path: Path = WALES) -> pd.DataFrame:
    """The Welsh bottom-level series, ``n_series`` of them chosen by the fixed rule."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = load_demand(
            path,
            ColumnMapping(site_id="lhb_code,category,nature_of_incident", attendances="incidents"),
        )
    sites = np.sort(frame[schema.SITE].astype(str).unique())
    n = min(n_series, len(sites))
    keep = sites[np.unique(np.round(np.linspace(0, len(sites) - 1, n)).astype(int))]
    return frame[frame[schema.SITE].isin(keep)].reset_index(drop=True)


def run_member(
    template: Forecaster, frame: pd.DataFrame, cuts: list[pd.Timestamp], refit_every: int
) -> tuple[dict[str, list[float]], pd.DataFrame]:
    """CPU seconds of each fit/update/predict call, and the forecasts (as ``run_chunk``)."""
    times: dict[str, list[float]] = {"fit": [], "update": [], "predict": []}
    out = []
    model = template
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, cut in enumerate(cuts):
            history = frame[frame[schema.DATE] <= cut]
            t = time.process_time()
            if i % refit_every == 0:
                model = clone(template).fit(history)
                times["fit"].append(time.process_time() - t)
            else:
                model.update(history)
                times["update"].append(time.process_time() - t)
            future = frame[
                (frame[schema.DATE] > cut) & (frame[schema.DATE] <= cut + pd.Timedelta(days=7))
            ]
            t = time.process_time()
            pred = model.predict(7, future=future.drop(columns=[schema.TARGET]))
            times["predict"].append(time.process_time() - t)
            out.append(pred)
    return times, pd.concat(out, ignore_index=True)


def ensemble_of(forecasts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Equal-weight average of the members' forecasts (what ``EnsembleForecaster`` does)."""
    frames = [f.sort_values(KEYS).reset_index(drop=True) for f in forecasts.values()]
    out = frames[0][KEYS].copy()
    out[COLS] = np.mean([f[COLS].to_numpy(dtype=float) for f in frames], axis=0)
    out["model"] = "ensemble"
    return out


def scores(bt: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """MAE and pinball loss per model against the observed counts."""
    truth = frame[[schema.SITE, schema.DATE, schema.TARGET]].rename(columns={schema.TARGET: "y"})
    scored = bt.merge(truth, on=[schema.SITE, schema.DATE], how="left").dropna(subset=["y"])
    rows = []
    for model, g in scored.groupby("model", sort=False):
        y = g["y"].to_numpy(dtype=float)
        rows.append(
            {
                "model": model,
                "MAE": float(np.mean(np.abs(y - g["mean"].to_numpy(dtype=float)))),
                "pinball": pinball(y, g[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def compare(now: pd.DataFrame, before: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Largest absolute difference of mean and quantiles, and scores before and after."""
    rows = []
    for model, g in now.groupby("model", sort=False):
        b = before[before["model"] == model]
        m = g.merge(b, on=KEYS, suffixes=("", "_b"), how="outer", indicator=True)
        both = m["_merge"] == "both"
        diff = np.abs(
            m.loc[both, COLS].to_numpy(float)
            - m.loc[both, [c + "_b" for c in COLS]].to_numpy(float)
        )
        rows.append(
            {
                "model": model,
                "rows": int(both.sum()),
                "unmatched": int((~both).sum()),
                "max|d mean|": float(diff[:, 0].max()),
                "max|d q|": float(diff[:, 1:].max()),
                "max rel d mean": float(
                    (diff[:, 0] / np.maximum(m.loc[both, "mean_b"].to_numpy(float), 1.0)).max()
                ),
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    s_now, s_before = scores(now, frame), scores(before, frame)
    table["MAE before"] = s_before["MAE"]
    table["MAE after"] = s_now["MAE"]
    table["pinball before"] = s_before["pinball"]
    table["pinball after"] = s_now["pinball"]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--refit-every", type=int, default=4)
    parser.add_argument("--members", default="hybrid,ets,arima")
    parser.add_argument("--save", type=Path, help="Write the forecasts here (Parquet).")
    parser.add_argument("--compare", type=Path, help="Compare with forecasts saved earlier.")
    parser.add_argument("--profile", help="cProfile this member; print the top functions.")
    args = parser.parse_args()

    frame = load_wales(args.series)
    n = frame[schema.SITE].nunique()
    cuts = cutoffs_for(frame, 7, 7, args.windows)
    members = {m.name: m for m in make_model("ensemble").members}  # type: ignore[attr-defined]
    wanted = args.members.split(",")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_member(members[args.profile], frame, cuts, args.refit_every)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    rows, forecasts = [], {}
    for name in wanted:
        times, forecasts[name] = run_member(members[name], frame, cuts, args.refit_every)
        total = sum(sum(v) for v in times.values())
        rows.append(
            {
                "member": name,
                "fit": np.mean(times["fit"]) / n,
                "update": np.mean(times["update"]) / n if times["update"] else np.nan,
                "predict": np.mean(times["predict"]) / n,
                f"backtest ({args.windows} windows)": total / n,
            }
        )
    table = pd.DataFrame(rows).set_index("member")
    table.loc["ensemble"] = table.sum()
    print(
        f"CPU seconds per series ({n} series, {args.windows} windows, "
        f"refit every {args.refit_every}):"
    )
    print(table.round(4).to_string())
    e = table.loc["ensemble"]
    fits = -(-52 // args.refit_every)
    per_series_52 = fits * e["fit"] + (52 - fits) * e["update"] + 52 * e["predict"]
    print(
        f"extrapolated 691 series x 52 windows: {per_series_52:.2f} s/series, "
        f"{691 * per_series_52 / 3600:.2f} h CPU, "
        f"{691 * per_series_52 / 3600 / 2:.2f} h on 2 workers"
    )
    bt = pd.concat([f.assign(model=k) for k, f in forecasts.items()], ignore_index=True)
    if set(wanted) == {"hybrid", "ets", "arima"}:
        bt = pd.concat([bt, ensemble_of(forecasts)], ignore_index=True)
    if args.save:
        bt.to_parquet(args.save)
    if args.compare:
        before = pd.read_parquet(args.compare)
        with pd.option_context("display.width", 200, "display.float_format", "{:.6g}".format):
            print(compare(bt, before, frame).to_string())


if __name__ == "__main__":
    main()
