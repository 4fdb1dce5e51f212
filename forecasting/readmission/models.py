"""Readmission risk models: the LACE baseline, logistic regression, calibrated LightGBM.

All take the feature matrix of :class:`~forecasting.readmission.features.EpisodeFeatures`
and share one interface: ``fit(X, y, groups)`` (``groups``: patient ids) returns the model,
``predict_risk(X)`` returns 30-day readmission probabilities, and ``contributions(X)`` returns
per-feature contributions (log-odds, or LACE points) for explanations.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecasting.errors import NotFittedError
from forecasting.readmission.calibration import (
    Calibrator,
    choose_calibrator,
    fit_logistic_1d,
    sigmoid,
)
from forecasting.readmission.lace import lace_points

#: LightGBM settings chosen by grouped cross-validation on the UCI training part (see
#: experiments/readmission_uci/README.md); the number of trees is found by early stopping.
LIGHTGBM_PARAMS: dict[str, Any] = {
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.5,
    "reg_lambda": 5.0,
    "cat_smooth": 50.0,
    "min_data_per_group": 100,
    "max_cat_to_onehot": 8,
}


def _check(model: object, attribute: str) -> None:
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise NotFittedError(f"{name} is not fitted: call fit(X, y, groups) first")


class LaceRisk:
    """The LACE score as a probability: a one-variable logistic regression on the points."""

    name = "lace"

    def fit(self, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None = None) -> LaceRisk:
        """Fit the intercept and slope of the LACE points; returns self."""
        self.coef_ = fit_logistic_1d(X["lace"].to_numpy(dtype=float), np.asarray(y))
        return self

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Return the risk of each episode."""
        _check(self, "coef_")
        a, b = self.coef_
        return sigmoid(a + b * X["lace"].to_numpy(dtype=float))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the LACE points of each component, named by the input they come from."""
        inputs = ("length_of_stay", "emergency", "charlson", "ed_visits_6m")
        points = lace_points(*(X[c] if c in X else np.full(len(X), np.nan) for c in inputs))
        parts = dict(zip(inputs, ("lace_l", "lace_a", "lace_c", "lace_e"), strict=True))
        return pd.DataFrame(
            {k: points[v].to_numpy(dtype=float) for k, v in parts.items()}, index=X.index
        )


class LogisticRisk:
    """L2-penalised logistic regression on standardised numbers and one-hot categories.

    Missing numbers are imputed with the training median and flagged.

    Args:
        C: Inverse penalty strength.
    """

    name = "logistic"

    def __init__(self, C: float = 0.5) -> None:
        self.C = C

    def fit(self, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None = None) -> LogisticRisk:
        """Fit the pipeline; returns self."""
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        numeric = [c for c in X.columns if X[c].dtype.kind == "f"]
        categorical = [c for c in X.columns if c not in numeric]
        prep = ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median", add_indicator=True, keep_empty_features=True
                        ),
                        StandardScaler(),
                    ),
                    numeric,
                ),
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        )
        design = prep.fit_transform(self._text(X, categorical), None)
        model = LogisticRegression(C=self.C, max_iter=2000)
        model.fit(design, np.asarray(y))
        imputer = prep.named_transformers_["num"][0]
        indicator = getattr(imputer, "indicator_", None)
        flagged = [numeric[i] for i in indicator.features_] if indicator is not None else []
        encoder = prep.named_transformers_["cat"]
        sources = [*numeric, *flagged]
        for col, cats in zip(categorical, getattr(encoder, "categories_", []), strict=False):
            sources += [col] * len(cats)
        self.prep_, self.model_, self.categorical_ = prep, model, categorical
        self.sources_ = np.asarray(sources, dtype=object)
        self.centre_ = np.asarray(design.mean(axis=0)).ravel()
        return self

    @staticmethod
    def _text(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
        out = X.copy()
        for col in categorical:
            out[col] = X[col].astype(object).where(X[col].notna(), "(missing)").astype(str)
        return out

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Return the risk of each episode."""
        _check(self, "model_")
        design = self.prep_.transform(self._text(X, self.categorical_))
        return np.asarray(self.model_.predict_proba(design)[:, 1])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return coefficient × (value − training mean), summed per input column."""
        _check(self, "model_")
        design = self.prep_.transform(self._text(X, self.categorical_))
        dense = design.toarray() if hasattr(design, "toarray") else np.asarray(design)
        terms = (dense - self.centre_) * self.model_.coef_[0]
        frame = pd.DataFrame(terms, index=X.index)
        return frame.T.groupby(self.sources_, sort=False).sum().T


class LightGBMRisk:
    """Gradient-boosted trees (categoricals native) with a measured probability calibration.

    ``fit`` runs a grouped ``cv``-fold cross-validation on the training episodes: each fold's
    model stops early on its held-out patients, giving the number of trees and out-of-fold
    risks; Platt or isotonic calibration is chosen on those risks
    (:func:`~forecasting.readmission.calibration.choose_calibrator`); the final model is fitted
    on all training episodes. ``cv=0`` skips calibration and uses ``max_trees`` trees.

    Args:
        params: LightGBM settings (default :data:`LIGHTGBM_PARAMS`).
        cv: Grouped folds for early stopping and calibration (0: none).
        max_trees: Upper bound on the number of trees.
        n_jobs: Threads for LightGBM (1 is fastest on a shared 2-core machine: with 2, threads
            that wait for a busy core make a fit 5-10 times slower).
        seed: Random seed.
    """

    name = "lightgbm"

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        cv: int = 4,
        max_trees: int = 2000,
        n_jobs: int = 1,
        seed: int = 0,
    ) -> None:
        self.params = params
        self.cv = cv
        self.max_trees = max_trees
        self.n_jobs = n_jobs
        self.seed = seed

    def _model(self, n_trees: int) -> Any:
        import lightgbm as lgb

        params = {**LIGHTGBM_PARAMS, **(self.params or {})}
        return lgb.LGBMClassifier(
            n_estimators=n_trees, random_state=self.seed, n_jobs=self.n_jobs, verbose=-1, **params
        )

    def fit(self, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None = None) -> LightGBMRisk:
        """Fit (see the class docstring); returns self."""
        import lightgbm as lgb
        from sklearn.model_selection import StratifiedGroupKFold

        y = np.asarray(y, dtype=int)
        self.calibrator_: Calibrator | None = None
        self.calibration_scores_: dict[str, float] = {}
        n_trees = self.max_trees
        if self.cv >= 2:
            groups = np.arange(len(y)) if groups is None else np.asarray(groups)
            folds = StratifiedGroupKFold(self.cv, shuffle=True, random_state=self.seed)
            oof = np.zeros(len(y))
            best = []
            for train, test in folds.split(X, y, groups):
                model = self._model(self.max_trees)
                with warnings.catch_warnings():  # eval_set is renamed in LightGBM 4.7
                    warnings.simplefilter("ignore", FutureWarning)
                    warnings.simplefilter("ignore", DeprecationWarning)
                    model.fit(
                        X.iloc[train],
                        y[train],
                        eval_set=[(X.iloc[test], y[test])],
                        callbacks=[lgb.early_stopping(100, verbose=False)],
                    )
                best.append(max(model.best_iteration_ or self.max_trees, 20))
                oof[test] = model.predict_proba(X.iloc[test])[:, 1]
            # the final model sees cv/(cv-1) times more data than each fold: a few more trees
            n_trees = round(float(np.mean(best)) * (self.cv / (self.cv - 1)) ** 0.5)
            self.calibrator_, self.calibration_scores_ = choose_calibrator(
                oof, y, groups, self.seed
            )
        self.n_trees_ = n_trees
        self.model_ = self._model(n_trees).fit(X, y)
        return self

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        _check(self, "model_")
        return np.asarray(self.model_.predict_proba(X)[:, 1])

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Return the calibrated risk of each episode."""
        raw = self._raw(X)
        return raw if self.calibrator_ is None else self.calibrator_.transform(raw)

    def contributions(self, X: pd.DataFrame, exact: bool = False) -> pd.DataFrame:
        """Return per-feature contributions to the log-odds of the uncalibrated risk.

        Args:
            X: Features.
            exact: Use LightGBM's TreeSHAP values (``pred_contrib``): about 2 ms per episode
                for a few hundred trees. Default: path attributions (Saabas): each split's
                change in its tree's expected output, credited to the split's feature; like
                SHAP values they add up to the log-odds, and cost about 1/30 of the time.

        Returns:
            One column per feature, aligned with ``X``.
        """
        _check(self, "model_")
        if exact:
            values = np.asarray(self.model_.predict(X, pred_contrib=True))[:, :-1]
        else:
            values = path_contributions(self.model_.booster_, X)
        return pd.DataFrame(values, index=X.index, columns=X.columns)


def path_contributions(booster: Any, X: pd.DataFrame) -> np.ndarray:
    """Return the path (Saabas) attributions of a LightGBM booster, one row per episode.

    Each leaf's attribution vector is fixed (the changes in expected output along its path),
    so it is tabulated once per tree and gathered through the episodes' leaf indices.
    """
    dump = booster.dump_model()
    n_features = len(dump["feature_names"])
    leaves = np.asarray(booster.predict(X, pred_leaf=True)).reshape(len(X), -1)
    out = np.zeros((len(X), n_features))
    for t, tree in enumerate(dump["tree_info"]):
        root = tree["tree_structure"]
        if "leaf_index" in root or "leaf_value" in root:
            continue  # a single-leaf tree moves nobody
        table = np.zeros((tree["num_leaves"], n_features))
        stack = [(root, np.zeros(n_features))]
        while stack:
            node, acc = stack.pop()
            for side in ("left_child", "right_child"):
                child = node[side]
                value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                step = acc.copy()
                step[node["split_feature"]] += value - node["internal_value"]
                if "leaf_index" in child:
                    table[child["leaf_index"]] = step
                else:
                    stack.append((child, step))
        out += table[leaves[:, t]]
    return out


def make_risk_model(name: str, **kwargs: Any) -> LaceRisk | LogisticRisk | LightGBMRisk:
    """Build a risk model by name: ``lace``, ``logistic`` or ``lightgbm``.

    Raises:
        ValueError: For an unknown name.
    """
    models = {"lace": LaceRisk, "logistic": LogisticRisk, "lightgbm": LightGBMRisk}
    if name not in models:
        raise ValueError(f"unknown readmission model {name!r}: use {', '.join(models)}")
    return models[name](**kwargs)
