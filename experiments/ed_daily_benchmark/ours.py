"""Our models as they enter the benchmark (name -> unfitted model).

Each dataset gets its own public-holiday calendar (a configuration, like a user's config).
"""

from __future__ import annotations

from forecasting.models import make_model
from forecasting.models.base import Forecaster

HOLIDAYS: dict[str, tuple[str, str | None]] = {
    "bern": ("CH", "BE"),
    "iowa": ("US", "IA"),
    "wales": ("GB", "WLS"),
}

BENCHMARKED = ("snaive", "ets", "arima", "lightgbm", "hybrid", "ensemble")


def our_models(horizon: int = 7, dataset: str | None = None) -> dict[str, Forecaster]:
    """The package's models to benchmark, by display name."""
    country, subdiv = HOLIDAYS.get(dataset or "", ("GB", "ENG"))
    return {f"ours: {n}": make_model(n, horizon, country, subdiv) for n in BENCHMARKED}
