"""Our models as they enter the benchmark (name -> unfitted model, and refit policy)."""

from __future__ import annotations

from forecasting.models.base import Forecaster
from forecasting.models.lightgbm import LightGBMForecaster
from forecasting.models.naive import SeasonalNaive


def our_models(horizon: int = 7) -> dict[str, Forecaster]:
    """The package's models to benchmark, by display name."""
    return {
        "ours: SeasonalNaive": SeasonalNaive(),
        "ours: LightGBM": LightGBMForecaster(max_horizon=horizon),
    }
