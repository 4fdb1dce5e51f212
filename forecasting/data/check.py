"""A short, readable report on a demand file: sites, dates, gaps, shape and problems."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.data import schema
from forecasting.data.profile import profile_series
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
        sites: One row per site: dates, size, filled days and shape statistics.
        problems: Warnings raised while loading, one sentence each.
    """

    source: str
    n_rows: int
    start: pd.Timestamp
    end: pd.Timestamp
    columns: list[str]
    sites: pd.DataFrame
    problems: list[str] = field(default_factory=list)

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.sites)

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
        }


def summarise_demand(frame: pd.DataFrame, source: str = "<frame>") -> DataReport:
    """Summarise a validated DemandFrame.

    Args:
        frame: A validated DemandFrame (as returned by ``load_demand``).
        source: Name shown in the report.

    Returns:
        The report, with no problems listed (see :func:`check_demand_file`).
    """
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
    return frame, report
