"""Replay the last year of Bern and Iowa day by day: level >= 3 warnings against surge days.

Usage (from the repository root)::

    python experiments/escalation_replay/replay.py [DATA_DIR]

Stage 1 (:mod:`forecasts`) makes one 7-day forecast per day of the last year with the champion
type (``ensemble``) and with ``snaive``, each seeing only data up to its day. Stage 2 turns each
day's forecast into warnings with :func:`forecasting.escalation.assess`, as ``forecasting daily``
would, and scores them with :func:`forecasting.escalation.evaluate_warnings`.

Neither series has bed counts, so occupancy is switched off (a bed count no forecast can fill);
the levels here come from the surge probabilities alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from forecasts import MODELS, replay_forecasts  # noqa: E402
from run import markdown  # noqa: E402  (the benchmark's table printer)

from forecasting.config import Config, SiteSettings  # noqa: E402
from forecasting.escalation import assess, evaluate_warnings  # noqa: E402

NO_OCCUPANCY_BEDS = 10**7
DATASETS = ("bern", "iowa")


def replay_warnings(frame: pd.DataFrame, forecasts: pd.DataFrame, model: str) -> pd.DataFrame:
    """The warnings `forecasting daily` would have issued on each cutoff of ``forecasts``."""
    sites = {s: SiteSettings(beds=NO_OCCUPANCY_BEDS) for s in frame["site_id"].unique()}
    cfg = Config(sites=sites)
    f = forecasts[forecasts["model"] == model]
    parts = []
    for cutoff, g in f.groupby("cutoff", sort=True):
        parts.append(assess(g.drop(columns="y"), frame, cfg, as_of=cutoff))
    return pd.concat(parts, ignore_index=True)


def flat_lines(frame: pd.DataFrame, first_cutoff: pd.Timestamp) -> pd.Series:
    """Per site, the 90th percentile of the 365 days before the first cutoff (one fixed line)."""
    before = frame[
        (frame["date"] <= first_cutoff) & (frame["date"] > first_cutoff - pd.Timedelta(days=365))
    ]
    return before.groupby("site_id")["attendances"].quantile(0.9)


def main(data_dir: Path) -> pd.DataFrame:
    """Score both models' warnings on both datasets; print and return one table."""
    rows = []
    for ds in DATASETS:
        frame, fc, _ = replay_forecasts(ds, data_dir)
        first = pd.Timestamp(fc["cutoff"].min())
        for model in MODELS:
            t0 = time.perf_counter()
            issued = replay_warnings(frame, fc, model)
            secs = time.perf_counter() - t0
            lines = (("weekday line", None), ("flat p90", flat_lines(frame, first)))
            for line, thresholds in lines:
                for level in (2, 3):
                    s = evaluate_warnings(issued, frame, level=level, thresholds=thresholds)
                    s = s[s["site_id"] == "all"].iloc[0]
                    rows.append(
                        {
                            "dataset": ds,
                            "surge days": line,
                            "model": model,
                            "level": f">={level}",
                            "days": int(s["days"]),
                            "surges": int(s["surge_days"]),
                            "warned": int(s["warned_days"]),
                            "precision": round(float(s["precision"]), 3),
                            "recall": round(float(s["recall"]), 3),
                            "false alarms/month": round(float(s["false_alarms_per_month"]), 2),
                            "lead days": round(float(s["lead_mean"]), 2),
                            "assess s": round(secs, 1),
                        }
                    )
    table = pd.DataFrame(rows)
    print(markdown(table, {"precision": 3, "recall": 3}))
    return table


if __name__ == "__main__":
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data"
    out = main(data)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "replay.md").write_text(markdown(out, {"precision": 3, "recall": 3}) + "\n")
