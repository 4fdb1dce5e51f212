"""``forecasting backtest``: rolling-origin evaluation of demand models on a file."""

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
    import pandas as pd

    from forecasting.config import Config
    from forecasting.executors import Executor

DEFAULT_MODELS = "snaive,ets,hybrid"


@cli_command
def backtest_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="File for the forecast frame: Parquet if .parquet, else CSV."),
    ],
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=90, help="Days ahead.")] = 7,
    step: Annotated[int, typer.Option("--step", min=1, help="Days between cutoffs.")] = 7,
    windows: Annotated[int, typer.Option("--windows", min=1, help="Number of cutoffs.")] = 52,
    models: Annotated[
        str,
        typer.Option(
            "--models", help="Comma-separated: snaive,ets,arima,lightgbm,hybrid,ensemble."
        ),
    ] = DEFAULT_MODELS,
    refit_every: Annotated[
        int, typer.Option("--refit-every", min=1, help="Re-estimate every k windows.")
    ] = 4,
    holidays: HolidaysOpt = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    resample: ResampleOpt = None,
    config: ConfigOpt = None,
    track: Annotated[
        bool, typer.Option("--track/--no-track", help="Log the run to MLflow (see `ui`).")
    ] = True,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Backtest models on rolling origins; write forecasts with y, print metrics, log the run."""
    from forecasting.cli.render import metrics_table
    from forecasting.evaluate.summary import evaluate
    from forecasting.io import write_forecast_table
    from forecasting.models import MODELS

    names = [n.strip() for n in models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        bad = (unknown or [""])[0]
        fail(f"--models: unknown model '{bad}'. Fix: choose from {', '.join(MODELS)}.")
    from forecasting.config import load_config

    cfg = with_holidays(load_config(config), holidays)
    country, subdiv = cfg.holidays.country, cfg.holidays.subdiv
    if track:  # an unusable store fails now, not after the long backtest
        check_store_first(cfg)
    frame = load_mapped(
        data,
        cfg,
        site_col,
        date_col,
        target_col,
        extra_cols,
        site_name,
        horizon=horizon,
        resample=resample,
    )
    if holidays is None:  # the configured calendar: say if the data follows another
        from forecasting.features.holiday_signal import warn_if_other_calendar

        warn_if_other_calendar(frame, country, subdiv)
    with executor_from_options(workers, scheduler) as executor:
        result = backtest_with_progress(
            frame, names, horizon, step, windows, refit_every, country, subdiv, executor
        )
    write_forecast_table(result, out)
    console.print(
        metrics_table(evaluate(result, frame), f"{plain(data)}: {windows} windows × {horizon} days")
    )
    console.print(f"Wrote {len(result):,} forecast rows to {plain(out)}")
    if track:
        params = {
            "models": ",".join(names),
            "horizon": horizon,
            "step": step,
            "windows": windows,
            "refit_every": refit_every,
            "holidays": f"{country}-{subdiv}" if subdiv else country,
            "data_file": data.name,
        }
        from forecasting.tracking.runs import log_backtest_run

        with console.status("Logging the run to MLflow…"):
            run = log_backtest_run(result, frame, cfg, params, run_name=f"backtest {models}")
        console.print(f"MLflow run {run.run_id} (browse with: forecasting ui)")


def check_store_first(cfg: Config) -> None:
    """Fail now, in one line, if the MLflow store is unusable (not after a long backtest)."""
    from forecasting.cli.models import quiet_mlflow

    quiet_mlflow()
    from forecasting.tracking.store import check_store, resolve_tracking_uri

    check_store(resolve_tracking_uri(cfg), configured=bool(cfg.mlflow.tracking_uri))


def backtest_with_progress(
    frame: pd.DataFrame,
    names: list[str],
    horizon: int,
    step: int,
    windows: int,
    refit_every: int,
    country: str = "GB",
    subdiv: str | None = "ENG",
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Backtest registry models with one progress bar over their chunks; one combined frame."""
    from forecasting.evaluate.backtest import backtest
    from forecasting.models import make_model

    models = {name: make_model(name, horizon, country, subdiv) for name in names}
    chunks = -(-windows // refit_every) * len(names)
    with progress_bar(f"backtest {','.join(names)}", chunks) as advance:
        return backtest(
            frame,
            models,
            horizon=horizon,
            step=step,
            windows=windows,
            refit_every=refit_every,
            executor=executor,
            progress=advance,
        )
