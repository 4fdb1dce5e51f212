"""``forecasting daily`` and ``forecasting report``: the morning warnings from the champion."""

from __future__ import annotations

import enum
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import (
    EXIT_LEVEL_REACHED,
    cli_command,
    console,
    err_console,
    fail,
    flush_notes,
    note,
    plain,
)
from forecasting.cli.data import (
    ConfigOpt,
    DateColOpt,
    ExtraColOpt,
    ResampleOpt,
    SiteColOpt,
    SiteNameOpt,
    TargetColOpt,
    config_with_sites,
    load_mapped,
)
from forecasting.cli.execution import SchedulerOpt, WorkersOpt, executor_from_options

if TYPE_CHECKING:
    import pandas as pd

    from forecasting.cli.data import ResampleTo
    from forecasting.config import Config
    from forecasting.daily import DailyResult
    from forecasting.executors import Executor
    from forecasting.nowcast import HourlyColumns, NowcastOptions

DEFAULT_HISTORY = Path("forecasting-warnings.db")


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
DailyAsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Last day of data to use (default: the last day); with --hourly the issue time "
        '"YYYY-MM-DD HH:MM" (default: the end of the hourly file\'s last hour).',
    ),
]
HourlyOpt = Annotated[
    Path | None,
    typer.Option(
        "--hourly",
        help="Hourly arrivals (site_id, timestamp, arrivals; may be --data itself with "
        "--resample daily): today's level from the arrivals before --as-of.",
    ),
]
HourlyTimeOpt = Annotated[
    str | None, typer.Option("--hourly-time-col", help="Timestamp column of --hourly.")
]
HourlyTargetOpt = Annotated[
    str | None, typer.Option("--hourly-target-col", help="Arrivals column of --hourly.")
]
NowcastPriorOpt = Annotated[
    str, typer.Option("--nowcast-prior", help="Today's prior: weekday, or a model: ets, …")
]
NowcastMethodOpt = Annotated[
    str, typer.Option("--nowcast-method", help="shrinkage, empirical or bayes (see `nowcast`).")
]


@dataclass(frozen=True)
class _Hourly:
    """Where today's arrivals come from and how they are nowcast."""

    path: Path
    columns: HourlyColumns
    options: NowcastOptions


def _as_of(value: str | None) -> str | None:
    """``--as-of`` checked: a date, or a local time (the library decides which it may be)."""
    import pandas as pd

    if value is None:
        return None
    text = value.strip()
    try:
        date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return text
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = None
    if stamp is None or pd.isna(stamp) or stamp.tzinfo is not None:
        fail(
            f"--as-of {value!r} is not a date or a local time. Fix: use YYYY-MM-DD, or "
            '"YYYY-MM-DD HH:MM" with --hourly.'
        )
    return text


def _hourly(
    path: Path | None,
    cfg: Config,
    cols: tuple[str | None, str | None, str | None, str | None],
    prior: str,
    method: str,
) -> _Hourly | None:
    """``--hourly`` and its options, checked (``cols``: site, site name, time, target)."""
    if path is None:
        return None
    from forecasting.models import MODELS
    from forecasting.nowcast import COMBINERS, HourlyColumns, NowcastOptions
    from forecasting.nowcast.prior import WEEKDAY_PRIOR

    if method not in COMBINERS:
        fail(f"--nowcast-method: unknown '{method}'. Fix: choose from {', '.join(COMBINERS)}.")
    if prior != WEEKDAY_PRIOR and prior not in MODELS:
        fail(
            f"--nowcast-prior: unknown '{prior}'. Fix: choose from {WEEKDAY_PRIOR}, "
            f"{', '.join(MODELS)}."
        )
    site_col, site_name, time_col, target_col = cols
    columns = HourlyColumns(
        site=None if site_name else (site_col or cfg.columns.site_id),
        time=time_col or "timestamp",
        target=target_col or "arrivals",
        site_name=site_name or "site",
    )
    h = cfg.holidays
    options = NowcastOptions(prior=prior, method=method, country=h.country, subdiv=h.subdiv)
    return _Hourly(path, columns, options)


def _same_file_mapping(
    data: Path,
    hourly: _Hourly | None,
    mapping: tuple[str | None, str | None, str | None, list[str] | None, str | None],
) -> tuple[str | None, str | None, str | None, list[str] | None, str | None]:
    """When --data is the --hourly file, its date and target default to the hourly columns."""
    if hourly is None or data.resolve() != hourly.path.resolve():
        return mapping
    site_col, date_col, target_col, extra, site_name = mapping
    cols = hourly.columns
    return site_col, date_col or cols.time, target_col or cols.target, extra, site_name


@dataclass(frozen=True)
class _Run:
    """One run's result with the data and the champion it came from."""

    result: DailyResult
    frame: pd.DataFrame
    ref: str
    source: str
    issued: pd.DataFrame | None = None  # the warning history read for this run


def _run(
    data: Path,
    as_of: str | None,
    cfg: Config,
    mapping_args: tuple[str | None, str | None, str | None, list[str] | None, str | None],
    resample: ResampleTo | None = None,
    history: Path | None = None,
    hourly: _Hourly | None = None,
    executor: Executor | None = None,
) -> _Run:
    from forecasting.cli.models import quiet_mlflow
    from forecasting.daily import check_as_of, daily_warnings
    from forecasting.escalation import WarningHistory
    from forecasting.tracking import load_champion

    day = _as_of(as_of)
    check_as_of(day, hourly is not None)
    mapping_args = _same_file_mapping(data, hourly, mapping_args)
    frame = load_mapped(data, cfg, *mapping_args, resample=resample)
    arrivals = None
    if hourly is not None:
        from forecasting.nowcast import load_hourly  # scipy.stats: only when nowcasting

        arrivals = load_hourly(hourly.path, hourly.columns)
    quiet_mlflow()
    with console.status("Loading the champion model…"):
        champ = load_champion(cfg)
    ref = f"{champ.ref} (version {champ.version})"
    if champ.source == "cache":
        note(
            f"[bold red]REGISTRY UNREACHABLE: warnings come from the locally cached champion "
            f"{plain(ref)}, cached {plain(champ.cached_at)}.[/]"
        )
        ref += " [cached copy]"
    # earlier warnings recalibrate today's surge probabilities once their days are known
    issued = WarningHistory(history).read() if history and history.is_file() else None
    with console.status("Forecasting and assessing risk…"):
        result = daily_warnings(
            frame,
            champ.model,
            cfg,
            as_of=day,
            issued=issued,
            hourly=arrivals,
            nowcast=None if hourly is None else hourly.options,
            executor=executor,
        )
    return _Run(result, frame, ref, str(champ.source), issued)


def _preflight(out: Path | None, history: Path | None) -> None:
    """Fail in a second, before the champion loads, if an output could not be written.

    Raises:
        OSError: ``out`` is a folder or its folder is not writable.
        WarningHistoryError: ``history`` is not a usable warning history.
    """
    from forecasting.escalation import WarningHistory
    from forecasting.io import check_writable_file

    if out is not None:
        check_writable_file(out)
    if history is not None:
        WarningHistory(history).check()


def _text(warnings: pd.DataFrame, fmt: DailyFormat) -> str:
    from forecasting.escalation import to_flat, to_records

    if fmt is DailyFormat.json:
        return json.dumps(to_records(warnings), indent=2) + "\n"
    return str(to_flat(warnings).to_csv(index=False))


def _title(result: DailyResult, ref: str) -> str:
    if result.as_of_time is None:
        return f"Warnings from data to {result.as_of:%a %d %b %Y}, {ref}"
    return (
        f"Warnings at {result.as_of_time:%a %d %b %Y %H:%M}: today from the arrivals so far "
        f"(nowcast, horizon 0), the next days from data to today, {ref}"
    )


@cli_command
def daily_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    as_of: DailyAsOfOpt = None,
    hourly: HourlyOpt = None,
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
    resample: ResampleOpt = None,
    hourly_time_col: HourlyTimeOpt = None,
    hourly_target_col: HourlyTargetOpt = None,
    nowcast_prior: NowcastPriorOpt = "ets",
    nowcast_method: NowcastMethodOpt = "shrinkage",
    config: ConfigOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Recommended escalation levels and planned-care advice for the next days, per site.

    With --hourly and --as-of "YYYY-MM-DD HH:MM": the daily data count up to the day before,
    today is nowcast from the arrivals before that time and gets its own row (horizon 0).

    Nothing is replaced unless the run succeeds; a written file's warnings are in the history.

    Records carry model_source: "registry", or "cache" when the registry was unreachable.

    Exit codes: 0 done; 1 a day reached --fail-on-level (only 1 means "page someone").

    2 bad input or an unusable file (data, output, full disk, history): nothing replaced.

    70 internal error (a bug; FORECASTING_DEBUG=1 prints the traceback); 130 interrupted.
    """
    from forecasting.cli.render import fail_on_level_message, layout_width, show_warnings
    from forecasting.escalation import WarningHistory
    from forecasting.io import StagedOutputs

    _preflight(out, None if no_history else history)
    cfg = config_with_sites(config, sites, data)
    mapping = (site_col, date_col, target_col, extra_cols, site_name)
    cols = (site_col, site_name, hourly_time_col, hourly_target_col)
    today = _hourly(hourly, cfg, cols, nowcast_prior, nowcast_method)
    with executor_from_options(workers, scheduler) as executor:
        keep = None if no_history else history
        run = _run(data, as_of, cfg, mapping, resample, keep, today, executor)
    result = run.result
    w = result.warnings.assign(model_source=run.source)
    text = _text(w, DailyFormat.csv if fmt is DailyFormat.table else fmt)
    with StagedOutputs() as staged:
        if out is not None:
            staged.write_text(out, text)
        if not no_history:
            WarningHistory(history).append(w, issued_at=datetime.now(UTC), model_ref=run.ref)
    # committed: the history first, then the file renamed into place
    flush_notes()
    if fmt is DailyFormat.table:
        title = _title(result, run.ref)
        if "opel_score" in w.columns:
            from forecasting.cli.render_pressure import show_pressure

            show_pressure(console, w, title, cfg, layout_width(console))
        else:
            show_warnings(console, w, title, cfg, layout_width(console))
    elif out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    if out is not None:
        err_console.print(f"Wrote {plain(out)}", soft_wrap=True)
    if not no_history:
        err_console.print(f"Appended {len(w)} warnings to {plain(history)}", soft_wrap=True)
    if fail_on_level is not None and int(w["level"].max()) >= fail_on_level:
        message = fail_on_level_message(w, fail_on_level, cfg)
        err_console.print(plain(message), soft_wrap=True)
        raise typer.Exit(EXIT_LEVEL_REACHED)


def _national_report(run: _Run, out: Path) -> Path:
    """Write the national bed-pressure page (``index.html``) of a beds-occupied run."""
    import pandas as pd

    from forecasting.data import schema
    from forecasting.national import write_national_page
    from forecasting.national.summary import previous_levels

    frame, day = run.frame, run.result.as_of
    recent = frame[frame[schema.DATE] > day - pd.Timedelta(days=40)]
    observed = recent.assign(occupancy=recent[schema.TARGET] / recent["beds"])
    with console.status("Drawing the national page…"):
        return write_national_page(
            out / "index.html",
            run.result.warnings,
            observed[[schema.SITE, schema.DATE, "occupancy"]],
            previous_levels(run.issued, day),
            as_of=day,
            issued=datetime.now(UTC),
            model_ref=run.ref,
        )


@cli_command
def report_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for index.html and a picture (SVG) per site.")
    ] = Path("forecasting-report"),
    as_of: AsOfOpt = None,
    sites: SitesOpt = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    resample: ResampleOpt = None,
    config: ConfigOpt = None,
) -> None:
    """An HTML page: as-of day, issue time, model, levels across sites, a chart per site.

    Files are renamed into place only once every picture and the page are written.

    Exit codes: 0 done; 2 bad input or an unusable file (data, --out, full disk).

    70 internal error (a bug; FORECASTING_DEBUG=1 prints the traceback); 130 interrupted.
    """
    from forecasting.cli.render import site_names
    from forecasting.io import check_writable_dir
    from forecasting.report import write_report

    check_writable_dir(out)
    cfg = config_with_sites(config, sites, data)
    mapping = (site_col, date_col, target_col, extra_cols, site_name)
    run = _run(data, as_of, cfg, mapping, resample, DEFAULT_HISTORY)
    if "opel_score" in run.result.warnings.columns:
        page = _national_report(run, out)
        flush_notes()
        console.print(f"Wrote the national page {plain(page)}", soft_wrap=True)
        return
    with console.status("Drawing…"):
        paths = write_report(
            run.frame,
            run.result.forecast,
            run.result.warnings,
            out,
            comfort=cfg.thresholds.occupancy_comfort,
            ceiling=cfg.thresholds.occupancy_ceiling,
            as_of=run.result.as_of,
            issued=datetime.now(UTC),
            model_ref=run.ref,
            site_names=site_names(cfg),
        )
    flush_notes()
    console.print(
        f"Wrote {len(paths) - 1} site picture(s) and {plain(paths['index'])}", soft_wrap=True
    )
