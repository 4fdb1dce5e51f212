"""The ``forecasting`` command line: thin, it parses, calls the library and renders.

Heavy libraries (pandas, lightgbm, mlflow, statsmodels) are imported inside commands so that
``forecasting --help`` answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from forecasting import __version__
from forecasting.cli import data as data_cli
from forecasting.cli import readmission as readmission_cli
from forecasting.cli import warnings as warnings_cli
from forecasting.cli.backtest import backtest_command
from forecasting.cli.daily import daily_command, report_command
from forecasting.cli.demo import demo
from forecasting.cli.models import promote_command, train_command, ui_command
from forecasting.cli.nowcast import nowcast_command
from forecasting.cli.sweep import sweep_command

app = typer.Typer(
    name="forecasting",
    help=(
        "ED demand peaks, 30-day readmission risk and escalation warnings "
        "that protect planned care."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
)
app.add_typer(data_cli.app, name="data")
app.command("demo")(demo)
app.command("backtest")(backtest_command)
app.command("sweep")(sweep_command)
app.command("train")(train_command)
app.command("promote")(promote_command)
app.command("daily")(daily_command)
app.command("report")(report_command)
app.command("nowcast")(nowcast_command)
app.add_typer(warnings_cli.app, name="warnings")
app.add_typer(readmission_cli.app, name="readmission")
app.command("ui")(ui_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"forecasting {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """ED demand peaks, 30-day readmission risk and escalation warnings for planned care."""


def _click_errors() -> tuple[type[Exception], ...]:
    """Click's error base classes: Typer >= 0.2x vendors Click, older Typer uses ``click``."""
    kinds: list[type[Exception]] = []
    vendored = getattr(typer, "TyperException", None)
    if isinstance(vendored, type) and issubclass(vendored, Exception):
        kinds.append(vendored)
    try:
        import click
    except ImportError:  # pragma: no cover - Typer without Click
        pass
    else:
        kinds.append(click.ClickException)
    return tuple(kinds)


def _usage_line(error: Exception) -> str:
    """One line for a Click usage error: the command, the problem and where to find help."""
    format_message = getattr(error, "format_message", None)
    text = format_message() if callable(format_message) else str(error)
    message = " ".join(str(text).split()).replace("Value error, ", "").rstrip(".")
    context = getattr(error, "ctx", None)
    path = getattr(context, "command_path", None)
    if not path:
        return f"{message}."
    return f"{path}: {message}. Fix: see `{path} --help`."


def main(args: Sequence[str] | None = None) -> None:
    """Entry point of the ``forecasting`` script.

    Click's usage errors (bad option value, missing or unknown option, unknown command) become
    one ``error: ...`` line on stderr with exit code 2, like every other bad input. Help,
    ``--version``, help on no arguments and the exit codes of ``typer.Exit`` (e.g. 1 from
    ``--fail-on-level``) behave as before.

    Args:
        args: Command-line arguments; default ``sys.argv[1:]``.
    """
    from forecasting.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, err_console, plain

    try:
        result = app(args=args, standalone_mode=False)
    except _click_errors() as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # Typer has printed the help already
            sys.exit(getattr(error, "exit_code", EXIT_BAD_INPUT))
        err_console.print(f"[red]error:[/] {plain(_usage_line(error))}", soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    except typer.Abort:
        from typer import rich_utils

        rich_utils.rich_abort_error()
        sys.exit(EXIT_INTERRUPTED)  # not 1: cron reads 1 as "level reached"
    # Without standalone mode, Click returns the code of typer.Exit / ctx.exit (help,
    # version, --fail-on-level) instead of exiting; a command's own return value means success.
    sys.exit(result if isinstance(result, int) else 0)
