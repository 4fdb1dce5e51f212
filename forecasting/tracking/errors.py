"""Errors and warnings of tracking and the model registry."""

from __future__ import annotations

from forecasting.errors import (
    ForecastingError,
    ForecastingWarning,
    UntrustedModelError,  # noqa: F401  (raised by tracking too)
)


class TrackingError(ForecastingError, RuntimeError):
    """Tracking or the model registry cannot do what was asked (the message says why)."""


class StoreError(TrackingError):
    """The MLflow store is unusable: unreachable server, or an old file store in the way."""


class NoChampionError(TrackingError):
    """No model has the ``champion`` alias, and no cached champion exists."""


class PromotionRefusedError(TrackingError):
    """The challenger does not beat the champion on the promotion metric."""


class PrivacyError(TrackingError):
    """Something about to be logged would carry patient identifiers or patient rows."""


class RegistryUnavailableWarning(ForecastingWarning):
    """The registry could not be reached; the last locally cached champion is used instead."""


class RegistrationSkippedWarning(ForecastingWarning):
    """A version with the same data fingerprint and parameters exists: none was registered."""
