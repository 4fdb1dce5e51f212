"""Real-data benchmark of issue 3: our models against the peers, on the same cutoffs.

Usage (from the repository root):

    .venv/bin/python experiments/ed_daily_benchmark/run.py \
        --data-dir ../shared/data --datasets bern,iowa --horizon 7 --step 7 --windows 52 \
        --peers snaive,autoarima,autoets,mlforecast,prophet --ours all --refit-every 4

Protocol: the last ``windows * step`` days (364) are the test period; at each of the 52 weekly
cutoffs every model forecasts the next 7 days from the data up to the cutoff. Models are
re-estimated every ``--refit-every`` windows and rolled forward in between (see peers.py);
``--refit-override`` sets it per model (default: Prophet refits every window, it has no state to
roll forward). Everything runs on one thread. Per dataset it prints one table sorted by MAE and
writes ``<out>/<dataset>.md``, ``<out>/<dataset>_forecasts.csv.gz`` (all models' backtest
frames) and ``<out>/<dataset>_by_horizon.csv``. Each model's frame is also cached under
``<out>/cache/<dataset>/``; ``--reuse peers`` (or ``all``) takes it from there instead of
rerunning (ours change often: reuse them only when you know they did not).
"""

from __future__ import annotations

import os

# one thread for every numerical library, set before numpy is imported (fair comparison)
for _var in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import ours  # noqa: E402
import peers  # noqa: E402

from forecasting.evaluate.backtest import backtest, cutoffs_for  # noqa: E402
from forecasting.evaluate.summary import evaluate  # noqa: E402

COUNTRY = {"bern": "CH", "iowa": "US", "wales": "GB"}
DEFAULT_OVERRIDES = "prophet=1"
TABLE_COLUMNS = [
    "model",
    "MAE",
    "RMSE",
    "MAPE",
    "MASE",
    "pinball",
    "cov80",
    "cov90",
    "brier",
    "brier_skill",
    "precision",
    "recall",
    "F1",
    "false_alarms_30d",
    "wall_s",
    "refit",
]
DIGITS = {
    "MAE": 2,
    "RMSE": 2,
    "MAPE": 2,
    "MASE": 3,
    "pinball": 3,
    "cov80": 3,
    "cov90": 3,
    "brier": 4,
    "brier_skill": 3,
    "precision": 3,
    "recall": 3,
    "F1": 3,
    "false_alarms_30d": 2,
    "wall_s": 1,
}


# --------------------------------------------------------------------------------------------
# output


def markdown(df: pd.DataFrame, digits: dict[str, int] | None = None) -> str:
    """A plain markdown table (pandas' ``to_markdown`` needs tabulate, not a dependency)."""
    digits = digits or {}

    def cell(col: str, v: object) -> str:
        if isinstance(v, float | np.floating):
            if np.isnan(v):
                return "–"
            return f"{v:.{digits.get(col, 3)}f}"
        return str(v)

    cols = [str(c) for c in df.columns]
    rows = [[cell(str(c), v) for c, v in zip(df.columns, r, strict=True)] for r in df.to_numpy()]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)
    ]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if num else (":" + "-" * (w + 1))
            for w, num in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(cols), sep, *(line(r) for r in rows)])


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


# --------------------------------------------------------------------------------------------
# running the models


def parse_overrides(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        out[key.strip().lower()] = int(value)
    return out


def select_ours(spec: str, horizon: int, dataset: str) -> dict[str, object]:
    if spec.strip().lower() == "none":
        return {}
    if "dataset" in inspect.signature(ours.our_models).parameters:
        models = ours.our_models(horizon, dataset=dataset)  # per-dataset holiday calendar
    else:
        models = ours.our_models(horizon)
    if spec.strip().lower() == "all":
        return {k: v for k, v in models.items() if k.removeprefix("ours: ") in ours.BENCHMARKED}
    chosen = {}
    for want in (s.strip().lower() for s in spec.split(",") if s.strip()):
        hits = [k for k in models if want in (k.lower(), k.lower().removeprefix("ours: "))]
        if not hits:
            raise SystemExit(f"--ours: no model {want!r}; have {', '.join(models)}")
        chosen.update({k: models[k] for k in hits})
    return chosen


def run_ours(name, model, frame, args, refit_every):
    n_chunks = -(-args.windows // refit_every)
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 4 == 0 or done[0] == n_chunks:
            print(f"    {name}: {done[0]}/{n_chunks} fits", flush=True)

    start = time.perf_counter()
    bt = backtest(
        frame,
        [model],
        horizon=args.horizon,
        step=args.step,
        windows=args.windows,
        refit_every=refit_every,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    bt["model"] = name
    return bt, seconds, f"refit every {refit_every}"


def cached(cache: Path, stem: str, config: dict, reuse: bool, compute):
    """Run ``compute`` or take its frame from ``cache``, keyed by the full run ``config``.

    The file name carries a hash of ``config`` (model, parameters, refit policy, protocol), so
    runs with other settings, e.g. by someone else into the same folder, never mix.
    """
    key = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]
    path = cache / f"{stem}__{key}.csv.gz"
    meta = cache / f"{stem}__{key}.json"
    if reuse and path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        bt = pd.read_csv(path, parse_dates=["cutoff", "date"])
        bt["site_id"] = bt["site_id"].astype(str)
        return bt, info["seconds"], info["note"] + " (cached)"
    result = compute()
    if result is None:
        return None
    bt, seconds, note = result
    cache.mkdir(parents=True, exist_ok=True)
    bt.to_csv(path, index=False)
    meta.write_text(json.dumps({"seconds": seconds, "note": note, "config": config}, default=str))
    return bt, seconds, note


def protocol(args, frame: pd.DataFrame, k: int) -> dict:
    return {
        "horizon": args.horizon,
        "step": args.step,
        "windows": args.windows,
        "refit_every": k,
        "data_end": str(pd.Timestamp(frame["date"].max()).date()),
        "rows": len(frame),
    }


def ours_config(model_name: str, model, args, frame, k: int) -> dict:
    params = {p: repr(v) for p, v in sorted(model.get_params().items())}
    return {"model": model_name, "class": type(model).__name__, "params": params} | protocol(
        args, frame, k
    )


def peer_config(peer: str, args, frame, k: int, country: str | None) -> dict:
    return {"peer": peer, "country": country, "settings": peers.SETTINGS} | protocol(args, frame, k)


def run_dataset(name: str, args) -> pd.DataFrame:
    frame = datasets.load(name, args.data_dir)
    cuts = cutoffs_for(frame, args.horizon, args.step, args.windows)
    n_sites = frame["site_id"].nunique()
    first, last = frame["date"].min(), frame["date"].max()
    print(
        f"\n== {name}: {n_sites} series, {first:%Y-%m-%d}..{last:%Y-%m-%d} ({len(frame)} rows); "
        f"{len(cuts)} cutoffs {cuts[0]:%Y-%m-%d}..{cuts[-1]:%Y-%m-%d}",
        flush=True,
    )
    overrides = parse_overrides(args.refit_override)
    cache = Path(args.out) / "cache" / name
    frames, seconds, notes = [], {}, {}

    def record(model_name, result):
        if result is None:
            return
        bt, secs, note = result
        frames.append(bt)
        seconds[model_name] = secs
        notes[model_name] = note
        print(f"  {model_name}: {secs:.1f} s ({note})", flush=True)

    for model_name, model in select_ours(args.ours, args.horizon, name).items():
        k = overrides.get(model_name.lower(), args.refit_every)
        print(f"  running {model_name} ...", flush=True)
        result = cached(
            cache,
            slug(model_name),
            ours_config(model_name, model, args, frame, k),
            args.reuse == "all",
            lambda model=model, model_name=model_name, k=k: run_ours(
                model_name, model, frame, args, k
            ),
        )
        record(model_name, result)

    peer_list = [] if args.peers.strip().lower() == "none" else args.peers.split(",")
    for peer in (p.strip().lower() for p in peer_list if p.strip()):
        k = overrides.get(peer, args.refit_every)
        print(f"  running peer {peer} (refit every {k}) ...", flush=True)

        def compute(peer=peer, k=k):
            res = peers.run_peer(peer, frame, cuts, args.horizon, k, COUNTRY.get(name))
            if res is None:
                return None
            return res.forecasts, res.seconds, res.note

        config = peer_config(peer, args, frame, k, COUNTRY.get(name))
        result = cached(cache, peer, config, args.reuse != "none", compute)
        record(peers.DISPLAY.get(peer, peer), result)

    if not frames:
        print("  nothing ran", flush=True)
        return pd.DataFrame()
    bt = pd.concat(frames, ignore_index=True)
    for model_name, g in bt.groupby("model"):
        got = sorted(pd.to_datetime(g["cutoff"].unique()))
        if [pd.Timestamp(c) for c in got] != [pd.Timestamp(c) for c in cuts]:
            print(f"  WARNING: {model_name} has other cutoffs than the protocol's", flush=True)
    table = evaluate(bt, frame)
    table["wall_s"] = table["model"].map(seconds)
    table["refit"] = table["model"].map(notes).str.replace(" (cached)", "", regex=False)
    table = table.sort_values("MAE").reset_index(drop=True)[TABLE_COLUMNS]
    by_h = evaluate(bt, frame, by=("model", "horizon"))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bt.to_csv(out / f"{name}_forecasts.csv.gz", index=False)
    by_h.to_csv(out / f"{name}_by_horizon.csv", index=False)
    text = markdown(table, DIGITS)
    mae_h = by_h.pivot(index="model", columns="horizon", values="MAE").loc[table["model"]]
    mae_h.columns = [f"h{c}" for c in mae_h.columns]
    mae_h = mae_h.reset_index()
    report = "\n".join(
        [
            f"# {name}: {n_sites} series, test {cuts[0] + pd.Timedelta(days=1):%Y-%m-%d}.."
            f"{cuts[-1] + pd.Timedelta(days=args.horizon):%Y-%m-%d}",
            "",
            f"{len(cuts)} cutoffs every {args.step} days, horizon {args.horizon}, one thread. "
            f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`",
            "",
            "Sorted by MAE. pinball: mean over q0.05…q0.95; cov80/cov90: empirical coverage of "
            "the 80%/90% intervals; brier/brier_skill: surge-day probability P(y > 90th percentile "
            "of the year before the first cutoff), skill against a constant 0.1; precision/recall/"
            "F1/false alarms per 30 days of alerts at p >= 0.5; wall_s: the whole backtest.",
            "",
            text,
            "",
            "MAE by horizon:",
            "",
            markdown(mae_h, dict.fromkeys(mae_h.columns, 2)),
            "",
        ]
    )
    (out / f"{name}.md").write_text(report)
    print(f"\n### {name}\n\n{text}\n", flush=True)
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--datasets", default="bern,iowa,wales")
    p.add_argument("--horizon", type=int, default=7)
    p.add_argument("--step", type=int, default=7)
    p.add_argument("--windows", type=int, default=52)
    p.add_argument("--peers", default=",".join(peers.PEERS), help="comma list, or none")
    p.add_argument("--ours", default="all", help="all, none, or comma list of names")
    p.add_argument("--refit-every", type=int, default=4)
    p.add_argument(
        "--refit-override",
        default=DEFAULT_OVERRIDES,
        help="per-model refit, e.g. 'prophet=1,autoets=1' (peer keys or our display names)",
    )
    p.add_argument("--out", default="experiments/ed_daily_benchmark/results")
    p.add_argument(
        "--reuse",
        choices=("none", "peers", "all"),
        default="none",
        help="take cached per-model frames instead of rerunning: peers only, or ours too",
    )
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with threadpool_limits(limits=1):
        for name in (d.strip().lower() for d in args.datasets.split(",") if d.strip()):
            run_dataset(name, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
