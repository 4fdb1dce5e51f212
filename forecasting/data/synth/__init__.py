"""Deterministic, realistic synthetic data: the package's embedded default data set.

Multi-site daily ED demand (weekly and annual shape, England bank and school holidays, winter
respiratory waves, heat, trend, level shifts, heavy-tailed surges) and patient-level discharge
episodes whose 30-day readmission labels come from a known risk model.

Example:
    >>> from forecasting.data.synth import synth_demand
    >>> data = synth_demand(n_sites=2, years=1.0, seed=1)
    >>> sorted(data.demand["site_id"].unique())
    ['RAA', 'RAB']
"""

from forecasting.data.synth.containers import SynthData
from forecasting.data.synth.dataset import DEFAULT_END, DEMAND_COLUMNS, synth_dates, synth_demand
from forecasting.data.synth.episodes import EPISODE_COLUMNS, synth_episodes
from forecasting.data.synth.risk import DESTINATIONS, RISK_MODEL_COEFS, true_readmission_risk
from forecasting.data.synth.sites import SiteProfile, synth_sites

__all__ = [
    "DEFAULT_END",
    "DEMAND_COLUMNS",
    "DESTINATIONS",
    "EPISODE_COLUMNS",
    "RISK_MODEL_COEFS",
    "SiteProfile",
    "SynthData",
    "synth_dates",
    "synth_demand",
    "synth_episodes",
    "synth_sites",
    "true_readmission_risk",
]
