"""Fitting a model as executor tasks: an ensemble's members fit in parallel.

The fitted model is the same as ``clone(template).fit(history)``: each member is fitted on
the whole history, as :meth:`EnsembleForecaster.fit` does one after another.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from forecasting.executors import Executor
from forecasting.executors.base import Progress
from forecasting.models.base import Forecaster, clone
from forecasting.models.ensemble import EnsembleForecaster


def fit_parts(template: Forecaster) -> list[Forecaster]:
    """The independent fits ``template`` is made of: an ensemble's members, else itself."""
    if isinstance(template, EnsembleForecaster):
        return list(template.members)
    return [template]


def fit_part(history: pd.DataFrame, part: Forecaster) -> Forecaster:
    """One executor task: a fresh copy of ``part`` fitted on ``history``."""
    return clone(part).fit(history)


def assemble(
    template: Forecaster, history: pd.DataFrame, fitted: Sequence[Forecaster]
) -> Forecaster:
    """The fitted model from its fitted parts (see :func:`fit_parts`)."""
    if isinstance(template, EnsembleForecaster):
        return EnsembleForecaster(**template.get_params()).fit_from_members(history, fitted)
    (model,) = fitted
    return model


def fit_model(
    template: Forecaster,
    history: pd.DataFrame,
    executor: Executor,
    progress: Progress | None = None,
) -> Forecaster:
    """``clone(template).fit(history)``, its parts fitted on ``executor``."""
    parts = executor.map(fit_part, fit_parts(template), history, progress=progress)
    return assemble(template, history, parts)
