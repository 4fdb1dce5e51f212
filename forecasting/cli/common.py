"""Shared CLI plumbing: error handling, warnings display, column-mapping options."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from forecasting.errors import ForecastingError, ForecastingWarning

P = ParamSpec("P")
R = TypeVar("R")

EXIT_BAD_INPUT = 2

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", soft_wrap=True)


def cli_command(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command so library errors become one stderr line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings():
            # users see the library's own, actionable warnings; numerical noise stays quiet
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", ForecastingWarning)
            warnings.showwarning = _show_warning
            try:
                return func(*args, **kwargs)
            except ForecastingError as exc:
                message = " ".join(str(exc).split())
                err_console.print(f"[red]error:[/] {message}", soft_wrap=True, markup=True)
                raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def fail(message: str) -> None:
    """Print one error line and exit with code 2 (for CLI-level usage problems)."""
    err_console.print(f"[red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def parse_date(value: str | None, option: str) -> date | None:
    """Parse an ISO date option, or fail with a clear message."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date. Fix: use YYYY-MM-DD.")
    return None  # pragma: no cover


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """Parse repeated ``NAME=SOURCE`` options into a dict."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, source = pair.partition("=")
        if not sep or not name.strip() or not source.strip():
            fail(f"{option} {pair!r} is not NAME=COLUMN. Fix: e.g. {option} temperature=mean_temp.")
        out[name.strip()] = source.strip()
    return out
