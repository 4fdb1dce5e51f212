"""``forecasting warnings replay``: the alert backtest, the morning job replayed day by day."""

from __future__ import annotations

import dataclasses
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
    config_with_sites,
    load_mapped,
    with_holidays,
)
from forecasting.cli.execution import SchedulerOpt, WorkersOpt, executor_from_options

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CACHE = Path(".forecasting") / "replay-cache"
BASELINE = "snaive"


def _scores_table(scores: pd.DataFrame, title: str) -> object:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    heads = ("model", "kind", "rule", "surge", "warn", "prec.", "recall", "FA/mo", "lead")
    for name in (*heads, "skill"):
        table.add_column(name, justify="left" if name in heads[:3] else "right")
    for r in scores.itertuples(index=False):
        table.add_row(
            escape(str(r.model)),
            str(r.kind),
            str(r.rule),
            f"{r.surge_days:.0f}",
            f"{r.warned_days:.0f}",
            _num(r.precision, "{:.2f}"),
            _num(r.recall, "{:.2f}"),
            _num(r.false_alarms_per_month, "{:.1f}"),
            _num(r.lead_median, "{:.0f}"),
            _num(r.brier_skill, "{:+.2f}"),
        )
    table.caption = (
        "All sites. capacity: above the flat line; weekday: unusual for the weekday. "
        "FA/mo: false alarms per site per 30 days; lead: median days; skill: Brier skill "
        "of P(surge) against the base rate"
    )
    return table


def _num(value: object, fmt: str) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "–" if number != number else fmt.format(number)


@cli_command
def replay_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet demand file.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV of the replayed warnings (one row per site, issue day and target day).",
        ),
    ] = Path("replay.csv"),
    days: Annotated[int, typer.Option("--days", min=1, help="Issue days to replay.")] = 365,
    refit_every: Annotated[
        int,
        typer.Option(
            "--refit-every",
            min=1,
            help="Re-estimate every K days; "
            "roll forward in between (as a daily job with a periodic retrain).",
        ),
    ] = 28,
    model: Annotated[
        str, typer.Option("--model", help="snaive, ets, arima, lightgbm, hybrid or ensemble.")
    ] = "ensemble",
    level: Annotated[
        int, typer.Option("--level", min=2, max=4, help="Warnings at this level or above alert.")
    ] = 3,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="PNG of warnings against what happened (default: beside --out)."
        ),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            "--false-alarm-budget",
            min=0,
            help="False alarms per site per month you accept: choose the P(surge) cut-off "
            "that meets it on the replay.",
        ),
    ] = None,
    policy_out: Annotated[
        Path | None,
        typer.Option(
            "--policy-out",
            help="Write the chosen cut-off as a config file (with --false-alarm-budget).",
        ),
    ] = None,
    cache: Annotated[
        Path,
        typer.Option(
            "--cache",
            help="Folder caching finished forecast chunks (an interrupted replay resumes).",
        ),
    ] = DEFAULT_CACHE,
    sites: Annotated[
        Path | None,
        typer.Option(
            "--sites", help="Site settings (beds, LOS); default: sites.yaml beside --data."
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
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Replay the morning job over the last N days as cron would have run it; score its alerts.

    Each issue day sees only the data up to that day. The same rules run on a seasonal naive
    forecast for comparison. Writes the warnings (--out), a picture (--plot) and prints
    precision, recall, false alarms per month, lead time and Brier skill per site.
    """
    from forecasting.io import atomic_write_text
    from forecasting.models import MODELS, make_model
    from forecasting.replay import compare, replay, replay_steps
    from forecasting.replay.plot import plot_reliability, plot_replay
    from forecasting.replay.policy import choose_cutoff, policy_yaml

    if model not in MODELS:
        fail(f"--model: unknown model '{model}'. Fix: choose from {', '.join(MODELS)}.")
    if out.is_dir():
        fail(f"--out {out} is a folder. Fix: give a file name such as replay.csv.")
    cfg = with_holidays(config_with_sites(config, sites, data), holidays)
    frame = load_mapped(
        data, cfg, site_col, date_col, target_col, extra_cols, site_name, resample=resample
    )
    h = cfg.horizon
    country, subdiv = cfg.holidays.country, cfg.holidays.subdiv
    models = {model: make_model(model, h, country, subdiv)}
    if model != BASELINE:
        models[BASELINE] = make_model(BASELINE, h, country, subdiv)
    if policy_out is not None and budget is None:
        fail("--policy-out needs --false-alarm-budget. Fix: e.g. --false-alarm-budget 2.")
    with (
        executor_from_options(workers, scheduler) as executor,
        progress_bar(f"replay {days} days", replay_steps(len(models), days)) as advance,
    ):
        result = replay(
            frame, models, cfg, days, refit_every, level, cache, advance, executor=executor
        )
    kind = "weekday" if cfg.escalation.weekday_adjusted_lines else "capacity"
    policy = None
    if budget is not None:
        rows = result.warnings[result.warnings["model"] == model]
        policy = choose_cutoff(rows, kind, budget)
        extra = compare(
            {m: result.warnings[result.warnings["model"] == m] for m in models},
            level,
            {kind: policy.cutoff},
        )
        result = dataclasses.replace(result, scores=extra)
    picture = plot or out.with_suffix(".png")
    plot_replay(result.warnings, picture, model, level)
    plot_reliability(result.warnings, picture.with_name(picture.stem + "-reliability.png"), model)
    scores_path = out.with_name(out.stem + "-scores.csv")
    atomic_write_text(scores_path, result.scores.to_csv(index=False))
    if policy is not None and policy_out is not None:
        atomic_write_text(
            policy_out, policy_yaml(policy, str(data), kind, cfg.escalation.pressure_probability)
        )
    atomic_write_text(out, result.warnings.to_csv(index=False))
    first, last = result.issued[0], result.issued[-1]
    overall = result.scores[result.scores["site_id"] == "all"]
    console.print(
        _scores_table(
            overall,
            f"Warnings replayed {first:%Y-%m-%d} to {last:%Y-%m-%d} (refit every {refit_every} "
            f"days); levels follow {kind} surges",
        )
    )
    own = result.calibration[result.calibration["model"] == model]
    for r in own.to_dict("records"):
        if r["rows"]:
            console.print(
                f"P({r['kind']} surge) recalibrated on earlier outcomes: Brier skill "
                f"{r['skill_raw']:+.3f} raw -> {r['skill_calibrated']:+.3f} "
                f"({r['rows']} warnings)",
                soft_wrap=True,
            )
    if policy is not None:
        met = "meets" if policy.met else "does NOT meet (strictest cut-off tried)"
        console.print(
            f"Cut-off for P({kind} surge): {policy.cutoff:.2f} {met} {budget:g} false alarms "
            f"per site per month: recall {policy.recall:.2f}, precision {policy.precision:.2f}, "
            f"{policy.false_alarms_per_month:.2f} false alarms/month (chosen on this replay: "
            "an optimistic figure).",
            soft_wrap=True,
        )
    console.print(
        plain(
            f"Wrote {out}, {scores_path} (per site), {picture} and its reliability diagram"
            + (f", {policy_out}" if policy_out else "")
        ),
        soft_wrap=True,
    )
