"""One-line message helpers shared by the validation modules: lists, counts, errors, warnings.

Errors name the first bad row and count the others; warnings are attributed to the first caller
outside the loading modules (:data:`_INTERNAL_MODULES`), so they point at user code.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from forecasting.errors import DataError, DataValueError, ForecastingWarning

if TYPE_CHECKING:
    import pandas as pd

#: Modules whose frames :func:`warn_at_caller` skips, so a warning points at the caller's code.
#: Every module of the loading and validation pipeline must be listed.
_INTERNAL_MODULES = frozenset(
    {
        __name__,
        "forecasting.data.columns",
        "forecasting.data.gaps",
        "forecasting.data.load",
        "forecasting.data.parse",
        "forecasting.data.resample",
        "forecasting.data.spacing",
        "forecasting.data.validate",
        "forecasting.readmission.load",
        "forecasting.readmission.values",
    }
)


def format_list(items: Sequence[object], limit: int = 3) -> str:
    """Join items for a one-line message, truncating long lists.

    Args:
        items: The items to show.
        limit: How many to show before summarising the rest as "and N more".

    Returns:
        Text such as ``"3"``, ``"3 and 9"`` or ``"3, 9, 12 and 4 more"``.
    """
    shown = [str(item) for item in items[:limit]]
    rest = len(items) - len(shown)
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _count(number: int, noun: str) -> str:
    """Return "1 day" or "3 days"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _show(value: object, limit: int = 40) -> str:
    """Render a raw cell value on one line, shortened."""
    text = str(value).replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rows_error(
    cls: type[DataError],
    problem: str,
    rows: np.ndarray,
    values: Sequence[object],
    *,
    column: str | None,
    fix: str,
    path: str | None,
) -> DataError:
    """Build an error about the first bad row, counting the other bad rows."""
    message = problem.format(value=_show(values[0]))
    others = [int(row) for row in rows[1:]]
    if others:
        message += f" ({_count(len(others), 'more such row')}: {format_list(others)})"
    return cls(message, path=path, row=int(rows[0]), column=column, fix=fix)


def reject_rows(
    mask: np.ndarray,
    problem: str,
    rows: np.ndarray,
    values: pd.Series | None,
    *,
    column: str | None,
    fix: str,
    path: str | None,
    cls: type[DataError] = DataValueError,
) -> None:
    """Raise :func:`rows_error` about the rows where ``mask`` holds, if any.

    Args:
        mask: Bad cells.
        problem: Message with ``{value}`` for the first bad cell's raw value.
        rows: File row numbers aligned with ``mask``.
        values: Raw cells aligned with ``mask``; ``None`` when the bad cells are empty.
        column: Column named in the message.
        fix: What to do about it.
        path: File named in the message.
        cls: Error class to raise.
    """
    if not mask.any():
        return
    shown = [""] * int(mask.sum()) if values is None else values[mask].tolist()
    raise rows_error(cls, problem, rows[mask], shown, column=column, fix=fix, path=path)


def warn_at_caller(category: type[ForecastingWarning], message: str, where: str | None) -> None:
    """Emit a one-line warning attributed to the first caller outside the loading modules."""
    level, frame = 1, inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") in _INTERNAL_MODULES:
        level, frame = level + 1, frame.f_back
    warnings.warn(f"{where}: {message}" if where else message, category, stacklevel=level)
