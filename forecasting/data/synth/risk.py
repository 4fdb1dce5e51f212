"""The known readmission risk model behind the synthetic ``readmitted_30d`` labels.

Labels are Bernoulli draws from a logistic model of the episode's own columns, so the best
possible model's discrimination and calibration are known (the true risk has an AUROC of
roughly 0.7 on the synthetic episodes, in line with published readmission scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

DESTINATIONS = ("home", "home_with_care", "care_home", "other_hospital")
COUNT_CAP = 8  # prior ED visits and prior admissions count up to this many

#: Log-odds coefficients of the true 30-day readmission risk:
#: ``logit p = intercept + age_per_decade * (age - 65) / 10 + log_los * log1p(los)
#: + emergency * [emergency] + charlson * charlson + prior_ed_visits_6m * min(ed, 8)
#: + prior_admissions_12m * min(adm, 8) + destination_<d> * [destination == d]``.
RISK_MODEL_COEFS: Mapping[str, float] = MappingProxyType(
    {
        "intercept": -3.48,
        "age_per_decade": 0.10,
        "log_los": 0.30,
        "emergency": 0.60,
        "charlson": 0.10,
        "prior_ed_visits_6m": 0.10,
        "prior_admissions_12m": 0.15,
        "destination_home": 0.0,
        "destination_home_with_care": 0.25,
        "destination_care_home": 0.40,
        "destination_other_hospital": 0.15,
    }
)


def risk_logit(
    age: np.ndarray,
    length_of_stay: np.ndarray,
    emergency: np.ndarray,
    charlson: np.ndarray,
    prior_ed_visits_6m: np.ndarray,
    prior_admissions_12m: np.ndarray,
    destination: np.ndarray,
) -> np.ndarray:
    """Return the true log-odds of 30-day readmission for arrays of episode features.

    Args:
        age: Age in years.
        length_of_stay: Length of stay in days.
        emergency: 1 for emergency admissions, 0 for elective.
        charlson: Charlson comorbidity index.
        prior_ed_visits_6m: ED visits in the 6 months before admission.
        prior_admissions_12m: Admissions in the 12 months before admission.
        destination: Index into :data:`DESTINATIONS`.

    Returns:
        The log-odds, one per episode.
    """
    c = RISK_MODEL_COEFS
    dest = np.asarray([c[f"destination_{d}"] for d in DESTINATIONS])
    return (
        c["intercept"]
        + c["age_per_decade"] * (np.asarray(age, dtype=float) - 65.0) / 10.0
        + c["log_los"] * np.log1p(np.asarray(length_of_stay, dtype=float))
        + c["emergency"] * np.asarray(emergency, dtype=float)
        + c["charlson"] * np.asarray(charlson, dtype=float)
        + c["prior_ed_visits_6m"] * np.minimum(prior_ed_visits_6m, COUNT_CAP)
        + c["prior_admissions_12m"] * np.minimum(prior_admissions_12m, COUNT_CAP)
        + dest[np.asarray(destination, dtype=np.int64)]
    )


def true_readmission_risk(episodes: pd.DataFrame) -> np.ndarray:
    """Return the true 30-day readmission probability of each synthetic episode.

    For tests and benchmarks (the ceiling a model can reach); never shown to users.

    Args:
        episodes: Episodes as returned by :func:`forecasting.data.synth.synth_episodes`.

    Returns:
        Probabilities aligned with the rows of ``episodes``.

    Raises:
        ValueError: If a discharge destination is not one of :data:`DESTINATIONS`.
    """
    dest = pd.Categorical(episodes["discharge_destination"], categories=list(DESTINATIONS))
    if (dest.codes < 0).any():
        raise ValueError(f"discharge_destination must be one of {', '.join(DESTINATIONS)}")
    logit = risk_logit(
        episodes["age"].to_numpy(),
        episodes["length_of_stay"].to_numpy(),
        (episodes["admission_type"] == "emergency").to_numpy(),
        episodes["charlson"].to_numpy(),
        episodes["prior_ed_visits_6m"].to_numpy(),
        episodes["prior_admissions_12m"].to_numpy(),
        dest.codes,
    )
    return 1.0 / (1.0 + np.exp(-logit))
