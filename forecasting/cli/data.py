"""``forecasting data``: synthesise and check demand data."""

from __future__ import annotations

import json
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import cli_command, console, note, parse_date, parse_pairs, plain

if TYPE_CHECKING:
    import pandas as pd

    from forecasting.config import Config
    from forecasting.data.schema import ColumnMapping

app = typer.Typer(help="Synthesise and check demand data.", no_args_is_help=True)


class GapPolicy(StrEnum):
    """What to do with missing dates."""

    fill = "fill"
    refuse = "refuse"


class ResampleTo(StrEnum):
    """Aggregate sub-daily rows to this period."""

    daily = "daily"


class ReportFormat(StrEnum):
    """Output format of a report."""

    table = "table"
    json = "json"


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML config (default: embedded defaults).")
]
SiteColOpt = Annotated[
    str | None,
    typer.Option(
        "--site-col",
        help="Column with the site id (absent: one site). Several columns, comma-separated "
        "(--site-col board,priority,nature), make one composite id joined by '/' (AB/red/1).",
    ),
]
DateColOpt = Annotated[str | None, typer.Option("--date-col", help="Column with the day.")]
TargetColOpt = Annotated[
    str | None,
    typer.Option(
        "--target-col",
        help="Column with the daily count to forecast: attendances, or beds occupied "
        "(a name containing 'occupied', e.g. ga_beds_occupied, sets the beds_occupied role).",
    ),
]
ExtraColOpt = Annotated[
    list[str] | None,
    typer.Option("--col", help="Map another column: NAME=COLUMN, e.g. temperature=mean_temp."),
]
HolidaysOpt = Annotated[
    str | None,
    typer.Option("--holidays", help="Holiday calendar, COUNTRY or COUNTRY-SUBDIV (e.g. CH-BE)."),
]
SiteNameOpt = Annotated[
    str | None, typer.Option("--site-name", help="Name of the site when the file is one series.")
]
ResampleOpt = Annotated[
    ResampleTo | None,
    typer.Option(
        "--resample",
        help="Hourly (sub-daily) rows: 'daily' adds up counts per site and day (means for "
        "temperature-like columns) and drops a partial first or last day.",
    ),
]


def config_with_sites(config: Path | None, sites: Path | None, data: Path) -> Config:
    """The config, with site settings from ``--sites`` or the ``sites.yaml`` beside the data."""
    from forecasting.config import load_config, load_sites
    from forecasting.data.export import SITES_FILE

    cfg = load_config(config)
    if sites is None and (data.parent / SITES_FILE).is_file():
        sites = data.parent / SITES_FILE
        note(f"Site settings from {plain(sites)}")
    if sites is not None:
        cfg = cfg.model_copy(update={"sites": {**load_sites(sites), **cfg.sites}})
    return cfg


def with_holidays(cfg: Config, holidays: str | None) -> Config:
    """The config with ``--holidays COUNTRY[-SUBDIV]`` applied, if given.

    Raises:
        ConfigError: The country or subdivision is not one the ``holidays`` package knows
            (the message lists the valid codes or close matches).
    """
    if not holidays:
        return cfg
    from forecasting.config import check_holiday_calendar

    country, _, sub = holidays.strip().partition("-")
    check_holiday_calendar(country, sub or None, option="--holidays")
    update = {"country": country, "subdiv": sub or None}
    return cfg.model_copy(update={"holidays": cfg.holidays.model_copy(update=update)})


def column_mapping(
    cfg: Config,
    site_col: str | None,
    date_col: str | None,
    target_col: str | None,
    extra_cols: list[str] | None,
    site_name: str | None,
) -> ColumnMapping:
    """The config's column mapping, overridden by the command-line options."""
    from forecasting.data.schema import ColumnMapping

    cols = cfg.columns
    return ColumnMapping(
        site_id=None if site_name else (site_col or cols.site_id),
        date=date_col or cols.date,
        attendances=target_col or cols.attendances,
        extra={**cols.extra, **parse_pairs(extra_cols, "--col")},
        target_role=cols.target_role,
    )


def load_mapped(
    data: Path,
    cfg: Config,
    site_col: str | None,
    date_col: str | None,
    target_col: str | None,
    extra_cols: list[str] | None,
    site_name: str | None,
    horizon: int | None = None,
    resample: ResampleTo | None = None,
) -> pd.DataFrame:
    """Load a demand file with the config's mapping, gap policy and segment gap.

    The command-line options override the config's column mapping; the target's role
    (``columns.target_role``) and the longest imputed gap (``segment_gap_days``) come from the
    config.
    """
    from forecasting.data.load import load_demand

    return load_demand(
        data,
        column_mapping(cfg, site_col, date_col, target_col, extra_cols, site_name),
        horizon=horizon or cfg.horizon,
        gap_policy=cfg.gap_policy,
        default_site=site_name,
        resample="daily" if resample is ResampleTo.daily else None,
        segment_gap_days=cfg.segment_gap_days,
    )


@app.command("synth")
@cli_command
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    sites: Annotated[int, typer.Option("--sites", min=1, max=500, help="Number of sites.")] = 4,
    years: Annotated[float, typer.Option("--years", min=0.5, max=30, help="Years of history.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 0,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day (YYYY-MM-DD; default yesterday).")
    ] = None,
) -> None:
    """Write realistic synthetic data: demand.csv, episodes.csv and sites.yaml."""
    from forecasting.data.export import write_synth
    from forecasting.data.synth import synth_demand

    last = parse_date(end, "--end") or date.today() - timedelta(days=1)
    with console.status(f"Synthesising {sites} site(s) × {years:g} year(s)…"):
        data = synth_demand(n_sites=sites, years=years, end=last, seed=seed)
        paths = write_synth(data, out)
    d = data.demand
    console.print(
        f"Wrote {len(d):,} demand rows ({d['site_id'].nunique()} sites, "
        f"{d['date'].min():%Y-%m-%d} to {d['date'].max():%Y-%m-%d}) and "
        f"{len(data.episodes):,} episodes:"
    )
    for kind, path in paths.items():
        console.print(f"  {kind:<9} {plain(path)}")


@app.command("check")
@cli_command
def check(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet demand file.")],
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon", min=1, help="Horizon to check history for.")
    ] = None,
    gaps: Annotated[
        GapPolicy | None, typer.Option("--gaps", help="Missing dates: fill or refuse.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Treat this day as today (YYYY-MM-DD).")
    ] = None,
    resample: ResampleOpt = None,
    config: ConfigOpt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table or json.")] = (
        ReportFormat.table
    ),
) -> None:
    """Validate a demand file and print a short report: sites, dates, gaps, segments, problems."""
    from forecasting.config import load_config
    from forecasting.data.check import check_demand_file
    from forecasting.features.holiday_signal import (
        DEFAULT_CALENDAR,
        calendar_message,
        check_calendar,
    )

    cfg = load_config(config)
    frame, report = check_demand_file(
        file,
        mapping=column_mapping(cfg, site_col, date_col, target_col, extra_cols, site_name),
        default_site=site_name,
        horizon=horizon or cfg.horizon,
        gap_policy=(gaps.value if gaps else cfg.gap_policy),
        as_of=parse_date(as_of, "--as-of"),
        resample="daily" if resample is ResampleTo.daily else None,
        segment_gap_days=cfg.segment_gap_days,
    )
    country, subdiv = cfg.holidays.country, cfg.holidays.subdiv
    calendar = check_calendar(frame, country, subdiv)
    calendar_line = calendar_message(calendar, (country, subdiv) == DEFAULT_CALENDAR)
    if fmt is ReportFormat.json:
        data = report.as_dict() | {
            "holiday_calendar": calendar.configured,
            "holiday_calendar_suggested": calendar.suggested,
        }
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    from forecasting.cli.render import report_table, report_title

    console.print(report_title(report), soft_wrap=True)
    console.print(report_table(report))
    console.print(plain(report.segment_line()), soft_wrap=True)
    missing = report.missing_line()
    if missing:
        console.print(plain(missing), soft_wrap=True)
    if report.columns:
        console.print("Other columns: " + plain(", ".join(report.columns)))
    console.print(plain(calendar_line), soft_wrap=True)
    if report.problems:
        console.print(f"[yellow]{len(report.problems)} problem(s):[/]")
        for p in report.problems:
            console.print(f"  - {plain(p)}", soft_wrap=True)
    else:
        console.print("[green]No problems found.[/]")


@app.command("holidays")
@cli_command
def holidays_command(
    country: Annotated[
        str | None, typer.Argument(help="Country code: list its subdivisions.")
    ] = None,
) -> None:
    """List the holiday calendars --holidays accepts: countries, or one country's subdivisions."""
    import holidays

    from forecasting.config import check_holiday_calendar

    supported: dict[str, list[str]] = holidays.list_supported_countries()
    if country is None:
        for code in sorted(supported):
            subdivisions = supported[code]
            typer.echo(f"{code}  {' '.join(subdivisions)}" if subdivisions else code)
        return
    check_holiday_calendar(country, None, option="country")
    for code in supported.get(country, []):
        typer.echo(f"{country}-{code}")
