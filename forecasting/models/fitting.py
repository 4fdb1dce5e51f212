"""Fitting a model as executor tasks: an ensemble's members fit in parallel.

The fitted model is the same as ``clone(template).fit(history)``: each member goes through
:func:`~forecasting.models.combination.fit_member` (its validation windows, if the ensemble
learns weights, then the whole history), as :meth:`EnsembleForecaster.fit` does one after
another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from forecasting.executors import Executor
from forecasting.executors.base import Progress
from forecasting.models.base import Forecaster, clone
from forecasting.models.combination import MemberFit, ValidationPlan, fit_member
from forecasting.models.ensemble import EnsembleForecaster


@dataclass(frozen=True)
class MemberPart:
    """One ensemble member to fit, with the ensemble's validation plan."""

    member: Forecaster
    plan: ValidationPlan


Part = Forecaster | MemberPart


def fit_parts(template: Forecaster) -> list[Part]:
    """The independent fits ``template`` is made of: an ensemble's members, else itself."""
    if isinstance(template, EnsembleForecaster):
        plan = template.plan()
        return [MemberPart(m, plan) for m in template.members]
    return [template]


def fit_part(history: pd.DataFrame, part: Part) -> Forecaster | MemberFit:
    """One executor task: a fresh copy of ``part`` fitted on ``history``."""
    if isinstance(part, MemberPart):
        return fit_member(history, part.member, part.plan)
    return clone(part).fit(history)


def assemble(
    template: Forecaster, history: pd.DataFrame, fitted: Sequence[Forecaster | MemberFit]
) -> Forecaster:
    """The fitted model from its fitted parts (see :func:`fit_parts`)."""
    if isinstance(template, EnsembleForecaster):
        return EnsembleForecaster(**template.get_params()).fit_from_members(history, fitted)
    (model,) = fitted
    if not isinstance(model, Forecaster):
        raise TypeError(f"expected a fitted Forecaster, got {type(model).__name__}")
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
