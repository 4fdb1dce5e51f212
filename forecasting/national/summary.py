"""Plain pandas summaries behind the national page: headline levels, counts, level changes.

A trust's *headline level* is the highest level over its forecast days; its *peak day* is the
first forecast day at that level, and the reasons of that day are the reasons that set it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from forecasting.escalation.levels import LEVEL_NAMES

LEVELS = (1, 2, 3, 4)
HEADLINE_COLUMNS = [
    "site_id",
    "site_name",
    "level",
    "level_name",
    "peak_date",
    "peak_occupancy",
    "reason",
]
CHANGE_COLUMNS = ["site_id", "site_name", "previous_level", "level", "level_name", "reason"]


def reason_text(reasons: object) -> str:
    """One line from a warnings ``reasons`` cell (a list of strings, a string or nothing)."""
    if reasons is None or (isinstance(reasons, float) and reasons != reasons):
        return ""
    if isinstance(reasons, str):
        return reasons
    if isinstance(reasons, Iterable):
        return "; ".join(str(r) for r in reasons)
    return str(reasons)


def headline_levels(warnings: pd.DataFrame) -> pd.DataFrame:
    """One row per trust: its headline level, the peak day and the reason that set it.

    Args:
        warnings: Warnings frame, one row per trust and forecast day (``site_id, date, level,
            occupancy, reasons`` and optionally ``site_name``, ``level_name``).

    Returns:
        Columns :data:`HEADLINE_COLUMNS`, sorted by level (highest first), then peak forecast
        occupancy over the days (highest first), then site id. ``site_name`` falls back to the
        site id; ``peak_occupancy`` is the highest mean forecast occupancy of any day (NaN
        without an ``occupancy`` column).
    """
    if warnings.empty:
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    w = warnings.assign(
        site_id=warnings["site_id"].astype(str),
        level=warnings["level"].astype(int),
        date=pd.to_datetime(warnings["date"]),
    )
    if "occupancy" in w.columns:
        peak_occ = w.groupby("site_id")["occupancy"].max()
    else:  # attendance warnings without beds
        peak_occ = pd.Series(float("nan"), index=w["site_id"].unique())
    first_peak = (
        w.sort_values(["site_id", "level", "date"], ascending=[True, False, True])
        .drop_duplicates("site_id")
        .set_index("site_id")
    )
    names = first_peak["site_name"] if "site_name" in first_peak else first_peak.index.to_series()
    out = pd.DataFrame(
        {
            "site_id": first_peak.index,
            "site_name": names.fillna(pd.Series(first_peak.index, index=first_peak.index))
            .astype(str)
            .to_numpy(),
            "level": first_peak["level"].to_numpy(),
            "level_name": first_peak["level"].map(LEVEL_NAMES).to_numpy(),
            "peak_date": first_peak["date"].to_numpy(),
            "peak_occupancy": peak_occ.reindex(first_peak.index).to_numpy(dtype=float),
            "reason": [reason_text(r) for r in first_peak.get("reasons", [None] * len(first_peak))],
        }
    )
    out = out.sort_values(
        ["level", "peak_occupancy", "site_id"], ascending=[False, False, True], na_position="last"
    )
    return out.reset_index(drop=True)[HEADLINE_COLUMNS]


def level_counts(headlines: pd.DataFrame) -> pd.Series:
    """Number of trusts at each headline level, levels 1..4 all present (zeros included)."""
    counts = headlines["level"].astype(int).value_counts().reindex(LEVELS, fill_value=0)
    counts.index.name = "level"
    return counts.rename("trusts").astype(int)


def changed_levels(headlines: pd.DataFrame, previous_levels: pd.Series | None) -> pd.DataFrame:
    """Trusts whose headline level differs from yesterday's issue.

    A trust missing from yesterday's levels is listed with ``previous_level`` missing (new in
    today's issue). With no previous issue at all (``None``) nothing is listed: every trust
    would otherwise be "new".

    Args:
        headlines: Output of :func:`headline_levels`.
        previous_levels: Yesterday's headline level by ``site_id`` (may miss trusts).

    Returns:
        Columns :data:`CHANGE_COLUMNS` (``previous_level`` is a nullable integer), sorted by
        new level (highest first), then the size of the rise, then site id.
    """
    if previous_levels is None or headlines.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    previous = pd.Series(
        pd.to_numeric(previous_levels, errors="coerce").to_numpy(),
        index=previous_levels.index.astype(str),
    )
    previous = previous[~previous.index.duplicated(keep="last")]
    table = headlines.assign(
        previous_level=previous.reindex(headlines["site_id"]).astype("Int64").to_numpy()
    )
    changed = table[table["previous_level"].isna() | (table["previous_level"] != table["level"])]
    rise = (changed["level"] - changed["previous_level"]).astype("Float64").fillna(float("inf"))
    changed = changed.assign(_rise=rise.to_numpy()).sort_values(
        ["level", "_rise", "site_id"], ascending=[False, False, True]
    )
    return changed[CHANGE_COLUMNS].reset_index(drop=True)


def previous_levels(issued: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.Series | None:
    """Each trust's headline level in the latest earlier issue (before ``as_of``).

    Args:
        issued: Stored warnings (``WarningHistory.read()``), or ``None``.
        as_of: Today's as-of day; issues for it or later are not "previous".

    Returns:
        Highest level per ``site_id`` in the last run with an earlier as-of day; ``None`` when
        there is no such run.
    """
    if issued is None or issued.empty:
        return None
    earlier = issued[pd.to_datetime(issued["as_of"]) < as_of]
    if earlier.empty:
        return None
    last_day = pd.to_datetime(earlier["as_of"]).max()
    day = earlier[pd.to_datetime(earlier["as_of"]) == last_day]
    run = day[day["run_id"] == day["run_id"].iloc[-1]]
    levels = run.groupby(run["site_id"].astype(str))["level"].max().astype(int)
    return levels.rename("level")
