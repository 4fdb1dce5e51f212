"""``forecasting train``, ``promote`` and ``ui``: the demand model in the MLflow registry."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forecasting.cli.common import (
    EXIT_PROMOTION_REFUSED,
    ForcePromoteOpt,
    PromoteReasonOpt,
    PromoteVersionOpt,
    cli_command,
    console,
    exit_with,
    fail,
    plain,
    progress_bar,
)
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
    pass

CLASSIC_VIEW = "/#/?workflowType=machine_learning"
UI_HINT = (
    "MLflow opens on its GenAI view: pick 'Model training' at the top of the sidebar, or add "
    f"{CLASSIC_VIEW} to the address."
)


def quiet_mlflow() -> None:
    """Keep MLflow's own chatter (info logs, download bars) off the terminal.

    Does not import MLflow (about 2 s; ``daily`` often needs none of it): MLflow sets its
    loggers' level from ``MLFLOW_LOGGING_LEVEL`` when imported, so that is set (unless the
    user did); an MLflow already imported has its logger turned down now.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    if "mlflow" in sys.modules:
        logging.getLogger("mlflow").setLevel(logging.ERROR)


@cli_command
def train_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    model: Annotated[
        str,
        typer.Option("--model", help="snaive, ets, arima, lightgbm, hybrid or ensemble."),
    ] = "ensemble",
    windows: Annotated[
        int | None,
        typer.Option("--windows", min=1, help="Backtest cutoffs (default: config, 8)."),
    ] = None,
    holidays: HolidaysOpt = None,
    site_col: SiteColOpt = None,
    date_col: DateColOpt = None,
    target_col: TargetColOpt = None,
    extra_cols: ExtraColOpt = None,
    site_name: SiteNameOpt = None,
    resample: ResampleOpt = None,
    config: ConfigOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Backtest, train on all data, log the run to MLflow and register the model."""
    from forecasting.config import load_config
    from forecasting.models import MODELS

    if model not in MODELS:
        fail(f"--model: unknown model '{model}'. Fix: choose from {', '.join(MODELS)}.")
    cfg = with_holidays(load_config(config), holidays)
    quiet_mlflow()
    from forecasting.tracking.store import check_store, resolve_tracking_uri

    uri = resolve_tracking_uri(cfg)
    check_store(uri, configured=bool(cfg.mlflow.tracking_uri))  # before any long work
    frame = load_mapped(
        data, cfg, site_col, date_col, target_col, extra_cols, site_name, resample=resample
    )
    from forecasting.tracking.training import train_demand_model, training_tasks

    n = windows or cfg.mlflow.backtest_windows
    with (
        executor_from_options(workers, scheduler) as executor,
        progress_bar(f"train {model}", training_tasks(model, n)) as advance,
    ):
        result = train_demand_model(
            frame, cfg, model=model, windows=n, progress=advance, executor=executor
        )
    m = result.metrics
    console.print(
        f"Trained {model} on {frame['site_id'].nunique()} site(s), "
        f"{frame['date'].min():%Y-%m-%d} to {frame['date'].max():%Y-%m-%d}. "
        f"Backtest ({n} weekly cutoffs): pinball {m.get('pinball', float('nan')):.3f}, "
        f"MAE {m.get('MAE', float('nan')):.2f}, 90% coverage {m.get('cov90', float('nan')):.0%}.",
        soft_wrap=True,
    )
    held = (
        f"alias [bold]{result.alias}[/]"
        if result.alias
        else "no alias (a run that finished at the same time has taken 'challenger' since)"
    )
    done = "Registered" if result.registered else "Not registered again (same data and parameters):"
    console.print(
        f"MLflow run {result.run_id} in {uri}\n"
        f"{done} [bold]{cfg.mlflow.model_name}[/] version {result.model_version}, {held}.",
        soft_wrap=True,
    )
    if result.alias == "challenger" and result.registered:
        from forecasting.tracking.library import review_verdict

        verdict = review_verdict(cfg, str(result.model_version))
        if verdict:
            console.print(f"Review against the champion: {plain(verdict)}", soft_wrap=True)
    if result.alias == "champion":
        console.print(f"Next: forecasting daily --data {data}")
    else:
        console.print(
            "Next: forecasting ui (the version's description and the run's "
            "review/comparison.md compare it with the champion), then forecasting promote",
            soft_wrap=True,
        )


@cli_command
def promote_command(
    version: PromoteVersionOpt = None,
    force: ForcePromoteOpt = False,
    reason: PromoteReasonOpt = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance",
            min=0.0,
            max=1.0,
            help="Share by which the challenger may be worse at any horizon or site "
            "[default: config mlflow.promotion_tolerance, 0.05].",
        ),
    ] = None,
    brier_tolerance: Annotated[
        float | None,
        typer.Option(
            "--brier-tolerance",
            min=0.0,
            max=1.0,
            help="How much worse its surge Brier score may be, overall and at any horizon "
            "[default: config mlflow.brier_tolerance, 0.01].",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Make the challenger the champion if it beats the champion on the same backtest.

    Both are scored on the same data and cutoffs (the champion is re-scored on the
    challenger's data if their runs differ). The challenger must have a lower promotion
    metric overall, be no worse than --tolerance at any horizon or site, and have a surge
    Brier score no worse than --brier-tolerance. The comparison is in the challenger's run
    (review/comparison.md, .csv, .png) and its version's description.

    Exit codes: 0 promoted; 3 refused (the challenger is worse, or cannot be compared on the
    same footing): nothing changed; 2 bad input or an unusable store.
    """
    from forecasting.config import load_config

    cfg = load_config(config)
    quiet_mlflow()
    from forecasting.tracking.errors import PromotionRefusedError
    from forecasting.tracking.library import promote

    try:
        p = promote(
            cfg,
            version=version,
            force=force,
            reason=reason,
            tolerance=tolerance,
            brier_tolerance=brier_tolerance,
        )
    except PromotionRefusedError as exc:
        raise exit_with(str(exc), EXIT_PROMOTION_REFUSED) from None
    if p.previous is None:
        detail = "there was no champion"
    elif p.forced:
        detail = f"forced over version {p.previous}: {reason}"
    else:
        detail = (
            f"{p.metric} {p.challenger_value:.4g} beats {p.champion_value:.4g} "
            f"of version {p.previous}"
        )
    console.print(
        f"{p.name} version {p.version} is now [bold]champion[/] ({detail}).", soft_wrap=True
    )
    if p.basis:
        console.print(f"Compared on {p.basis}.", soft_wrap=True)


@cli_command
def ui_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 5000,
    config: ConfigOpt = None,
) -> None:
    """Start the MLflow UI on 127.0.0.1 over the same store as train and backtest."""
    from forecasting.config import load_config

    cfg = load_config(config)
    quiet_mlflow()
    from forecasting.tracking import server
    from forecasting.tracking.store import (
        check_store,
        is_remote,
        resolve_tracking_uri,
        sqlite_path,
    )

    uri = resolve_tracking_uri(cfg)
    if is_remote(uri):
        console.print(f"Runs and models are on the tracking server {uri}: open it in a browser.")
        console.print(UI_HINT)
        return
    check_store(uri, configured=bool(cfg.mlflow.tracking_uri))
    if server.port_in_use(port):
        fail(f"port {port} on 127.0.0.1 is already in use. Fix: --port {port + 1}.")
    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        console.print(f"No runs yet in {db}: run `forecasting train --data FILE` first.")
    address = f"http://{server.HOST}:{port}"
    console.print(f"Starting the MLflow UI on {address} (store {uri}; about 10 s)…", soft_wrap=True)
    proc = server.start_server(uri, port, env=dict(os.environ))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.wait_until_up(address, proc)
        console.print(
            f"[bold]MLflow UI: {address}{CLASSIC_VIEW}[/] (the 'Model training' view; "
            "to review a challenger: Models, then its version). Ctrl-C stops it.",
            soft_wrap=True,
        )
        proc.wait()
    except KeyboardInterrupt:
        console.print("Stopping the MLflow UI.")
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop_server(proc)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
