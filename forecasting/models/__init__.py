"""Demand models sharing one interface (:class:`Forecaster`), and a registry by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forecasting.models.base import Forecaster


def _snaive(horizon: int) -> Forecaster:
    from forecasting.models.naive import SeasonalNaive

    return SeasonalNaive()


def _ets(horizon: int) -> Forecaster:
    from forecasting.models.ets import ETSForecaster

    return ETSForecaster()


def _arima(horizon: int) -> Forecaster:
    from forecasting.models.arima import ArimaForecaster

    return ArimaForecaster()


def _lightgbm(horizon: int) -> Forecaster:
    from forecasting.models.lightgbm import LightGBMForecaster

    return LightGBMForecaster(max_horizon=horizon)


def _hybrid(horizon: int) -> Forecaster:
    from forecasting.models.hybrid import HybridForecaster

    return HybridForecaster(max_horizon=horizon)


def _ensemble(horizon: int) -> Forecaster:
    from forecasting.models.ensemble import EnsembleForecaster

    return EnsembleForecaster([_hybrid(horizon), _ets(horizon)], name="ensemble")


MODELS: dict[str, Callable[[int], Forecaster]] = {
    "snaive": _snaive,
    "ets": _ets,
    "arima": _arima,
    "lightgbm": _lightgbm,
    "hybrid": _hybrid,
    "ensemble": _ensemble,
}


def make_model(name: str, horizon: int) -> Forecaster:
    """An unfitted model by registry name.

    Raises:
        ValueError: If the name is unknown (the message lists the known names).
    """
    try:
        factory = MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ValueError(f"unknown model '{name}' (known: {known})") from None
    return factory(horizon)
