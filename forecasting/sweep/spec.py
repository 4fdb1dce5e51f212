"""The sweep file: backtest settings, the metric, and the configurations to compare.

A configuration is a registry model name (:data:`forecasting.models.MODELS`) with overrides of
its constructor parameters (or, for the LightGBM-based models, of its LightGBM ``params``).
Configurations come from an explicit list and from per-model grids (cartesian products); each
gets a short, deterministic name such as ``lightgbm[learning_rate=0.1,num_leaves=15]``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from forecasting.errors import ConfigError

MAX_CONFIGURATIONS = 500
LOWER_IS_BETTER = ("pinball", "MAE", "RMSE", "MASE", "MAPE", "brier", "false_alarms_30d")
HIGHER_IS_BETTER = ("brier_skill", "F1", "precision", "recall")
METRICS = LOWER_IS_BETTER + HIGHER_IS_BETTER
"""Metrics that can choose the best configuration (columns of ``evaluate``)."""
RESERVED_KEYS = ("model", "name")

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Configuration:
    """One model setting to backtest.

    Attributes:
        name: Label of its rows in the forecast frame and of its MLflow child run.
        model: Registry model name.
        overrides: Parameter overrides, in the order given.
    """

    name: str
    model: str
    overrides: dict[str, Scalar] = field(default_factory=dict)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BacktestSettings(_Strict):
    """The rolling-origin backtest every configuration runs (the same cutoffs for all)."""

    horizon: int = Field(default=7, ge=1, le=90)
    step: int = Field(default=7, ge=1)
    windows: int = Field(default=8, ge=1)
    refit_every: int = Field(default=4, ge=1)


class _SweepFile(_Strict):
    backtest: BacktestSettings = BacktestSettings()
    metric: str = "pinball"
    configurations: list[dict[str, Any]] = Field(default_factory=list)
    grid: dict[str, dict[str, Any] | None] = Field(default_factory=dict)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        return check_metric(v)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: backtest settings, the ranking metric and the configurations.

    Attributes:
        configurations: In file order: the explicit list first, then each grid.
        backtest: Settings shared by all configurations.
        metric: Ranking metric (one of :data:`METRICS`).
        source: Where the spec came from (named in errors).
        text: The file's text, logged with the parent run.
    """

    configurations: list[Configuration]
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    metric: str = "pinball"
    source: str = "<sweep>"
    text: str = ""


def check_metric(metric: str) -> str:
    """The metric's canonical spelling (``mae`` -> ``MAE``) if it can rank configurations.

    Raises:
        ValueError: Listing the metrics that can.
    """
    known = {m.lower(): m for m in METRICS}
    if metric.lower() not in known:
        raise ValueError(f"unknown metric '{metric}'; choose from {', '.join(METRICS)}")
    return known[metric.lower()]


def lower_is_better(metric: str) -> bool:
    """Whether a smaller ``metric`` is better (pinball, MAE, …) or a larger one (F1, …)."""
    return metric in LOWER_IS_BETTER


def config_name(model: str, overrides: dict[str, Scalar]) -> str:
    """``model[key=value,...]`` (keys in the order given), or ``model`` with no overrides."""
    if not overrides:
        return model
    return f"{model}[{','.join(f'{k}={_short(v)}' for k, v in overrides.items())}]"


def _short(value: Scalar) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def _scalar(value: Any, where: str) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ConfigError(
        f"{where}: expected a number, text, true/false or null (got {type(value).__name__}). "
        "Fix: give one value per key (a grid takes a list of such values)."
    )


def _explicit(items: list[dict[str, Any]], source: str) -> list[Configuration]:
    out = []
    for i, item in enumerate(items, start=1):
        where = f"{source}: configurations[{i}]"
        model = item.get("model")
        if not isinstance(model, str) or not model:
            raise ConfigError(f"{where}: key 'model' is missing. Fix: e.g. {{model: ets}}.")
        overrides = {
            str(k): _scalar(v, f"{where}, key '{k}'")
            for k, v in item.items()
            if k not in RESERVED_KEYS
        }
        name = item.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(f"{where}: key 'name' must be non-empty text.")
        out.append(Configuration(name or config_name(model, overrides), model, overrides))
    return out


def _grid(grid: dict[str, dict[str, Any] | None], source: str) -> list[Configuration]:
    out = []
    for model, axes in grid.items():
        keys, values = [], []
        for k, given in (axes or {}).items():
            key = str(k)
            raw = given if isinstance(given, list) else [given]
            if not raw:
                raise ConfigError(
                    f"{source}: grid.{model}.{key}: empty list. Fix: give at least one value."
                )
            keys.append(key)
            values.append([_scalar(v, f"{source}: grid.{model}.{key}") for v in raw])
        for combo in itertools.product(*values):
            overrides = dict(zip(keys, combo, strict=True))
            out.append(Configuration(config_name(model, overrides), model, overrides))
    return out


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return (
            f"key '{key}': unknown key (allowed: backtest, metric, configurations, grid; "
            "see configs/sweep-example.yaml)"
        )
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"key '{key}': {msg}{shown}"


def sweep_from_dict(data: dict[str, Any], source: str = "<sweep>", text: str = "") -> SweepSpec:
    """Validate a sweep mapping and expand it into configurations.

    Only the file's shape is checked here; whether each model knows its parameters is checked
    by :func:`forecasting.sweep.models.build_models`.

    Args:
        data: The mapping (e.g. parsed YAML).
        source: Name used in error messages (the file).
        text: The file's text, kept for the parent run.

    Raises:
        ConfigError: One line naming the source, the key and the fix: an unknown key or metric,
            no configuration, duplicate names, or more than :data:`MAX_CONFIGURATIONS`.
    """
    try:
        parsed = _SweepFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}.") from exc
    configs = _explicit(parsed.configurations, source) + _grid(parsed.grid, source)
    if not configs:
        raise ConfigError(
            f"{source}: no configurations. Fix: add a 'configurations' list or a 'grid' "
            "(see configs/sweep-example.yaml)."
        )
    if len(configs) > MAX_CONFIGURATIONS:
        raise ConfigError(
            f"{source}: {len(configs)} configurations, more than {MAX_CONFIGURATIONS}. "
            "Fix: use fewer values per grid key, or split the sweep into several files."
        )
    seen: set[str] = set()
    for c in configs:
        if c.name in seen:
            raise ConfigError(
                f"{source}: configuration '{c.name}' appears twice. Fix: remove the duplicate "
                "or give one a different 'name'."
            )
        seen.add(c.name)
    return SweepSpec(configs, parsed.backtest, parsed.metric, source, text)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML file.

    Raises:
        ConfigError: If the file is missing, not YAML, or invalid (see :func:`sweep_from_dict`).
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: sweep file not found. Fix: check the path.")
    try:
        text = p.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text. Fix: re-save it as UTF-8.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{line}. Fix: correct the syntax.") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{p}: expected a mapping with 'configurations' and/or 'grid'. "
            "Fix: see configs/sweep-example.yaml."
        )
    return sweep_from_dict(data, str(p), text)
