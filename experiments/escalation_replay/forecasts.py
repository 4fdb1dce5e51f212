"""Stage 1 of the replay: one forecast per day of the last year, as `forecasting daily` would.

Each day of the test year is a cutoff; the model sees only data up to it, is re-estimated every
``refit_every`` days and rolled forward in between (as a daily cron job with a weekly or monthly
retrain would). Forecasts are cached as Parquet, so the warning rules can be replayed quickly.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "ed_daily_benchmark"))

from datasets import load  # noqa: E402
from ours import HOLIDAYS  # noqa: E402

from forecasting.evaluate.backtest import backtest  # noqa: E402
from forecasting.models import make_model  # noqa: E402

CACHE = HERE / "results" / "cache"
MODELS = ("snaive", "ensemble")


def replay_forecasts(
    name: str, data_dir: Path, days: int = 365, refit_every: int = 28, reuse: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Daily-cutoff forecasts (horizon 7) of the last ``days`` cutoffs for each model.

    Returns:
        The DemandFrame, the forecast frame with ``y``, and wall seconds per model.
    """
    frame = load(name, data_dir)[["site_id", "date", "attendances"]]
    country, subdiv = HOLIDAYS[name]
    CACHE.mkdir(parents=True, exist_ok=True)
    parts, seconds = [], {}
    for model in MODELS:
        path = CACHE / f"{name}-{model}-{days}-{refit_every}.parquet"
        if reuse and path.exists():
            parts.append(pd.read_parquet(path))
            continue
        t0 = time.perf_counter()
        m = make_model(model, 7, country, subdiv)
        bt = backtest(frame, [m], horizon=7, step=1, windows=days, refit_every=refit_every)
        seconds[model] = time.perf_counter() - t0
        bt.to_parquet(path)
        parts.append(bt)
    return frame, pd.concat(parts, ignore_index=True), seconds


if __name__ == "__main__":
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data"
    for ds in ("bern", "iowa"):
        _, fc, secs = replay_forecasts(ds, data)
        print(ds, len(fc), {k: round(v, 1) for k, v in secs.items()})
