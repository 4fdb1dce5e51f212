"""Per-episode explanations in words: the features that moved the risk most, with direction.

Models give per-feature contributions on the log-odds scale (LightGBM's exact tree SHAP
values, ``pred_contrib``; centred linear terms for logistic regression; LACE points). The
top ``k`` by size become one line such as ``"3 admissions in the previous year raises risk;
emergency admission raises risk; discharged to home lowers risk"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: How each known feature reads in words: ``{v}`` is its value; ``{s}`` is "s" unless it is 1.
FEATURE_WORDS: dict[str, str] = {
    "length_of_stay": "length of stay {v} day{s}",
    "age": "age {v}",
    "charlson": "Charlson comorbidity index {v}",
    "comorbidity_count": "{v} comorbidities or diagnoses",
    "ed_visits_6m": "{v} ED visit{s} before admission",
    "prior_admissions_12m": "{v} admission{s} in the previous year",
    "lace": "LACE score {v}",
    "prior_episodes": "{v} earlier episode{s} on record",
    "prior_emergency_episodes": "{v} earlier emergency episode{s} on record",
    "prior_stay_days": "{v} day{s} in hospital in earlier episodes",
    "days_since_discharge": "{v} day{s} since the previous discharge",
    "site_id": "site {v}",
    "admission_type": "admission type {v}",
    "sex": "sex {v}",
    "race": "race/ethnicity {v}",
    "discharge_destination": "discharge destination {v}",
}
#: Charlson conditions in words.
CONDITION_WORDS: dict[str, str] = {
    "myocardial_infarction": "previous myocardial infarction",
    "heart_failure": "heart failure",
    "peripheral_vascular": "peripheral vascular disease",
    "cerebrovascular": "cerebrovascular disease",
    "dementia": "dementia",
    "chronic_pulmonary": "chronic pulmonary disease",
    "rheumatic": "rheumatic disease",
    "peptic_ulcer": "peptic ulcer",
    "mild_liver": "mild liver disease",
    "diabetes": "diabetes without complications",
    "diabetes_complicated": "diabetes with complications",
    "hemiplegia": "hemiplegia or paraplegia",
    "renal": "renal disease",
    "malignancy": "cancer",
    "severe_liver": "moderate or severe liver disease",
    "metastatic_tumour": "metastatic solid tumour",
    "hiv_aids": "HIV/AIDS",
}


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def describe(feature: str, value: object) -> str:
    """Return a feature and its value in words, e.g. ``"length of stay 5 days"``.

    Args:
        feature: A column of the feature matrix.
        value: The episode's value (NaN or None: "unknown").

    Returns:
        The phrase.
    """
    for prefix, words in (
        ("previous_", "previous episode: {}"),
        ("max_before_", "earlier episodes: up to {}"),
    ):
        if feature.startswith(prefix):
            return words.format(describe(feature[len(prefix) :], value))
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    number = np.nan if missing else pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if feature == "emergency":
        if missing:
            return "admission type unknown"
        return "emergency admission" if number > 0 else "elective admission"
    if feature.startswith("cci_"):
        condition = CONDITION_WORDS.get(feature[4:], feature[4:].replace("_", " "))
        return f"{'has' if number > 0 else 'no'} {condition}"
    if missing:
        text = "unknown"
    elif isinstance(value, float | int | np.floating | np.integer):
        text = _number(float(value))
    else:
        text = str(value)
    template = FEATURE_WORDS.get(feature, feature.replace("_group", " group") + " {v}")
    return template.format(v=text, s="" if number == 1 else "s")


def reasons(contributions: pd.DataFrame, features: pd.DataFrame, top: int = 3) -> list[str]:
    """Write the top contributing features of each episode in words.

    Args:
        contributions: Per-feature contributions (log-odds or points), one row per episode;
            columns are feature names.
        features: The feature values, aligned with ``contributions``.
        top: Features per episode.

    Returns:
        One line per episode; features with no contribution are left out.
    """
    values = contributions.to_numpy(dtype=float)
    names = list(contributions.columns)
    columns = {
        name: features[name].astype(object).to_numpy() if name in features else None
        for name in names
    }
    order = np.argsort(-np.abs(np.nan_to_num(values)), axis=1)[:, :top]
    cache: dict[tuple[str, object, bool], str] = {}
    lines = []
    for i, picks in enumerate(order):
        parts = []
        for j in picks:
            if not values[i, j]:  # zero: the feature did not move this episode
                continue
            name = names[j]
            column = columns[name]
            value = None if column is None else column[i]
            key = (name, value if value == value else None, bool(values[i, j] > 0))
            if key not in cache:
                direction = "raises risk" if key[2] else "lowers risk"
                cache[key] = f"{describe(name, value)} {direction}"
            parts.append(cache[key])
        lines.append("; ".join(parts))
    return lines
