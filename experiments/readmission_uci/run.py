"""LACE vs logistic regression vs calibrated LightGBM on UCI Diabetes 130-US (issue 6).

Usage (from the repository root; about 3 minutes per seed on 2 cores):

    .venv/bin/python experiments/readmission_uci/run.py [--seeds 0 1 2]

Protocol: the raw file is read exactly as ``forecasting readmission train`` reads it (label
``readmitted == "<30"``, discharges to death or hospice left out, encounter_id order as time
order within a patient). For each seed, 20% of the patients (all their encounters) are held
out; the features, the three models, LightGBM's tree count and its calibration method are all
fitted on the other 80% (grouped cross-validation inside it), then measured once on the held-out
patients. Writes ``results/metrics_seed<N>.csv``, ``results/subgroups_seed0.csv``,
``results/calibration_seed0.png`` and ``results/summary.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from forecasting.readmission.report import calibration_plot, metrics_table
from forecasting.readmission.train import train_readmission

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import COLUMNS, RESULTS, load_uci

warnings.simplefilter("ignore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    start = time.time()
    episodes = load_uci()
    print(
        f"{len(episodes):,} encounters, {episodes['patient_id'].nunique():,} patients, "
        f"{int(episodes['label'].sum()):,} readmitted <30 days "
        f"({episodes.attrs['excluded']:,} death/hospice discharges left out)",
        flush=True,
    )
    tables = []
    for seed in args.seeds:
        began = time.time()
        run = train_readmission(episodes, COLUMNS, holdout=0.2, seed=seed)
        assert run.evaluation is not None
        table = metrics_table(run.evaluation).assign(seed=seed)
        table["seconds"] = round(time.time() - began)
        table.to_csv(RESULTS / f"metrics_seed{seed}.csv", index=False)
        model = run.bundle.model
        print(
            f"seed {seed}: LightGBM {getattr(model, 'n_trees_', '?')} trees, calibration "
            f"{getattr(getattr(model, 'calibrator_', None), 'method', 'none')} "
            f"(held-out Brier of each: {getattr(model, 'calibration_scores_', {})})"
        )
        print(table.round(4).to_string(index=False), flush=True)
        if seed == args.seeds[0]:
            run.evaluation.subgroups.to_csv(RESULTS / f"subgroups_seed{seed}.csv", index=False)
            calibration_plot(run.evaluation, RESULTS / f"calibration_seed{seed}.png")
        tables.append(table)
    allseeds = pd.concat(tables)
    summary = allseeds.groupby("model", sort=False)[
        ["auroc", "auprc", "brier", "calibration_intercept", "calibration_slope"]
    ].agg(["mean", "std"] if len(args.seeds) > 1 else ["mean"])
    text = summary.round(4).to_string()
    (RESULTS / "summary.md").write_text(text + "\n")
    print(summary.round(4).to_string())
    print(f"total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
