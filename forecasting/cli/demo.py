"""``forecasting demo``: the whole job on embedded defaults, from a fresh install."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from forecasting.cli.common import cli_command, console

DEMO_MODELS = ("snaive", "ensemble")


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
    """Synthesise multi-site data, check it, backtest, train and forecast the next week."""
    from forecasting.cli.backtest import backtest_with_progress
    from forecasting.cli.render import forecast_table, metrics_table, report_table, report_title
    from forecasting.data.check import check_demand_file
    from forecasting.data.export import write_synth
    from forecasting.data.synth import synth_demand
    from forecasting.evaluate.summary import evaluate
    from forecasting.io import atomic_path
    from forecasting.models import make_model

    end = date.today() - timedelta(days=1)
    with console.status("Synthesising demand and discharge episodes…"):
        data = synth_demand(n_sites=sites, years=years, end=end, seed=seed)
        paths = write_synth(data, out)
    console.print(f"[bold]1. Data[/] written to {out}/ (demand.csv, episodes.csv, sites.yaml)")
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

    console.print("\n[bold]3. Train and forecast[/] the next 7 days with the ensemble")
    with console.status("Training on all history…"):
        model = make_model("ensemble", 7).fit(frame)
        forecast = model.predict(7)
    with atomic_path(out / "forecast.csv") as tmp:
        forecast.to_csv(tmp, index=False, date_format="%Y-%m-%d", float_format="%.3f")
    console.print(forecast_table(forecast, frame))
    console.print(f"Forecast written to {out / 'forecast.csv'}.")
    console.print("\nNext: [bold]forecasting data check " + str(paths["demand"]) + "[/]")
