"""Train, score and evaluate readmission models on EpisodeFrames.

:func:`train_readmission` holds out a share of the patients (all their episodes), fits the
features and the LACE baseline, logistic regression and calibrated LightGBM on the rest, and
measures all three on the held-out patients. The bundle saved is the chosen model exactly as
evaluated (fitted on the training patients only). Risk bands: ``high`` is the riskiest
:data:`HIGH_SHARE` of training episodes, ``medium`` the next :data:`MEDIUM_SHARE`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecasting import __version__
from forecasting.errors import DataError, SchemaError
from forecasting.readmission.bundle import RiskBundle, summarise_training
from forecasting.readmission.columns import EpisodeColumns
from forecasting.readmission.explain import reasons
from forecasting.readmission.features import EpisodeFeatures
from forecasting.readmission.metrics import calibration_table, risk_metrics, subgroup_metrics
from forecasting.readmission.models import LaceRisk, make_risk_model
from forecasting.readmission.split import patient_split

MODELS = ("lace", "logistic", "lightgbm")
HIGH_SHARE = 0.10
MEDIUM_SHARE = 0.20
SCORE_COLUMNS = ("episode_id", "risk", "risk_band", "lace", "reasons")
MIN_EPISODES = 50
MIN_EACH_OUTCOME = 10


@dataclass
class Evaluation:
    """Held-out performance: metrics per model, subgroups and calibration of the chosen one.

    Attributes:
        metrics: ``{model: risk_metrics}`` (the chosen model and LACE at least).
        subgroups: Subgroup metrics of the chosen model.
        calibration: ``{model: calibration_table}``.
        outcomes: Observed 0/1 outcomes of the evaluated episodes (no ids).
        risks: ``{model: risks}`` aligned with ``outcomes``.
        model: Name of the chosen model.
    """

    metrics: dict[str, dict[str, float]]
    subgroups: pd.DataFrame
    calibration: dict[str, pd.DataFrame]
    outcomes: np.ndarray
    risks: dict[str, np.ndarray]
    model: str
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingRun:
    """A trained bundle and its held-out evaluation (``None`` when nothing was held out)."""

    bundle: RiskBundle
    evaluation: Evaluation | None


def _evaluate(name: str, episodes: pd.DataFrame, risks: dict[str, np.ndarray]) -> Evaluation:
    y = episodes["label"].to_numpy(dtype=float)
    return Evaluation(
        metrics={m: risk_metrics(y, r) for m, r in risks.items()},
        subgroups=subgroup_metrics(episodes, risks[name]),
        calibration={m: calibration_table(y, r) for m, r in risks.items()},
        outcomes=y,
        risks=risks,
        model=name,
    )


def train_readmission(
    episodes: pd.DataFrame,
    columns: EpisodeColumns | None = None,
    *,
    model: str = "lightgbm",
    holdout: float = 0.2,
    compare: bool = True,
    seed: int = 0,
    model_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainingRun:
    """Fit a readmission model and measure it against LACE on held-out patients.

    Args:
        episodes: A labelled EpisodeFrame (:func:`~forecasting.readmission.load.load_episodes`).
        columns: The mapping the episodes were loaded with (stored in the bundle).
        model: ``lightgbm`` (default), ``logistic`` or ``lace``.
        holdout: Share of patients held out for evaluation; 0 trains on all (no evaluation).
        compare: Also fit and evaluate the other models (for the comparison table).
        seed: Random seed of the split and the models.
        model_options: Keyword arguments of the chosen model (e.g. ``{"cv": 0}``).
        progress: Called with a short status text before each step (e.g. a CLI spinner).

    Returns:
        The bundle and the held-out evaluation.

    Raises:
        DataError: Unlabelled episodes, one outcome only, fewer than :data:`MIN_EPISODES`
            episodes or :data:`MIN_EACH_OUTCOME` of either outcome, or too few patients to
            hold out.
    """
    say = progress or (lambda _text: None)
    if episodes["label"].isna().any() or episodes["label"].nunique() < 2:
        raise DataError(
            "training needs a label on every episode and both outcomes",
            path=episodes.attrs.get("source"),
            fix="load the episodes with require_label=True",
        )
    _check_size(episodes)
    if holdout > 0:
        train_mask, test_mask = patient_split(episodes, holdout, seed)
    else:
        train_mask, test_mask = np.ones(len(episodes), bool), np.zeros(len(episodes), bool)
    train, test = episodes.loc[train_mask], episodes.loc[test_mask]
    say(f"Building features for {len(train):,} training episodes")
    features = EpisodeFeatures().fit(train)
    x_train = features.transform(train)
    y, groups = train["label"].to_numpy(dtype=int), train["patient_id"].to_numpy()
    names = [m for m in MODELS if compare or m in (model, "lace")]
    fitted: dict[str, Any] = {}
    for name in names:
        say(f"Fitting {name} on {len(train):,} episodes")
        options = (model_options or {}) if name == model else {}
        if name == "lightgbm":
            options = {"seed": seed, **options}
        fitted[name] = make_risk_model(name, **options).fit(x_train, y, groups)
    chosen = fitted[model]
    train_risk = chosen.predict_risk(x_train)
    cutoffs = np.quantile(train_risk, [1 - HIGH_SHARE - MEDIUM_SHARE, 1 - HIGH_SHARE])
    lace = fitted["lace"]
    assert isinstance(lace, LaceRisk)
    bundle = RiskBundle(
        columns or EpisodeColumns(), features, chosen, lace, (float(cutoffs[0]), float(cutoffs[1]))
    )
    bundle.metadata = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "model": model,
        "holdout": holdout,
        "seed": seed,
        "excluded_death_or_hospice": int(episodes.attrs.get("excluded", 0)),
        **summarise_training(bundle, train),
    }
    evaluation = None
    if test_mask.any():
        say(f"Evaluating on {len(test):,} held-out episodes")
        x_test = features.transform(test)
        risks = {name: m.predict_risk(x_test) for name, m in fitted.items()}
        evaluation = _evaluate(model, test, risks)
        bundle.metadata["holdout_metrics"] = {
            name: {k: round(v, 6) for k, v in metrics.items()}
            for name, metrics in evaluation.metrics.items()
        }
    return TrainingRun(bundle, evaluation)


def _check_size(episodes: pd.DataFrame) -> None:
    events = int(episodes["label"].sum())
    others = len(episodes) - events
    if len(episodes) < MIN_EPISODES or min(events, others) < MIN_EACH_OUTCOME:
        raise DataError(
            f"{len(episodes):,} episodes ({events:,} readmitted, {others:,} not) are too few "
            "to train and evaluate a model",
            path=episodes.attrs.get("source"),
            fix=f"use at least {MIN_EPISODES} episodes with at least {MIN_EACH_OUTCOME} of "
            "each outcome",
        )


def check_inputs(bundle: RiskBundle, episodes: pd.DataFrame) -> None:
    """Refuse episodes that lack columns the model was trained on.

    Raises:
        SchemaError: Naming the missing columns (as the model knew them).
    """
    missing = bundle.features.missing_inputs(episodes)
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing[:12]) + (" …" if len(missing) > 12 else "")
        raise SchemaError(
            f"the model needs {len(missing)} column(s) this file lacks: {shown}; without them "
            "every episode would get the same risk",
            path=episodes.attrs.get("source"),
            fix="add the columns, or name them with --mapping FILE (YAML)",
        )


def score_episodes(bundle: RiskBundle, episodes: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Score episodes with a trained bundle.

    Args:
        bundle: The trained bundle.
        episodes: An EpisodeFrame (labels not needed), loaded with ``bundle.columns``.
        top: Reasons per episode.

    Returns:
        Exactly the columns ``episode_id, risk, risk_band, lace, reasons`` (no other patient
        data), in the input's row order.

    Raises:
        SchemaError: The episodes lack columns the model was trained on.
    """
    check_inputs(bundle, episodes)
    x = bundle.features.transform(episodes)
    risk = bundle.model.predict_risk(x)
    words = reasons(bundle.model.contributions(x), x, top=top) if len(x) else []
    return pd.DataFrame(
        {
            "episode_id": episodes["episode_id"].to_numpy(dtype=object),
            "risk": np.round(risk, 4),
            "risk_band": bundle.risk_band(risk),
            "lace": x["lace"].to_numpy(dtype=float).astype(np.int64),
            "reasons": words,
        },
        columns=list(SCORE_COLUMNS),
    )


def evaluate_bundle(bundle: RiskBundle, episodes: pd.DataFrame) -> Evaluation:
    """Measure a trained bundle (and its LACE baseline) on labelled episodes.

    Raises:
        DataError: The episodes have no label or one outcome only.
        SchemaError: The episodes lack columns the model was trained on.
    """
    if episodes["label"].isna().all() or episodes["label"].nunique() < 2:
        raise DataError(
            "evaluation needs labelled episodes with both outcomes",
            fix="pass a file with the label column (--label-col, --positive)",
        )
    check_inputs(bundle, episodes)
    labelled = episodes.loc[episodes["label"].notna()]
    x = bundle.features.transform(labelled)
    risks = {bundle.model.name: bundle.model.predict_risk(x)}
    if bundle.model.name != "lace":
        risks["lace"] = bundle.lace.predict_risk(x)
    return _evaluate(bundle.model.name, labelled, risks)
