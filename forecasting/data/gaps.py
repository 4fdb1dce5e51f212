"""Check each site's timeline and fill its gaps.

The checks: one row per site and day, nothing observed after the as-of date, no short gaps (or
fill them, see :func:`fill_gaps`) and enough days of history. A gap longer than
``segment_gap_days`` is not a defect: it splits the series into segments and is never filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data.messages import _count, format_list, rows_error
from forecasting.data.parse import is_missing
from forecasting.data.schema import DATE, IMPUTED, SITE, TARGET
from forecasting.data.segments import DEFAULT_SEGMENT_GAP_DAYS
from forecasting.errors import DataValueError, InsufficientHistoryError

_INSERTED = "__inserted__"

#: Days of history needed to learn annual seasonality.
ANNUAL_HISTORY_DAYS = 730


def _check_duplicates(
    frame: pd.DataFrame, rows: np.ndarray, *, single_site: bool, column: str, path: str | None
) -> None:
    """Raise if a (site, date) pair occurs more than once."""
    keys = frame[[SITE, DATE]]
    repeats = keys.duplicated(keep="first").to_numpy()
    if not repeats.any():
        return
    second = int(np.flatnonzero(repeats)[0])
    sites, days = frame[SITE].to_numpy(), frame[DATE].to_numpy(dtype="datetime64[ns]")
    site, day = sites[second], days[second]
    same = (sites == site) & (days == day)
    first = int(np.flatnonzero(same)[0])
    where = f"for site '{site}'" if not single_site else "in this single-site file"
    message = (
        f"{pd.Timestamp(day):%Y-%m-%d} appears more than once {where} "
        f"(rows {rows[first]} and {rows[second]}); "
        f"{_count(int(repeats.sum()), 'repeated row')} in total"
    )
    fix = "keep one row per site and day (add up or remove the repeats)"
    per_day = keys.groupby([SITE, DATE], sort=False).size()
    if (per_day > 1).mean() > 0.5:
        fix += (
            "; most days have several rows, so if they are hours (or parts) of the day, "
            "pass --resample daily to add them up"
        )
    if single_site:
        fix += "; if the file holds several sites, name the site column with --site-col"
    raise DataValueError(message, path=path, row=int(rows[second]), column=column, fix=fix)


def _keep_past(
    frame: pd.DataFrame,
    rows: np.ndarray,
    dates: np.ndarray,
    as_of_day: pd.Timestamp,
    *,
    target: str,
    column: str,
    path: str | None,
) -> np.ndarray:
    """Raise for counts dated after ``as_of_day``; return the mask of rows to keep.

    Rows dated later without a count (e.g. a temperature forecast) are not kept.
    """
    future = dates > as_of_day.to_datetime64()
    if not future.any():
        return ~future
    observed = future & ~is_missing(frame[target])
    if observed.any():
        raise rows_error(
            DataValueError,
            f"{TARGET} recorded for {{value}}, after the as-of date {as_of_day:%Y-%m-%d}",
            rows[observed],
            [f"{pd.Timestamp(day):%Y-%m-%d}" for day in dates[observed]],
            column=column,
            fix="remove rows dated in the future, or pass --as-of with the day the data was "
            "extracted",
            path=path,
        )
    if future.all():
        raise DataValueError(
            f"no rows are dated on or before the as-of date {as_of_day:%Y-%m-%d}",
            path=path,
            column=column,
            fix="check --as-of and the dates in the file",
        )
    return ~future


def _missing_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """List each run of missing days between two consecutive rows of a site.

    Args:
        frame: A frame with ``site_id`` and ``date`` columns, one row per site and day.

    Returns:
        One row per run: ``site_id``, ``after`` (the last observed day before the run) and
        ``length`` (missing days), sorted by site and day.
    """
    keys = frame[[SITE, DATE]].sort_values([SITE, DATE], kind="stable")
    sites = keys[SITE].to_numpy()
    days = pd.DatetimeIndex(keys[DATE]).to_numpy(dtype="datetime64[D]")
    length = np.diff(days.astype(np.int64)) - 1
    run = (sites[1:] == sites[:-1]) & (length > 0)
    return pd.DataFrame(
        {
            SITE: sites[:-1][run],
            "after": pd.DatetimeIndex(days[:-1][run]).astype("datetime64[ns]"),
            "length": length[run],
        }
    )


def _short_runs(frame: pd.DataFrame, max_gap_days: int | None) -> pd.DataFrame:
    """The runs of :func:`_missing_runs` of at most ``max_gap_days`` days (all if ``None``)."""
    runs = _missing_runs(frame)
    return runs if max_gap_days is None else runs[runs["length"] <= max_gap_days]


def find_gaps(frame: pd.DataFrame, max_gap_days: int | None = None) -> dict[str, pd.DatetimeIndex]:
    """Find the days missing between each site's first and last date.

    Args:
        frame: A frame with ``site_id`` and ``date`` columns, one row per site and day.
        max_gap_days: Only list the days of gaps at most this long (the gaps the loader
            imputes); a longer gap is a segment boundary. ``None`` lists every missing day.

    Returns:
        The missing days of each site that has any, keyed by site id (sorted).
    """
    runs = _short_runs(frame, max_gap_days)
    lengths = runs["length"].to_numpy(dtype=np.int64)
    if not len(lengths):
        return {}
    # day k of a run is its "after" day + k + 1: repeat each run, then count within it
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    step = np.arange(int(lengths.sum())) - first + 1
    days = np.repeat(runs["after"].to_numpy(dtype="datetime64[D]"), lengths) + step
    sites = np.repeat(runs[SITE].astype(str).to_numpy(), lengths)
    missing = pd.Series(days.astype("datetime64[ns]"), index=sites)
    return {
        str(site): pd.DatetimeIndex(missing.loc[[site]].to_numpy())
        for site in sorted(set(sites.tolist()))
    }


def long_gap_days(frame: pd.DataFrame, max_gap_days: int) -> pd.Series:
    """Count each site's days in gaps longer than ``max_gap_days`` (segment boundaries).

    Args:
        frame: A frame with ``site_id`` and ``date`` columns, one row per site and day.
        max_gap_days: The longest gap that is imputed.

    Returns:
        Missing days in long gaps per site (0 for sites without), indexed by site (sorted).
    """
    runs = _missing_runs(frame)
    long = runs[runs["length"] > max_gap_days].groupby(SITE)["length"].sum()
    sites = pd.Index(sorted(frame[SITE].unique()), name=SITE)
    return long.reindex(sites, fill_value=0).astype(np.int64)


def _ffill(values: np.ndarray) -> np.ndarray:
    """Carry the last non-NaN value forward (NaN before the first one)."""
    index = np.where(np.isnan(values), 0, np.arange(len(values)))
    np.maximum.accumulate(index, out=index)
    return values[index]


def _interpolate_inside(values: np.ndarray) -> np.ndarray:
    """Interpolate NaNs linearly between observed values; leave NaNs outside them."""
    known = np.flatnonzero(~np.isnan(values))
    if len(known) == 0:
        return values.copy()
    position = np.arange(len(values))
    inside = (position >= known[0]) & (position <= known[-1])
    linear = np.interp(position, known, values[known])
    return np.where(inside, linear, np.nan)


def _impute_same_weekday(values: np.ndarray) -> np.ndarray:
    """Fill NaNs of a consecutive daily series from the same weekday, else linearly."""
    result = values.copy()
    for offset in range(7):
        weekday = values[offset::7]
        mean = (_ffill(weekday) + _ffill(weekday[::-1])[::-1]) / 2
        result[offset::7] = np.where(np.isnan(weekday), mean, weekday)
    return np.where(np.isnan(result), _interpolate_inside(values), result)


def _global_segments(frame: pd.DataFrame) -> np.ndarray:
    """Number the runs of consecutive days over a frame sorted by site and date."""
    sites = frame[SITE].to_numpy()
    days = pd.DatetimeIndex(frame[DATE]).to_numpy(dtype="datetime64[D]").astype(np.int64)
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    breaks = (sites[1:] != sites[:-1]) | (np.diff(days) != 1)
    return np.concatenate([[0], np.cumsum(breaks)]).astype(np.int64)


def _inserted_days(gaps: dict[str, pd.DatetimeIndex], sites: pd.Series) -> pd.DataFrame:
    """Rows of ``site_id`` and ``date`` for the days to insert (site values as in ``sites``)."""
    originals = {str(site): site for site in pd.unique(sites)}
    records = [(originals[site], day) for site, days in gaps.items() for day in days]
    return pd.DataFrame(records, columns=[SITE, DATE])


def fill_gaps(
    frame: pd.DataFrame, max_gap_days: int | None = DEFAULT_SEGMENT_GAP_DAYS
) -> pd.DataFrame:
    """Insert each site's missing days of short gaps and impute them, segment by segment.

    Only gaps of at most ``max_gap_days`` days are filled; a longer gap stays absent (it
    separates two segments, see :mod:`forecasting.data.segments`), and no value is carried or
    averaged across it. ``attendances`` on an inserted day is the mean of the nearest observed
    values on the same weekday before and after it within its segment (so a Monday gap between
    Mondays of 10 and 30 becomes 20); where one side has no such value, it is interpolated
    linearly between the neighbouring days. ``beds`` is carried forward within the segment;
    other columns are left ``NaN``. ``imputed`` is True on inserted days (and keeps any True
    it had).

    Args:
        frame: A DemandFrame-shaped frame: ``site_id``, ``date``, ``attendances`` and any other
            columns, one row per site and day.
        max_gap_days: The longest gap to fill; ``None`` fills every gap (one segment per site).

    Returns:
        The frame with the inserted days, sorted by site and date, with a fresh index and an
        ``imputed`` bool column.
    """
    columns = [*frame.columns, *([] if IMPUTED in frame.columns else [IMPUTED])]
    if frame.empty:
        return frame.assign(**{IMPUTED: False})[columns].reset_index(drop=True)
    before = (
        frame[IMPUTED].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if IMPUTED in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    observed = frame.copy()
    observed[IMPUTED] = before
    observed[_INSERTED] = False
    new = _inserted_days(find_gaps(frame, max_gap_days), frame[SITE])
    if not new.empty:
        new[DATE] = new[DATE].astype(frame[DATE].dtype)
        new = new.assign(**{IMPUTED: True, _INSERTED: True})
        observed = pd.concat([observed, new], ignore_index=True)
    out = observed.sort_values([SITE, DATE], kind="stable").reset_index(drop=True)
    inserted = out.pop(_INSERTED).to_numpy(dtype=bool)
    segment = _global_segments(out)
    target = out[TARGET].to_numpy(dtype="float64").copy()
    empty = np.isnan(target)
    for run in np.unique(segment[empty]):  # segments are contiguous: ids ascend with rows
        where = slice(np.searchsorted(segment, run), np.searchsorted(segment, run, "right"))
        target[where] = _impute_same_weekday(target[where])
    out[TARGET] = target
    if "beds" in out.columns and inserted.any():
        carried = out["beds"].groupby(segment).ffill()
        out["beds"] = out["beds"].where(~inserted, carried)
    out[IMPUTED] = out[IMPUTED].astype(bool) | empty
    return out[columns]


def _gap_summary(gaps: dict[str, pd.DatetimeIndex]) -> str:
    """Describe the gaps of the first site and count the other sites with gaps."""
    site, days = next(iter(gaps.items()))
    text = (
        f"site '{site}' is missing {_count(len(days), 'day')} "
        f"({format_list([f'{day:%Y-%m-%d}' for day in days])})"
    )
    if len(gaps) > 1:
        more = [f"{name}: {len(missing)}" for name, missing in list(gaps.items())[1:]]
        text += f"; {_count(len(gaps) - 1, 'more site')} with gaps ({format_list(more)})"
    return text


def _history_days(frame: pd.DataFrame, max_gap_days: int | None = None) -> pd.Series:
    """Return the days each site has once short gaps are filled, summed over its segments.

    Args:
        frame: A frame with ``site_id`` and ``date`` columns, one row per site and day.
        max_gap_days: Gaps longer than this are segment boundaries and do not count; ``None``
            counts the whole span from the first to the last date.

    Returns:
        Days per site, indexed by site (sorted).
    """
    spans = frame.groupby(SITE, sort=True)[DATE].agg(["min", "max"])
    days = (spans["max"] - spans["min"]).dt.days + 1
    if max_gap_days is None:
        return days
    return days - long_gap_days(frame, max_gap_days).reindex(days.index, fill_value=0)


def _history_error(
    short: pd.Series, *, needed: int, horizon: int, explicit: bool, column: str, path: str | None
) -> InsufficientHistoryError:
    """Build the error naming the first site that is too short and counting the others."""
    site, found = short.index[0], int(short.iloc[0])
    reason = "" if explicit else f" for a {horizon}-day horizon"
    message = f"site '{site}' has {found} days of history, fewer than the {needed} needed{reason}"
    if len(short) > 1:
        others = [f"{name}: {int(n)}" for name, n in short.iloc[1:].items()]
        message += f"; {_count(len(short) - 1, 'more site')} too short ({format_list(others)})"
    return InsufficientHistoryError(
        message,
        path=path,
        column=column,
        fix=f"supply at least {needed} days per site, or shorten the horizon (--horizon)",
    )


def _check_history(
    days: pd.Series, *, needed: int, horizon: int, explicit: bool, column: str, path: str | None
) -> pd.Series:
    """Return the sites with fewer than ``needed`` days, raising if no site has enough.

    A file where every site is too short (a single-site file included) cannot be forecast:
    that raises. When other sites have enough history, the short ones are returned for the
    caller to drop (with a warning), so that one young site does not stop a national run.

    Returns:
        Days of the sites that are too short, indexed by site (empty if none).

    Raises:
        InsufficientHistoryError: Every site has fewer than ``needed`` days.
    """
    short = days[days < needed]
    if len(short) and len(short) == len(days):
        raise _history_error(
            short, needed=needed, horizon=horizon, explicit=explicit, column=column, path=path
        )
    return short
