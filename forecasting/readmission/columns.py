"""The episode data contract: which input column plays which role, and how to find it.

One row per discharge. Required: an episode id and a patient id; for training, a label column
and its positive value. Every other role is optional and, unless named in a mapping, is found
by a few common names (case-insensitive), so the synthetic ``episodes.csv`` and the raw UCI
Diabetes 130-US file load without a mapping. Columns that play no role are generic features,
unless excluded.

A mapping file (YAML) names roles, value codes and exclusions, e.g. for UCI::

    length_of_stay: time_in_hospital
    admission_type: admission_type_id
    emergency_values: [1, 2, 7]
    diagnoses: [diag_1, diag_2, diag_3]
    exclude: [weight, payer_code]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from forecasting.errors import ConfigError

#: Optional roles and the names that identify them when not mapped (first match wins).
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "site_id": ("site_id", "site", "hospital_id", "hospital"),
    "admission_date": ("admission_date", "admit_date", "admittime", "admission_time"),
    "discharge_date": ("discharge_date", "discharge_time", "dischtime"),
    "length_of_stay": ("length_of_stay", "los", "time_in_hospital"),
    "admission_type": ("admission_type", "admission_type_id", "acuity"),
    "age": ("age", "age_years", "anchor_age"),
    "sex": ("sex", "gender"),
    "race": ("race", "ethnicity", "race_ethnicity"),
    "charlson": ("charlson", "charlson_index", "cci"),
    "comorbidity_count": ("comorbidity_count", "number_diagnoses", "n_comorbidities"),
    "ed_visits_6m": ("prior_ed_visits_6m", "ed_visits_6m", "number_emergency"),
    "prior_admissions_12m": ("prior_admissions_12m", "admissions_12m", "number_inpatient"),
    "discharge_destination": (
        "discharge_destination",
        "discharge_disposition_id",
        "discharge_disposition",
        "discharge_location",
    ),
}
#: Diagnosis columns found by name when ``diagnoses`` is not mapped.
DIAGNOSIS_PATTERN = re.compile(r"^(diag|diagnosis|dx|icd(9|10)?(_code)?)_?\d+$", re.IGNORECASE)

#: Admission-type values meaning an emergency (acute) admission, compared case-insensitively.
#: The numeric codes are those of the UCI Diabetes 130-US code book (1 emergency, 2 urgent,
#: 7 trauma centre); 3 is elective there, and 4, 5, 6, 8 (newborn, not available) are unknown.
EMERGENCY_VALUES = ("emergency", "emergent", "urgent", "acute", "non-elective", "trauma")
EMERGENCY_CODES = ("1", "2", "7")
ELECTIVE_VALUES = ("elective", "planned", "day case", "daycase", "3")
#: Discharge destinations after which a readmission is impossible (death) or not the aim
#: (hospice): such episodes are left out of training, evaluation and scoring. The numeric codes
#: are the UCI code book's (11, 19, 20, 21 expired; 13, 14 hospice).
EXCLUDED_DESTINATION_WORDS = ("expired", "died", "death", "dead", "deceased", "hospice")
EXCLUDED_DESTINATION_CODES = ("11", "13", "14", "19", "20", "21")

_LIST_KEYS = {"diagnoses", "exclude", "categorical", "emergency_values", "exclude_destinations"}


@dataclass(frozen=True)
class EpisodeColumns:
    """How the columns of an episode file map to the episode contract.

    Column names only: no patient data is ever stored here, so it is safe in a model bundle.

    Attributes:
        episode_id: Column with the episode (discharge) id: the only id written by ``score``.
        patient_id: Column with the patient id, used for grouped splits and history only.
        label: Column with the outcome; ``None`` when the file is only scored.
        positive: The label value meaning "readmitted within 30 days" (compared as text).
        roles: Optional roles mapped to columns (``{"length_of_stay": "time_in_hospital"}``);
            unmapped roles are found by :data:`ROLE_ALIASES`. Map a role to ``""`` to turn
            its detection off.
        diagnoses: Columns holding ICD-9 or ICD-10 codes; empty: found by name.
        icd_version: ``9``, ``10`` or ``None`` (decided per column, see
            :func:`forecasting.readmission.charlson.detect_icd_version`).
        exclude: Columns never used as features.
        categorical: Numeric-looking columns to treat as categories (columns ending in ``_id``
            or ``_code`` are categories already).
        emergency_values: Extra admission-type values meaning an emergency admission.
        exclude_destinations: Extra discharge destinations to leave out (death, hospice).
    """

    episode_id: str = "episode_id"
    patient_id: str = "patient_id"
    label: str | None = "readmitted_30d"
    positive: str = "1"
    roles: dict[str, str] = field(default_factory=dict)
    diagnoses: tuple[str, ...] = ()
    icd_version: int | None = None
    exclude: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    emergency_values: tuple[str, ...] = ()
    exclude_destinations: tuple[str, ...] = ()

    def with_options(self, **changes: Any) -> EpisodeColumns:
        """Return a copy with the given attributes replaced (``None`` values are ignored)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    def resolve(self, header: list[str]) -> dict[str, str]:
        """Return the column of each optional role present in ``header``.

        Args:
            header: The file's column names.

        Returns:
            ``{role: column}`` for mapped roles and for roles found by name; the id, patient,
            label and excluded columns are never picked for a role.
        """
        taken = {self.episode_id, self.patient_id, self.label, *self.exclude}
        lowered = {name.lower(): name for name in header if name not in taken}
        found: dict[str, str] = {}
        for role, aliases in ROLE_ALIASES.items():
            if role in self.roles:
                if self.roles[role]:
                    found[role] = self.roles[role]
                continue
            for alias in aliases:
                if alias in lowered and lowered[alias] not in found.values():
                    found[role] = lowered[alias]
                    break
        return found

    def diagnosis_columns(self, header: list[str]) -> list[str]:
        """Return the diagnosis columns: mapped ones, or those named like ``diag_1``."""
        if self.diagnoses:
            return list(self.diagnoses)
        return [name for name in header if DIAGNOSIS_PATTERN.match(name)]


def _as_tuple(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int | float):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ConfigError(f"{path}: key '{key}' must be a list of names or values")
    return tuple(str(v) for v in value)


def load_columns(path: str | Path, base: EpisodeColumns | None = None) -> EpisodeColumns:
    """Read an episode mapping file (YAML) into :class:`EpisodeColumns`.

    Keys are the attributes of :class:`EpisodeColumns` (``episode_id``, ``label``,
    ``positive``, list keys ``diagnoses``, ``exclude``, ``categorical``, ``emergency_values``,
    ``exclude_destinations``, ``icd_version``) and the role names of :data:`ROLE_ALIASES`
    (mapped to a column name, or ``null`` to turn detection off).

    Args:
        path: The YAML file.
        base: Settings the file overrides; default the contract names.

    Returns:
        The column mapping.

    Raises:
        ConfigError: The file is missing, not YAML, or has an unknown key or a bad value.
    """
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(
            f"{file}: cannot read the mapping file ({error.strerror or error}). "
            "Fix: check the path."
        ) from None
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" near line {line + 1}" if line is not None else ""
        raise ConfigError(f"{file}: not valid YAML{where}. Fix: check the indentation.") from None
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected 'role: column' lines. Fix: see the docs example.")
    out = base or EpisodeColumns()
    known = {f.name for f in fields(EpisodeColumns)} - {"roles"}
    roles = dict(out.roles)
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key in ROLE_ALIASES:
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{file}: key '{key}' must name one column")
            roles[key] = value or ""
        elif key in _LIST_KEYS:
            changes[key] = _as_tuple(value, key, file)
        elif key == "icd_version":
            if value not in (9, 10, None):
                raise ConfigError(f"{file}: key 'icd_version' must be 9 or 10. Fix: e.g. 9.")
            changes[key] = value
        elif key in known:
            if not isinstance(value, str | int | float) and not (key == "label" and value is None):
                raise ConfigError(f"{file}: key '{key}' must be one column name or value")
            changes[key] = None if value is None else str(value)
        else:
            allowed = ", ".join(sorted(known | set(ROLE_ALIASES)))
            raise ConfigError(f"{file}: unknown key '{key}'. Fix: use one of {allowed}.")
    return replace(out, roles=roles, **changes)
