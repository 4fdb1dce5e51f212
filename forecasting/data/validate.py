"""Check a raw demand table and turn it into a DemandFrame; apply the gap policy.

``to_demand_frame`` accepts a table read from a file (every column a string, as
:func:`forecasting.data.load.read_table` returns it) or an already-typed frame (from the
synthetic generator or a notebook). Every problem raises an error from :mod:`forecasting.errors`
that names the file, the 1-based data row (the header is not counted) and/or the column, and a
fix; its message is one line.

Rules:

* Columns are renamed through a :class:`~forecasting.data.schema.ColumnMapping`. A missing
  date or target column, or an explicitly named site column that is absent, is a
  :class:`~forecasting.errors.SchemaError`.
* One site per file: if ``mapping.site_id`` is ``None``, or it is the default ``site_id`` and the
  file has no such column, the whole file is one site, named ``default_site``, else the file's
  stem, else ``"site"``.
* Dates are ISO days (``YYYY-MM-DD``) or ISO timestamps at midnight; a time of day means the data
  is hourly and must be aggregated first.
* The target (``attendances``, or whatever ``--target-col`` names) and the optional counts
  (``admissions``, ``beds``, ``beds_occupied``, ``electives_planned``) must be finite,
  non-negative numbers no larger than ``max_count``. Fractional values (``105.0``, ``12.5``) are
  accepted: counts are stored as ``float64`` so that they can hold ``NaN``. An empty optional
  count stays ``NaN``; a row with an empty target is dropped, so its day is missing and the gap
  rules below apply (:class:`~forecasting.errors.MissingCountsWarning` names how many rows and
  the first few); a target that is empty in every row is a
  :class:`~forecasting.errors.SchemaError`.
* The target's role (``mapping.resolved_role()``): ``beds_occupied`` when named so or when the
  target column's name contains "occupied", else ``attendances``. With ``beds_occupied`` the
  frame also carries a ``beds_occupied`` column equal to the target. More beds occupied than
  open (escalation beds) is neither refused nor warned about.
* Other columns that are numeric are kept as exogenous ``float64`` columns, empty cells as
  ``NaN`` (``mapping.extra`` renames them, e.g. ``{"temperature": "mean_temp"}``); other
  columns (text, or empty in every row) are dropped with an
  :class:`~forecasting.errors.IgnoredColumnsWarning`.
* One row per site and day: repeated (site, date) pairs are an error.
* Nothing observed after ``as_of`` (default today): a row dated after it with a target value is
  an error; a row dated after it with an empty target (e.g. a temperature forecast) is dropped.
* Gaps of at most ``segment_gap_days`` (default 14) between a site's first and last day:
  ``gap_policy="refuse"`` raises :class:`~forecasting.errors.MissingDatesError`; ``"fill"``
  inserts the days, imputes ``attendances`` from the same weekday within the segment (see
  :func:`fill_gaps`) and warns with :class:`~forecasting.errors.MissingDatesWarning`, counting
  only the imputed days. A longer gap is not a defect under either policy: it splits the series
  into segments (winter-only data) and its days stay absent, never imputed, so every missing day
  between two rows of a site in the result is a segment boundary
  (:mod:`forecasting.data.segments`).
* History: each site needs ``min_history`` days (default ``max(56, 4 * horizon)``), counted
  over its segments (long gaps excluded). If every site is shorter, that is an
  :class:`~forecasting.errors.InsufficientHistoryError`; in a file where other sites suffice the
  short sites are dropped with a :class:`~forecasting.errors.ShortHistoryWarning`. Under two
  years earns a :class:`~forecasting.errors.ShortHistoryWarning` (annual seasonality cannot be
  learnt).

The result has ``site_id`` (str), ``date`` (``datetime64[ns]``), ``attendances`` (``float64``),
the optional count columns present, the exogenous columns and ``imputed`` (bool), sorted by site
and date with a fresh index; ``attrs`` records ``target_role``, ``empty_counts`` and
``segment_gap_days``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from forecasting.data.columns import (
    ROW_INDEX_NAME,
    _Columns,
    _resolve_columns,
    _row_numbers,
    _site_name,
    combine_site_columns,
)
from forecasting.data.gaps import (
    ANNUAL_HISTORY_DAYS,
    _check_duplicates,
    _check_history,
    _gap_summary,
    _history_days,
    _keep_past,
    fill_gaps,
    find_gaps,
    long_gap_days,
)
from forecasting.data.messages import _count, format_list, warn_at_caller
from forecasting.data.parse import (
    MISSING_TOKENS,
    _as_of_day,
    _parse_dates,
    _parse_flags,
    _parse_sites,
    _try_numbers,
    is_missing,
    parse_numbers,
    warn_fractional,
)
from forecasting.data.resample import Resample, resample_daily
from forecasting.data.schema import (
    BEDS_OCCUPIED,
    DATE,
    IMPUTED,
    OPTIONAL_COUNT_COLUMNS,
    SITE,
    TARGET,
    ColumnMapping,
)
from forecasting.data.segments import DEFAULT_SEGMENT_GAP_DAYS
from forecasting.data.spacing import check_daily_spacing
from forecasting.errors import (
    DataFileError,
    IgnoredColumnsWarning,
    MissingCountsWarning,
    MissingDatesError,
    MissingDatesWarning,
    SchemaError,
    ShortHistoryWarning,
)

__all__ = [
    "ANNUAL_HISTORY_DAYS",
    "MISSING_TOKENS",
    "ROW_INDEX_NAME",
    "GapPolicy",
    "fill_gaps",
    "find_gaps",
    "format_list",
    "to_demand_frame",
]

GapPolicy = Literal["fill", "refuse"]


def _finalise(out: pd.DataFrame, path: str | Path | None) -> pd.DataFrame:
    """Order the columns, set the contract dtypes and record the source."""
    extra = [c for c in out.columns if c not in (SITE, DATE, TARGET, IMPUTED)]
    counts = [c for c in OPTIONAL_COUNT_COLUMNS if c in extra]
    others = [c for c in extra if c not in counts]
    out = out[[SITE, DATE, TARGET, *counts, *others, IMPUTED]].reset_index(drop=True)
    out[SITE] = out[SITE].astype(str).astype(object)
    out[DATE] = out[DATE].astype("datetime64[ns]")
    out[TARGET] = out[TARGET].astype("float64")
    out[IMPUTED] = out[IMPUTED].astype(bool)
    if path is not None:
        out.attrs["source"] = str(path)
    return out


def _refuse_empty_column(frame: pd.DataFrame, column: str, path: str | None) -> None:
    """Raise if the target column has no value in any row (the wrong column, or a blank export)."""
    if not is_missing(frame[column]).all():
        return
    found = format_list([f"'{name}'" for name in frame.columns if name != column], 8)
    raise SchemaError(
        f"the column is empty in every row; other columns: {found}",
        path=path,
        column=column,
        fix="name the column holding the daily counts with --target-col, or export the data "
        "again with the counts filled in",
    )


def _refused_gaps(
    gaps: dict[str, pd.DatetimeIndex], empty: int, target: str, column: str, where: str | None
) -> MissingDatesError:
    """Build the error for short gaps under gap policy ``refuse`` (empty counts named)."""
    message = _gap_summary(gaps)
    if empty:
        message += f" (including {_rows(empty)} with an empty '{target}' count)"
    return MissingDatesError(
        message,
        path=where,
        column=column,
        fix="add the missing days to the file, or impute them with gap policy 'fill' (--gaps fill)",
    )


def _rows(number: int) -> str:
    """Return "1 row" or "2,435 rows"."""
    return "1 row" if number == 1 else f"{number:,} rows"


def _warn_ignored(cols: _Columns, where: str | None) -> None:
    """Warn about the input columns that are not used (not numeric, or shadowed)."""
    if not (cols.others_ignored or cols.others_empty or cols.reserved):
        return
    parts = []
    if cols.others_ignored:
        parts.append(f"not numeric: {format_list([repr(c) for c in cols.others_ignored], 5)}")
    if cols.others_empty:
        parts.append(f"empty: {format_list([repr(c) for c in cols.others_empty], 5)}")
    if cols.reserved:
        names = format_list([repr(c) for c in cols.reserved], 5)
        parts.append(f"named like a contract column mapped from elsewhere: {names}")
    warn_at_caller(IgnoredColumnsWarning, f"ignored columns ({'; '.join(parts)})", where)


def _first_rows(rows: np.ndarray, limit: int = 3) -> str:
    """Name the first few row numbers: "row 5", "rows 5 and 9", "rows 5, 9, 12 and 2,432 more"."""
    shown = [str(int(row)) for row in rows[:limit]]
    rest = len(rows) - len(shown)
    if rest:
        return f"rows {', '.join(shown)} and {rest:,} more"
    return f"row {shown[0]}" if len(shown) == 1 else f"rows {format_list(shown, limit)}"


def _warn_missing_counts(
    rows: np.ndarray, column: str, vanished: list[str], segment_gap_days: int, where: str | None
) -> None:
    """Warn that rows with an empty target were dropped and became missing days."""
    message = (
        f"column '{column}': {_rows(len(rows))} with an empty count ({_first_rows(rows)}) "
        f"treated as missing days: gaps of up to {_count(segment_gap_days, 'day')} are imputed, "
        "longer ones split the series into segments"
    )
    if vanished:
        noun = "site has" if len(vanished) == 1 else "sites have"
        message += (
            f"; {len(vanished)} {noun} no count at all and {'is' if len(vanished) == 1 else 'are'}"
            f" left out ({format_list(vanished)})"
        )
    warn_at_caller(MissingCountsWarning, message, where)


def _warn_dropped(short: pd.Series, needed: int, where: str | None) -> None:
    """Warn that sites with too little history were left out of a multi-site file."""
    listed = format_list([f"{name}: {int(n)} days" for name, n in short.items()])
    noun = "site" if len(short) == 1 else "sites"
    warn_at_caller(
        ShortHistoryWarning,
        f"dropped {len(short)} {noun} with fewer than the {needed} days of history needed "
        f"({listed}); the other sites are kept",
        where,
    )


def _warn_gaps(
    gaps: dict[str, pd.DatetimeIndex], frame: pd.DataFrame, segment_gap_days: int, where: str | None
) -> None:
    """Warn about the short gaps being filled (and how many longer gaps are left as segments)."""
    total = sum(len(missing) for missing in gaps.values())
    message = (
        f"{_gap_summary(gaps)}; filled {_rows(total).replace('row', 'day')} with "
        f"same-weekday averages and marked them {IMPUTED}"
    )
    long = long_gap_days(frame, segment_gap_days)
    if long.any():
        message += (
            f"; gaps longer than {_count(segment_gap_days, 'day')} are not filled "
            "(they split the series into segments)"
        )
    warn_at_caller(MissingDatesWarning, message, where)


def to_demand_frame(
    raw: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    path: str | Path | None = None,
    horizon: int = 7,
    gap_policy: GapPolicy = "fill",
    as_of: date | str | None = None,
    default_site: str | None = None,
    max_count: float = 50_000,
    min_history: int | None = None,
    resample: Resample | None = None,
    segment_gap_days: int = DEFAULT_SEGMENT_GAP_DAYS,
) -> pd.DataFrame:
    """Validate a raw table and return a DemandFrame (see the module docstring for the rules).

    Args:
        raw: The table: strings as read from a file (an index named ``row`` gives the file's
            data row numbers), or already-typed columns.
        mapping: How the table's columns map to the contract; default: contract names.
        path: The file the table came from, named in errors and kept in ``attrs["source"]``.
        horizon: Forecast horizon in days; sets the default ``min_history``.
        gap_policy: ``"fill"`` imputes missing days (and warns); ``"refuse"`` raises.
        as_of: The day the data was extracted (ISO string or date); default today. Rows
            after it with a target value are errors; rows after it without one are dropped.
        default_site: Site name for a file without a site column; default the file's stem.
        max_count: Largest plausible daily count.
        min_history: Days each site needs; default ``max(56, 4 * horizon)``.
        resample: ``"daily"`` aggregates several rows per site and day (hourly timestamps) to
            one (see :func:`~forecasting.data.resample.resample_daily`); default: refuse
            timestamps with a time of day and repeated days.
        segment_gap_days: Gaps of at most this many days are gaps (filled or refused per
            ``gap_policy``); longer gaps split a site's series into segments and stay absent.

    Returns:
        The DemandFrame: ``site_id``, ``date``, ``attendances``, optional counts, exogenous
        columns and ``imputed``, sorted by site and date. ``attrs`` holds ``source`` (the
        path, if given), ``target_role`` (``"attendances"`` or ``"beds_occupied"``; with the
        latter the frame also has a ``beds_occupied`` column equal to the target),
        ``empty_counts`` (rows dropped for an empty target) and ``segment_gap_days``.

    Raises:
        DataFileError: The table has no data rows.
        SchemaError: A required column is missing or a column name is repeated.
        DataValueError: A bad site id, date or count, a repeated site and day, a count
            observed after ``as_of``, or dates spaced weekly, monthly or wider.
        MissingDatesError: A site has short gaps and ``gap_policy`` is ``"refuse"``.
        InsufficientHistoryError: Every site has fewer than ``min_history`` days (in a
            multi-site file the short sites are dropped with a warning when others suffice).
        ValueError: ``horizon``, ``gap_policy``, ``segment_gap_days`` or ``mapping`` is
            invalid (a caller's bug).
    """
    if gap_policy not in ("fill", "refuse"):
        raise ValueError(f"gap_policy must be 'fill' or 'refuse', not {gap_policy!r}")
    if resample not in (None, "daily"):
        raise ValueError(f"resample must be None or 'daily', not {resample!r}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, not {horizon}")
    if segment_gap_days < 1:
        raise ValueError(f"segment_gap_days must be at least 1, not {segment_gap_days}")
    mapping = mapping or ColumnMapping()
    where = None if path is None else str(path)
    as_of_day = _as_of_day(as_of)
    needed = min_history if min_history is not None else max(56, 4 * horizon)

    if len(raw) == 0:
        raise DataFileError(
            "the data has a header but no rows",
            path=where,
            fix="export the data again: one row per site and day under the header",
        )
    frame = raw.copy()
    frame.columns = [str(column).strip() for column in frame.columns]
    frame, mapping = combine_site_columns(frame, mapping, where)
    cols = _resolve_columns(list(frame.columns), mapping, where)
    rows = _row_numbers(raw)

    stamps = _parse_dates(
        frame[cols.date_col],
        rows,
        column=cols.date_col,
        path=where,
        allow_time=resample is not None,
    )
    dates = pd.DatetimeIndex(stamps).normalize().to_numpy()
    keep = _keep_past(
        frame, rows, dates, as_of_day, target=cols.target_col, column=cols.date_col, path=where
    )
    frame, rows, dates, stamps = frame[keep], rows[keep], dates[keep], stamps[keep]

    if cols.site_col is None:
        sites = np.full(len(frame), _site_name(default_site, path), dtype=object)
    else:
        sites = _parse_sites(frame[cols.site_col], rows, column=cols.site_col, path=where)
    out = pd.DataFrame({SITE: sites, DATE: dates}, index=frame.index)
    _refuse_empty_column(frame, cols.target_col, where)
    out[TARGET] = parse_numbers(
        frame[cols.target_col],
        rows,
        column=cols.target_col,
        path=where,
        required=False,
        max_count=max_count,
        target=True,
    )
    warn_fractional(
        out[TARGET].to_numpy(), rows, frame[cols.target_col], column=cols.target_col, path=where
    )
    for contract, source in cols.counts.items():
        out[contract] = parse_numbers(
            frame[source], rows, column=source, path=where, required=False, max_count=max_count
        )
        warn_fractional(out[contract].to_numpy(), rows, frame[source], column=source, path=where)
    for contract, source in cols.mapped_extra.items():
        out[contract] = parse_numbers(
            frame[source], rows, column=source, path=where, required=False, max_count=None
        )
    for column in cols.others:
        values = _try_numbers(frame[column], rows, column=column, path=where)
        if values is None and is_missing(frame[column]).all():
            cols.others_empty.append(column)
        elif values is None:
            cols.others_ignored.append(column)
        else:
            out[column] = values
    out[IMPUTED] = (
        _parse_flags(frame[cols.imputed], rows, column=cols.imputed, path=where)
        if cols.imputed
        else False
    )
    empty = np.isnan(out[TARGET].to_numpy(dtype="float64"))
    empty_rows = rows[empty]
    vanished = sorted(set(out[SITE]) - set(out.loc[~empty, SITE]))
    out, rows, stamps = out[~empty], rows[~empty], stamps[~empty]
    check_daily_spacing(out, column=cols.date_col, path=where)
    if resample == "daily":
        out, rows = resample_daily(out, stamps, rows, counts=list(cols.counts), path=where)
    _check_duplicates(
        out, rows, single_site=cols.site_col is None, column=cols.date_col, path=where
    )
    out = out.reset_index(drop=True).sort_values([SITE, DATE], kind="stable")

    gaps = find_gaps(out, segment_gap_days)
    if gaps and gap_policy == "refuse":
        raise _refused_gaps(gaps, len(empty_rows), cols.target_col, cols.date_col, where)
    days = _history_days(out, segment_gap_days)
    short = _check_history(
        days,
        needed=needed,
        horizon=horizon,
        explicit=min_history is not None,
        column=cols.date_col,
        path=where,
    )
    if len(short):
        out = out[~out[SITE].isin(short.index)]
        days = days.drop(short.index)
        gaps = {site: missing for site, missing in gaps.items() if site not in short.index}

    _warn_ignored(cols, where)
    if len(empty_rows):
        _warn_missing_counts(empty_rows, cols.target_col, vanished, segment_gap_days, where)
    if len(short):
        _warn_dropped(short, needed, where)
    if gaps:
        _warn_gaps(gaps, out, segment_gap_days, where)
        out = fill_gaps(out, segment_gap_days)
    # annual seasonality needs two years of calendar (winter-only segments span the years)
    spans = out.groupby(SITE, sort=True)[DATE].agg(["min", "max"])
    young = ((spans["max"] - spans["min"]).dt.days + 1).loc[lambda d: d < ANNUAL_HISTORY_DAYS]
    if len(young):
        listed = format_list([f"{name}: {int(n)} days" for name, n in young.items()])
        noun = "site has" if len(young) == 1 else "sites have"
        warn_at_caller(
            ShortHistoryWarning,
            f"{len(young)} {noun} less than 2 years of history ({listed}): "
            "annual seasonality cannot be learnt",
            where,
        )
    role = mapping.resolved_role()
    if role == BEDS_OCCUPIED:
        out[BEDS_OCCUPIED] = out[TARGET].to_numpy(dtype="float64")
    out = _finalise(out, path)
    out.attrs["target_role"] = role
    out.attrs["empty_counts"] = len(empty_rows)
    out.attrs["segment_gap_days"] = segment_gap_days
    return out
    return _finalise(out, path)
