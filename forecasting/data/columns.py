"""Resolve which input column feeds each DemandFrame column, and name rows and sites.

Renames go through a :class:`~forecasting.data.schema.ColumnMapping`; a missing required column
or a repeated header raises :class:`~forecasting.errors.SchemaError` with a close-name hint.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from forecasting.data.messages import _show, format_list
from forecasting.data.schema import (
    DATE,
    IMPUTED,
    OPTIONAL_COUNT_COLUMNS,
    SITE,
    TARGET,
    ColumnMapping,
)
from forecasting.errors import SchemaError

#: Index name that :func:`forecasting.data.load.read_table` gives its frames: the 1-based data
#: row number of each row in the file (blank lines dropped, so the numbers may skip).
ROW_INDEX_NAME = "row"
_FILE_SUFFIXES = (".gz", ".csv", ".txt", ".parquet", ".pq")


@dataclass
class _Columns:
    """Where each contract column comes from in the input (contract name -> input name)."""

    site_col: str | None
    date_col: str
    target_col: str
    counts: dict[str, str] = field(default_factory=dict)
    mapped_extra: dict[str, str] = field(default_factory=dict)
    imputed: str | None = None
    others: list[str] = field(default_factory=list)
    reserved: list[str] = field(default_factory=list)
    others_ignored: list[str] = field(default_factory=list)
    others_empty: list[str] = field(default_factory=list)


def _missing_column(
    contract: str, source: str, columns: list[str], option: str, path: str | None
) -> SchemaError:
    """Build the error for a required column the input lacks."""
    lowered = {column.lower(): column for column in columns}
    guess = lowered.get(source.lower()) or next(
        iter(difflib.get_close_matches(source, columns, n=1, cutoff=0.6)), None
    )
    hint = f" (did you mean '{guess}'?)" if guess else ""
    found = format_list([f"'{_show(column, 30)}'" for column in columns], 8)
    fix = (
        f"name the file's {contract} column with {option} NAME "
        f"(or `columns: {{{contract}: NAME}}` in the config)"
    )
    if len(columns) == 1:
        fix += "; the file has a single column, so check its delimiter (',' or ';')"
    return SchemaError(
        f"required {contract} column '{source}' not found{hint}; columns found: {found}",
        path=path,
        column=source,
        fix=fix,
    )


def _resolve_columns(columns: list[str], mapping: ColumnMapping, path: str | None) -> _Columns:
    """Decide which input column feeds each contract column."""
    for contract in (SITE, DATE, TARGET, IMPUTED):
        if contract in mapping.extra:
            raise ValueError(
                f"ColumnMapping.extra cannot map '{contract}'; use the mapping's own field"
            )
    present = set(columns)
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise SchemaError(
                "column appears more than once in the header",
                path=path,
                column=column,
                fix="rename or remove the repeated column",
            )
        seen.add(column)

    site: str | None
    if mapping.site_id is None or (mapping.site_id == SITE and SITE not in present):
        site = None
    elif mapping.site_id in present:
        site = mapping.site_id
    else:
        raise _missing_column(SITE, mapping.site_id, columns, "--site-col", path)
    if mapping.date not in present:
        raise _missing_column(DATE, mapping.date, columns, "--date-col", path)
    if mapping.attendances not in present:
        raise _missing_column(TARGET, mapping.attendances, columns, "--target-col", path)
    resolved = _Columns(site_col=site, date_col=mapping.date, target_col=mapping.attendances)

    for contract, source in mapping.extra.items():
        if source not in present:
            raise SchemaError(
                f"column '{source}' (mapped to {contract}) not found; columns found: "
                + format_list([f"'{_show(column, 30)}'" for column in columns], 8),
                path=path,
                column=source,
                fix=f"correct or remove the mapping of '{contract}'",
            )
        if contract in OPTIONAL_COUNT_COLUMNS:
            resolved.counts[contract] = source
        else:
            resolved.mapped_extra[contract] = source
    for contract in OPTIONAL_COUNT_COLUMNS:
        if contract not in resolved.counts and contract in present:
            resolved.counts[contract] = contract

    used = {site, resolved.date_col, resolved.target_col}
    used.update(resolved.counts.values())
    used.update(resolved.mapped_extra.values())
    taken = set(resolved.counts) | set(resolved.mapped_extra) | {SITE, DATE, TARGET}
    for column in columns:
        if column in used:
            continue
        if column == IMPUTED:
            resolved.imputed = column
        elif column in taken:
            resolved.reserved.append(column)
        else:
            resolved.others.append(column)
    return resolved


def _row_numbers(raw: pd.DataFrame) -> np.ndarray:
    """Return the 1-based data row number of each row of the input."""
    if raw.index.name == ROW_INDEX_NAME and ptypes.is_integer_dtype(raw.index.dtype):
        return raw.index.to_numpy(dtype=np.int64)
    return np.arange(1, len(raw) + 1, dtype=np.int64)


def _site_name(default_site: str | None, path: str | Path | None) -> str:
    """Name the single site of a file without a site column."""
    if default_site:
        return default_site
    if path is None:
        return "site"
    name = Path(path).name
    while Path(name).suffix.lower() in _FILE_SUFFIXES:
        name = name[: -len(Path(name).suffix)]
    return name or "site"


SITE_SEPARATOR = "/"


def combine_site_columns(
    frame: pd.DataFrame, mapping: ColumnMapping, path: str | None
) -> tuple[pd.DataFrame, ColumnMapping]:
    """Join several site columns (``site_id="a,b,c"``) into one site id ``"A/B/C"``.

    Hierarchical files name a series by several columns (board, priority, nature); the joined
    id keeps each bottom-level series apart. One column, or none, passes through unchanged.

    Raises:
        SchemaError: If one of the named columns is missing.
    """
    if mapping.site_id is None or "," not in mapping.site_id:
        return frame, mapping
    parts = [p.strip() for p in mapping.site_id.split(",") if p.strip()]
    for part in parts:
        if part not in frame.columns:
            raise _missing_column(SITE, part, list(frame.columns), "--site-col", path)
    joined = frame[parts[0]].astype(str).str.strip()
    for part in parts[1:]:
        joined = joined + SITE_SEPARATOR + frame[part].astype(str).str.strip()
    out = frame.drop(columns=parts)
    out.insert(0, SITE, joined)
    return out, dataclasses.replace(mapping, site_id=SITE)
