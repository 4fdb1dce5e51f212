"""Fast harness: a direct classifier of P(occupancy >= line) against the conformal probability.

Same design rows, refit plan and test rows as ``fast_conformal.py`` (run that first: it caches
the rows and writes the persistence probabilities and our model's forecasts to
``/tmp/bed_pressure_fast_conformal.pkl``). For each refit, one LightGBM binary classifier per
line is trained on the rows before the cutoff (label: occupancy at the target day >= line) and
its probability scored with the Brier skill against binned persistence.

    .venv/bin/python experiments/bed_pressure/fast_classifier.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fast_conformal
import sitreps

LINES = (0.95, 0.97)


def main() -> None:
    """Print Brier and Brier skill of the classifier, the conformal probability and their mean."""
    import lightgbm as lgb

    t0 = time.perf_counter()
    cat, pools = pd.read_pickle("/tmp/bed_pressure_fast_conformal.pkl")
    frame = sitreps.load_sitreps()
    sites = set(sitreps.large_trusts(frame))
    X, m = fast_conformal.load(frame)
    now = (m["y_last"] / m["scale"]).to_numpy(dtype=float)
    occ = (m["y"] / m["scale_y"]).to_numpy(dtype=float)
    ok = np.isfinite(occ - now)
    X, m, occ = X[ok].reset_index(drop=True), m[ok].reset_index(drop=True), occ[ok]
    groups = fast_conformal.refit_groups(frame)
    probs: dict[float, list[np.ndarray]] = {line: [] for line in LINES}
    for group in groups:
        train = (m["date"] <= group[0]).to_numpy()
        test = (m["cutoff"].isin(group) & m["site_id"].isin(sites)).to_numpy()
        for line in LINES:
            clf = lgb.LGBMClassifier(
                n_estimators=300,
                learning_rate=0.05,
                num_leaves=31,
                min_child_samples=100,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                verbose=-1,
                n_jobs=2,
                random_state=0,
            ).fit(X[train], (occ[train] >= line).astype(int))
            probs[line].append(clf.predict_proba(X[test])[:, 1])
        print(f"  refit {group[0].date()}: {time.perf_counter() - t0:.0f} s", flush=True)
    conformal = next(name for name in pools if ">= 21" in name and "bin" not in name)
    g = np.concatenate([p[0] for p in pools[conformal]])
    print("| probability | brier0.95 | bss0.95 | brier0.97 | bss0.97 |")
    print("|---|---|---|---|---|")
    hit = {line: (cat["r"] + cat["now"] >= line).astype(float) for line in LINES}
    ours = {}
    for line in LINES:
        need = line - cat["now"] - cat["pred"]
        ours[line] = np.array(
            [
                1 - np.interp(v, row, fast_conformal.GRID, left=0.0, right=1.0)
                for v, row in zip(need, g, strict=True)
            ]
        )
    direct = {line: np.concatenate(probs[line]) for line in LINES}
    rows = {
        "conformal (the model's)": ours,
        "direct classifier": direct,
        "mean of the two": {line: (ours[line] + direct[line]) / 2 for line in LINES},
    }
    for name, p in rows.items():
        cells = []
        for line in LINES:
            b = np.mean((p[line] - hit[line]) ** 2)
            bp = np.mean((cat[f"p{round(line * 100)}"] - hit[line]) ** 2)
            cells += [f"{b:.4f}", f"{1 - b / bp:+.3f}"]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
