"""Patient-grouped train/test split: no patient is on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.errors import DataError


def patient_split(
    episodes: pd.DataFrame, test_size: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split episodes into train and test by patient.

    A share ``test_size`` of the patients (drawn at random) and all their episodes go to test.

    Args:
        episodes: An EpisodeFrame (``patient_id``).
        test_size: Share of patients held out, in (0, 1).
        seed: Random seed.

    Returns:
        Boolean masks ``(train, test)`` aligned with ``episodes``.

    Raises:
        DataError: ``test_size`` is outside (0, 1), or a side would be empty.
    """
    if not 0 < test_size < 1:
        raise DataError(
            f"holdout share {test_size} is not between 0 and 1", fix="use e.g. 0.2 (20%)"
        )
    patients = episodes["patient_id"].astype(str)
    unique = np.sort(patients.unique())
    n_test = round(test_size * len(unique))
    if n_test == 0 or n_test == len(unique):
        raise DataError(
            f"{len(unique)} patients are too few to hold out {test_size:.0%} of them",
            fix="use more episodes or another holdout share",
        )
    chosen = np.random.default_rng(seed).choice(unique, size=n_test, replace=False)
    test = patients.isin(set(chosen)).to_numpy()
    return ~test, test
