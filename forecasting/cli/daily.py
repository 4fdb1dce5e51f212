"""``forecasting daily`` and ``forecasting report``: the morning warnings from the champion."""

from __future__ import annotations

import enum
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import cli_command, console, err_console, parse_date
from forecasting.cli.data import (
    ConfigOpt,
    DateColOpt,
    ExtraColOpt,
    SiteColOpt,
    SiteNameOpt,
    TargetColOpt,
    load_mapped,
)

if TYPE_CHECKING:
    import pandas as pd

    from forecasting.config import Config
    from forecasting.daily import DailyResult

DEFAULT_HISTORY = Path("forecasting-warnings.db")
EXIT_LEVEL_REACHED = 1
SITES_FILE = "sites.yaml"


class DailyFormat(enum.StrEnum):
    """Output format of the warnings."""

    table = "table"
    json = "json"
    csv = "csv"


SitesOpt = Annotated[
    Path | None,
    typer.Option(
        "--sites", help="Site settings (beds, LOS, electives); default: sites.yaml beside --data."
    ),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Last day of data to use (default: the last day).")
]


def _config(config: Path | None, sites: Path | None, data: Path) -> Config:
    from forecasting.config import load_config, load_sites

    cfg = load_config(config)
    if sites is None and (data.parent / SITES_FILE).is_file():
        sites = data.parent / SITES_FILE
        err_console.print(f"Site settings from {sites}")
    if sites is not None:
        cfg = cfg.model_copy(update={"sites": {**load_sites(sites), **cfg.sites}})
    return cfg


def _run(
    data: Path,
    as_of: str | None,
    cfg: Config,
    mapping_args: tuple[str | None, str | None, str | None, list[str] | None, str | None],
) -> tuple[DailyResult, pd.DataFrame, str]:
    from forecasting.cli.models import quiet_mlflow
    from forecasting.daily import daily_warnings
    from forecasting.tracking import load_champion

    day = parse_date(as_of, "--as-of")
    frame = load_mapped(data, cfg, *mapping_args)
    quiet_mlflow()
    with console.status("Loading the champion model…"):
        champ = load_champion(cfg)
    ref = f"{champ.ref} (version {champ.version})"
    if champ.source == "cache":
        err_console.print(
            f"[bold red]REGISTRY UNREACHABLE: warnings come from the locally cached champion "
            f"{ref}, cached {champ.cached_at}.[/]"
        )
        ref += " [cached copy]"
    with console.status("Forecasting and assessing risk…"):
        result = daily_warnings(frame, champ.model, cfg, as_of=day)
    return result, frame, ref


def _write(text: str, out: Path | None) -> None:
    from forecasting.io import atomic_write_text

    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        err_console.print(f"Wrote {out}")


@cli_command
def daily_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    as_of: AsOfOpt = None,
    fmt: Annotated[
        DailyFormat, typer.Option("--format", help="table (terminal), json or csv.")
    ] = DailyFormat.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="File for json/csv (default: standard output).")
    ] = None,
    fail_on_level: Annotated[
        int | None,
        typer.Option("--fail-on-level", min=1, max=4, help="Exit 1 if any day reaches this level."),
    ] = None,
    history: Annotated[
        Path, typer.Option("--history", help="SQLite file the warnings are appended to.")
    ] = DEFAULT_HISTORY,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not append to the warning history.")
    ] = False,
    sites: SitesOpt = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Recommended escalation levels and planned-care advice for the next days, per site.

    Exit codes: 0 done; 1 a day reached --fail-on-level; 2 bad input.
    """
    from forecasting.cli.render import show_warnings
    from forecasting.escalation import WarningHistory, to_flat, to_records

    cfg = _config(config, sites, data)
    result, _, ref = _run(data, as_of, cfg, (site_col, date_col, target_col, extra_cols, site_name))
    w = result.warnings
    if fmt is DailyFormat.table:
        show_warnings(console, w, f"Warnings from data to {result.as_of:%a %d %b %Y}, {ref}")
        if out is not None:
            _write(to_flat(w).to_csv(index=False), out)
    elif fmt is DailyFormat.json:
        _write(json.dumps(to_records(w), indent=2) + "\n", out)
    else:
        _write(to_flat(w).to_csv(index=False), out)
    if not no_history:
        WarningHistory(history).append(w, issued_at=datetime.now(UTC), model_ref=ref)
        err_console.print(f"Appended {len(w)} warnings to {history}")
    top = int(w["level"].max())
    if fail_on_level is not None and top >= fail_on_level:
        err_console.print(f"Level {top} reached (--fail-on-level {fail_on_level}).")
        raise typer.Exit(EXIT_LEVEL_REACHED)


@cli_command
def report_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the PNGs and index.html.")] = Path(
        "forecasting-report"
    ),
    as_of: AsOfOpt = None,
    sites: SitesOpt = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A picture per site (history, forecast fan, surge line, levels) and an HTML page."""
    from forecasting.report import write_report

    cfg = _config(config, sites, data)
    result, frame, ref = _run(
        data, as_of, cfg, (site_col, date_col, target_col, extra_cols, site_name)
    )
    with console.status("Drawing…"):
        paths = write_report(
            frame,
            result.forecast,
            result.warnings,
            out,
            title=f"ED demand warnings, {ref}",
            comfort=cfg.thresholds.occupancy_comfort,
            ceiling=cfg.thresholds.occupancy_ceiling,
        )
    console.print(f"Wrote {len(paths) - 1} site picture(s) and {paths['index']}")
