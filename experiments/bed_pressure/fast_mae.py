"""Fast harness for point-forecast ideas (README, "Point forecast ideas", second table).

Same design rows as ``fast_conformal.py`` (cached features of the whole file), the
benchmark's refit plan (each winter's cutoffs 1, 5, 9; the fitted model predicts the 18
cutoffs up to the next refit), 154 trusts. Prints MAE in occupancy points, mean and per horizon.

    .venv/bin/python experiments/bed_pressure/fast_mae.py [IDEA ...]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fast_conformal
import sitreps

from forecasting.models.occupancy import DEFAULT_PARAMS

IDEAS: dict[str, dict[str, Any]] = {
    "default (300 trees, lr 0.05, 31 leaves)": {},
    "600 trees, lr 0.03, 63 leaves": {"n_estimators": 600, "learning_rate": 0.03, "num_leaves": 63},
    "500 trees, lr 0.05, 31 leaves, min_child 300": {
        "n_estimators": 500,
        "min_child_samples": 300,
    },
    "mean of ratio-change and level models": {"average": True},
    "800 trees, lr 0.03, 63 leaves, min_child 200": {
        "n_estimators": 800,
        "learning_rate": 0.03,
        "num_leaves": 63,
        "min_child_samples": 200,
    },
    "huber objective (alpha 0.02)": {"objective": "huber", "alpha": 0.02},
}


def main() -> None:
    """Run the ideas named on the command line (default: all)."""
    import lightgbm as lgb

    which = sys.argv[1:] or list(IDEAS)
    frame = sitreps.load_sitreps()
    sites = set(sitreps.large_trusts(frame))
    X, m = fast_conformal.load(frame)
    now = (m["y_last"] / m["scale"]).to_numpy(dtype=float)
    r = (m["y"] / m["scale_y"]).to_numpy(dtype=float) - now
    ok = np.isfinite(r)
    X, m, r, now = X[ok].reset_index(drop=True), m[ok].reset_index(drop=True), r[ok], now[ok]
    rc = np.clip(r, -0.3, 0.3)
    groups = fast_conformal.refit_groups(frame)
    print("| idea | MAE | h1 | h2 | h3 | h4 | h5 | h6 | h7 | time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in which:
        idea = dict(IDEAS[name])
        average = idea.pop("average", False)
        params = {**DEFAULT_PARAMS, **idea, "random_state": 0}
        t0 = time.perf_counter()
        err, hz = [], []
        for group in groups:
            train = (m["date"] <= group[0]).to_numpy()
            test = (m["cutoff"].isin(group) & m["site_id"].isin(sites)).to_numpy()
            pred = lgb.LGBMRegressor(**params).fit(X[train], rc[train]).predict(X[test])
            if average:
                level = lgb.LGBMRegressor(**params).fit(X[train], (r + now)[train])
                pred = 0.5 * (pred + level.predict(X[test]) - now[test])
            err.append(np.abs(r[test] - pred))
            hz.append(m["horizon"].to_numpy()[test])
        e, h = np.concatenate(err) * 100, np.concatenate(hz)
        per_h = " | ".join(f"{e[h == k].mean():.2f}" for k in range(1, 8))
        took = time.perf_counter() - t0
        print(f"| {name} | {e.mean():.3f} | {per_h} | {took:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
