"""Demand models sharing one interface (:class:`Forecaster`), and a registry by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forecasting.features.builder import DirectFeatures
    from forecasting.models.base import Forecaster


@dataclass(frozen=True)
class ModelOptions:
    """Settings shared by the registry's models.

    Attributes:
        horizon: Largest horizon the model must forecast.
        country: Public-holiday country code (``holidays`` package).
        subdiv: Subdivision code, or ``None``.
    """

    horizon: int = 7
    country: str = "GB"
    subdiv: str | None = "ENG"


def _features(o: ModelOptions) -> DirectFeatures:
    from forecasting.features.builder import DirectFeatures
    from forecasting.features.calendar import HolidayFeatures

    return DirectFeatures(holidays=HolidayFeatures(country=o.country, subdiv=o.subdiv))


def _snaive(o: ModelOptions) -> Forecaster:
    from forecasting.models.naive import SeasonalNaive

    del o
    return SeasonalNaive()


def _ets(o: ModelOptions) -> Forecaster:
    from forecasting.models.ets import ETSForecaster

    return ETSForecaster(calendar=True, country=o.country, subdiv=o.subdiv)


def _arima(o: ModelOptions) -> Forecaster:
    from forecasting.models.arima import ArimaForecaster

    return ArimaForecaster(search=False, country=o.country, subdiv=o.subdiv)


def _lightgbm(o: ModelOptions) -> Forecaster:
    from forecasting.models.lightgbm import LightGBMForecaster

    return LightGBMForecaster(max_horizon=o.horizon, features=_features(o))


def _occupancy(o: ModelOptions) -> Forecaster:
    from forecasting.models.occupancy import OccupancyForecaster

    return OccupancyForecaster(max_horizon=o.horizon, country=o.country, subdiv=o.subdiv)


def _hybrid(o: ModelOptions) -> Forecaster:
    from forecasting.models.hybrid import HybridForecaster

    return HybridForecaster(max_horizon=o.horizon, features=_features(o))


def _ensemble(o: ModelOptions) -> Forecaster:
    """The default: hybrid, ETS and ARIMA, weighted per site and horizon.

    The members are fitted 12 weeks before the end of the history and rolled forward through
    12 weekly validation windows; their pinball losses there set the weights, and the combined
    forecasts one interval scale (issue 14, experiments/ed_daily_benchmark/README.md).
    """
    from forecasting.models.ensemble import EnsembleForecaster

    return EnsembleForecaster(
        [_hybrid(o), _ets(o), _arima(o)],
        name="ensemble",
        weighting="recent",
        power=4.0,
        calibrate=True,
        max_horizon=o.horizon,
    )


MODELS: dict[str, Callable[[ModelOptions], Forecaster]] = {
    "snaive": _snaive,
    "ets": _ets,
    "arima": _arima,
    "lightgbm": _lightgbm,
    "hybrid": _hybrid,
    "ensemble": _ensemble,
    "occupancy": _occupancy,
}


def make_model(
    name: str, horizon: int = 7, country: str = "GB", subdiv: str | None = "ENG"
) -> Forecaster:
    """An unfitted model by registry name.

    Args:
        name: One of :data:`MODELS`.
        horizon: Largest horizon to forecast.
        country: Public-holiday country for the models that use holidays.
        subdiv: Its subdivision, or ``None``.

    Raises:
        ValueError: If the name is unknown (the message lists the known names).
    """
    try:
        factory = MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ValueError(f"unknown model '{name}' (known: {known})") from None
    return factory(ModelOptions(horizon=horizon, country=country, subdiv=subdiv))
