"""The winter sitreps as a DemandFrame (until the loader handles them): one row per trust-day.

``site_id`` = ``trust_code``, ``attendances`` = ``ga_beds_occupied`` (the model's target column),
``beds`` = ``ga_beds_open``, the other numeric columns as exogenous. Rows with an empty
occupied count are dropped; gaps of up to 14 days inside a winter are filled by linear
interpolation (occupied, beds and exogenous columns) so that every missing day left is a
segment boundary (the DemandFrame invariant of :mod:`forecasting.data.segments`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_PATH = Path("/work/shared/data/nhs_winter_sitreps/winter_sitreps_trust_daily.csv.gz")
EXOGENOUS = (
    "ambulance_handover_over_60min",
    "long_stay_21d",
    "long_stay_7d",
    "beds_closed_norovirus",
)
MIN_BEDS = 50
MAX_GAP = 14


def load_sitreps(path: Path = DEFAULT_PATH) -> pd.DataFrame:
    """The sitreps as a DemandFrame with a ``winter`` column (see the module docstring)."""
    raw = pd.read_csv(path, parse_dates=["date"])
    frame = raw.rename(
        columns={"trust_code": "site_id", "ga_beds_occupied": "attendances", "ga_beds_open": "beds"}
    )
    frame = frame[["site_id", "date", "winter", "attendances", "beds", *EXOGENOUS]]
    frame = frame.dropna(subset=["attendances"])
    frame = frame.drop_duplicates(["site_id", "date"]).sort_values(["site_id", "date"])
    return _fill_short_gaps(frame.reset_index(drop=True))


def _fill_short_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    parts = []
    num = ["attendances", "beds", *EXOGENOUS]
    for (site, winter), g in frame.groupby(["site_id", "winter"], sort=True):
        full = pd.date_range(g["date"].min(), g["date"].max(), freq="D")
        g = g.set_index("date").reindex(full)
        g[num] = g[num].interpolate(limit=MAX_GAP, limit_area="inside")
        g = g.dropna(subset=["attendances"])
        g["site_id"], g["winter"] = site, winter
        parts.append(g.rename_axis("date").reset_index())
    return pd.concat(parts, ignore_index=True)


def large_trusts(frame: pd.DataFrame, min_beds: int = MIN_BEDS) -> list[str]:
    """Trusts whose median beds open is at least ``min_beds`` (drops specialist trusts)."""
    med = frame.groupby("site_id")["beds"].median()
    return sorted(med.index[np.asarray(med >= min_beds)].astype(str))
