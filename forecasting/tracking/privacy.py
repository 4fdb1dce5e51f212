"""What never goes to MLflow: patient identifier columns."""

from __future__ import annotations

from collections.abc import Iterable

from forecasting.tracking.errors import PrivacyError

PRIVATE_COLUMNS = frozenset({"patient_id", "episode_id", "nhs_number", "mrn"})


def check_private(columns: Iterable[object], where: str) -> None:
    """Refuse patient identifiers in anything that is about to be logged.

    Raises:
        PrivacyError: Naming ``where`` and the identifier column.
    """
    found = sorted(str(c) for c in columns if str(c).lower() in PRIVATE_COLUMNS)
    if found:
        raise PrivacyError(
            f"{where} has column '{found[0]}': patient identifiers never go to MLflow. "
            "Fix: drop the identifier columns before logging"
        )
