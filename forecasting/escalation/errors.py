"""Errors of the escalation pipeline: each names the site, date or key at fault and the fix."""

from __future__ import annotations

from forecasting.errors import ConfigError, DataError, DataFileError, DataValueError


class UnknownSiteError(ConfigError):
    """A site configured under ``sites:`` is not in the data."""


class MissingBedsError(DataError):
    """A site has no bed count: no ``beds`` column values and none in the config."""


class AsOfError(DataValueError):
    """The as-of date lies beyond the data (or before any of it)."""


class EmptyDataError(DataError):
    """The demand history or the forecast has no rows to work on."""


class ForecastMismatchError(DataError):
    """The forecast does not fit the history (unknown site, several models, no future days)."""


class WarningHistoryError(DataFileError):
    """The warning history file is not a history this version can read or write."""
