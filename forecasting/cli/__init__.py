"""The ``forecasting`` command line: thin, it parses, calls the library and renders.

Heavy libraries (pandas, lightgbm, mlflow, statsmodels) are imported inside commands so that
``forecasting --help`` answers at once.
"""

from __future__ import annotations

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

app = typer.Typer(
    name="forecasting",
    help=(
        "ED demand peaks, 30-day readmission risk and escalation warnings "
        "that protect planned care."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.add_typer(data_cli.app, name="data")
app.command("demo")(demo)
app.command("backtest")(backtest_command)
app.command("train")(train_command)
app.command("promote")(promote_command)
app.command("daily")(daily_command)
app.command("report")(report_command)
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


def main() -> None:
    """Entry point of the ``forecasting`` script."""
    app()
