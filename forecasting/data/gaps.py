"""Check each site's timeline and fill its gaps.

The checks: one row per site and day, nothing observed after the as-of date, no gaps (or fill
them, see :func:`fill_gaps`) and enough days of history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data.messages import _count, format_list, rows_error
from forecasting.data.parse import is_missing
from forecasting.data.schema import DATE, IMPUTED, SITE, TARGET
from forecasting.errors import DataValueError, InsufficientHistoryError

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


def find_gaps(frame: pd.DataFrame) -> dict[str, pd.DatetimeIndex]:
    """Find the days missing between each site's first and last date.

    Args:
        frame: A frame with ``site_id`` and ``date`` columns, one row per site and day.

    Returns:
        The missing days of each site that has any, keyed by site id (sorted).
    """
    spans = frame.groupby(SITE, sort=True)[DATE].agg(["min", "max", "size"])
    expected = (spans["max"] - spans["min"]).dt.days + 1
    gaps: dict[str, pd.DatetimeIndex] = {}
    for site in spans.index[(expected > spans["size"]).to_numpy()]:
        days = pd.DatetimeIndex(frame.loc[frame[SITE] == site, DATE])
        full = pd.date_range(days.min(), days.max(), freq="D")
        gaps[str(site)] = full.difference(days)
    return gaps


def _impute_same_weekday(values: np.ndarray) -> np.ndarray:
    """Fill NaNs of a consecutive daily series from the same weekday, else linearly."""
    result = values.copy()
    for offset in range(7):
        weekday = pd.Series(values[offset::7])
        mean = ((weekday.ffill() + weekday.bfill()) / 2).to_numpy()
        result[offset::7] = np.where(np.isnan(result[offset::7]), mean, result[offset::7])
    linear = pd.Series(values).interpolate(method="linear", limit_area="inside").to_numpy()
    return np.where(np.isnan(result), linear, result)


def fill_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Insert each site's missing days and impute them.

    ``attendances`` on an inserted day is the mean of the nearest observed values on the same
    weekday before and after it (so a Monday gap between Mondays of 10 and 30 becomes 20); where
    one side has no such value, it is interpolated linearly between the neighbouring days.
    ``beds`` is carried forward; other columns are left ``NaN``. ``imputed`` is True on
    inserted days (and keeps any True it had).

    Args:
        frame: A DemandFrame-shaped frame: ``site_id``, ``date``, ``attendances`` and any other
            columns, one row per site and day.

    Returns:
        The frame with the inserted days, sorted by site and date, with a fresh index and an
        ``imputed`` bool column.
    """
    columns = [*frame.columns, *([] if IMPUTED in frame.columns else [IMPUTED])]
    parts = []
    for site, part in frame.groupby(SITE, sort=True):
        part = part.sort_values(DATE)
        full = pd.date_range(part[DATE].iloc[0], part[DATE].iloc[-1], freq="D", name=DATE)
        filled = part.set_index(DATE).reindex(full)
        inserted = filled[SITE].isna().to_numpy()
        filled[SITE] = site
        target = filled[TARGET].to_numpy(dtype="float64")
        filled[TARGET] = _impute_same_weekday(target)
        if "beds" in filled.columns:
            filled["beds"] = filled["beds"].where(~inserted, filled["beds"].ffill())
        inserted |= np.isnan(target)
        before = (
            filled[IMPUTED].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if IMPUTED in filled.columns
            else np.zeros(len(filled), dtype=bool)
        )
        filled[IMPUTED] = before | inserted
        parts.append(filled.reset_index())
    return pd.concat(parts, ignore_index=True)[columns]


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


def _history_days(frame: pd.DataFrame) -> pd.Series:
    """Return the days spanned by each site (first to last date, inclusive)."""
    spans = frame.groupby(SITE, sort=True)[DATE].agg(["min", "max"])
    return (spans["max"] - spans["min"]).dt.days + 1


def _check_history(
    days: pd.Series, *, needed: int, horizon: int, explicit: bool, column: str, path: str | None
) -> None:
    """Raise if any site spans fewer than ``needed`` days."""
    short = days[days < needed]
    if not len(short):
        return
    site, found = short.index[0], int(short.iloc[0])
    reason = "" if explicit else f" for a {horizon}-day horizon"
    message = f"site '{site}' has {found} days of history, fewer than the {needed} needed{reason}"
    if len(short) > 1:
        others = [f"{name}: {int(n)}" for name, n in short.iloc[1:].items()]
        message += f"; {_count(len(short) - 1, 'more site')} too short ({format_list(others)})"
    raise InsufficientHistoryError(
        message,
        path=path,
        column=column,
        fix=f"supply at least {needed} days per site, or shorten the horizon (--horizon)",
    )
