"""Issue 12: bias of a daily roll-forward (step 1) against the weekly backtest (step 7).

Usage (from the repository root):

    .venv/bin/python experiments/daily_rollforward/run.py [DATA_DIR] [--out DIR]

``DATA_DIR`` defaults to ``../shared/data`` next to the repository. Two series: the Iowa ED
(1,735 days, more than the models' 1,100-day estimation window) and a synthetic series with a
strong Monday peak (1,500 days, Monday 30% above midweek, Poisson noise). Per model: the mean
error (forecast mean minus observed) by horizon h1..h7, on Mondays, and the MAE, for

- step 1: 84 daily cutoffs, re-estimated every 28 and rolled forward (``update``) in between,
  as ``forecasting daily`` does every morning;
- step 7: 12 weekly cutoffs over the same 84 days, re-estimated every 4.

The ensemble row is the equal-weight average of its members' forecasts (hybrid, ETS, ARIMA),
which is what :class:`EnsembleForecaster` computes; its members run once. The tables are
printed and written to ``DIR/results.md`` (and the forecast frames to ``DIR/forecasts.csv.gz``).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forecasting.data.load import load_demand  # noqa: E402
from forecasting.data.schema import ColumnMapping  # noqa: E402
from forecasting.errors import ForecastingWarning  # noqa: E402
from forecasting.evaluate.backtest import backtest  # noqa: E402
from forecasting.models import make_model  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "data"
MEMBERS = ("hybrid", "ets", "arima")
MODELS = ("snaive", *MEMBERS)
HOLIDAYS = {"iowa": ("US", "IA"), "synthetic": ("GB", "ENG")}
PROTOCOLS = {1: {"windows": 84, "refit_every": 28}, 7: {"windows": 12, "refit_every": 4}}


def iowa(data_dir: Path) -> pd.DataFrame:
    mapping = ColumnMapping(site_id=None, attendances="arrivals")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastingWarning)
        frame = load_demand(data_dir / "uihc_ed_hourly" / "uihc_ed_arrivals_daily.csv", mapping)
    return frame[["site_id", "date", "attendances"]].assign(site_id="iowa")


def synthetic(n_days: int = 1500, seed: int = 0) -> pd.DataFrame:
    """One site, Poisson around 200 with Monday 30% above midweek and quiet weekends."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2019-01-02", periods=n_days, freq="D")
    weekly = np.array([1.3, 1.05, 1.0, 1.0, 0.97, 0.85, 0.85])[dates.dayofweek]
    y = rng.poisson(200 * weekly).astype(float)
    return pd.DataFrame({"site_id": "synthetic", "date": dates, "attendances": y})


def run(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    country, subdiv = HOLIDAYS[dataset]
    frames = []
    for step, protocol in PROTOCOLS.items():
        for name in MODELS:
            start = time.perf_counter()
            model = make_model(name, 7, country, subdiv)
            bt = backtest(frame, [model], horizon=7, step=step, **protocol)
            seconds = time.perf_counter() - start
            print(f"  {dataset} {name} step {step}: {seconds:.0f} s", flush=True)
            frames.append(bt.assign(dataset=dataset, step=step))
        members = pd.concat([f for f in frames[-len(MODELS) :] if f["model"].iloc[0] in MEMBERS])
        keys = ["site_id", "cutoff", "date", "horizon", "y", "dataset", "step"]
        ensemble = members.groupby(keys, as_index=False)[["mean", "q0.5"]].mean()
        frames.append(ensemble.assign(model="ensemble"))
    return pd.concat(frames, ignore_index=True)


def summary(bt: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (dataset, model, step), g in bt.groupby(["dataset", "model", "step"], sort=False):
        error = g["mean"] - g["y"]
        row = {"dataset": dataset, "model": model, "step": step}
        row |= {f"h{h}": e for h, e in error.groupby(g["horizon"]).mean().items()}
        row["Mon"] = error[g["date"].dt.dayofweek == 0].mean()
        row["MAE"] = error.abs().mean()
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table, numbers to one decimal (no tabulate dependency)."""

    def cell(v: object) -> str:
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    bt = pd.concat(
        [run(iowa(args.data_dir), "iowa"), run(synthetic(), "synthetic")], ignore_index=True
    )
    bt.to_csv(args.out / "forecasts.csv.gz", index=False)
    table = summary(bt)
    text = markdown(table)
    print(text)
    (args.out / "results.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
