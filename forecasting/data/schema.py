"""Column names of the DemandFrame contract and the column mapping of input files."""

from __future__ import annotations

from dataclasses import dataclass, field

SITE = "site_id"
DATE = "date"
TARGET = "attendances"
REQUIRED_COLUMNS = (SITE, DATE, TARGET)
BEDS_OCCUPIED = "beds_occupied"
OPTIONAL_COUNT_COLUMNS = ("admissions", "beds", BEDS_OCCUPIED, "electives_planned")
IMPUTED = "imputed"

#: What the target column counts: daily attendances, or G&A beds occupied (08:00 snapshot).
TARGET_ROLES = ("attendances", BEDS_OCCUPIED)


@dataclass(frozen=True)
class ColumnMapping:
    """How the columns of an input file map to the DemandFrame contract.

    Attributes:
        site_id: Column holding the site identifier; ``None`` means the file is one site.
        date: Column holding the day.
        attendances: Column holding the daily count to forecast.
        extra: Optional contract columns (``admissions``, ``beds``, ``beds_occupied``,
            ``electives_planned``) or exogenous names, mapped from the file's names:
            ``{"admissions": "adm_count"}``. A column may feed the target and one of these.
        target_role: What the target counts (``"attendances"`` or ``"beds_occupied"``);
            ``None`` infers it from the target column's name (see :meth:`resolved_role`).
    """

    site_id: str | None = SITE
    date: str = DATE
    attendances: str = TARGET
    extra: dict[str, str] = field(default_factory=dict)
    target_role: str | None = None

    def resolved_role(self) -> str:
        """Return the target's role: the explicit one, else inferred from the column name.

        A target column whose lowercased name contains ``"occupied"`` (``ga_beds_occupied``)
        counts beds occupied; any other counts attendances.

        Raises:
            ValueError: ``target_role`` is not one of :data:`TARGET_ROLES` (a caller's bug).
        """
        if self.target_role is not None:
            if self.target_role not in TARGET_ROLES:
                raise ValueError(
                    f"target_role must be one of {TARGET_ROLES}, not {self.target_role!r}"
                )
            return self.target_role
        return BEDS_OCCUPIED if "occupied" in self.attendances.lower() else TARGET

    def source_for(self, contract_name: str) -> str | None:
        """Return the file's column name for a contract column (``None`` if unmapped)."""
        if contract_name == SITE:
            return self.site_id
        if contract_name == DATE:
            return self.date
        if contract_name == TARGET:
            return self.attendances
        return self.extra.get(contract_name, contract_name)
