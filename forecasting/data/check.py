"""A short, readable report on a demand file: sites, dates, gaps, shape and problems."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.data import schema
from forecasting.data.profile import profile_series
from forecasting.data.segments import DEFAULT_SEGMENT_GAP_DAYS, segment_table
from forecasting.errors import ForecastingWarning


@dataclass
class DataReport:
    """What ``forecasting data check`` reports.

    Attributes:
        source: File (or description) the data came from.
        n_rows: Rows after validation (including filled gaps).
        start: First date over all sites.
        end: Last date over all sites.
        columns: Optional contract and exogenous columns present.
        sites: One row per site: dates, size, filled days, segments and shape statistics.
        problems: Warnings raised while loading, one sentence each.
        segments: One row per site and segment (``site_id, segment, start, end, days``).
        segment_gap_days: Gaps longer than this split a series into segments (not imputed).
        target_column: The file's column that fed the target, if known.
        target_role: What the target counts (``attendances`` or ``beds_occupied``).
        empty_counts: Rows dropped because their target count was empty.
    """

    source: str
    n_rows: int
    start: pd.Timestamp
    end: pd.Timestamp
    columns: list[str]
    sites: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    segment_gap_days: int = DEFAULT_SEGMENT_GAP_DAYS
    target_column: str | None = None
    target_role: str = schema.TARGET
    empty_counts: int = 0

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.sites)

    @property
    def filled_days(self) -> int:
        """Days imputed over all sites."""
        return int(self.sites["filled_days"].sum()) if len(self.sites) else 0

    def segment_summary(self) -> dict[str, Any]:
        """Count the segments and name the shortest one.

        Returns:
            ``segments`` (total), ``sites``, ``split_sites`` (sites with several segments),
            ``most_per_site``, ``shortest_days``, ``shortest_site``, ``median_days`` and
            ``gap_days`` (the longest gap imputed).
        """
        table = self.segments
        summary: dict[str, Any] = {"gap_days": self.segment_gap_days, "sites": self.n_sites}
        if table.empty:
            return {**summary, "segments": 0, "split_sites": 0, "most_per_site": 0}
        per_site = table.groupby(schema.SITE, sort=True).size()
        shortest = table.sort_values(["days", schema.SITE], kind="stable").iloc[0]
        return {
            **summary,
            "segments": len(table),
            "split_sites": int((per_site > 1).sum()),
            "most_per_site": int(per_site.max()),
            "shortest_days": int(shortest["days"]),
            "shortest_site": str(shortest[schema.SITE]),
            "median_days": float(table["days"].median()),
        }

    def segment_line(self) -> str:
        """One plain-text line on the segments (escape it before printing it as markup)."""
        s = self.segment_summary()
        gap = f"gaps over {s['gap_days']} days are not imputed"
        if s["split_sites"] == 0:
            return f"segments: none (no gap over {s['gap_days']} days; one run per site)"
        return (
            f"segments: {_count(s['sites'], 'site')} → {_count(s['segments'], 'segment')} "
            f"({gap}); {_count(s['split_sites'], 'site')} split, up to {s['most_per_site']} per "
            f"site; shortest {_days(s['shortest_days'])} (site '{s['shortest_site']}'), median "
            f"{s['median_days']:g} days"
        )

    def missing_line(self) -> str | None:
        """One plain-text line on empty counts and imputed days, or ``None`` if neither."""
        if not self.empty_counts and not self.filled_days:
            return None
        column = f"'{self.target_column}'" if self.target_column else "target"
        parts = []
        if self.empty_counts:
            rows = "1 row" if self.empty_counts == 1 else f"{self.empty_counts:,} rows"
            parts.append(f"{rows} with an empty {column} count became missing days")
        parts.append(
            f"{_days(self.filled_days)} imputed (gaps of at most {self.segment_gap_days} days)"
        )
        return "missing counts: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-friendly data."""
        sites = self.sites.copy()
        for col in ("start", "end"):
            sites[col] = sites[col].dt.strftime("%Y-%m-%d")
        return {
            "source": self.source,
            "n_sites": self.n_sites,
            "n_rows": self.n_rows,
            "start": self.start.strftime("%Y-%m-%d"),
            "end": self.end.strftime("%Y-%m-%d"),
            "columns": self.columns,
            "sites": sites.to_dict(orient="records"),
            "problems": self.problems,
            "target_role": self.target_role,
            "empty_counts": self.empty_counts,
            "filled_days": self.filled_days,
            "segments": self.segment_summary(),
        }


def summarise_demand(frame: pd.DataFrame, source: str = "<frame>") -> DataReport:
    """Summarise a validated DemandFrame.

    Args:
        frame: A validated DemandFrame (as returned by ``load_demand``).
        source: Name shown in the report.

    Returns:
        The report, with no problems listed (see :func:`check_demand_file`).
    """
    segments = segment_table(frame)
    per_site = segments.groupby(schema.SITE, sort=True).size() if len(segments) else None
    rows = []
    for site, g in frame.groupby(schema.SITE, sort=True, observed=True):
        y = g[schema.TARGET]
        prof = profile_series(g[schema.DATE], y)
        imputed = int(g[schema.IMPUTED].sum()) if schema.IMPUTED in g else 0
        rows.append(
            {
                "site_id": str(site),
                "start": g[schema.DATE].min(),
                "end": g[schema.DATE].max(),
                "days": len(g),
                "filled_days": imputed,
                "segments": 1 if per_site is None else int(per_site.get(site, 1)),
                "mean": float(y.mean()),
                "min": float(y.min()),
                "max": float(y.max()),
                "busiest_weekday": prof.busiest_weekday,
                "weekly_ratio": prof.weekly_ratio,
                "peak_month": prof.peak_month,
                "seasonal_ratio": prof.seasonal_ratio,
                "surge_rate": prof.surge_rate,
            }
        )
    extra = [c for c in frame.columns if c not in (*schema.REQUIRED_COLUMNS, schema.IMPUTED)]
    return DataReport(
        source=source,
        n_rows=len(frame),
        start=frame[schema.DATE].min(),
        end=frame[schema.DATE].max(),
        columns=extra,
        sites=pd.DataFrame(rows),
        segments=segments,
        segment_gap_days=int(frame.attrs.get("segment_gap_days", DEFAULT_SEGMENT_GAP_DAYS)),
        target_role=str(frame.attrs.get("target_role", schema.TARGET)),
        empty_counts=int(frame.attrs.get("empty_counts", 0)),
    )


def check_demand_file(path: str | Path, **load_kwargs: Any) -> tuple[pd.DataFrame, DataReport]:
    """Load and validate a demand file, collecting actionable warnings into the report.

    Args:
        path: CSV or Parquet file.
        **load_kwargs: Passed to :func:`forecasting.data.load.load_demand` (mapping, horizon, ...).

    Returns:
        The validated frame and its report.

    Raises:
        DataError: If the file cannot be used (the message names the file, row/column and fix).
    """
    from forecasting.data.load import load_demand

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ForecastingWarning)
        frame = load_demand(path, **load_kwargs)
    problems = [str(w.message) for w in caught if issubclass(w.category, ForecastingWarning)]
    for w in caught:
        if not issubclass(w.category, ForecastingWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    report = summarise_demand(frame, str(path))
    report.problems = problems
    mapping = load_kwargs.get("mapping")
    report.target_column = mapping.attendances if mapping is not None else schema.TARGET
    return frame, report


def _count(number: int, noun: str) -> str:
    """Return "1 site" or "1,234 sites"."""
    return f"1 {noun}" if number == 1 else f"{number:,} {noun}s"


def _days(number: int) -> str:
    """Return "1 day" or "4,552 days"."""
    return _count(number, "day")
