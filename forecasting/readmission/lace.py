"""The LACE index of 30-day readmission risk (van Walraven et al., CMAJ 2010; 0-19 points).

========================  =============================================================
component                 points
========================  =============================================================
L: length of stay (days)  <1: 0; 1: 1; 2: 2; 3: 3; 4-6: 4; 7-13: 5; 14 or more: 7
A: acuity                 emergency (non-elective) admission: 3; elective: 0
C: Charlson index         0: 0; 1: 1; 2: 2; 3: 3; 4 or more: 5
E: ED visits, 6 months    0: 0; 1: 1; 2: 2; 3: 3; 4 or more: 4
========================  =============================================================

A missing input scores 0 points for its component (the published index has no missing
values); the caller says which inputs were approximated (e.g. UCI counts ED visits over a year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LACE_COLUMNS = ("lace_l", "lace_a", "lace_c", "lace_e", "lace")


def _values(values: object) -> np.ndarray:
    return np.asarray(
        pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce"), dtype=float
    )


def length_of_stay_points(days: object) -> np.ndarray:
    """Return the L points of lengths of stay in days (missing: 0)."""
    los = np.nan_to_num(_values(days), nan=0.0)
    bands = np.array([1, 2, 3, 4, 7, 14])
    points = np.array([0, 1, 2, 3, 4, 5, 7])
    return points[np.searchsorted(bands, los, side="right")]


def acuity_points(emergency: object) -> np.ndarray:
    """Return the A points: 3 for an emergency admission (1/True), else 0."""
    return np.where(np.nan_to_num(_values(emergency), nan=0.0) > 0, 3, 0)


def comorbidity_points(charlson: object) -> np.ndarray:
    """Return the C points of Charlson indices: the index up to 3, then 5 (missing: 0)."""
    cci = np.clip(np.nan_to_num(_values(charlson), nan=0.0), 0, None)
    return np.where(cci >= 4, 5, np.floor(cci)).astype(np.int64)


def ed_visit_points(visits: object) -> np.ndarray:
    """Return the E points of ED visit counts in the previous 6 months: up to 4 (missing: 0)."""
    ed = np.clip(np.nan_to_num(_values(visits), nan=0.0), 0, None)
    return np.minimum(np.floor(ed), 4).astype(np.int64)


def lace_points(
    length_of_stay: object, emergency: object, charlson: object, ed_visits_6m: object
) -> pd.DataFrame:
    """Return the LACE components and total for arrays of episodes.

    Args:
        length_of_stay: Length of stay in days.
        emergency: 1 (or True) for an emergency admission, 0 for elective.
        charlson: Charlson comorbidity index.
        ed_visits_6m: ED visits in the 6 months before admission.

    Returns:
        Integer columns ``lace_l``, ``lace_a``, ``lace_c``, ``lace_e`` and ``lace`` (0-19).
    """
    parts = {
        "lace_l": length_of_stay_points(length_of_stay),
        "lace_a": acuity_points(emergency),
        "lace_c": comorbidity_points(charlson),
        "lace_e": ed_visit_points(ed_visits_6m),
    }
    frame = pd.DataFrame({k: np.asarray(v, dtype=np.int64) for k, v in parts.items()})
    frame["lace"] = frame.sum(axis=1)
    return frame
