"""Write synthetic data sets to a folder: demand.csv, episodes.csv and sites.yaml."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from forecasting.config import SiteSettings, sites_yaml

if TYPE_CHECKING:
    from forecasting.data.synth import SiteProfile, SynthData

DEMAND_FILE = "demand.csv"
EPISODES_FILE = "episodes.csv"
SITES_FILE = "sites.yaml"


def site_settings(profile: SiteProfile) -> SiteSettings:
    """Turn a synthetic site's profile into the config's site settings."""
    return SiteSettings(
        name=profile.name,
        beds=int(profile.beds),
        admission_rate=round(float(profile.admission_rate), 4),
        mean_los_emergency=round(float(profile.mean_los_emergency), 2),
        mean_los_elective=round(float(profile.mean_los_elective), 2),
        electives_by_weekday=tuple(int(x) for x in profile.electives_by_weekday),
    )


def write_synth(data: SynthData, out_dir: str | Path) -> dict[str, Path]:
    """Write a synthetic data set as files in the DemandFrame and episode contracts.

    All three files are written to a temporary folder first and only then moved into place,
    so an interrupted run leaves no half-written file.

    Args:
        data: Output of :func:`forecasting.data.synth.synth_demand`.
        out_dir: Folder to write into (created if needed).

    Returns:
        Paths of the written files by kind (``demand``, ``episodes``, ``sites``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = {p.site_id: site_settings(p) for p in data.sites}
    targets = {
        "demand": out / DEMAND_FILE,
        "episodes": out / EPISODES_FILE,
        "sites": out / SITES_FILE,
    }
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=out))
    try:
        demand = data.demand.copy()
        demand["date"] = demand["date"].dt.strftime("%Y-%m-%d")
        demand.to_csv(tmp / DEMAND_FILE, index=False, float_format="%.1f")
        data.episodes.to_csv(tmp / EPISODES_FILE, index=False, date_format="%Y-%m-%d")
        (tmp / SITES_FILE).write_text(sites_yaml(settings), encoding="utf-8")
        for path in targets.values():
            os.replace(tmp / path.name, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return targets
