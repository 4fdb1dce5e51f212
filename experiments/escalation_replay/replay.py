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
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from forecasts import CACHE, MODELS, replay_forecasts  # noqa: E402
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


RULES = (  # label, level, surge probability (None: the level decides), day-ahead only
    ("level >= 3", 3, None, False),
    ("level >= 3, day-ahead only", 3, None, True),
    ("level >= 2", 2, None, False),
    ("P(surge) >= 0.3", 3, 0.3, False),
)


def cached_warnings(ds: str, frame: pd.DataFrame, fc: pd.DataFrame, model: str) -> pd.DataFrame:
    """The replayed warnings of one model (cached without their reasons)."""
    path = CACHE / f"{ds}-{model}-warnings.parquet"
    if path.exists():
        return pd.read_parquet(path)
    issued = replay_warnings(frame, fc, model).drop(columns=["reasons", "advice"])
    issued.to_parquet(path)
    return issued


def score_row(issued: pd.DataFrame, frame: pd.DataFrame, rule: tuple, line) -> dict:
    """One rule's alert quality over all sites."""
    label, level, prob, day_ahead = rule
    h = issued[issued["horizon"] == 1] if day_ahead else issued
    s = evaluate_warnings(h, frame, level=level, thresholds=line, probability=prob)
    s = s[s["site_id"] == "all"].iloc[0]
    return {
        "rule": label,
        "surge days": int(s["surge_days"]),
        "warned": int(s["warned_days"]),
        "precision": float(s["precision"]),
        "recall": float(s["recall"]),
        "false alarms/month": float(s["false_alarms_per_month"]),
        "lead days": float(s["lead_mean"]),
    }


def main(data_dir: Path) -> pd.DataFrame:
    """Score both models' warnings on both datasets; print and return one table."""
    rows = []
    for ds in DATASETS:
        frame, fc, _ = replay_forecasts(ds, data_dir)
        flat = flat_lines(frame, pd.Timestamp(fc["cutoff"].min()))
        for model in MODELS:
            issued = cached_warnings(ds, frame, fc, model)
            for rule in RULES:
                rows.append({"dataset": ds, "model": model, **score_row(issued, frame, rule, None)})
            flat_row = score_row(issued, frame, RULES[0], flat)
            flat_row["rule"] += " (flat p90 surge days)"
            rows.append({"dataset": ds, "model": model, **flat_row})
    table = pd.DataFrame(rows).sort_values(["dataset", "rule", "model"], kind="stable")
    print(markdown(table, DIGITS))
    return table


DIGITS = {"precision": 3, "recall": 3, "false alarms/month": 2, "lead days": 1}


if __name__ == "__main__":
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data"
    out = main(data)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "replay.md").write_text(markdown(out, DIGITS) + "\n")
