"""Read and validate episode files into an EpisodeFrame (one row per discharge).

The EpisodeFrame keeps the input's row order and its 1-based row numbers as index, with:

* ``episode_id``, ``patient_id`` (text) and ``label`` (1.0 / 0.0, NaN when absent or empty);
* the optional roles found (see :class:`~forecasting.readmission.columns.EpisodeColumns`),
  under their role names: ``site_id``, ``admission_date``, ``discharge_date`` (days),
  ``length_of_stay`` (days; from the dates if not given), ``admission_type`` (text) and
  ``emergency`` (1/0/NaN), ``age`` (years; bands become their middle), ``sex`` (F/M/other),
  ``race``, ``charlson`` (given, or computed from the diagnoses), ``comorbidity_count``,
  ``ed_visits_6m``, ``prior_admissions_12m``, ``discharge_destination`` (text);
* ``cci_<condition>`` flags when diagnosis columns are present (kept under their own names);
* ``time_order``: the episode's rank in time. Episodes are ordered by admission date (then
  discharge date); without dates by discharge date; without any date by the episode id when
  every id is a number (UCI's ``encounter_id`` grows with time); else by file order;
* every other column as a generic feature: numbers as floats, text as text (``None`` when
  missing). Columns ending in ``_id`` or ``_code`` are text. Id-like columns (mostly unique
  text or integers) are dropped with an :class:`~forecasting.errors.IgnoredColumnsWarning`.

Episodes discharged to death or hospice are left out (counted in ``attrs["excluded"]``).
``attrs`` also holds ``source``, ``roles``, ``diagnoses``, ``numeric``, ``categorical``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.data.load import read_table
from forecasting.data.messages import format_list, reject_rows, rows_error, warn_at_caller
from forecasting.errors import DataError, DataValueError, IgnoredColumnsWarning, SchemaError
from forecasting.readmission import values as v
from forecasting.readmission.charlson import charlson_conditions, charlson_index
from forecasting.readmission.columns import EpisodeColumns

COUNT_ROLES = ("comorbidity_count", "ed_visits_6m", "prior_admissions_12m", "charlson")
TEXT_ROLES = ("site_id", "race", "discharge_destination", "admission_type")
MAX_STAY_DAYS = 3650.0
MAX_COUNT = 1000.0
ID_LIKE_SHARE = 0.5  # a generic column with more distinct values than this share is an id


def _missing_column(
    role: str, name: str, header: list[str], option: str, path: str | None
) -> SchemaError:
    guess = next(iter(difflib.get_close_matches(name, header, n=1, cutoff=0.6)), None)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    shown = format_list([f"'{c}'" for c in header], 8)
    return SchemaError(
        f"required {role} column '{name}' not found{hint}; columns found: {shown}",
        path=path,
        column=name,
        fix=f"name the {role} column with {option} NAME",
    )


def _dates(series: pd.Series, rows: np.ndarray, column: str, path: str | None) -> np.ndarray:
    missing = v.missing_mask(series)
    parsed = pd.to_datetime(v.blank_to_none(series, missing), errors="coerce", format="ISO8601")
    bad = ~missing & parsed.isna().to_numpy()
    reject_rows(
        bad,
        "date '{value}' is not an ISO date (YYYY-MM-DD)",
        rows,
        series,
        column=column,
        path=path,
        fix="write dates as YYYY-MM-DD (a time of day is allowed)",
    )
    return parsed.dt.normalize().to_numpy(dtype="datetime64[ns]")


def _time_order(frame: pd.DataFrame, raw_ids: pd.Series) -> np.ndarray:
    keys: list[np.ndarray] = [np.arange(len(frame))]
    if "admission_date" in frame or "discharge_date" in frame:
        for col in ("discharge_date", "admission_date"):
            if col in frame:
                keys.append(frame[col].to_numpy(dtype="datetime64[ns]").astype(np.int64))
    else:
        ids = pd.to_numeric(raw_ids, errors="coerce")
        if ids.notna().all():
            keys.append(ids.to_numpy(dtype=float))
    order = np.lexsort(keys)
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame))
    return rank


def _roles(
    raw: pd.DataFrame,
    out: pd.DataFrame,
    found: dict[str, str],
    cols: EpisodeColumns,
    rows: np.ndarray,
    path: str | None,
) -> None:
    """Parse each role column into ``out`` under its role name."""
    for role, name in found.items():
        series = raw[name]
        if role in ("admission_date", "discharge_date"):
            out[role] = _dates(series, rows, name, path)
        elif role == "length_of_stay":
            out[role] = v.parse_count(series, rows, column=name, path=path, max_count=MAX_STAY_DAYS)
        elif role in COUNT_ROLES:
            out[role] = v.parse_count(series, rows, column=name, path=path, max_count=MAX_COUNT)
        elif role == "age":
            out[role] = v.parse_age(series, rows, column=name, path=path)
        elif role == "sex":
            out[role] = v.parse_sex(series)
        else:
            out[role] = v.as_text(series).to_numpy(dtype=object)
        if role == "admission_type":
            out["emergency"] = v.parse_emergency(series, cols.emergency_values)
    if "admission_date" in out and "discharge_date" in out:
        stay = (out["discharge_date"] - out["admission_date"]).dt.days.to_numpy(dtype=float)
        early = stay < 0
        if early.any():
            name = found["discharge_date"]
            raise rows_error(
                DataValueError,
                "discharge date is before the admission date",
                rows[early],
                raw.loc[early, name].tolist(),
                column=name,
                path=path,
                fix="check both dates of that row (are they swapped?)",
            )
        if "length_of_stay" not in out:
            out["length_of_stay"] = stay


def _generic(
    raw: pd.DataFrame,
    out: pd.DataFrame,
    names: list[str],
    cols: EpisodeColumns,
    rows: np.ndarray,
    where: str | None,
) -> tuple[list[str], list[str]]:
    """Add generic feature columns: numbers as floats, text as text; drop id-like ones."""
    numeric: list[str] = []
    categorical: list[str] = []
    dropped: list[str] = []
    for name in names:
        series = raw[name]
        missing = v.missing_mask(series)
        n_values = int((~missing).sum())
        if n_values == 0:
            dropped.append(f"'{name}' (empty)")
            continue
        as_number = pd.Series(
            v.map_unique(v.blank_to_none(series, missing), v.to_float), index=series.index
        ).astype(float)
        is_number = bool(as_number[~missing].notna().all())
        forced = name in cols.categorical or name.lower().endswith(("_id", "_code"))
        distinct = as_number[~missing].nunique() if is_number else series[~missing].nunique()
        integral = is_number and bool((as_number[~missing] % 1 == 0).all())
        if (not is_number or integral) and distinct > max(50, ID_LIKE_SHARE * n_values):
            dropped.append(f"'{name}' (looks like an identifier)")
            continue
        if is_number and not forced:
            out[name] = as_number.to_numpy()
            numeric.append(name)
        else:
            out[name] = v.as_text(series).to_numpy(dtype=object)
            categorical.append(name)
    if dropped:
        warn_at_caller(
            IgnoredColumnsWarning, f"not used as features: {format_list(dropped, 6)}", where
        )
    return numeric, categorical


def to_episode_frame(
    raw: pd.DataFrame,
    columns: EpisodeColumns | None = None,
    *,
    path: str | Path | None = None,
    require_label: bool = True,
) -> pd.DataFrame:
    """Validate a raw episode table (as :func:`~forecasting.data.load.read_table` returns it).

    Args:
        raw: The table; its index is taken as the 1-based row numbers.
        columns: The column mapping; default the contract (synthetic ``episodes.csv``) names.
        path: The file the table came from, for messages.
        require_label: Training needs the label on every row; scoring does not.

    Returns:
        The EpisodeFrame described in the module docstring.

    Raises:
        SchemaError: A required column is missing.
        DataValueError: A cell is invalid (named by row and column), or no row is positive.
        DataError: Training data without both outcomes.
    """
    cols = columns or EpisodeColumns()
    where = None if path is None else str(path)
    header = [str(c) for c in raw.columns]
    raw = raw.set_axis(header, axis=1)
    rows = np.asarray(raw.index, dtype=np.int64)
    label = cols.label if cols.label and (require_label or cols.label in header) else None
    for role, name, option in (
        ("episode id", cols.episode_id, "--id-col"),
        ("patient id", cols.patient_id, "--patient-col"),
        ("label", label, "--label-col"),
    ):
        if name is not None and name not in header:
            raise _missing_column(role, name, header, option, where)
    found = cols.resolve(header)
    diagnoses = [c for c in cols.diagnosis_columns(header) if c not in cols.exclude]
    for name in [*found.values(), *diagnoses]:
        if name not in header:
            raise _missing_column("mapped", name, header, "a mapping file", where)
    out = pd.DataFrame(index=raw.index)
    out["episode_id"] = v.parse_ids(
        raw[cols.episode_id], rows, column=cols.episode_id, path=where, unique=True
    )
    out["patient_id"] = v.parse_ids(
        raw[cols.patient_id], rows, column=cols.patient_id, path=where, unique=False
    )
    out["label"] = np.nan
    if label is not None:
        out["label"] = v.parse_label(
            raw[label], rows, column=label, positive=cols.positive, path=where
        )
    _roles(raw, out, found, cols, rows, where)
    if diagnoses:
        codes = raw[diagnoses].apply(v.as_text)
        for name in diagnoses:
            out[name] = codes[name].to_numpy(dtype=object)
        flags = charlson_conditions(codes.fillna(""), cols.icd_version)
        out[[f"cci_{c}" for c in flags.columns]] = flags.to_numpy()
        if "charlson" not in out:
            out["charlson"] = charlson_index(codes.fillna(""), cols.icd_version).to_numpy(float)
    used = {
        cols.episode_id,
        cols.patient_id,
        cols.label,
        *found.values(),
        *diagnoses,
        *cols.exclude,
    }
    generic = [c for c in header if c not in used]
    clash = [c for c in generic if c in out.columns]
    if clash:
        raise SchemaError(
            "column name is reserved for the episode contract",
            path=where,
            column=clash[0],
            fix="rename it, map it to its role, or exclude it",
        )
    numeric, categorical = _generic(raw, out, generic, cols, rows, where)
    out["time_order"] = _time_order(out, raw[cols.episode_id])
    dest = found.get("discharge_destination")
    gone = np.zeros(len(out), bool)
    if dest is not None:
        gone = v.excluded_destination(raw[dest], cols.exclude_destinations)
        out = out.loc[~gone]
    if require_label:
        empty = out["label"].isna().to_numpy()
        if empty.any():
            raise rows_error(
                DataValueError,
                "label is empty",
                np.asarray(out.index)[empty],
                [""] * int(empty.sum()),
                column=label,
                path=where,
                fix="fill in the outcome or remove the row",
            )
        if out["label"].nunique() < 2:
            raise DataError(
                "the label has one value only: a model needs both outcomes",
                path=where,
                column=label,
                fix="check --label-col and --positive",
            )
    out.attrs.update(
        source=where,
        roles=found,
        diagnoses=diagnoses,
        numeric=numeric,
        categorical=categorical,
        excluded=int(gone.sum()),
    )
    return out


def load_episodes(
    path: str | Path, columns: EpisodeColumns | None = None, *, require_label: bool = True
) -> pd.DataFrame:
    """Read an episode file (CSV, CSV.gz or Parquet) and validate it.

    Args:
        path: The file.
        columns: The column mapping; default the contract names.
        require_label: See :func:`to_episode_frame`.

    Returns:
        The EpisodeFrame (see the module docstring).

    Raises:
        DataError: A subclass naming the file, row/column and fix.
    """
    return to_episode_frame(read_table(path), columns, path=path, require_label=require_label)
