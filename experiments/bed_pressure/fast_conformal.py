"""Fast harness for interval and probability ideas (README, "Probability and interval ideas").

Features are computed once on the whole file (leakage-free by construction: a (cutoff, h) row
reads nothing after its cutoff) and cached in ``/tmp/bed_pressure_X.parquet``. At each winter's
cutoffs 1, 5 and 9 (the benchmark's refit plan) a LightGBM is fitted on the rows whose target
day is on or before the cutoff and predicts the benchmark's 18 cutoffs (154 trusts) up to the
next refit. Each idea is a different pool of out-of-sample errors (ratio points) turned into
per-horizon quantiles; scored as in the benchmark: coverage of [q0.05, q0.95], pinball, Brier
and Brier skill of P(occ >= 95% / 97%) against binned persistence.

    .venv/bin/python experiments/bed_pressure/fast_conformal.py [--trees 150 --lr 0.1]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
import run
import sitreps

from forecasting.forecast_frame import QUANTILES as QUANTILE_LEVELS
from forecasting.models.occupancy import GRID, OccupancyForecaster

CACHE_X = Path("/tmp/bed_pressure_X.parquet")
CACHE_M = Path("/tmp/bed_pressure_meta.parquet")
OCC_BINS = np.array([0.90, 0.94, 0.97, 1.0])
QUANTILES = np.asarray(QUANTILE_LEVELS)


def winter_of(dates: pd.Series) -> np.ndarray:
    """Winter start year of each date (July–June years)."""
    d = pd.DatetimeIndex(dates)
    return np.where(d.month >= 7, d.year, d.year - 1)


def load(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Design rows of the whole file (cached)."""
    if CACHE_X.exists() and CACHE_M.exists():
        return pd.read_parquet(CACHE_X), pd.read_parquet(CACHE_M)
    X, _, meta = OccupancyForecaster().design().training_rows(frame, 7)
    X.to_parquet(CACHE_X)
    meta.to_parquet(CACHE_M)
    return X, meta


def refit_groups(frame: pd.DataFrame) -> list[list[pd.Timestamp]]:
    """The benchmark's cutoffs grouped by refit: each group is predicted by its first's fit."""
    cuts = [c for w in ("2018-19", "2019-20") for c in run.winter_cutoffs(frame, w)]
    groups: list[list[pd.Timestamp]] = []
    for c, refit in zip(cuts, run.refit_schedule(frame, cuts, 4), strict=True):
        if refit:
            groups.append([])
        groups[-1].append(c)
    return groups


def grid_of(err: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Per-horizon quantile grids (7 x len(GRID))."""
    return np.asarray([np.quantile(err[h == k], GRID) for k in range(1, 8)])


def score(
    name: str,
    r: np.ndarray,
    now: np.ndarray,
    pred: np.ndarray,
    grids: np.ndarray,
    hz: np.ndarray,
    pers: dict[float, np.ndarray],
) -> str:
    """One markdown row: coverage, pinball, Brier / skill at 95% and 97%."""
    g = grids  # rows: one grid per test row
    idx = np.interp(QUANTILES, GRID, np.arange(len(GRID)))
    qs = np.stack([[np.interp(i, np.arange(len(GRID)), row) for i in idx] for row in g])
    qs = pred[:, None] + qs
    cov = np.mean((r >= qs[:, 0]) & (r <= qs[:, -1]))
    diff = r[:, None] - qs
    pin = np.mean(np.maximum(QUANTILES * diff, (QUANTILES - 1) * diff)) * 100
    cells = [f"{cov:.3f}", f"{pin:.3f}"]
    for line in (0.95, 0.97):
        need = line - now - pred
        p = np.array(
            [
                1 - np.interp(v, row, GRID, left=0.0, right=1.0)
                for v, row in zip(need, g, strict=True)
            ]
        )
        hit = (r + now >= line).astype(float)
        b = np.mean((p - hit) ** 2)
        bp = np.mean((pers[line] - hit) ** 2)
        cells += [f"{b:.4f}", f"{1 - b / bp:+.3f}"]
    cov_h = [np.mean(((r >= qs[:, 0]) & (r <= qs[:, -1]))[hz == k]) for k in (1, 4, 7)]
    cells.append("/".join(f"{c:.2f}" for c in cov_h))
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    """Run the ideas and print a markdown table."""
    import lightgbm as lgb

    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", type=int, default=150)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--folds", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    frame = sitreps.load_sitreps()
    sites = set(sitreps.large_trusts(frame))
    X, m = load(frame)
    now = (m["y_last"] / m["scale"]).to_numpy(dtype=float)
    r = (m["y"] / m["scale_y"]).to_numpy(dtype=float) - now
    ok = np.isfinite(r)
    X, m, r, now = X[ok].reset_index(drop=True), m[ok].reset_index(drop=True), r[ok], now[ok]
    rc = np.clip(r, -0.3, 0.3)
    win = winter_of(m["date"])
    since = X["days_since_start"].to_numpy(dtype=float)
    h_all = m["horizon"].to_numpy()
    occ_bin = np.digitize(now, OCC_BINS)
    pairs = pd.DataFrame(
        {"horizon": h_all, "occ_last": now, "occ": r + now, "beds": m["scale"].to_numpy()}
    )

    def fit(mask: np.ndarray) -> object:
        return lgb.LGBMRegressor(
            n_estimators=args.trees,
            learning_rate=args.lr,
            num_leaves=31,
            min_child_samples=100,
            subsample=0.7,
            subsample_freq=1,
            colsample_bytree=0.8,
            verbose=-1,
            n_jobs=1,
            random_state=0,
        ).fit(X[mask], rc[mask])

    groups = refit_groups(frame)
    pools: dict[str, list[tuple[np.ndarray, ...]]] = {}
    rows: list[dict[str, np.ndarray]] = []
    for group in groups:
        c = group[0]
        train = (m["date"] <= c).to_numpy()
        main_model = fit(train)
        test = (m["cutoff"].isin(group) & m["site_id"].isin(sites)).to_numpy()
        pred = main_model.predict(X[test])  # type: ignore[attr-defined]
        # base: the latest 42 cutoff days
        cutoffs_tr = np.sort(m.loc[train, "cutoff"].unique())
        first = cutoffs_tr[max(0, len(cutoffs_tr) - 42)]
        cal = train & (m["cutoff"] >= first).to_numpy()
        base_model = fit((m["date"] < first).to_numpy())
        e_base = r[cal] - base_model.predict(X[cal])  # type: ignore[attr-defined]
        # folds: leave one of the last k complete winters out
        cur = winter_of(pd.Series([c]))[0]
        fold_err, fold_idx = [], []
        for w in range(cur - args.folds, cur):
            hold = train & (win == w)
            mdl = fit(train & (win != w))
            fold_err.append(r[hold] - mdl.predict(X[hold]))  # type: ignore[attr-defined]
            fold_idx.append(np.flatnonzero(hold))
        e_fold, i_fold = np.concatenate(fold_err), np.concatenate(fold_idx)
        i_base = np.flatnonzero(cal)
        mid = since[i_fold] >= 21
        test_idx = np.flatnonzero(test)
        hz = h_all[test_idx]
        variants: dict[str, np.ndarray] = {
            "latest 42 cutoff days (current)": grid_of(e_base, h_all[i_base])[hz - 1],
            f"{args.folds} winter folds, all rows": grid_of(e_fold, h_all[i_fold])[hz - 1],
            f"{args.folds} winter folds, days since start >= 21": grid_of(
                e_fold[mid], h_all[i_fold][mid]
            )[hz - 1],
        }
        # Mondrian: per horizon and occupancy bin at the cutoff
        gm = np.zeros((len(test_idx), len(GRID)))
        tb = occ_bin[test_idx]
        fb = occ_bin[i_fold]
        for k in range(1, 8):
            for b in range(len(OCC_BINS) + 1):
                sel = mid & (h_all[i_fold] == k) & (fb == b)
                where = (hz == k) & (tb == b)
                if where.any():
                    gm[where] = np.quantile(e_fold[sel], GRID)
        variants[f"{args.folds} winter folds, since >= 21, per occupancy bin"] = gm
        for name, g in variants.items():
            pools.setdefault(name, []).append((g,))
        # persistence probabilities per cutoff
        pers = {0.95: np.zeros(len(test_idx)), 0.97: np.zeros(len(test_idx))}
        for cut in group:
            tr = (m["date"] <= cut).to_numpy() & (pairs["beds"] >= 50).to_numpy()
            sel = (m["cutoff"].to_numpy()[test_idx]) == np.datetime64(cut)
            for line in (0.95, 0.97):
                pers[line][sel] = peers.persistence_probability(
                    pairs[tr], pairs.iloc[test_idx[sel]], line
                )
        rows.append(
            {
                "r": r[test_idx],
                "now": now[test_idx],
                "pred": pred,
                "h": hz,
                "p95": pers[0.95],
                "p97": pers[0.97],
            }
        )
        print(f"  refit {c.date()}: {time.perf_counter() - t0:.0f} s", flush=True)
    cat = {k: np.concatenate([row[k] for row in rows]) for k in rows[0]}
    pd.to_pickle((cat, pools), "/tmp/bed_pressure_fast_conformal.pkl")
    print(f"MAE {np.mean(np.abs(cat['r'] - cat['pred'])) * 100:.3f} ({len(cat['r'])} rows)")
    print(
        "| idea | coverage90 | pinball | brier0.95 | bss0.95 | brier0.97 | bss0.97 | cov h1/4/7 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, parts in pools.items():
        g = np.concatenate([p[0] for p in parts])
        pers = {0.95: cat["p95"], 0.97: cat["p97"]}
        print(score(name, cat["r"], cat["now"], cat["pred"], g, cat["h"], pers), flush=True)
    print(f"time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
