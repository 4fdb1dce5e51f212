"""Exception and warning types raised by the library.

The library raises these; only the CLI turns them into exit codes and one-line messages.
"""

from __future__ import annotations

from pathlib import Path


class ForecastingError(Exception):
    """Base class of every error the library raises on purpose."""


class DataError(ForecastingError, ValueError):
    """Input data the user must fix: names the file, the row or column, and the fix.

    Args:
        message: What is wrong, in plain words.
        path: The file the data came from, if any.
        row: 1-based data row (the header is not counted), if one row is at fault.
        column: The column at fault, if any.
        fix: What the user should do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        self.fix = fix
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # rebuilt with its fields when sent back from a worker process
        fields = (type(self), self.message, self.path, self.row, self.column, self.fix)
        return (_rebuild_data_error, fields)

    def one_line(self) -> str:
        """Return the error as one readable line: where, what, and the fix."""
        where = []
        if self.path:
            where.append(self.path)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = (": ".join([", ".join(where), self.message]) if where else self.message).rstrip(".")
        if self.fix:
            text += f". Fix: {self.fix.rstrip('.')}"
        return text + "."


def _rebuild_data_error(
    cls: type[DataError],
    message: str,
    path: str | None,
    row: int | None,
    column: str | None,
    fix: str | None,
) -> DataError:
    return cls(message, path=path, row=row, column=column, fix=fix)


class DataFileError(DataError):
    """The file is missing, unreadable, empty or not in a supported format/encoding."""


class SchemaError(DataError):
    """A required column is missing or a column has the wrong type."""


class DataValueError(DataError):
    """A value is invalid: unparseable date, negative/absurd count, duplicate key, future date."""


class MissingDatesError(DataError):
    """Dates are missing for a site and the caller chose to refuse gaps."""


class InsufficientHistoryError(DataError):
    """A site has too little history for the requested horizon."""


class ConfigError(ForecastingError, ValueError):
    """A configuration file is missing, malformed or has an invalid key (named in the message)."""


class ExecutorError(ForecastingError, RuntimeError):
    """The executor cannot run the tasks: Dask missing, scheduler unreachable, a worker died."""


class NotFittedError(ForecastingError, RuntimeError):
    """A model was asked to predict before it was fitted."""


class UntrustedModelError(ForecastingError):
    """A model file failed its integrity or ownership check, so it was not loaded.

    Model files are pickles: loading one runs code. A file is loaded only when its SHA-256
    matches the recorded one and nobody but its owner can write it.
    """


class ForecastingWarning(UserWarning):
    """Base class of warnings users can act on."""


class MissingDatesWarning(ForecastingWarning):
    """Some site has gaps in its dates; they were filled (see the message for the policy)."""


class MissingCountsWarning(ForecastingWarning):
    """Some rows have an empty target count: they were dropped and treated as missing days.

    The message names the column, how many rows and the first few row numbers (no other cell
    values). Missing days are then handled like any gap: imputed if the gap is at most
    ``segment_gap_days`` long, else left out as a segment boundary.
    """


class ShortHistoryWarning(ForecastingWarning):
    """A site has enough history to forecast, but too little to learn annual seasonality."""


class IgnoredColumnsWarning(ForecastingWarning):
    """Columns in the input were not used (non-numeric and not mapped)."""


class StaleDataWarning(ForecastingWarning):
    """Some site's data end before the as-of date: its warnings rest on older information."""


class SeriesFallbackWarning(ForecastingWarning):
    """Some series could not be forecast by the model: they got the seasonal naive forecast.

    The message names the model, the series (the first ten, then how many more) and why each
    fell back (all zero or constant in the estimation window, a fit that failed, a non-finite
    forecast). ``reasons`` maps every series to its reason.

    Args:
        model: Name of the model whose series fell back.
        reasons: ``{series: reason}``.
    """

    MAX_LISTED = 10

    def __init__(self, model: str, reasons: dict[str, str]) -> None:
        self.model = model
        self.reasons = dict(reasons)
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple[type[SeriesFallbackWarning], tuple[str, dict[str, str]]]:
        # rebuilt from its fields when sent back from a worker process
        return (type(self), (self.model, self.reasons))

    def one_line(self) -> str:
        """The warning as one line: model, count, the first series with their reasons."""
        items = sorted(self.reasons.items())
        listed = "; ".join(f"{site} ({why})" for site, why in items[: self.MAX_LISTED])
        more = len(items) - self.MAX_LISTED
        if more > 0:
            listed += f"; and {more} more"
        n = len(items)
        return f"{self.model}: {n} series fell back to the seasonal naive forecast: {listed}"


class HolidayCalendarWarning(ForecastingWarning):
    """The default (English) holiday calendar meets data whose holidays look like another's.

    Raised when no calendar was configured and the days off of another country move the data
    clearly while England's do not; the message names the suggested calendar and the fix.
    """
