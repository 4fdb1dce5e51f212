"""Bed-pressure benchmark (issue 11): occupancy 1..7 days ahead on the NHS winter sitreps.

Usage (from the repository root):

    .venv/bin/python experiments/bed_pressure/run.py            # full: 2018-19 and 2019-20
    .venv/bin/python experiments/bed_pressure/run.py --quick    # one winter, fewer cutoffs
    .venv/bin/python experiments/bed_pressure/run.py --winters 2018-19 2019-20 2020-21 \
        --variants                                              # + COVID winter, model ideas

Weekly cutoffs inside each winter (first one 27 days after the winter's first day, last one
with all 7 target days inside the winter); every model sees all data up to the cutoff (earlier
winters + the current winter so far). Trusts with median beds open below 50 (specialist
trusts) are not scored (our model still trains on them). Scores are on the (trust, cutoff,
horizon) rows every model forecast. See README.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import hashlib
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import metrics
import peers
import sitreps

from forecasting.models.occupancy import OccupancyForecaster

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path("/tmp/bed_pressure_cache")
FIRST_CUTOFF_DAY = 27
#: Model ideas run with --variants: name -> OccupancyForecaster arguments.
VARIANTS: dict[str, dict[str, object]] = {
    "occupancy: no Christmas/holiday features": {"christmas": False},
    "occupancy: volatility-normalized conformal": {"normalize": True},
    "occupancy: target = level": {"target": "level"},
    "occupancy: no exogenous": {"exogenous": ()},
}


def winter_cutoffs(frame: pd.DataFrame, winter: str, every: int = 1) -> list[pd.Timestamp]:
    """Weekly cutoffs of one winter whose 7 target days are inside it."""
    days = frame.loc[frame["winter"] == winter, "date"]
    start, end = days.min(), days.max()
    first = start + pd.Timedelta(days=FIRST_CUTOFF_DAY)
    cuts = pd.date_range(first, end - pd.Timedelta(days=peers.H), freq="7D")
    return list(cuts[::every])


def refit_schedule(frame: pd.DataFrame, cutoffs: list[pd.Timestamp], every: int) -> list[bool]:
    """Refit at each winter's first cutoff and every ``every`` cutoffs within the winter."""
    winter_of = frame.drop_duplicates("date").set_index("date")["winter"]
    out, last, j = [], None, 0
    for cut in cutoffs:
        winter = winter_of.get(cut)
        j = 0 if winter != last else j + 1
        out.append(j % max(every, 1) == 0)
        last = winter
    return out


def recalibrate(frame: pd.DataFrame, min_rows: int = 2000) -> pd.DataFrame:
    """Online logistic recalibration of P(occ >= line) on logit(p), per line.

    For each cutoff, fit ``outcome ~ logit(p)`` on the same model's earlier backtest rows whose
    target day is on or before the cutoff (both winters in order); rows before ``min_rows``
    are available keep the raw probability.
    """
    from sklearn.linear_model import LogisticRegression

    out = frame.copy()
    for line in metrics.LINES:
        col = f"p_ge_{line:g}"
        p = np.clip(out[col].to_numpy(dtype=float), 1e-3, 1 - 1e-3)
        z = np.log(p / (1 - p))
        hit = (out["occ"].to_numpy() >= line).astype(int)
        new = p.copy()
        for cut in sorted(out["cutoff"].unique()):
            past = (out["date"] <= cut).to_numpy()
            now = (out["cutoff"] == cut).to_numpy()
            if past.sum() < min_rows or hit[past].min() == hit[past].max():
                continue
            lr = LogisticRegression(C=100.0).fit(z[past, None], hit[past])
            new[now] = lr.predict_proba(z[now, None])[:, 1]
        out[col] = new
    return out


def run_models(
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    sites: list[str],
    args: argparse.Namespace,
) -> tuple[list[pd.DataFrame], dict[str, float]]:
    """Every model on the same cutoffs: forecasts and wall times (cached per model)."""
    refits = refit_schedule(frame, cutoffs, args.refit_every)
    jobs: dict[str, Callable[[], pd.DataFrame]] = {
        "occupancy (ours)": lambda: peers.ours(
            frame,
            cutoffs,
            sites,
            lambda: OccupancyForecaster(),
            refits,
            "occupancy (ours)",
        ),
        "persistence": lambda: peers.baseline(pairs, cutoffs, "last", sites),
        "same weekday last week": lambda: peers.baseline(pairs, cutoffs, "sameweekday", sites),
        "statsforecast AutoETS": lambda: peers.autoets(frame, cutoffs, sites),
        "mlforecast LightGBM": lambda: peers.mlforecast_peer(frame, cutoffs, sites, refits),
    }
    if args.variants:
        for name, kwargs in VARIANTS.items():
            jobs[name] = _variant(frame, cutoffs, sites, name, kwargs, refits)
    forecasts, times = [], {}
    for name, job in jobs.items():
        if args.models and not any(m in name for m in args.models):
            continue
        print(f"running {name} …", flush=True)
        params = OccupancyForecaster().get_params() if "occupancy" in name else {}
        plan = repr((name, cutoffs, refits, args.data))
        plan += repr(sorted(params.items())) if params else ""
        key = hashlib.sha1(plan.encode()).hexdigest()[:16]
        cache = CACHE / f"{key}.pkl"
        if cache.exists() and not args.no_cache:
            out, seconds = pd.read_pickle(cache)
        else:
            out, seconds = peers.timed(job)
            CACHE.mkdir(parents=True, exist_ok=True)
            pd.to_pickle((out, seconds), cache)
        forecasts.append(out.assign(model=name))
        times[name] = seconds
        print(f"  {name}: {seconds:.0f} s", flush=True)
    return forecasts, times


def _variant(
    frame: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    sites: list[str],
    name: str,
    kwargs: dict[str, object],
    refits: list[bool],
) -> Callable[[], pd.DataFrame]:
    def make() -> OccupancyForecaster:
        return OccupancyForecaster(**kwargs)  # type: ignore[arg-type]

    return lambda: peers.ours(frame, cutoffs, sites, make, refits, name)


def probabilities(scored: pd.DataFrame) -> pd.DataFrame:
    """Fill missing exceedance probabilities from each model's quantiles (CDF through them)."""
    out = scored.copy()
    qcols = [f"occ_{c}" for c in metrics.QUANTILE_COLUMNS]
    for line in metrics.LINES:
        col = f"p_ge_{line:g}"
        if col not in out:
            out[col] = np.nan
        miss = out[col].isna().to_numpy()
        if miss.any():
            q = np.sort(out.loc[miss, qcols].to_numpy(dtype=float), axis=1)
            out.loc[miss, col] = metrics.probability_from_quantiles(q, line)
    return out


def common_rows(scored: pd.DataFrame) -> pd.DataFrame:
    """Keep the (trust, cutoff, horizon) rows that every model forecast."""
    keys = ["site_id", "cutoff", "horizon"]
    n_models = scored["model"].nunique()
    count = scored.groupby(keys)["model"].transform("nunique")
    return scored[count == n_models].reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    """The benchmark table as markdown (MAE and pinball in occupancy points)."""
    cols = ["winter", "model", "mae", *[f"mae_h{h}" for h in range(1, 8)], "pinball"]
    cols += ["coverage90", "brier0.95", "bss0.95", "brier0.97", "bss0.97", "seconds", "n"]
    fmt = {c: "{:.2f}" for c in cols}
    fmt.update({"coverage90": "{:.3f}", "seconds": "{:.0f}", "n": "{:d}"})
    fmt.update({c: "{:.4f}" for c in ("brier0.95", "brier0.97")})
    fmt.update({c: "{:+.3f}" for c in ("bss0.95", "bss0.97")})
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table[cols].iterrows():
        cells = [
            fmt[c].format(row[c]) if c in fmt and not isinstance(row[c], str) else str(row[c])
            for c in cols
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=sitreps.DEFAULT_PATH)
    parser.add_argument("--winters", nargs="+", default=["2018-19", "2019-20"])
    parser.add_argument("--refit-every", type=int, default=4, help="refit every k cutoffs")
    parser.add_argument("--quick", action="store_true", help="2018-19 only, every 3rd cutoff")
    parser.add_argument("--variants", action="store_true", help="also run the model ideas")
    parser.add_argument("--models", nargs="*", help="run only models whose name has these")
    parser.add_argument("--recalibrate", action="store_true", help="add ours + logistic recal")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bed_pressure_forecasts.csv.gz"))
    parser.add_argument("--no-cache", action="store_true", help="recompute cached models")
    parser.add_argument("--tag", default="", help="suffix of the results table file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    frame = sitreps.load_sitreps(args.data)
    sites = sitreps.large_trusts(frame)
    winters = ["2018-19"] if args.quick else args.winters
    cutoffs = [c for w in winters for c in winter_cutoffs(frame, w, 3 if args.quick else 1)]
    print(
        f"{frame['site_id'].nunique()} trusts, {len(sites)} with >= {sitreps.MIN_BEDS} beds "
        f"scored; winters {winters}; {len(cutoffs)} cutoffs; refit every {args.refit_every}",
        flush=True,
    )
    pairs = peers.pairs_table(frame)
    forecasts, times = run_models(frame, pairs, cutoffs, sites, args)
    scored = metrics.with_truth(pd.concat(forecasts, ignore_index=True), pairs)
    scored = probabilities(common_rows(scored))
    if args.recalibrate:
        ours = scored[scored["model"] == "occupancy (ours)"]
        scored = pd.concat(
            [scored, recalibrate(ours).assign(model="occupancy (ours) + logistic recal")]
        )
        times["occupancy (ours) + logistic recal"] = times.get("occupancy (ours)", np.nan)
    winter_of = frame.drop_duplicates("date").set_index("date")["winter"]
    scored["winter"] = scored["cutoff"].map(winter_of)
    scored["winter_group"] = np.where(scored["winter"] == "2020-21", "2020-21 (COVID)", "pre-COVID")
    table = metrics.scores(scored.assign(winter=scored["winter_group"]), ["winter", "model"])
    table = metrics.add_skill(table)
    table["seconds"] = table["model"].map(times)
    text = markdown(table)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    name = "quick" if args.quick else "full"
    (RESULTS / f"table_{name}{args.tag}.md").write_text(text + "\n")
    per_winter = metrics.add_skill(metrics.scores(scored, ["winter", "model"]))
    per_winter["seconds"] = np.nan
    (RESULTS / f"table_{name}{args.tag}_per_winter.md").write_text(markdown(per_winter) + "\n")
    scored.to_csv(args.out, index=False)
    print(f"forecasts: {args.out}")


if __name__ == "__main__":
    main()
