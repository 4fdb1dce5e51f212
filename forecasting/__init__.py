"""forecasting: ED demand peaks, 30-day readmission risk and escalation warnings.

Importing the package is cheap; the analysts' API is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_demand": "forecasting.data.load",
    "to_demand_frame": "forecasting.data.load",
    "read_table": "forecasting.data.load",
    "ColumnMapping": "forecasting.data.schema",
    "synth_demand": "forecasting.data.synth",
    "write_synth": "forecasting.data.export",
    "profile_series": "forecasting.data.profile",
    "profile_frame": "forecasting.data.profile",
    "summarise_demand": "forecasting.data.check",
    "check_demand_file": "forecasting.data.check",
    "load_config": "forecasting.config",
    "backtest": "forecasting.evaluate.backtest",
    "score_backtest": "forecasting.evaluate.summary:evaluate",
    "make_model": "forecasting.models",
    "SeasonalNaive": "forecasting.models.naive",
    "ETSForecaster": "forecasting.models.ets",
    "ArimaForecaster": "forecasting.models.arima",
    "LightGBMForecaster": "forecasting.models.lightgbm",
    "HybridForecaster": "forecasting.models.hybrid",
    "EnsembleForecaster": "forecasting.models.ensemble",
    "DirectFeatures": "forecasting.features.builder",
    "CalendarFeatures": "forecasting.features.calendar",
    "HolidayFeatures": "forecasting.features.calendar",
    "LagFeatures": "forecasting.features.lags",
    "metrics": "forecasting.evaluate.metrics:",
    "fan_chart": "forecasting.plot",
    "Config": "forecasting.config",
    "daily_warnings": "forecasting.daily",
    "assess": "forecasting.escalation.assess",
    "evaluate_warnings": "forecasting.escalation.alerts",
    "WarningHistory": "forecasting.escalation.history",
    "write_report": "forecasting.report",
    "readmission": "forecasting.readmission:",
    "tracking": "forecasting.tracking:",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, sep, attr = _LAZY[name].partition(":")
        module = importlib.import_module(module_name)
        if sep and not attr:  # a module itself
            return module
        return getattr(module, attr or name)
    raise AttributeError(f"module 'forecasting' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
