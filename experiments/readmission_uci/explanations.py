"""Path attributions (the default reasons) against exact TreeSHAP on UCI: agreement and speed.

    .venv/bin/python experiments/readmission_uci/explanations.py \
        --model models/readmission/latest.joblib

Scores 3,000 encounters of the file with the given bundle both ways and compares each
encounter's top feature and top-3 set (by absolute contribution).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from forecasting.readmission.bundle import load_bundle

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_uci

warnings.simplefilter("ignore")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=Path("models/readmission/latest.joblib"))
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    bundle = load_bundle(args.model)
    episodes = load_uci().sample(args.n, random_state=0)
    x = bundle.features.transform(episodes)
    timings = {}
    values = {}
    for exact in (False, True):
        start = time.time()
        values[exact] = bundle.model.contributions(x, exact=exact).to_numpy()
        timings[exact] = time.time() - start
    path, shap = np.abs(values[False]), np.abs(values[True])
    top1 = np.mean(path.argmax(axis=1) == shap.argmax(axis=1))
    top3_path = np.argsort(-path, axis=1)[:, :3]
    top3_shap = np.argsort(-shap, axis=1)[:, :3]
    overlap = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(top3_path, top3_shap, strict=True)])
    print(
        f"{args.n} encounters: path {timings[False]:.1f} s, TreeSHAP {timings[True]:.1f} s; "
        f"same top feature {top1:.0%}, top-3 overlap {overlap:.0%}"
    )


if __name__ == "__main__":
    main()
