"""``forecasting demo``: the whole job on embedded defaults, from a fresh install.

Everything the demo writes stays in its ``--out`` folder (default ``forecasting-demo/``): the
data, the backtest, the warnings and the report, and its own MLflow store (``mlflow.db``, with
the artifacts in ``mlruns/`` beside it). The folder is a working folder of its own: from inside
it, ``forecasting daily --data demand.csv`` and ``forecasting ui`` find the demo's store by
default, and keep their warning history and champion cache there too.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from forecasting.cli.common import cli_command, console, plain

DEMO_MODELS = ("snaive", "ensemble")
STORE_FILE = "mlflow.db"


def demo_store_uri(out: Path) -> str:
    """The demo's own MLflow store: ``mlflow.db`` in its output folder (an absolute URI)."""
    return "sqlite:///" + str((out / STORE_FILE).resolve())


@cli_command
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's data and outputs.")
    ] = Path("forecasting-demo"),
    sites: Annotated[int, typer.Option("--sites", min=1, max=50, help="Synthetic sites.")] = 4,
    years: Annotated[float, typer.Option("--years", min=1, max=10, help="Years of history.")] = 3,
    windows: Annotated[int, typer.Option("--windows", min=1, help="Backtest windows.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Synthesise data, backtest, train and register a model, then issue today's warnings.

    Everything is written to --out: data, backtest, warnings, report and the demo's own MLflow
    store (mlflow.db and mlruns/); nothing else in the working folder changes.
    """
    from forecasting.cli.backtest import backtest_with_progress
    from forecasting.cli.models import quiet_mlflow
    from forecasting.cli.render import (
        layout_width,
        metrics_table,
        report_table,
        report_title,
        show_warnings,
        site_names,
    )
    from forecasting.config import Config, MlflowConfig, load_sites
    from forecasting.daily import daily_warnings
    from forecasting.data.check import check_demand_file
    from forecasting.data.export import write_synth
    from forecasting.data.load import load_demand
    from forecasting.data.synth import synth_demand
    from forecasting.escalation import to_records
    from forecasting.evaluate.summary import evaluate
    from forecasting.io import atomic_path, atomic_write_text, check_writable_dir
    from forecasting.report import write_report
    from forecasting.tracking.store import resolve_tracking_uri
    from forecasting.tracking.training import train_demand_model

    check_writable_dir(out)
    end = date.today() - timedelta(days=1)
    with console.status("Synthesising demand and discharge episodes…"):
        data = synth_demand(n_sites=sites, years=years, end=end, seed=seed)
        paths = write_synth(data, out)
    console.print(
        f"[bold]1. Data[/] written to {plain(out)}/ (demand.csv, episodes.csv, sites.yaml)",
        soft_wrap=True,
    )
    frame, report = check_demand_file(paths["demand"], as_of=end + timedelta(days=1))
    console.print(report_title(report), soft_wrap=True)
    console.print(report_table(report))
    ep = data.episodes
    console.print(
        f"Episodes: {len(ep):,} discharges, {ep['patient_id'].nunique():,} patients, "
        f"30-day readmission rate {ep['readmitted_30d'].mean():.1%}."
    )

    console.print(f"\n[bold]2. Backtest[/]: {windows} weekly cutoffs, 7 days ahead")
    frame = frame[["site_id", "date", "attendances"]]
    bt = backtest_with_progress(frame, list(DEMO_MODELS), 7, 7, windows, refit_every=4)
    with atomic_path(out / "backtest.csv") as tmp:
        bt.to_csv(tmp, index=False, date_format="%Y-%m-%d", float_format="%.3f")
    console.print(metrics_table(evaluate(bt, frame), f"{out / 'backtest.csv'}"))

    console.print("\n[bold]3. Train and register[/] the ensemble on all history (MLflow)")
    quiet_mlflow()
    store = MlflowConfig(tracking_uri=demo_store_uri(out))  # inside --out, not the cwd
    cfg = Config(sites=load_sites(paths["sites"]), mlflow=store)
    with console.status("Training on all history and logging the run…"):
        trained = train_demand_model(frame, cfg, model="ensemble", backtest_frame=bt)
    verb = "Registered" if trained.registered else "Kept (same data and parameters)"
    console.print(
        f"{verb} {plain(cfg.mlflow.model_name)} version {trained.model_version} "
        f"(alias {trained.alias}) in {plain(resolve_tracking_uri(cfg))}; "
        f"browse it with: cd {plain(out)} && forecasting ui",
        soft_wrap=True,
    )

    console.print(f"\n[bold]4. Today's warnings[/] from data to {end:%a %d %b %Y}")
    full = load_demand(paths["demand"], as_of=end + timedelta(days=1))
    result = daily_warnings(full, trained.model, cfg)
    warnings = result.warnings.assign(model_source="registry")  # the model just registered
    records = json.dumps(to_records(warnings), indent=2) + "\n"
    atomic_write_text(out / "warnings.json", records)
    t = cfg.thresholds
    pictures = write_report(
        full,
        result.forecast,
        result.warnings,
        out / "report",
        comfort=t.occupancy_comfort,
        ceiling=t.occupancy_ceiling,
        as_of=result.as_of,
        issued=datetime.now(UTC),
        model_ref=(
            f"models:/{cfg.mlflow.model_name}@{trained.alias} (version {trained.model_version})"
        ),
        site_names=site_names(cfg),
    )
    title = "Recommended levels for the next 7 days"
    show_warnings(console, result.warnings, title, cfg, layout_width(console))
    console.print(
        f"Warnings written to {plain(out / 'warnings.json')}; pictures and a web page in "
        f"{plain(pictures['index'].parent)}/ (open index.html).",
        soft_wrap=True,
    )
    console.print(
        f"\nEverything is in {plain(out)}/. Every morning, from inside it: [bold]cd "
        f"{plain(out)} && forecasting daily --data {plain(paths['demand'].name)}[/] (its model "
        "store, warning history and model cache stay there; with your own data, run "
        "[bold]forecasting train --data …[/] once first)",
        soft_wrap=True,
    )
