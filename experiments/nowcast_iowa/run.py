"""Evaluate the intraday nowcast on Iowa's last year (UIHC ED hourly arrivals).

Every test day is nowcast at 08:00, 10:00, 13:00 and 16:00 from the arrivals before the issue
time, the day's usual shape (earlier same weekdays) and the day-ahead prior (issued from the
daily totals up to the day before). Combiner parameters and the probability calibration of the
baselines are learned on the ``--calibration-days`` days before each test day (rolling).

Usage (from the repository root)::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/nowcast_iowa/run.py [DATA_DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from forecasting.nowcast.combine import COMBINERS, TomorrowUpdate
from forecasting.nowcast.days import DATE, day_matrix, totals
from forecasting.nowcast.hourly import SITE, HourlyColumns, load_hourly
from forecasting.nowcast.prior import day_ahead_priors
from forecasting.nowcast.rows import issue_rows, log_errors
from forecasting.nowcast.shape import usual_shares
from forecasting.nowcast.surge import flat_line

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
HOURS = (8, 10, 13, 16)
TEST_DAYS = 365
BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)


def load(data_dir: Path) -> pd.DataFrame:
    """Iowa's hourly arrivals as the hourly frame (one site, ``uihc``)."""
    path = data_dir / "uihc_ed_hourly" / "uihc_ed_arrivals_hourly.csv"
    return load_hourly(path, HourlyColumns(site=None, target="Arrivals", site_name="uihc"))


def cached_priors(
    tot: pd.Series, start: pd.Timestamp, end: pd.Timestamp, model: str
) -> pd.DataFrame:
    """Day-ahead priors for every issue day, cached in ``cache/`` (the ETS roll takes minutes)."""
    cache = HERE / "cache" / f"priors_{model}_{start:%Y%m%d}_{end:%Y%m%d}.csv"
    if cache.exists():
        return pd.read_csv(cache, parse_dates=[DATE])
    priors = day_ahead_priors(tot, start, end, model, country="US", subdiv="IA")
    cache.parent.mkdir(exist_ok=True)
    priors.to_csv(cache, index=False)
    return priors


def line_per_day(tot: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """The flat 90th-percentile line of the 365 daily totals before each day."""
    series = tot.xs("uihc", level=SITE)
    return np.array([flat_line(series[series.index < d]) for d in days])


def _empirical_p(center: np.ndarray, errors: np.ndarray, line: float) -> float:
    """P(total > line) when log(total) = log(center) + one of the past log errors."""
    ok = errors[np.isfinite(errors)]
    return float(np.mean(np.log(center[0]) + ok > np.log(line)))


def evaluate_hour(
    rows: pd.DataFrame, lines: np.ndarray, test: pd.DatetimeIndex, calib: int
) -> pd.DataFrame:
    """Probabilities of each method for each test day at one hour of issue."""
    rows = rows.sort_values(DATE).reset_index(drop=True)
    rows["line"] = np.nan
    rows.loc[rows[DATE].isin(test), "line"] = lines
    rows["projection"] = rows["observed"] / rows["share"]
    out = []
    for day, line in zip(test, lines, strict=True):
        past = rows[(rows[DATE] < day) & (rows[DATE] >= day - pd.Timedelta(days=calib))]
        now = rows[rows[DATE] == day]
        rec: dict[str, float | pd.Timestamp] = {DATE: day, "line": line}
        rec["total"] = float(now["total"].iloc[0])
        for name, center in (("day_ahead", "prior"), ("projection", "projection")):
            err = np.log((past["total"] / past[center]).to_numpy(float))
            rec[name] = _empirical_p(now[center].to_numpy(float), err, line)
        nxt = rows.loc[rows[DATE] == day + pd.Timedelta(days=1), "total"]
        rec["tomorrow_total"] = float(nxt.iloc[0]) if len(nxt) else np.nan
        rec["tomorrow_prior"] = float(now["next_prior"].iloc[0])
        for name, cls in COMBINERS.items():
            model = cls().fit(past)
            rec[name] = float(model.p_above(now, np.array([line]))[0])
            q = model.quantiles(now, np.array([0.05, 0.95]))[0]
            rec[f"{name}_lo"], rec[f"{name}_hi"] = float(q[0]), float(q[1])
            rec[f"{name}_mean"] = float(model.mean(now)[0])
        update = TomorrowUpdate().fit(*log_errors(past))
        surprise = np.log(rec["shrinkage_mean"] / now["prior"].to_numpy(float))
        rec["tomorrow_updated"] = float(update.predict(now["next_prior"].to_numpy(), surprise)[0])
        out.append(rec)
    return pd.DataFrame(out)


def scores(frame: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """AUC and Brier skill (vs the test year's base rate) of each probability column."""
    y = (frame["total"] > frame["line"]).to_numpy()
    base = float(np.mean(y))
    ref = float(np.mean((base - y) ** 2))
    out = {}
    for col in columns:
        p = frame[col].to_numpy(float)
        auc = roc_auc_score(y, p)
        bss = 1 - float(np.mean((p - y) ** 2)) / ref
        out[col] = f"{auc:.3f} / {bss:+.2f}"
    return out


def reliability(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    """Observed surge frequency by bin of predicted probability."""
    y = (frame["total"] > frame["line"]).astype(float)
    bins = pd.cut(frame[col], BINS, right=False)
    return (
        pd.DataFrame({"p": frame[col], "y": y, "bin": bins})
        .groupby("bin", observed=True)
        .agg(days=("y", "size"), mean_p=("p", "mean"), observed=("y", "mean"))
    )


def markdown(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table (index as the first column)."""
    head = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, row in frame.iterrows():
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join([str(key), *cells]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--calibration-days", type=int, default=365)
    parser.add_argument("--prior", default="ets", help="day-ahead prior: ets or weekday")
    parser.add_argument(
        "--line",
        choices=["trailing", "test-year"],
        default="trailing",
        help="flat p90 of the 365 days before each day (no look-ahead), or of the test year",
    )
    args = parser.parse_args(argv)
    t0 = time.time()
    hourly = load(args.data)
    matrix = day_matrix(hourly)
    tot = totals(matrix)
    last = matrix.index.get_level_values(DATE).max()
    test = pd.date_range(last - pd.Timedelta(days=TEST_DAYS - 1), last)
    start = test[0] - pd.Timedelta(days=args.calibration_days)
    shares = usual_shares(matrix)
    lines = line_per_day(tot, test)
    if args.line == "test-year":
        lines = np.full(len(test), float(np.quantile(tot.xs("uihc", level=SITE)[test], 0.9)))
    priors = {
        "weekday": cached_priors(tot, start, last, "weekday"),
        args.prior: cached_priors(tot, start, last, args.prior),
    }
    print(
        f"test {test[0]:%Y-%m-%d}..{test[-1]:%Y-%m-%d}; surge days: "
        f"{int((tot.xs('uihc', level=SITE).reindex(test).to_numpy() > lines).sum())}; "
        f"calibration {args.calibration_days} days; prior {args.prior}; line {args.line}",
        flush=True,
    )
    table = []
    reliab = []
    for hour in HOURS:
        res = evaluate_hour(
            issue_rows(matrix, shares, priors[args.prior], hour),
            lines,
            test,
            args.calibration_days,
        )
        wk = evaluate_hour(
            issue_rows(matrix, shares, priors["weekday"], hour),
            lines,
            test,
            args.calibration_days,
        )
        res["weekday_mean"] = wk["day_ahead"]
        res["shrinkage_weekday"] = wk["shrinkage"]
        cols = [
            "weekday_mean",
            "day_ahead",
            "projection",
            "shrinkage",
            "empirical",
            "bayes",
            "shrinkage_weekday",
        ]
        row = {"hour": f"{hour:02d}:00", **scores(res, cols)}
        for name in COMBINERS:
            inside = (res["total"] >= res[f"{name}_lo"]) & (res["total"] <= res[f"{name}_hi"])
            row[f"{name} 90% cover/width"] = (
                f"{inside.mean():.2f} / {(res[f'{name}_hi'] - res[f'{name}_lo']).mean():.0f}"
            )
            row[f"{name} MAE"] = f"{(res[f'{name}_mean'] - res['total']).abs().mean():.1f}"
        err = res["tomorrow_total"] - res["tomorrow_prior"]
        upd = res["tomorrow_total"] - res["tomorrow_updated"]
        row["tomorrow MAE prior / updated"] = f"{err.abs().mean():.2f} / {upd.abs().mean():.2f}"
        table.append(row)
        rel = reliability(res, "shrinkage")
        rel.insert(0, "hour", f"{hour:02d}:00")
        reliab.append(rel)
        res.to_csv(
            HERE / "cache" / f"probabilities_{args.prior}_{args.line}_{hour:02d}.csv", index=False
        )
    pd.set_option("display.width", 200)
    print("\nAUC / Brier skill of P(total > flat p90 line), by hour of issue")
    print(markdown(pd.DataFrame(table).set_index("hour").T))
    print("\nReliability of the combined (shrinkage) P(surge)")
    print(markdown(pd.concat(reliab).reset_index().set_index("hour")))
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
