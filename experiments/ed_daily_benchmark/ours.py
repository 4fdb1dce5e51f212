"""Our models as they enter the benchmark (name -> unfitted model).

Each dataset gets its own public-holiday calendar (a configuration, like a user's config).
Besides the registry's models, the ensemble variants tried for issue 14 (combination weights
learned per site and horizon on recent validation windows) can be selected by name.
"""

from __future__ import annotations

from forecasting.models import make_model
from forecasting.models.base import Forecaster
from forecasting.models.ensemble import EnsembleForecaster

HOLIDAYS: dict[str, tuple[str, str | None]] = {
    "bern": ("CH", "BE"),
    "iowa": ("US", "IA"),
    "wales": ("GB", "WLS"),
}

BENCHMARKED = ("snaive", "ets", "arima", "lightgbm", "hybrid", "ensemble")


def variants(horizon: int, country: str, subdiv: str | None) -> dict[str, Forecaster]:
    """Ensemble variants of issue 14 (not in the default ``all`` selection)."""

    def members(*names: str) -> list[Forecaster]:
        return [make_model(n, horizon, country, subdiv) for n in names]

    three = ("hybrid", "ets", "arima")
    return {
        "ours: ensemble-equal": EnsembleForecaster(members(*three), name="ensemble-equal"),
        "ours: ensemble-recent2": EnsembleForecaster(
            members(*three), weighting="recent", power=2.0, name="ensemble-recent2"
        ),
        "ours: ensemble-recent4": EnsembleForecaster(
            members(*three), weighting="recent", power=4.0, name="ensemble-recent4"
        ),
        "ours: ensemble-recent8": EnsembleForecaster(
            members(*three), weighting="recent", power=8.0, name="ensemble-recent8"
        ),
        "ours: ensemble-recent0": EnsembleForecaster(
            members(*three), weighting="recent", power=0.0, name="ensemble-recent0"
        ),
        "ours: ensemble-recent4-refit": EnsembleForecaster(
            members(*three),
            weighting="recent",
            power=4.0,
            refit_after_validation=True,
            name="ensemble-recent4-refit",
        ),
        "ours: ensemble-recent4-refit-cal": EnsembleForecaster(
            members(*three),
            weighting="recent",
            power=4.0,
            refit_after_validation=True,
            calibrate=True,
            name="ensemble-recent4-refit-cal",
        ),
        "ours: ensemble-recent4-cal": EnsembleForecaster(
            members(*three),
            weighting="recent",
            power=4.0,
            calibrate=True,
            name="ensemble-recent4-cal",
        ),
        "ours: ensemble4-recent4-refit-cal": EnsembleForecaster(
            members(*three, "lightgbm"),
            weighting="recent",
            power=4.0,
            refit_after_validation=True,
            calibrate=True,
            name="ensemble4-recent4-refit-cal",
        ),
        "ours: ensemble4-recent4-cal": EnsembleForecaster(
            members(*three, "lightgbm"),
            weighting="recent",
            power=4.0,
            calibrate=True,
            name="ensemble4-recent4-cal",
        ),
        "ours: ensemble4-recent4": EnsembleForecaster(
            members(*three, "lightgbm"), weighting="recent", power=4.0, name="ensemble4-recent4"
        ),
    }


def our_models(horizon: int = 7, dataset: str | None = None) -> dict[str, Forecaster]:
    """The package's models to benchmark, by display name, then the variants."""
    country, subdiv = HOLIDAYS.get(dataset or "", ("GB", "ENG"))
    models = {f"ours: {n}": make_model(n, horizon, country, subdiv) for n in BENCHMARKED}
    return models | variants(horizon, country, subdiv)
