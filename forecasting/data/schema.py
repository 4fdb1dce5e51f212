"""Column names of the DemandFrame contract and the column mapping of input files."""

from __future__ import annotations

from dataclasses import dataclass, field

SITE = "site_id"
DATE = "date"
TARGET = "attendances"
REQUIRED_COLUMNS = (SITE, DATE, TARGET)
OPTIONAL_COUNT_COLUMNS = ("admissions", "beds", "electives_planned")
IMPUTED = "imputed"


@dataclass(frozen=True)
class ColumnMapping:
    """How the columns of an input file map to the DemandFrame contract.

    Attributes:
        site_id: Column holding the site identifier; ``None`` means the file is one site.
        date: Column holding the day.
        attendances: Column holding the daily count to forecast.
        extra: Optional contract columns (``admissions``, ``beds``, ``electives_planned``) or
            exogenous names, mapped from the file's names: ``{"admissions": "adm_count"}``.
    """

    site_id: str | None = SITE
    date: str = DATE
    attendances: str = TARGET
    extra: dict[str, str] = field(default_factory=dict)

    def source_for(self, contract_name: str) -> str | None:
        """Return the file's column name for a contract column (``None`` if unmapped)."""
        if contract_name == SITE:
            return self.site_id
        if contract_name == DATE:
            return self.date
        if contract_name == TARGET:
            return self.attendances
        return self.extra.get(contract_name, contract_name)
