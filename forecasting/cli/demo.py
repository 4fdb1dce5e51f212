"""``forecasting demo``: the whole job on embedded defaults, from a fresh install."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from forecasting.cli.common import cli_command, console


@cli_command
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's data and outputs.")
    ] = Path("forecasting-demo"),
    sites: Annotated[int, typer.Option("--sites", min=1, max=50, help="Synthetic sites.")] = 4,
    years: Annotated[float, typer.Option("--years", min=1, max=10, help="Years of history.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Synthesise realistic multi-site data, check it and summarise it (no arguments needed)."""
    from forecasting.cli.render import report_table, report_title
    from forecasting.data.check import check_demand_file
    from forecasting.data.export import write_synth
    from forecasting.data.synth import synth_demand

    end = date.today() - timedelta(days=1)
    with console.status("Synthesising demand and discharge episodes…"):
        data = synth_demand(n_sites=sites, years=years, end=end, seed=seed)
        paths = write_synth(data, out)
    console.print(f"[bold]1. Data[/] written to {out}/ (demand.csv, episodes.csv, sites.yaml)")
    _, report = check_demand_file(paths["demand"], as_of=end + timedelta(days=1))
    console.print(report_title(report), soft_wrap=True)
    console.print(report_table(report))
    ep = data.episodes
    console.print(
        f"Episodes: {len(ep):,} discharges, {ep['patient_id'].nunique():,} patients, "
        f"30-day readmission rate {ep['readmitted_30d'].mean():.1%}."
    )
    console.print(
        f"Injected unexplained surges: {len(data.surges):,} site-days "
        f"({len(data.surges) / len(data.demand):.1%} of days)."
    )
    console.print("\nNext: [bold]forecasting data check " + str(paths["demand"]) + "[/]")
