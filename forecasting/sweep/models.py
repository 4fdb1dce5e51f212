"""Build the configured models: registry defaults with a configuration's overrides.

A key overrides a constructor parameter whose default is a plain value (number, text,
true/false or null), or, for the models with a LightGBM ``params`` dict (``lightgbm``,
``hybrid``, ``occupancy``), one LightGBM parameter. ``max_horizon`` follows the sweep's
horizon and the holiday calendar the config's, so neither can be overridden.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forecasting.errors import ConfigError

if TYPE_CHECKING:
    from forecasting.models.base import Forecaster
    from forecasting.sweep.spec import Configuration, Scalar, SweepSpec

FIXED = frozenset({"max_horizon", "country", "subdiv", "features", "params", "name"})
"""Constructor parameters a sweep cannot set (set by the sweep, the config, or not scalars)."""
EXTRA_LIGHTGBM = ("max_depth", "reg_alpha", "min_split_gain", "min_child_weight", "max_bin")
"""LightGBM parameters accepted besides those the model sets by default."""


def build_models(
    spec: SweepSpec, country: str = "GB", subdiv: str | None = "ENG"
) -> dict[str, Forecaster]:
    """One unfitted model per configuration, keyed by the configuration's name.

    Args:
        spec: The validated sweep.
        country: Public-holiday country of the models that use holidays.
        subdiv: Its subdivision, or ``None``.

    Raises:
        ConfigError: Naming the sweep file, the configuration and the key, with the allowed
            keys: an unknown model or parameter, or a value of the wrong type.
    """
    return {
        c.name: build_model(c, spec.backtest.horizon, country, subdiv, spec.source)
        for c in spec.configurations
    }


def build_model(
    config: Configuration,
    horizon: int,
    country: str = "GB",
    subdiv: str | None = "ENG",
    source: str = "<sweep>",
) -> Forecaster:
    """The registry model ``config.model`` with ``config.overrides`` applied (see module doc)."""
    from forecasting.models import MODELS, make_model

    where = f"{source}: configuration '{config.name}'"
    if config.model not in MODELS:
        raise ConfigError(
            f"{where}: unknown model '{config.model}'. Fix: choose from {', '.join(MODELS)}."
        )
    model = make_model(config.model, horizon, country, subdiv)
    params = model.get_params()
    own = {k: v for k, v in params.items() if k not in FIXED and _is_scalar(v)}
    lgb = lightgbm_defaults(model) if "params" in params else {}
    ctor: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in config.overrides.items():
        if key in own:
            ctor[key] = _checked(value, own[key], f"{where}, key '{key}'")
        elif key in lgb:
            nested[key] = _checked(value, lgb[key], f"{where}, key '{key}'")
        else:
            allowed = ", ".join(sorted(own) + sorted(k for k in lgb if k not in own))
            raise ConfigError(
                f"{where}: unknown parameter '{key}' for model '{config.model}'. "
                f"Fix: use one of {allowed}."
            )
    if nested:
        ctor["params"] = {**(params.get("params") or {}), **nested}
    return type(model)(**{**params, **ctor})


def lightgbm_defaults(model: Forecaster) -> dict[str, Any]:
    """The LightGBM parameters a model accepts in ``params``, with their default values.

    Those of its module's ``DEFAULT_PARAMS`` (and the hybrid's ``CORRECTION_PARAMS``), the
    ones already in its ``params``, and :data:`EXTRA_LIGHTGBM` (default ``None``: any number).
    """
    module = sys.modules[type(model).__module__]
    out: dict[str, Any] = dict.fromkeys(EXTRA_LIGHTGBM)
    for table in ("DEFAULT_PARAMS", "CORRECTION_PARAMS"):
        found = getattr(module, table, None)
        if isinstance(found, Mapping):
            out.update(found)
    out.update(model.get_params().get("params") or {})
    return {k: v for k, v in out.items() if k not in ("verbose", "n_jobs", "random_state")}


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _checked(value: Scalar, default: object, where: str) -> Scalar:
    """``value`` if it has the default's type (an int may stand for a float)."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        want = "true or false"
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "a whole number"
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        want = "a number"
    else:
        ok = isinstance(value, str)
        want = "text"
    if ok:
        return float(value) if isinstance(default, float) and isinstance(value, int) else value
    raise ConfigError(f"{where}: expected {want} (got {value!r}). Fix: correct the value.")
