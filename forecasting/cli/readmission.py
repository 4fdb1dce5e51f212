"""``forecasting readmission``: train, score and evaluate 30-day readmission risk models."""

from __future__ import annotations

from enum import StrEnum
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
    note,
    plain,
)

if TYPE_CHECKING:
    import pandas as pd

    from forecasting.config import Config
    from forecasting.readmission.bundle import RiskBundle
    from forecasting.readmission.columns import EpisodeColumns
    from forecasting.readmission.train import Evaluation

app = typer.Typer(
    help="30-day readmission risk: train, score and evaluate (LACE, logistic, LightGBM).",
    no_args_is_help=True,
)

DEFAULT_MODEL = Path("models") / "readmission" / "latest.joblib"


class ModelName(StrEnum):
    """Which model ``train`` saves."""

    lightgbm = "lightgbm"
    logistic = "logistic"
    lace = "lace"


DataOpt = Annotated[Path, typer.Option("--data", help="Episode file (CSV, CSV.gz or Parquet).")]
LabelOpt = Annotated[
    str | None,
    typer.Option("--label-col", help="Outcome column [default: readmitted_30d]."),
]
PositiveOpt = Annotated[
    str | None,
    typer.Option("--positive", help="Outcome value meaning readmitted in 30 days [default: 1]."),
]
PatientOpt = Annotated[
    str | None, typer.Option("--patient-col", help="Patient id column [default: patient_id].")
]
IdOpt = Annotated[
    str | None, typer.Option("--id-col", help="Episode id column [default: episode_id].")
]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML file naming LACE inputs and other roles of columns."),
]
ExcludeOpt = Annotated[
    list[str] | None, typer.Option("--exclude", help="Column not to use as a feature (repeat).")
]
ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model",
        help="Trained model bundle (written by train). A model file is code: loading it can run "
        "anything, so load only your own. It is refused unless its SHA-256 matches the "
        "FILE.sha256 written beside it and no one but you (or root) can write either file.",
    ),
]


def _columns(
    base: EpisodeColumns | None,
    mapping: Path | None,
    label: str | None,
    positive: str | None,
    patient: str | None,
    episode: str | None,
    exclude: list[str] | None,
) -> EpisodeColumns:
    """Defaults (or the bundle's mapping), then the mapping file, then the options."""
    from forecasting.readmission.columns import EpisodeColumns, load_columns

    cols = base or EpisodeColumns()
    if mapping is not None:
        cols = load_columns(mapping, cols)
    cols = cols.with_options(label=label, positive=positive, patient_id=patient, episode_id=episode)
    if exclude:
        cols = cols.with_options(exclude=(*cols.exclude, *exclude))
    return cols


def _load(data: Path, cols: EpisodeColumns, require_label: bool) -> pd.DataFrame:
    from forecasting.readmission.load import load_episodes

    with console.status(f"Reading {data}…"):
        episodes = load_episodes(data, cols, require_label=require_label)
    note = episodes.attrs.get("excluded", 0)
    left = f" ({note:,} discharges to death or hospice left out)" if note else ""
    console.print(f"Read {len(episodes):,} episodes{left}.")
    return episodes


def _show_metrics(evaluation: Evaluation, title: str) -> None:
    from rich.table import Table

    from forecasting.readmission.report import metrics_table

    table = Table(title=title, title_justify="left")
    for name in ("model", "AUROC", "AUPRC", "Brier", "intercept", "slope", "events", "n"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for _, row in metrics_table(evaluation).iterrows():
        table.add_row(
            str(row["model"]),
            f"{row['auroc']:.3f}",
            f"{row['auprc']:.3f}",
            f"{row['brier']:.4f}",
            f"{row['calibration_intercept']:+.3f}",
            f"{row['calibration_slope']:.2f}",
            f"{row['events']:,.0f}",
            f"{row['n']:,.0f}",
        )
    console.print(table)
    console.print("Calibration intercept 0 and slope 1 are ideal (intercept and slope columns).")


@app.command("train")
@cli_command
def train(
    data: DataOpt,
    label_col: LabelOpt = None,
    positive: PositiveOpt = None,
    patient_col: PatientOpt = None,
    id_col: IdOpt = None,
    mapping: MappingOpt = None,
    exclude: ExcludeOpt = None,
    model: Annotated[
        ModelName, typer.Option("--model-type", help="Model to save.")
    ] = ModelName.lightgbm,
    holdout: Annotated[
        float,
        typer.Option("--holdout", min=0.0, max=0.9, help="Share of patients held out to evaluate."),
    ] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Where to save the model.")] = DEFAULT_MODEL,
    report_dir: Annotated[
        Path | None, typer.Option("--report-dir", help="Evaluation files [default: beside --out].")
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="Also fit the other models to compare.")
    ] = True,
    cv: Annotated[
        int,
        typer.Option(
            "--cv", min=0, max=10, help="LightGBM: grouped folds that pick trees and calibration."
        ),
    ] = 4,
    track: Annotated[
        bool, typer.Option("--track/--no-track", help="Log the run to MLflow (see `ui`).")
    ] = True,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML config (MLflow store and names).")
    ] = None,
) -> None:
    """Train a readmission model on labelled episodes and evaluate it on held-out patients.

    The model and report already in place are replaced only once training, the report and the
    MLflow run have all succeeded.
    """
    from forecasting.readmission.bundle import bundle_params, save_bundle
    from forecasting.readmission.report import run_summary, write_report
    from forecasting.readmission.split import patient_split
    from forecasting.readmission.staging import staging
    from forecasting.readmission.train import train_readmission

    cfg = _tracking_config(config) if track else None  # the store is checked before training
    cols = _columns(None, mapping, label_col, positive, patient_col, id_col, exclude)
    episodes = _load(data, cols, require_label=True)
    with console.status("Training…") as status:
        run = train_readmission(
            episodes,
            cols,
            model=model.value,
            holdout=holdout,
            compare=compare,
            seed=seed,
            model_options={"cv": cv} if model is ModelName.lightgbm else None,
            progress=lambda text: status.update(f"{text}…"),
        )
    with staging(out, report_dir or out.parent / "report") as stage:
        save_bundle(run.bundle, stage.model)
        metrics: dict[str, float] = {}
        artifacts: list[Path] = []
        files: dict[str, Path] = {}
        if run.evaluation is not None:
            _show_metrics(run.evaluation, f"Held-out patients ({holdout:.0%}), 30-day readmission")
            files = write_report(run.evaluation, run.bundle, stage.report)
            metrics, plots = run_summary(run.evaluation, files)
            artifacts = [*plots.values(), files["metrics"], files["subgroups"]]
        tracked = None
        held_out = None
        if holdout > 0:  # the same patient-grouped split train_readmission made
            held_out = episodes.loc[patient_split(episodes, holdout, seed)[1]]
        if cfg is not None:
            from forecasting.tracking import log_readmission_run

            with console.status("Logging the run to MLflow…"):
                tracked = log_readmission_run(
                    cfg,
                    params={**bundle_params(run.bundle), "holdout": holdout, "seed": seed},
                    metrics=metrics,
                    artifacts=artifacts,
                    model_file=stage.model,
                    episodes=episodes,
                    run_name=f"readmission {model.value}",
                    held_out=held_out,
                )
        stage.publish()
    console.print(f"Saved the {model.value} model to {out}")
    if files:
        report, plot = stage.final(files["report"]), stage.final(files["calibration_plot"])
        console.print(f"Report: {report} (calibration plot {plot})")
    if tracked is not None:
        console.print(f"MLflow run {tracked.run_id} (browse with: forecasting ui)")
    if cfg is not None and tracked is not None and tracked.model_version is not None:
        name = cfg.mlflow.readmission_model_name
        console.print(
            f"Registered {plain(name)} version {tracked.model_version}, alias {tracked.alias}.",
            soft_wrap=True,
        )
        if tracked.alias == "challenger" and held_out is not None:
            _review(cfg, tracked.model_version, held_out, run.bundle)


def _review(cfg: Config, version: str, held_out: pd.DataFrame, bundle: RiskBundle) -> None:
    """Compare the new challenger with the champion on its held-out patients; say the verdict."""
    from forecasting.tracking.errors import PromotionRefusedError
    from forecasting.tracking.readmission_review import review_new_version

    with console.status("Comparing with the champion on the same held-out patients…"):
        try:
            review = review_new_version(cfg, version, held_out, bundle)
        except PromotionRefusedError as exc:
            note(f"Not compared with the champion: {plain(exc)}")
            return
    if review is None:
        return
    row = review.table.set_index("metric")
    verdict = "passes" if review.passed else "would be refused: " + "; ".join(review.reasons)
    console.print(
        f"Against champion version {review.champion} on the same held-out patients: AUROC "
        f"{row.loc['auroc', 'challenger']:.3f} vs {row.loc['auroc', 'champion']:.3f}, Brier "
        f"{row.loc['brier', 'challenger']:.4f} vs {row.loc['brier', 'champion']:.4f}: "
        f"{plain(verdict)}. Next: forecasting readmission promote",
        soft_wrap=True,
    )


def _tracking_config(config: Path | None) -> Config:
    """The config, once its MLflow store is known to be usable (before any long work)."""
    from forecasting.cli.models import quiet_mlflow
    from forecasting.config import load_config
    from forecasting.tracking.store import check_store, resolve_tracking_uri

    cfg = load_config(config)
    quiet_mlflow()
    check_store(resolve_tracking_uri(cfg), configured=bool(cfg.mlflow.tracking_uri))
    return cfg


@app.command("score")
@cli_command
def score(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="CSV to write (e.g. risk.csv).")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A model bundle file instead of the registry's champion (default: the "
            "champion of the readmission model in MLflow; without one, "
            f"{DEFAULT_MODEL}). A model file is code: it is loaded only if FILE.sha256 "
            "matches and no one but you (or root) can write either file.",
        ),
    ] = None,
    patient_col: PatientOpt = None,
    id_col: IdOpt = None,
    mapping: MappingOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, max=10, help="Reasons per episode.")] = 3,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML config (MLflow store and names).")
    ] = None,
) -> None:
    """Score discharges: episode_id, risk, risk_band, lace, reasons (no other patient data).

    Uses the readmission champion in the MLflow registry (its SHA-256 checked against the
    registry), or --model FILE.
    """
    from forecasting.io import atomic_write_text
    from forecasting.readmission.train import score_episodes

    bundle = _scoring_bundle(model, config)
    cols = _columns(bundle.columns, mapping, None, None, patient_col, id_col, None)
    episodes = _load(data, cols, require_label=False)
    if episodes.empty:
        fail(f"{data}: no episode left to score. Fix: check the file and its discharge column.")
    with console.status(f"Scoring {len(episodes):,} episodes…"):
        scored = score_episodes(bundle, episodes, top=top)
        atomic_write_text(out, scored.to_csv(index=False))
    bands = scored["risk_band"].value_counts()
    shown = ", ".join(f"{bands.get(b, 0):,} {b}" for b in ("high", "medium", "low"))
    console.print(f"Wrote {len(scored):,} risks to {out} ({shown}).")


def _scoring_bundle(model: Path | None, config: Path | None) -> RiskBundle:
    """The bundle to score with: ``model`` if given, else the registry's champion.

    Without a champion (no store, nothing registered) the last trained file
    (:data:`DEFAULT_MODEL`) is used if it exists, with a note saying so.
    """
    import tempfile

    from forecasting.readmission.bundle import load_bundle

    if model is not None:
        return load_bundle(model)
    from forecasting.cli.models import quiet_mlflow
    from forecasting.config import load_config
    from forecasting.tracking.errors import NoChampionError
    from forecasting.tracking.readmission_review import load_readmission_champion

    cfg = load_config(config)
    quiet_mlflow()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bundle, version = load_readmission_champion(cfg, Path(tmp))
    except NoChampionError as exc:
        if not DEFAULT_MODEL.is_file():
            fail(
                f"no readmission model to score with: {exc}. Fix: run `forecasting readmission "
                "train --data FILE` first, or pass --model FILE."
            )
        note(f"No readmission champion in MLflow ({plain(exc)}): scoring with {DEFAULT_MODEL}.")
        return load_bundle(DEFAULT_MODEL)
    name = cfg.mlflow.readmission_model_name
    note(f"Scoring with {plain(name)} version {version} (champion in MLflow).")
    return bundle


@app.command("promote")
@cli_command
def promote(
    version: PromoteVersionOpt = None,
    force: ForcePromoteOpt = False,
    reason: PromoteReasonOpt = None,
    brier_tolerance: Annotated[
        float | None,
        typer.Option(
            "--brier-tolerance",
            min=0.0,
            max=1.0,
            help="How much worse its held-out Brier score may be "
            "[default: config mlflow.readmission_brier_tolerance, 0.002].",
        ),
    ] = None,
    slope_tolerance: Annotated[
        float | None,
        typer.Option(
            "--slope-tolerance",
            min=0.0,
            max=5.0,
            help="How far from 1 its calibration slope may be "
            "[default: config mlflow.readmission_slope_tolerance, 0.2].",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML config (MLflow store and names).")
    ] = None,
) -> None:
    """Make the readmission challenger the champion if it beats it on the same patients.

    `readmission train` compares a new challenger with the champion on its held-out patients
    (AUROC, Brier, calibration slope; review/comparison.md of its run). The challenger must
    have a higher AUROC, a Brier score at most --brier-tolerance worse and a calibration
    slope within 1 ± --slope-tolerance.

    Exit codes: 0 promoted; 3 refused (worse, or no review against the current champion):
    nothing changed; 2 bad input or an unusable store.
    """
    from forecasting.cli.models import quiet_mlflow
    from forecasting.config import load_config

    cfg = load_config(config)
    quiet_mlflow()
    from forecasting.tracking.errors import PromotionRefusedError
    from forecasting.tracking.readmission_review import promote_readmission

    try:
        p = promote_readmission(
            cfg,
            version=version,
            force=force,
            reason=reason,
            brier_tolerance=brier_tolerance,
            slope_tolerance=slope_tolerance,
        )
    except PromotionRefusedError as exc:
        raise exit_with(str(exc), EXIT_PROMOTION_REFUSED) from None
    if p.previous is None:
        detail = "there was no champion"
    elif p.forced:
        detail = f"forced over version {p.previous}: {reason}"
    else:
        detail = (
            f"AUROC {p.challenger_value:.3f} beats {p.champion_value:.3f} of version "
            f"{p.previous} on the same held-out patients"
        )
    console.print(f"{plain(p.name)} version {p.version} is now [bold]champion[/] ({detail}).")


@app.command("evaluate")
@cli_command
def evaluate(
    data: DataOpt,
    model: ModelOpt = DEFAULT_MODEL,
    label_col: LabelOpt = None,
    positive: PositiveOpt = None,
    patient_col: PatientOpt = None,
    id_col: IdOpt = None,
    mapping: MappingOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Evaluation files [default: beside --model].")
    ] = None,
) -> None:
    """Evaluate the trained model (and LACE) on labelled episodes, overall and by subgroup."""
    from forecasting.readmission.bundle import load_bundle
    from forecasting.readmission.report import write_report
    from forecasting.readmission.train import evaluate_bundle

    bundle = load_bundle(model)
    cols = _columns(bundle.columns, mapping, label_col, positive, patient_col, id_col, None)
    episodes = _load(data, cols, require_label=True)
    with console.status("Evaluating…"):
        evaluation = evaluate_bundle(bundle, episodes)
        files = write_report(evaluation, bundle, out_dir or model.parent / "evaluation")
    _show_metrics(evaluation, f"{data.name}: 30-day readmission")
    console.print(f"Report: {files['report']} (calibration plot {files['calibration_plot']})")
