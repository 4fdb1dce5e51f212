"""Ways of combining our models, scored offline on the benchmark's saved forecast frames.

Every combination is built from the members' backtest forecasts already in
``results/<dataset>_forecasts.csv.gz`` (same cutoffs, same refits), so no model is refitted:

    python experiments/ed_daily_benchmark/combinations.py [DATA_DIR]

Rows: the members, the package's ensemble (mean of hybrid, ETS and ARIMA quantiles), the same
with LightGBM, the quantile-wise median, and the best peers for reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasets import load  # noqa: E402
from run import markdown  # noqa: E402

from forecasting.evaluate.summary import evaluate  # noqa: E402
from forecasting.forecast_frame import QUANTILE_COLUMNS  # noqa: E402

KEYS = ["site_id", "cutoff", "date", "horizon"]
COLS = ["mean", *QUANTILE_COLUMNS]
PEERS = ("statsforecast: AutoETS", "statsforecast: AutoARIMA", "prophet", "mlforecast: LightGBM")
COMBOS: dict[str, tuple[tuple[str, ...], str]] = {
    "mean(hybrid, ets, arima) = ensemble": (("hybrid", "ets", "arima"), "mean"),
    "mean(hybrid, ets, arima, lightgbm)": (("hybrid", "ets", "arima", "lightgbm"), "mean"),
    "median(hybrid, ets, arima, lightgbm)": (("hybrid", "ets", "arima", "lightgbm"), "median"),
    "mean(hybrid, ets)": (("hybrid", "ets"), "mean"),
    "mean(hybrid, arima)": (("hybrid", "arima"), "mean"),
}


def combine(frames: pd.DataFrame, members: tuple[str, ...], how: str, name: str) -> pd.DataFrame:
    """Quantile-wise mean or median of the members' forecasts (Vincentization)."""
    parts = [
        frames[frames["model"] == f"ours: {m}"].sort_values(KEYS).reset_index(drop=True)
        for m in members
    ]
    stacked = np.stack([p[COLS].to_numpy(float) for p in parts])
    out = parts[0][[*KEYS, "y"]].copy()
    out[COLS] = stacked.mean(axis=0) if how == "mean" else np.median(stacked, axis=0)
    out["model"] = name
    return out


def main(data_dir: Path) -> None:
    """Print one table per dataset."""
    for ds in ("bern", "iowa", "wales"):
        frames = pd.read_csv(
            HERE / "results" / f"{ds}_forecasts.csv.gz", parse_dates=["cutoff", "date"]
        )
        frames["site_id"] = frames["site_id"].astype(str)
        history = load(ds, data_dir)
        rows = [combine(frames, m, how, name) for name, (m, how) in COMBOS.items()]
        keep = frames[frames["model"].isin([f"ours: {m}" for m in ("hybrid", "ets")] + list(PEERS))]
        table = evaluate(pd.concat([keep, *rows], ignore_index=True), history)
        table = table[["model", "MAE", "pinball", "cov90", "brier_skill"]].sort_values("pinball")
        print(f"\n{ds}\n" + markdown(table, {"MAE": 2, "pinball": 3, "cov90": 3}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data")
