"""``forecasting warnings evaluate``: how good were the warnings, against what happened."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from forecasting.cli.common import cli_command, console, fail, plain
from forecasting.cli.daily import DEFAULT_HISTORY
from forecasting.cli.data import (
    ConfigOpt,
    DateColOpt,
    ExtraColOpt,
    SiteColOpt,
    SiteNameOpt,
    TargetColOpt,
    load_mapped,
)
from forecasting.cli.replay import replay_command

app = typer.Typer(
    help="Judge the warnings: evaluate the issued ones, or replay the morning job over past days.",
    no_args_is_help=True,
)
app.command("replay")(replay_command)


class SurgeKind(StrEnum):
    """The two kinds of surge."""

    capacity = "capacity"
    weekday = "weekday"


@app.command("evaluate")
@cli_command
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Demand file with what happened.")],
    history: Annotated[
        Path, typer.Option("--history", help="SQLite warning history of `forecasting daily`.")
    ] = DEFAULT_HISTORY,
    level: Annotated[
        int, typer.Option("--level", min=2, max=4, help="Warnings at this level or above alert.")
    ] = 3,
    kind: Annotated[
        SurgeKind | None,
        typer.Option(
            "--kind",
            help="Judge capacity surges (above the flat line) or weekday surges (unusual for "
            "the weekday); default: the kind the levels followed.",
        ),
    ] = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Precision, recall, false alarms per month and lead time of issued warnings."""
    from forecasting.cli.render import alert_quality_table
    from forecasting.config import load_config
    from forecasting.escalation import WarningHistory, evaluate_warnings

    if not history.is_file():
        fail(f"{history}: no warning history here. Fix: run `forecasting daily` first.")
    cfg = load_config(config)
    issued = WarningHistory(history).read()
    actuals = load_mapped(data, cfg, site_col, date_col, target_col, extra_cols, site_name)
    judged = None if kind is None else kind.value
    scores = evaluate_warnings(issued, actuals, level=level, kind=judged)
    what = "" if judged is None else f", {judged} surges"
    console.print(
        alert_quality_table(scores, f"Warnings at level >= {level} from {plain(history)}{what}")
    )
