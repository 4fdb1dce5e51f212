"""Shared loading of the UCI Diabetes 130-US file, exactly as the CLI reads it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecasting.readmission.columns import EpisodeColumns
from forecasting.readmission.load import load_episodes

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data" / "uci_diabetes_130us" / "diabetic_data.csv.gz"
RESULTS = HERE / "results"
COLUMNS = EpisodeColumns(
    episode_id="encounter_id", patient_id="patient_nbr", label="readmitted", positive="<30"
)


def load_uci(path: Path = DATA) -> pd.DataFrame:
    """Load the raw file with the CLI's defaults (death and hospice discharges left out)."""
    RESULTS.mkdir(exist_ok=True)
    return load_episodes(path, COLUMNS)
