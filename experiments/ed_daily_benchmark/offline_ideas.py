"""Issue 14's combination and calibration ideas, scored offline on saved forecast frames.

Every idea is applied to the members' backtest forecasts in ``results/<dataset>_forecasts.csv.gz``
(52 weekly cutoffs, no refits), so it costs seconds. At each cutoff an idea may use only the
windows whose 7 target days were observed by that cutoff (the last ``N`` windows): no leakage.
The first windows of the test year therefore have less to learn from than the package's
ensemble, which learns on 12 validation windows before every fit.

    python experiments/ed_daily_benchmark/offline_ideas.py [DATA_DIR] [--trend DIR]

``--trend DIR`` adds a Prophet-like trend + calendar regression member whose backtest frames
``trend_member.py`` wrote to DIR. Tables: MAE, pinball, cov90 and surge Brier per dataset, and
the Poisson noise floor of MAE (``sqrt(2 * mean / pi)`` per day, averaged).
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
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES  # noqa: E402

KEYS = ["site_id", "cutoff", "date", "horizon"]
COLS = ["mean", *QUANTILE_COLUMNS]
TAU = np.asarray(QUANTILES)
THREE = ("hybrid", "ets", "arima")
PEERS = ("statsforecast: AutoETS", "prophet")


def pinball_rows(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Mean pinball loss over the quantiles, per row."""
    d = y[:, None] - q
    return np.maximum(TAU * d, (TAU - 1.0) * d).mean(axis=1)


def members(frames: pd.DataFrame, names: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """Keys + y of the first member, and the members' (M, rows, 8) forecast values."""
    parts = [
        frames[frames["model"] == f"ours: {m}"].sort_values(KEYS).reset_index(drop=True)
        for m in names
    ]
    return parts[0][[*KEYS, "y"]].copy(), np.stack([p[COLS].to_numpy(float) for p in parts])


def weighted(base: pd.DataFrame, stack: np.ndarray, power: float, by_h: bool, n: int = 12):
    """Members weighted by ``loss ** -power`` of the last ``n`` observed windows."""
    y = base["y"].to_numpy(float)
    loss = np.stack([pinball_rows(y, s[:, 1:]) for s in stack])
    cut, day = base["cutoff"].to_numpy(), base["date"].to_numpy()
    site, hz = base["site_id"].to_numpy(), base["horizon"].to_numpy()
    out = np.empty(stack.shape[1:])
    for c in np.unique(cut):
        past = (day <= c) & (cut > c - np.timedelta64(7 * n, "D"))
        for s in np.unique(site[cut == c]):
            for h in range(1, 8) if by_h else [None]:
                rows = (cut == c) & (site == s) & ((hz == h) if h else True)
                seen = past & (site == s) & ((hz == h) if h else True)
                w = np.ones(len(stack))
                if power and seen.any():
                    w = (loss[:, seen].mean(axis=1) + 1e-9) ** -power
                out[rows] = np.tensordot(w / w.sum(), stack[:, rows], axes=1)
    res = base.copy()
    res[COLS] = out
    return res


def scaled(frame: pd.DataFrame, n: int, shrink: float, per_quantile: bool) -> pd.DataFrame:
    """Quantiles' distance from the median rescaled by factors learned on past windows."""
    q = frame[list(QUANTILE_COLUMNS)].to_numpy(float)
    y, med = frame["y"].to_numpy(float), q[:, 3]
    cut, day = frame["cutoff"].to_numpy(), frame["date"].to_numpy()
    grid = np.linspace(0.5, 1.6, 45)
    new = q.copy()
    for c in np.unique(cut):
        past = (day <= c) & (cut > c - np.timedelta64(7 * n, "D"))
        if past.sum() < 14:
            continue
        rows = cut == c
        spread = q[past] - med[past, None]
        if per_quantile:
            for j in (0, 1, 2, 4, 5, 6):
                d = y[past, None] - med[past, None] - grid[None, :] * spread[:, j : j + 1]
                best = grid[np.argmin(np.maximum(TAU[j] * d, (TAU[j] - 1) * d).mean(axis=0))]
                f = 1 + shrink * (best - 1)
                new[rows, j] = med[rows] + f * (q[rows, j] - med[rows])
        else:
            losses = [pinball_rows(y[past], med[past, None] + g * spread).mean() for g in grid]
            f = 1 + shrink * (grid[int(np.argmin(losses))] - 1)
            new[rows] = med[rows, None] + f * (q[rows] - med[rows, None])
    out = frame.copy()
    out[list(QUANTILE_COLUMNS)] = np.sort(new, axis=1)
    return out


def nb_tails(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Tail quantiles from a negative binomial with the forecast's mean and IQR-implied spread."""
    from scipy import stats

    mu = frame["mean"].to_numpy(float)
    sd = np.maximum((frame["q0.75"] - frame["q0.25"]).to_numpy(float) / 1.349, np.sqrt(mu) * 1.0001)
    k = mu**2 / np.maximum(sd**2 - mu, 1e-6)
    out = frame.copy()
    for col in columns:
        out[col] = stats.nbinom.ppf(float(col[1:]), k, k / (k + mu))
    out[list(QUANTILE_COLUMNS)] = np.sort(out[list(QUANTILE_COLUMNS)].to_numpy(float), axis=1)
    return out


def ideas(frames: pd.DataFrame, has_trend: bool) -> dict[str, pd.DataFrame]:
    base, three = members(frames, THREE)
    eq = weighted(base, three, 0.0, False)
    out = {"equal mean (hybrid, ets, arima)": eq}
    for p, by_h in ((2, False), (2, True), (6, True)):
        label = f"weights loss^-{p} per site" + (" and horizon" if by_h else "")
        out[label] = weighted(base, three, p, by_h)
    _, four = members(frames, (*THREE, "lightgbm"))
    out["+ lightgbm, weights loss^-6 per site and horizon"] = weighted(base, four, 6, True)
    if has_trend:
        _, tr = members(frames, (*THREE, "trend"))
        out["+ trend member, equal"] = weighted(base, tr, 0.0, False)
        out["+ trend member, weights loss^-6 per site and horizon"] = weighted(base, tr, 6, True)
    out["equal + per-quantile scale, 12 windows"] = scaled(eq, 12, 1.0, True)
    out["equal + one scale, 12 windows"] = scaled(eq, 12, 1.0, False)
    out["equal + one scale, 26 windows, half-shrunk"] = scaled(eq, 26, 0.5, False)
    out["equal + negative binomial upper tail"] = nb_tails(eq, ("q0.9", "q0.95"))
    out["equal + negative binomial both tails"] = nb_tails(eq, ("q0.05", "q0.1", "q0.9", "q0.95"))
    return out


def main(argv: list[str]) -> None:
    data_dir = (
        Path(argv[0])
        if argv and not argv[0].startswith("--")
        else HERE.parents[2] / "shared" / "data"
    )
    trend_dir = Path(argv[argv.index("--trend") + 1]) if "--trend" in argv else None
    for ds in ("bern", "iowa", "wales"):
        frames = pd.read_csv(
            HERE / "results" / f"{ds}_forecasts.csv.gz", parse_dates=["cutoff", "date"]
        )
        frames["site_id"] = frames["site_id"].astype(str)
        if trend_dir is not None:
            trend = pd.read_csv(trend_dir / f"{ds}_trend.csv.gz", parse_dates=["cutoff", "date"])
            trend["site_id"] = trend["site_id"].astype(str)
            frames = pd.concat([frames, trend.assign(model="ours: trend")], ignore_index=True)
        history = load(ds, data_dir)
        rows = [f.assign(model=name) for name, f in ideas(frames, trend_dir is not None).items()]
        rows.append(frames[frames["model"].isin(PEERS)])
        table = evaluate(pd.concat(rows, ignore_index=True), history)
        table = table[["model", "MAE", "pinball", "cov90", "brier"]]
        ens = frames[frames["model"] == "ours: ensemble"]
        floor = float(np.mean(np.sqrt(2 * ens["mean"].to_numpy(float) / np.pi)))
        print(f"\n{ds} (Poisson MAE floor {floor:.2f})\n")
        print(markdown(table, {"MAE": 2, "pinball": 3, "cov90": 3, "brier": 4}))


if __name__ == "__main__":
    main(sys.argv[1:])
