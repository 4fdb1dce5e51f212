"""``forecasting sweep``: backtest many configurations, compare them, log them to MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import cli_command, console, fail, plain, progress_bar
from forecasting.cli.data import (
    ConfigOpt,
    DateColOpt,
    ExtraColOpt,
    HolidaysOpt,
    ResampleOpt,
    SiteColOpt,
    SiteNameOpt,
    TargetColOpt,
    load_mapped,
    with_holidays,
)
from forecasting.cli.execution import SchedulerOpt, WorkersOpt, executor_from_options

if TYPE_CHECKING:
    from rich.table import Table

    from forecasting.sweep import SweepResult

SHOWN_ROWS = 20
SHOWN_METRICS = ("MAE", "pinball", "MASE", "cov90", "brier_skill")


@cli_command
def sweep_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    grid: Annotated[
        Path,
        typer.Option("--grid", help="Sweep YAML: backtest, metric, configurations, grid."),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV to write the comparison table to.")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="Metric naming the best configuration (default: the file's, else pinball): "
            "pinball, MAE, RMSE, MASE, MAPE, brier, false_alarms_30d (lower is better); "
            "brier_skill, F1, precision, recall (higher is better).",
        ),
    ] = None,
    holidays: HolidaysOpt = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    resample: ResampleOpt = None,
    config: ConfigOpt = None,
    track: Annotated[
        bool,
        typer.Option("--track/--no-track", help="Log a parent run and child runs to MLflow."),
    ] = True,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Backtest every configuration of a sweep file on the same cutoffs; name the best."""
    from forecasting.config import load_config
    from forecasting.sweep import METRICS, load_sweep, run_sweep, sweep_chunks
    from forecasting.sweep.models import build_models
    from forecasting.sweep.spec import check_metric

    if metric is not None:
        try:
            metric = check_metric(metric)
        except ValueError:
            fail(f"--metric: unknown metric '{metric}'. Fix: choose from {', '.join(METRICS)}.")
    spec = load_sweep(grid)
    cfg = with_holidays(load_config(config), holidays)
    country, subdiv = cfg.holidays.country, cfg.holidays.subdiv
    build_models(spec, country, subdiv)  # a bad parameter fails now, before the data load
    if track:  # an unusable store fails now, not after the long sweep
        from forecasting.cli.backtest import check_store_first

        check_store_first(cfg)
    b = spec.backtest
    frame = load_mapped(
        data,
        cfg,
        site_col,
        date_col,
        target_col,
        extra_cols,
        site_name,
        horizon=b.horizon,
        resample=resample,
    )
    label = f"sweep {len(spec.configurations)} configurations"
    with (
        executor_from_options(workers, scheduler) as executor,
        progress_bar(label, sweep_chunks(spec)) as advance,
    ):
        result = run_sweep(frame, spec, executor, advance, country, subdiv, metric)
    if out is not None:
        from forecasting.io import atomic_path

        with atomic_path(out) as tmp:
            result.table.to_csv(tmp, index=False, float_format="%.5g")
    title = f"{plain(data)}: {b.windows} windows × {b.horizon} days"
    console.print(comparison_table(result, title))
    best_value = float(result.table[result.metric].iloc[0])
    console.print(f"Best: {plain(result.best)} ({result.metric} {best_value:.4g})")
    if out is not None:
        console.print(f"Wrote {len(result.table):,} configurations to {plain(out)}")
    if track:
        from forecasting.tracking.sweep import log_sweep

        with console.status("Logging the sweep to MLflow…"):
            run = log_sweep(result, frame, cfg, {"data_file": data.name})
        console.print(
            f"MLflow parent run {run.run_id} with {len(run.children)} child runs "
            "(browse with: forecasting ui)"
        )


def comparison_table(result: SweepResult, title: str) -> Table:
    """The sweep's configurations best first (the first :data:`SHOWN_ROWS`), best marked.

    ``title`` is Rich markup (escape file names in it); configuration names are shown as typed.
    """
    import math

    from rich import box
    from rich.table import Table
    from rich.text import Text

    cols = list(dict.fromkeys([result.metric, *SHOWN_METRICS]))
    t = Table(box=box.SIMPLE_HEAD, caption_justify="left")
    t.add_column("#", justify="right", no_wrap=True)
    widest = int(result.table["config"].astype(str).str.len().max())
    t.add_column("configuration", overflow="fold", min_width=min(widest, 44))
    for c in cols:
        t.add_column(c, justify="right", no_wrap=True)
    for row in result.table.head(SHOWN_ROWS).to_dict(orient="records"):
        cells = [
            "–" if not math.isfinite(float(row[c])) else format(float(row[c]), ".3f") for c in cols
        ]
        name = Text(str(row["config"]), style="bold green" if row["best"] else "")
        t.add_row(str(row["rank"]) + (" ★" if row["best"] else ""), name, *cells)
    more = len(result.table) - SHOWN_ROWS
    shown = f"… and {more:,} more (all in --out). " if more > 0 else ""
    better = "lower" if result.metric in _lower() else "higher"
    t.caption = f"{shown}{title}. Ranked by {result.metric} ({better} is better); ★ best"
    return t


def _lower() -> tuple[str, ...]:
    from forecasting.sweep.spec import LOWER_IS_BETTER

    return LOWER_IS_BETTER
