"""The real daily series of the benchmark, loaded through the package's own loader."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from forecasting.data.load import load_demand
from forecasting.data.schema import ColumnMapping
from forecasting.errors import ForecastingWarning

DATASETS: dict[str, tuple[str, ColumnMapping, str | None]] = {
    "bern": (
        "bern_insel_ed_daily/insel_ed_visits_daily.csv",
        ColumnMapping(site_id=None, attendances="hosp_counts", extra={"temperature": "mean_temp"}),
        "bern",
    ),
    "iowa": (
        "uihc_ed_hourly/uihc_ed_arrivals_daily.csv",
        ColumnMapping(site_id=None, attendances="arrivals", extra={"temperature": "temp_mean"}),
        "iowa",
    ),
    "wales": (
        "wales_ambulance_hierarchical/wales_ambulance_incidents_daily_by_lhb.csv",
        ColumnMapping(site_id="lhb_code", attendances="incidents"),
        None,
    ),
}


def load(name: str, data_dir: str | Path) -> pd.DataFrame:
    """Load one benchmark dataset as a DemandFrame (contract columns only, plus temperature)."""
    rel, mapping, site = DATASETS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastingWarning)
        frame = load_demand(Path(data_dir) / rel, mapping, default_site=site)
    keep = [c for c in ("site_id", "date", "attendances", "temperature") if c in frame.columns]
    return frame[keep]
