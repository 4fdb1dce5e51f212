"""``forecasting nowcast``: today's expected ED total and P(surge) from the arrivals so far."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import cli_command, console, fail, plain
from forecasting.cli.data import ConfigOpt, HolidaysOpt, SiteColOpt, SiteNameOpt, with_holidays

if TYPE_CHECKING:
    import pandas as pd


class NowcastFormat(enum.StrEnum):
    """Output format of the nowcast."""

    table = "table"
    json = "json"


def _as_of(value: str) -> pd.Timestamp:
    import pandas as pd

    fix = f'--as-of {value!r} is not a local time. Fix: use "YYYY-MM-DD HH:MM".'
    try:
        stamp = pd.Timestamp(value.strip())
    except (ValueError, TypeError):
        fail(fix)
        raise
    if pd.isna(stamp) or stamp.tzinfo is not None:
        fail(fix)
    return stamp


def _json(frame: pd.DataFrame) -> str:
    records = []
    for row in frame.to_dict(orient="records"):
        rec = {}
        for key, value in row.items():
            if key == "date" and hasattr(value, "date"):
                value = value.date().isoformat()
            elif hasattr(value, "isoformat"):
                value = value.isoformat(sep=" ", timespec="minutes")
            elif isinstance(value, float):
                value = round(value, 4)
            rec[str(key)] = value
        records.append(rec)
    return json.dumps(records, indent=2)


def _table(frame: pd.DataFrame) -> None:
    from rich.table import Table

    first = frame.iloc[0]
    issued = f"{first['as_of']:%Y-%m-%d %H:%M}"
    table = Table(title=f"Nowcast at {issued} (arrivals before {int(first['hour']):02d}:00)")
    for name in ("site", "so far", "today [90%]", "P(surge)", "P(odd day)", "tomorrow"):
        table.add_column(name, justify="left" if name == "site" else "right")
    for _, row in frame.iterrows():
        table.add_row(
            plain(row["site_id"]),
            f"{row['arrivals_so_far']:.0f} ({row['usual_share']:.0%})",
            f"{row['mean']:.0f} [{row['q0.05']:.0f}-{row['q0.95']:.0f}]",
            f"{row['p_surge']:.0%} >{row['surge_line']:.0f}",
            f"{row['p_surge_weekday']:.0%} >{row['weekday_line']:.0f}",
            f"{row['tomorrow_mean']:.0f} [{row['tomorrow_q0.05']:.0f}-{row['tomorrow_q0.95']:.0f}]",
        )
    table.caption = (
        "so far: arrivals (usual share of the day by now); today: expected total; "
        "P(surge): above the flat line (90th percentile of the last 365 days); "
        "P(odd day): unusually busy for the weekday"
    )
    console.print(table)


@cli_command
def nowcast_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet file of hourly arrivals.")],
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", help='Issue time "YYYY-MM-DD HH:MM": arrivals in the hours before it count.'
        ),
    ],
    output_format: Annotated[
        NowcastFormat, typer.Option("--format", help="table for people, json for machines.")
    ] = NowcastFormat.table,
    surge_line: Annotated[
        float | None,
        typer.Option(
            "--surge-line",
            min=0,
            help="Daily total that counts as a surge (default: 90th percentile of the last 365 "
            "days, per site).",
        ),
    ] = None,
    prior: Annotated[
        str, typer.Option("--prior", help="Day-ahead prior: weekday, or a model: ets, hybrid, …")
    ] = "ets",
    method: Annotated[
        str,
        typer.Option(
            "--method", help="How the prior meets the arrivals: shrinkage, empirical or bayes."
        ),
    ] = "shrinkage",
    calibration_days: Annotated[
        int,
        typer.Option(
            "--calibration-days", min=28, max=1000, help="Past days the combination learns from."
        ),
    ] = 91,
    site_col: SiteColOpt = None,
    time_col: Annotated[
        str | None,
        typer.Option(
            "--time-col", help="Column with the timestamp (or the hour 0-23, with --date-col)."
        ),
    ] = None,
    date_col: Annotated[
        str | None, typer.Option("--date-col", help="Column with the day, if the hour is apart.")
    ] = None,
    target_col: Annotated[
        str | None, typer.Option("--target-col", help="Column with the hourly arrivals.")
    ] = None,
    site_name: SiteNameOpt = None,
    holidays: HolidaysOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Today's expected total, 90% range and P(surge) per site from the arrivals so far."""
    from forecasting.config import load_config
    from forecasting.models import MODELS
    from forecasting.nowcast import COMBINERS, HourlyColumns, NowcastOptions, load_hourly
    from forecasting.nowcast.prior import WEEKDAY_PRIOR
    from forecasting.nowcast.today import nowcast_today

    if method not in COMBINERS:
        fail(f"--method: unknown '{method}'. Fix: choose from {', '.join(COMBINERS)}.")
    if prior != WEEKDAY_PRIOR and prior not in MODELS:
        fail(f"--prior: unknown '{prior}'. Fix: choose from {WEEKDAY_PRIOR}, {', '.join(MODELS)}.")
    stamp = _as_of(as_of)
    cfg = with_holidays(load_config(config), holidays)
    columns = HourlyColumns(
        site=None if site_name else (site_col or "site_id"),
        time=time_col or ("hour" if date_col else "timestamp"),
        date=date_col,
        target=target_col or "arrivals",
        site_name=site_name or "site",
    )
    hourly = load_hourly(data, columns)
    options = NowcastOptions(
        prior=prior,
        method=method,
        calibration_days=calibration_days,
        country=cfg.holidays.country,
        subdiv=cfg.holidays.subdiv,
    )
    frame = nowcast_today(hourly, stamp, options, surge_line=surge_line)
    if output_format is NowcastFormat.json:
        typer.echo(_json(frame))
    else:
        _table(frame)
