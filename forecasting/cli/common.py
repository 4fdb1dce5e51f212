"""Shared CLI plumbing: error handling, exit codes, warnings display, column-mapping options.

Every command runs inside :func:`cli_command`, which turns failures into one stderr line and a
documented exit code (never a traceback, never exit 1, which means "level reached"):

* library errors (:class:`ForecastingError`), unreadable or unwritable files, a full disk, an
  unusable SQLite file: exit 2;
* a bug (any other exception): one ``internal error`` line, exit 70 (``FORECASTING_DEBUG=1``
  prints the traceback as well);
* Ctrl-C: exit 130.

User-supplied text (paths, site ids, messages quoting them) is escaped before Rich prints it, so
a ``[`` in a name is shown as typed instead of being read as markup.
"""

from __future__ import annotations

import errno
import functools
import inspect
import logging
import os
import sqlite3
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, ParamSpec, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from forecasting.errors import ForecastingError, ForecastingWarning

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_LEVEL_REACHED = 1
EXIT_BAD_INPUT = 2
EXIT_PROMOTION_REFUSED = 3  # `promote`: the challenger does not beat the champion
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)
EXIT_INTERRUPTED = 130
DEBUG_ENV = "FORECASTING_DEBUG"
EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 a day reached --fail-on-level; 2 bad input or an unusable file "
    "(unreadable data, unwritable output, full disk, broken history), nothing replaced; "
    f"70 internal error (a bug: {DEBUG_ENV}=1 shows the traceback); 130 interrupted."
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

_notes: list[str] = []
# Typer >= 0.2x vendors Click (its own Exit/Abort/TyperException); older Typer raises Click's.
_EXITS: tuple[type[BaseException], ...] = (typer.Exit, click.exceptions.Exit)
_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Abort,
    getattr(typer, "TyperException", typer.Abort),
    click.ClickException,
    click.exceptions.Abort,
)

_STORE_MODULES = {"mlflow", "sqlalchemy", "alembic"}
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EISDIR, errno.EEXIST, errno.EFBIG}
_OS_FIXES = {
    errno.ENOSPC: "free disk space or write to another disk, then run again",
    errno.EDQUOT: "free space within your disk quota or write elsewhere, then run again",
    errno.EFBIG: "write to another disk, then run again",
    errno.EACCES: "choose a path you may use, or fix the permissions",
    errno.EPERM: "choose a path you may use, or fix the permissions",
    errno.EROFS: "the disk is read-only: write to another folder",
    errno.EISDIR: "give a file name, not a folder",
    errno.ENOTDIR: "a file stands where a folder is expected: choose another path",
    errno.EEXIST: "a file stands where a folder is expected: choose another path",
    errno.ENOENT: "check the path",
    errno.EPIPE: "keep reading the output to its end (e.g. do not close the pipe early)",
}


def plain(text: object) -> str:
    """``text`` escaped for Rich markup: shown exactly as typed, ``[`` included."""
    return escape(str(text))


def _print_error(message: str) -> None:
    one_line = " ".join(message.split())
    err_console.print(f"[red]error:[/] {escape(one_line)}", soft_wrap=True)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    text = " ".join(str(message).split())
    err_console.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)


def note(message: str) -> None:
    """Queue an informational stderr line, shown only if the command succeeds.

    A failing run then prints just its one error line (cron mails stay readable).
    ``message`` is Rich markup: escape user-supplied parts with :func:`plain`.
    """
    _notes.append(message)


def flush_notes() -> None:
    """Print the queued informational lines to stderr now (none with ``--quiet``)."""
    if console.quiet:
        _notes.clear()
    while _notes:
        err_console.print(_notes.pop(0), soft_wrap=True)


def os_error_message(exc: OSError) -> str:
    """One line naming the file, what went wrong and the fix, for an ``OSError``."""
    code = exc.errno
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    name = exc.filename2 if exc.filename2 is not None else exc.filename
    if name is None:
        where = "cannot write the output" if code == errno.EPIPE else "input/output error"
    else:
        verb = "cannot write" if code in _WRITE_ERRNOS else "cannot use"
        where = f"{verb} {os.fsdecode(name)}"
    fix = _OS_FIXES.get(code or 0, "check the path, its permissions and the free disk space")
    return f"{where}: {reason}. Fix: {fix}."


def sqlite_error_message(exc: sqlite3.Error) -> str:
    """One line for an SQLite error that no library code named a file for."""
    return (
        f"SQLite database error ({exc}). Fix: check the --history file (not a warning history, "
        "locked by another run, or the disk is full)."
    )


def _is_store_error(exc: BaseException) -> bool:
    """An error raised by MLflow or SQLAlchemy (the tracking store), not by our code."""
    module = type(exc).__module__ or ""
    return module.split(".")[0] in _STORE_MODULES


def store_error_message(exc: BaseException) -> str:
    """One line for an MLflow or SQLAlchemy error the tracking code did not name."""
    text = " ".join(str(exc).split())[:300].rstrip(".")
    return (
        f"the MLflow store failed ({type(exc).__name__}: {text}). Fix: check the tracking store "
        "(mlflow.db or the server), its permissions and the free disk space, then run again."
    )


def _end_notes(show: bool) -> None:
    if show:
        flush_notes()
    _notes.clear()


def _bad_input(message: str) -> typer.Exit:
    return exit_with(message, EXIT_BAD_INPUT)


def exit_with(message: str, code: int) -> typer.Exit:
    """Print one error line and return the ``typer.Exit`` of ``code`` for the caller to raise."""
    _end_notes(False)
    _print_error(message)
    return typer.Exit(code)


def _internal_error(exc: BaseException) -> typer.Exit:
    if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    text = " ".join(str(exc).split())[:300]
    err_console.print(
        f"[red]internal error:[/] {escape(type(exc).__name__)}: {escape(text)} "
        f"(a bug; run again with {DEBUG_ENV}=1 for the traceback and report it)",
        soft_wrap=True,
    )
    return typer.Exit(EXIT_INTERNAL)


PromoteVersionOpt = Annotated[
    str | None, typer.Option("--version", help="Version to promote (default: challenger).")
]
PromoteReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why (needed with --force; kept as a tag).")
]
ForcePromoteOpt = Annotated[
    bool, typer.Option("--force", help="Promote even if the review does not pass.")
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only errors and machine-readable output: no tables, progress or warnings.",
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also print every library warning (numerical ones too) and each step's log lines.",
    ),
]


def _add_verbosity_options(wrapper: Callable[..., Any], func: Callable[..., Any]) -> None:
    """Give ``wrapper`` the ``-q/--quiet`` and ``-v/--verbose`` options on top of ``func``'s."""
    sig = inspect.signature(func, eval_str=True)  # real annotations: Typer reads them
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=hint)
        for name, hint in (("quiet", QuietOpt), ("verbose", VerboseOpt))
    ]
    wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[*sig.parameters.values(), *extra]
    )
    wrapper.__annotations__ = {**func.__annotations__, "quiet": QuietOpt, "verbose": VerboseOpt}


@contextmanager
def _verbosity(quiet: bool, verbose: bool) -> Iterator[None]:
    """Console and warning settings of ``-q``/``-v`` for one command (restored after)."""
    if quiet and verbose:
        raise typer.BadParameter("choose one of --quiet and --verbose")
    warnings.simplefilter("ignore")
    if verbose:  # every warning, numerical noise included, and the package's log lines
        warnings.simplefilter("always")
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        logging.getLogger("forecasting").setLevel(logging.INFO)
    elif not quiet:  # users see the library's own, actionable warnings
        warnings.simplefilter("always", ForecastingWarning)
    console.quiet = quiet
    try:
        yield
    finally:
        console.quiet = False


def cli_command(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command so failures become one stderr line and a documented exit code.

    Library errors, ``OSError`` and ``sqlite3.Error`` exit 2; any other exception is a bug and
    exits 70 (see the module docstring); Ctrl-C exits 130. Informational lines queued with
    :func:`note` are printed only on success. Every command also gets ``-q/--quiet`` and
    ``-v/--verbose``.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _notes.clear()
        quiet = bool(kwargs.pop("quiet", False))
        verbose = bool(kwargs.pop("verbose", False))
        with warnings.catch_warnings(), _verbosity(quiet, verbose):
            warnings.showwarning = _show_warning
            try:
                result = func(*args, **kwargs)
            except _EXITS as exc:
                _end_notes(
                    getattr(exc, "exit_code", EXIT_BAD_INPUT) in (EXIT_OK, EXIT_LEVEL_REACHED)
                )
                raise
            except _PASS_THROUGH:  # usage errors and aborts: Typer's main reports them
                _end_notes(False)
                raise
            except ForecastingError as exc:
                raise _bad_input(str(exc)) from None
            except OSError as exc:
                raise _bad_input(os_error_message(exc)) from None
            except sqlite3.Error as exc:
                raise _bad_input(sqlite_error_message(exc)) from None
            except KeyboardInterrupt:
                _end_notes(False)
                err_console.print("interrupted: no output replaced.")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except Exception as exc:
                if _is_store_error(exc):  # MLflow / SQLAlchemy: the store, not the code
                    raise _bad_input(store_error_message(exc)) from None
                # a bug: one line and exit 70, never 1 ("level reached")
                _end_notes(False)
                raise _internal_error(exc) from None
            _end_notes(True)
            return result

    _add_verbosity_options(wrapper, func)

    return wrapper


def fail(message: str) -> None:
    """Print one error line and exit with code 2 (for CLI-level usage problems)."""
    raise _bad_input(message)


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


def progress_columns() -> Any:
    """A transient Rich progress display: label, bar, done/total, elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """One progress bar; yields ``advance(k)`` for the steps just done."""
    with progress_columns() as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)
