"""Screen feature and model ideas by grouped cross-validation on the UCI training part only.

The held-out 20% of patients (the split of run.py) is never touched here. Each idea is scored
by LightGBM AUROC over 3 patient-grouped folds of the training part (early stopping per fold).

    .venv/bin/python experiments/readmission_uci/ideas.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.readmission.calibration import logit
from forecasting.readmission.features import EpisodeFeatures, history_features
from forecasting.readmission.models import LIGHTGBM_PARAMS, LogisticRisk
from forecasting.readmission.split import patient_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, load_uci

warnings.simplefilter("ignore")


Prepare = Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


def cv_auroc(
    x: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    params: dict[str, Any],
    folds: int = 3,
    seed: int = 0,
    prepare: Prepare | None = None,
    blend: float = 0.0,
    bag: int = 1,
) -> tuple[float, float, int]:
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    aucs, trees = [], []
    split = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train, test in split.split(x, y, groups):
        x_train, x_test = x.iloc[train], x.iloc[test]
        if prepare is not None:  # encoders learn from the fold's training part only
            x_train, x_test = prepare(x_train, y[train], x_test)
        logits = []
        for member in range(bag):
            model = lgb.LGBMClassifier(
                n_estimators=3000,
                n_jobs=1,
                verbose=-1,
                random_state=seed + member,
                **{**LIGHTGBM_PARAMS, **params},
            )
            model.fit(
                x_train,
                y[train],
                eval_set=[(x_test, y[test])],
                callbacks=[lgb.early_stopping(150, verbose=False)],
            )
            logits.append(logit(model.predict_proba(x_test)[:, 1]))
            trees.append(model.best_iteration_)
        score = np.mean(logits, axis=0)
        if blend:  # average with logistic regression on the log-odds scale
            linear = LogisticRisk().fit(x_train, y[train]).predict_risk(x_test)
            score = (1 - blend) * score + blend * logit(linear)
        aucs.append(roc_auc_score(y[test], score))
    return float(np.mean(aucs)), float(np.std(aucs)), int(np.mean(trees))


def drop(x: pd.DataFrame, prefixes: tuple[str, ...]) -> pd.DataFrame:
    return x.loc[:, [c for c in x.columns if not c.startswith(prefixes)]]


def frequency_encode(min_levels: int = 9) -> Prepare:
    """Replace categoricals with many levels by their training frequency (a number)."""

    def prepare(x_train, y_train, x_test):
        x_train, x_test = x_train.copy(), x_test.copy()
        for col in x_train.columns:
            if (
                x_train[col].dtype.name == "category"
                and len(x_train[col].cat.categories) >= min_levels
            ):
                counts = x_train[col].astype(object).value_counts(normalize=True)
                x_train[col] = x_train[col].astype(object).map(counts).astype(float)
                x_test[col] = x_test[col].astype(object).map(counts).astype(float)
        return x_train, x_test

    return prepare


def target_encode(columns: list[str], codes: pd.DataFrame, m: float = 50.0) -> Prepare:
    """Add smoothed target means of raw code columns: out-of-fold (5 folds) on the training
    part, from the whole training part for the test part."""

    def encode(train_codes, y_train, apply_codes):
        prior = float(np.mean(y_train))
        frame = pd.DataFrame({"code": train_codes.to_numpy(), "y": y_train})
        stats = frame.groupby("code")["y"].agg(["sum", "count"])
        table = (stats["sum"] + m * prior) / (stats["count"] + m)
        return apply_codes.map(table).astype(float).fillna(prior).to_numpy()

    def prepare(x_train, y_train, x_test):
        from sklearn.model_selection import KFold

        x_train, x_test = x_train.copy(), x_test.copy()
        for col in columns:
            c_train = codes.loc[x_train.index, col]
            c_test = codes.loc[x_test.index, col]
            oof = np.zeros(len(x_train))
            for fit, rest in KFold(5, shuffle=True, random_state=0).split(x_train):
                oof[rest] = encode(c_train.iloc[fit], y_train[fit], c_train.iloc[rest])
            x_train[f"{col}_te"] = oof
            x_test[f"{col}_te"] = encode(c_train, y_train, c_test)
        return x_train, x_test

    return prepare


def label_history(train: pd.DataFrame) -> pd.DataFrame:
    """Earlier encounters' outcomes (known by the current discharge), in time order."""
    order = train.sort_values("time_order")
    group = order.groupby("patient_id", sort=False)["label"]
    out = pd.DataFrame(index=order.index)
    out["prior_readmissions"] = group.cumsum() - order["label"]
    out["previous_readmitted"] = group.shift(1)
    return out.loc[train.index]


def previous_values(train: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The patient's previous encounter's values (time order), and the running maximum."""
    order = train.sort_values("time_order")
    out = pd.DataFrame(index=order.index)
    for col in columns:
        group = order.groupby("patient_id", sort=False)[col]
        out[f"previous_{col}"] = group.shift(1)
        out[f"max_before_{col}"] = group.transform(lambda v: v.shift(1).cummax())
    return out.loc[train.index]


def raw_native(path: Path, train: pd.DataFrame) -> pd.DataFrame:
    """The raw file's own columns, every text column a category with all its levels."""
    raw = pd.read_csv(path, na_values="?", keep_default_na=False, low_memory=False)
    raw = raw.set_axis(pd.RangeIndex(1, len(raw) + 1, name="row")).loc[train.index]
    x = raw.drop(columns=["encounter_id", "patient_nbr", "readmitted"])
    for col in x.columns:
        if x[col].dtype == object or col.endswith("_id"):
            x[col] = x[col].astype("category")
    return x


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    episodes = load_uci()
    train_mask, _ = patient_split(episodes, 0.2, seed=0)
    train = episodes.loc[train_mask]
    y = train["label"].to_numpy(dtype=int)
    groups = train["patient_id"].to_numpy()

    # rounds 1-3 ran before the carried history (previous_*, max_before_*) existed and with
    # the 3-character diagnosis codes on: rebuild those feature sets exactly
    def early(**options: Any) -> pd.DataFrame:
        x = EpisodeFeatures(diagnosis_codes=True, **options).fit_transform(train)
        return drop(x, ("previous_", "max_before_"))

    base = early()
    wide = early(min_category_count=10, max_categories=300)
    nohist = early(history=False)
    ideas: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {
        "default": (base, {}),
        "no_history": (nohist, {}),
        "wide_categories": (wide, {}),
        "no_diag_codes": (
            drop(base, ("diag_1", "diag_2", "diag_3")).join(
                base[["diag_1_group", "diag_2_group", "diag_3_group"]]
            ),
            {},
        ),
        "no_cci_flags": (drop(base, ("cci_",)), {}),
        "leaves15": (base, {"num_leaves": 15}),
        "leaves63": (base, {"num_leaves": 63, "min_child_samples": 200}),
        "lr0.015": (base, {"learning_rate": 0.015}),
        "colsample0.3": (base, {"colsample_bytree": 0.3}),
        "min_child50": (base, {"min_child_samples": 50}),
        "cat_smooth10": (base, {"cat_smooth": 10.0, "min_data_per_group": 50}),
        "depth6": (base, {"max_depth": 6, "num_leaves": 40}),
    }
    nodiag = ideas["no_diag_codes"][0]
    codes = base[["diag_1", "diag_2", "diag_3"]].astype(str)
    coarse = early(max_categories=20)
    ideas2: dict[str, tuple[pd.DataFrame, dict[str, Any], Prepare | None]] = {
        "r2_nodiag_cat_reg": (
            nodiag,
            {"cat_l2": 30.0, "cat_smooth": 200.0, "min_data_per_group": 500},
            None,
        ),
        "r2_nodiag_freq_enc": (nodiag, {}, frequency_encode()),
        "r2_nodiag_target_enc_diag": (
            nodiag,
            {},
            target_encode(["diag_1", "diag_2", "diag_3"], codes),
        ),
        "r2_nodiag_lr015_col03": (nodiag, {"learning_rate": 0.015, "colsample_bytree": 0.3}, None),
        "r2_nodiag_label_history": (nodiag.join(label_history(train)), {}, None),
        "r2_nodiag_max_cat20": (
            drop(coarse, ("diag_1", "diag_2", "diag_3")).join(
                coarse[["diag_1_group", "diag_2_group", "diag_3_group"]]
            ),
            {},
            None,
        ),
    }
    prev_cols = [
        "prior_admissions_12m",
        "ed_visits_6m",
        "length_of_stay",
        "comorbidity_count",
        "number_outpatient",
        "num_medications",
    ]
    from common import DATA

    ideas2["r3_nodiag_previous_values"] = (nodiag.join(previous_values(train, prev_cols)), {}, None)
    hist = history_features(train)
    ideas2["r3_raw_native_history"] = (raw_native(DATA, train).join(hist), {}, None)
    ideas2["r3_raw_native"] = (raw_native(DATA, train), {}, None)
    library = EpisodeFeatures().fit_transform(train)
    ideas2["r4_library_default"] = (library, {}, None)
    ideas2["r4_library_label_history"] = (library.join(label_history(train)), {}, None)
    ideas2["r4_library_lr015_col03"] = (
        library,
        {"learning_rate": 0.015, "colsample_bytree": 0.3},
        None,
    )
    carried_categories = (
        previous_values(
            train.assign(
                **{
                    c: train[c].astype("category").cat.codes.astype(float)
                    for c in ("discharge_destination", "admission_type", "admission_source_id")
                }
            ),
            ["discharge_destination", "admission_type", "admission_source_id"],
        )
        .filter(like="previous_")
        .astype("category")
    )
    ideas2["r5_blend_logistic_0.3"] = (library, {"blend": 0.3}, None)
    ideas2["r5_bag3"] = (library, {"bag": 3}, None)
    ideas2["r5_previous_categories"] = (library.join(carried_categories), {}, None)
    all_ideas = {k: (x, p, None) for k, (x, p) in ideas.items()} | ideas2
    out = RESULTS / "ideas.json"
    done = json.loads(out.read_text()) if out.exists() else {}
    for name, (x, params, prepare) in all_ideas.items():
        if args.only and name not in args.only:
            continue
        start = time.time()
        options = {k: params.pop(k) for k in ("blend", "bag") if k in params}
        mean, std, trees = cv_auroc(x, y, groups, params, prepare=prepare, **options)
        params = {**params, **options}
        done[name] = {
            "cv_auroc": round(mean, 4),
            "sd": round(std, 4),
            "trees": trees,
            "features": x.shape[1],
            "params": params,
            "seconds": round(time.time() - start),
        }
        print(name, done[name], flush=True)
        out.write_text(json.dumps(done, indent=2) + "\n")


if __name__ == "__main__":
    main()
