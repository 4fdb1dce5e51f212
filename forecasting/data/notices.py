"""Warnings of the data loader that have no home in :mod:`forecasting.errors` yet.

Both subclass :class:`~forecasting.errors.ForecastingWarning`, so the CLI shows them and
``data check`` lists them as problems.
"""

from __future__ import annotations

from forecasting.errors import ForecastingWarning

__all__ = ["FractionalCountWarning", "PartialDayWarning"]


class FractionalCountWarning(ForecastingWarning):
    """A count column holds values that are not whole numbers (averages, rates, decimal marks)."""


class PartialDayWarning(ForecastingWarning):
    """Resampled to days, a site's first or last day had fewer rows than its other days."""
