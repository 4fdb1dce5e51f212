"""Replay a year of the morning job on Bern and Iowa through `forecasting warnings replay`.

Usage (from the repository root)::

    python experiments/escalation_replay/run.py [DATA_DIR]

For each series it runs the command twice: levels driven by weekday surges (the default
config) and by capacity surges (``escalation.weekday_adjusted_lines: false``). Forecasts are
cached per refit chunk in ``results/cache/``, so the second run only redoes the warnings.

Alert rules with a P(surge) cut-off are cross-fitted: the cut-off that keeps false alarms within
2 per site per month is chosen on one half-year and applied to the other, both ways, and the two
halves are scored together (out of sample). A calendar rule (P = that weekday's surge rate in
the past year) runs on the same days. Tables go to ``results/replay.md``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent / "ed_daily_benchmark"))

from run import markdown  # noqa: E402  (the benchmark's table printer)

from forecasting.replay.policy import choose_cutoff  # noqa: E402
from forecasting.replay.score import ALL_SITES, KINDS, score_replay  # noqa: E402

DATASETS = {
    "bern": [
        "bern_insel_ed_daily/insel_ed_visits_daily.csv",
        "--target-col", "hosp_counts", "--col", "temperature=mean_temp",
        "--site-name", "bern", "--holidays", "CH-BE",
    ],
    "iowa": [
        "uihc_ed_hourly/uihc_ed_arrivals_daily.csv",
        "--target-col", "arrivals", "--col", "temperature=temp_mean",
        "--site-name", "iowa", "--holidays", "US-IA",
    ],
}  # fmt: skip
LEVELS_FROM = {"weekday": None, "capacity": "escalation:\n  weekday_adjusted_lines: false\n"}
BUDGET = 2.0
MODEL = "ensemble"


def run_replay(name: str, data_dir: Path, levels_from: str) -> pd.DataFrame:
    """Run the command for one series and one driving kind; return its replay rows."""
    rel, *options = DATASETS[name]
    out = RESULTS / f"{name}-{levels_from}.csv"
    if not out.exists():
        command = [
            sys.executable, "-m", "forecasting", "warnings", "replay",
            "--data", str(data_dir / rel), *options, "--days", "365", "--refit-every", "28",
            "--model", MODEL, "--out", str(out), "--cache", str(RESULTS / "cache"),
            "--false-alarm-budget", str(BUDGET),
        ]  # fmt: skip
        text = LEVELS_FROM[levels_from]
        if text:
            config = RESULTS / f"{levels_from}.yaml"
            config.write_text(text)
            command += ["--config", str(config)]
        subprocess.run(command, check=True)
    return pd.read_csv(out, parse_dates=["issued", "date"])


def overall(scores: pd.DataFrame) -> pd.Series:
    """The all-sites row of a score table."""
    return scores[scores["site_id"] == ALL_SITES].iloc[0]


def calendar_rows(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A calendar rule as replay rows: P(surge) = that weekday's surge rate in the past year.

    The rate of each weekday is counted from the surge days observed in the 365 days up to the
    issue day (the kind's own line), so the rule sees nothing the model could not.
    """
    obs = rows.dropna(subset=["y"]).drop_duplicates(["site_id", "date"]).sort_values("date")
    obs = obs.assign(surge=obs["y"] > obs[f"{kind}_line"], weekday=obs["date"].dt.dayofweek)
    out = rows[rows["model"] == MODEL].copy()
    rates = []
    for site, issued, date in zip(out["site_id"], out["issued"], out["date"], strict=True):
        own = obs[obs["site_id"] == site]
        past = own[(own["date"] <= issued) & (own["date"] > issued - pd.Timedelta(days=365))]
        same = past[past["weekday"] == date.dayofweek]["surge"]
        rates.append(float(same.mean()) if len(same) else float(past["surge"].mean()))
    out[f"p_{kind}_raw"] = np.nan_to_num(np.array(rates), nan=0.0)
    out["model"] = "weekday rate"
    return out


def halves(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows issued in the first and in the second half of the replayed days."""
    days = np.sort(rows["issued"].unique())
    middle = days[len(days) // 2]
    return rows[rows["issued"] < middle], rows[rows["issued"] >= middle]


def cross_fitted(rows: pd.DataFrame, kind: str, column: str, max_h: int) -> tuple[pd.Series, str]:
    """Alerts chosen out of sample: the cut-off for each half is chosen on the other half.

    Only warnings up to ``max_h`` days ahead may alert. Returns the all-sites scores and the
    two cut-offs.
    """
    near = rows[rows["horizon"] <= max_h]
    first, second = halves(near)
    parts, cuts = [], []
    for tune, test in ((second, first), (first, second)):
        policy = choose_cutoff(tune, kind, BUDGET, p_column=column)
        cuts.append(f"{policy.cutoff:.2f}")
        parts.append(test.assign(alert=(test[column] >= policy.cutoff).astype(float)))
    scored = score_replay(pd.concat(parts), kind, probability=0.5, p_column="alert")
    return overall(scored), "/".join(cuts)


HORIZONS = (1, 3, 7)


def evaluate(name: str, rows: pd.DataFrame, levels_from: str) -> list[dict[str, object]]:
    """Level rule on the whole year; budget rules cross-fitted between the two half-years."""
    records: list[dict[str, object]] = []
    models = {m: rows[rows["model"] == m] for m in rows["model"].unique()}
    models["weekday rate"] = calendar_rows(rows, levels_from)
    for label, r in models.items():
        base = {"dataset": name, "kind": levels_from, "model": label}
        if label != "weekday rate":
            s = overall(score_replay(r, levels_from, level=3))
            records.append({**base, "rule": "level >= 3", **_figures(s)})
        for column, tag in ((f"p_{levels_from}_raw", "P"), (f"p_{levels_from}", "P recal.")):
            if tag == "P recal." and label == "weekday rate":
                continue
            for max_h in HORIZONS:
                s, cuts = cross_fitted(r, levels_from, column, max_h)
                rule = f"{tag} >= {cuts}, h <= {max_h}"
                records.append({**base, "rule": rule, **_figures(s)})
    return records


def _figures(s: pd.Series) -> dict[str, object]:
    return {
        "surge days": int(s["surge_days"]),
        "warned": int(s["warned_days"]),
        "precision": float(s["precision"]),
        "recall": float(s["recall"]),
        "false alarms/month": float(s["false_alarms_per_month"]),
        "lead (median)": float(s["lead_median"]),
    }


def skill_table(name: str, rows: pd.DataFrame) -> list[dict[str, object]]:
    """Brier skill of raw and recalibrated P(surge), both kinds, on the second half-year.

    The recalibration learns from outcomes before each issue day, so by the second half it has
    at least half a year of them; the first half is its warm-up.
    """
    out = []
    for label in rows["model"].unique():
        _, second = halves(rows[rows["model"] == label])
        for kind in KINDS:
            raw = overall(score_replay(second, kind, p_column=f"p_{kind}_raw"))
            cal = overall(score_replay(second, kind))
            out.append(
                {
                    "dataset": name,
                    "model": label,
                    "kind": kind,
                    "skill raw": float(raw["brier_skill"]),
                    "skill recalibrated": float(cal["brier_skill"]),
                }
            )
    return out


DIGITS = {
    "precision": 2,
    "recall": 2,
    "false alarms/month": 2,
    "lead (median)": 0,
    "skill raw": 3,
    "skill recalibrated": 3,
}


def main(data_dir: Path) -> str:
    """Run both series, both driving kinds; return the markdown of the tables."""
    RESULTS.mkdir(exist_ok=True)
    alerts, skills = [], []
    for name in DATASETS:
        for levels_from in LEVELS_FROM:
            rows = run_replay(name, data_dir, levels_from)
            alerts += evaluate(name, rows, levels_from)
            if levels_from == "weekday":
                skills += skill_table(name, rows)
    text = (
        "## Alerts\n\n"
        + markdown(pd.DataFrame(alerts), DIGITS)
        + "\n\n## Surge probabilities (second half-year)\n\n"
        + markdown(pd.DataFrame(skills), DIGITS)
        + "\n"
    )
    print(text)
    return text


if __name__ == "__main__":
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data"
    (RESULTS / "replay.md").parent.mkdir(exist_ok=True)
    (RESULTS / "replay.md").write_text(main(data))
