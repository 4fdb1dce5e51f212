"""The readmission model in the registry: champion bundle, review of a challenger, promotion.

A readmission bundle (``forecasting readmission train``) is registered as its own model
(``cfg.mlflow.readmission_model_name``, by default ``ed-readmission``). A new version becomes
the challenger; it is reviewed at once against the champion *on the same held-out patients*
(the challenger's hold-out, which the CLI has in memory and never logs): AUROC and Brier score
of both bundles on those patients, and the challenger's calibration slope. Only aggregate
metrics are logged (``review/comparison.csv``, ``.md``, ``.png``) and written into the
version's description. ``promote`` applies the rule to that review; it never needs the
patients again, and refuses when the review is missing or was made against another champion.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecasting.config import Config
from forecasting.tracking.errors import NoChampionError, PromotionRefusedError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from forecasting.readmission.bundle import RiskBundle
    from forecasting.tracking.registry import Promotion

METRICS = ("auroc", "brier", "calibration_slope", "calibration_intercept", "auprc")
PRIMARY = "auroc"
REVIEW_DIR = "review"
CHAMPION_TAG = "review.champion_version"
BASIS_TAG = "review.basis"
VERDICT_TAG = "review.verdict"


@dataclass(frozen=True)
class ReadmissionReview:
    """A readmission challenger judged against the champion on the same held-out patients.

    Attributes:
        name: Registered model name.
        champion: The champion's version.
        challenger: The challenger's version.
        basis: Which patients both were scored on, in words (counts only).
        table: One row per metric: ``metric``, ``champion``, ``challenger``, ``change``.
        reasons: Why the challenger must not be promoted (empty: it may be).
        brier_tolerance: How much worse its Brier score may be (absolute).
        slope_tolerance: How far from 1 its calibration slope may be.
    """

    name: str
    champion: str
    challenger: str
    basis: str
    table: pd.DataFrame = field(repr=False)
    reasons: tuple[str, ...]
    brier_tolerance: float
    slope_tolerance: float

    @property
    def passed(self) -> bool:
        """Whether the challenger may be promoted."""
        return not self.reasons

    def value(self, who: str) -> float:
        """AUROC of ``champion`` or ``challenger`` on the shared held-out patients."""
        row = self.table[self.table["metric"] == PRIMARY].iloc[0]
        return float(row[who])

    def summary(self) -> str:
        """Markdown: verdict, basis, rule and the metric table."""
        verdict = (
            "**Passes**: may be promoted."
            if self.passed
            else "**Refused**: " + "; ".join(self.reasons) + "."
        )
        lines = [
            f"Challenger version {self.challenger} against champion version {self.champion}: "
            f"{verdict}",
            "",
            f"Basis: {self.basis}. Rule: AUROC higher; Brier score at most "
            f"{self.brier_tolerance:g} worse; calibration slope within 1 ± "
            f"{self.slope_tolerance:g}.",
            "",
            "| metric | champion | challenger | change |",
            "|---|---|---|---|",
        ]
        for _, row in self.table.iterrows():
            lines.append(
                f"| {row['metric']} | {row['champion']:.4f} | {row['challenger']:.4f} | "
                f"{row['challenger'] - row['champion']:+.4f} |"
            )
        return "\n".join(lines)

    def refusal(self) -> str:
        """One line saying why the promotion is refused."""
        return (
            f"readmission challenger version {self.challenger} of '{self.name}' is not promoted "
            f"over champion version {self.champion} (on {self.basis}): "
            f"{'; '.join(self.reasons)}. Nothing changed. Fix: read review/comparison.md of "
            "its run (forecasting ui), train a better model, or use --force --reason TEXT"
        )


def judge_readmission(
    table: pd.DataFrame, brier_tolerance: float, slope_tolerance: float
) -> list[str]:
    """Why the challenger must not be promoted (empty: it may be).

    The rule: higher AUROC than the champion on the same patients; a Brier score at most
    ``brier_tolerance`` above the champion's; a calibration slope within ``slope_tolerance``
    of 1.
    """
    values = {
        (str(r["metric"]), who): float(r[who])
        for r in table.to_dict(orient="records")
        for who in ("champion", "challenger")
    }
    reasons = []
    new, old = values["auroc", "challenger"], values["auroc", "champion"]
    if not new > old:
        reasons.append(f"AUROC {new:.4f} does not beat the champion's {old:.4f}")
    new_b, old_b = values["brier", "challenger"], values["brier", "champion"]
    if not new_b <= old_b + brier_tolerance:
        reasons.append(
            f"Brier {new_b:.4f} vs {old_b:.4f} (+{new_b - old_b:.4f}, tolerance "
            f"{brier_tolerance:g})"
        )
    slope = values["calibration_slope", "challenger"]
    if not abs(slope - 1.0) <= slope_tolerance:
        reasons.append(f"calibration slope {slope:.2f} is not within 1 ± {slope_tolerance:g}")
    return reasons


def compare_bundles(
    champion: RiskBundle, challenger: RiskBundle, held_out: pd.DataFrame
) -> pd.DataFrame:
    """Both bundles' metrics on the same labelled episodes (one row per metric).

    Raises:
        PromotionRefusedError: If the champion cannot score these episodes (other columns).
    """
    from forecasting.errors import ForecastingError
    from forecasting.readmission.train import evaluate_bundle

    mine = evaluate_bundle(challenger, held_out).metrics[challenger.model.name]
    try:
        theirs = evaluate_bundle(champion, held_out).metrics[champion.model.name]
    except ForecastingError as exc:
        raise PromotionRefusedError(
            "the champion cannot score the challenger's held-out patients "
            f"({' '.join(str(exc).split())[:200]}). Fix: train the challenger on episodes "
            "with the champion's columns, or use --force --reason TEXT"
        ) from None
    rows = [
        {
            "metric": m,
            "champion": float(theirs[m]),
            "challenger": float(mine[m]),
            "change": float(mine[m]) - float(theirs[m]),
        }
        for m in METRICS
    ]
    return pd.DataFrame(rows)


def review_readmission(
    cfg: Config,
    client: MlflowClient,
    uri: str,
    version: str,
    held_out: pd.DataFrame,
    challenger: RiskBundle,
    brier_tolerance: float | None = None,
    slope_tolerance: float | None = None,
) -> ReadmissionReview | None:
    """Review a new readmission version against the champion on its held-out patients.

    Args:
        cfg: Configuration (model name, tolerances).
        client: Client on the registry.
        uri: The store's URI.
        version: The challenger's version.
        held_out: The challenger's held-out episodes (used here, never logged).
        challenger: The challenger's bundle.
        brier_tolerance: Default ``cfg.mlflow.readmission_brier_tolerance``.
        slope_tolerance: Default ``cfg.mlflow.readmission_slope_tolerance``.

    Returns:
        The review (logged into the challenger's run and description), or ``None`` if there
        is no other champion.

    Raises:
        PromotionRefusedError: If the champion cannot score these patients.
    """
    from forecasting.tracking.registry import (
        CHAMPION,
        set_review_description,
        version_by_alias,
    )

    name = cfg.mlflow.readmission_model_name
    champion = version_by_alias(client, name, CHAMPION)
    if champion is None or str(champion.version) == str(version):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        bundle = registered_bundle(client, uri, name, champion, Path(tmp))
        table = compare_bundles(bundle, challenger, held_out)
    brier_tol, slope_tol = _tolerances(cfg, brier_tolerance, slope_tolerance)
    mine = client.get_model_version(name, version)
    basis = _basis(client, champion, mine, held_out)
    review = ReadmissionReview(
        name,
        str(champion.version),
        str(version),
        basis,
        table,
        tuple(judge_readmission(table, brier_tol, slope_tol)),
        brier_tol,
        slope_tol,
    )
    if mine.run_id:
        _log(client, mine.run_id, review)
    set_review_description(client, name, str(version), review.summary())
    for key, value in _tags(review).items():
        client.set_model_version_tag(name, str(version), key, value)
    return review


def promote_readmission(
    cfg: Config,
    version: str | None = None,
    force: bool = False,
    reason: str | None = None,
    brier_tolerance: float | None = None,
    slope_tolerance: float | None = None,
) -> Promotion:
    """Make the readmission challenger (or ``version``) the champion if its review passes.

    Raises:
        PromotionRefusedError: If the review fails, is missing, or was made against another
            champion (a new review needs the held-out patients: retrain the challenger).
        TrackingError: If there is nothing to promote or ``force`` lacks a reason.
    """
    from forecasting.tracking import registry
    from forecasting.tracking.sqlite import store_lock
    from forecasting.tracking.store import using_store

    name = cfg.mlflow.readmission_model_name
    brier_tol, slope_tol = _tolerances(cfg, brier_tolerance, slope_tolerance)
    with using_store(cfg) as uri:
        client = registry.client_for(uri)

        def judge(champion: ModelVersion, challenger: ModelVersion) -> ReadmissionReview:
            return _stored(client, name, champion, challenger, brier_tol, slope_tol)

        with store_lock(uri):
            return registry.promote(
                client, name, PRIMARY, version=version, force=force, reason=reason, judge=judge
            )


def registered_bundle(
    client: MlflowClient, uri: str, name: str, version: ModelVersion, dest: Path
) -> RiskBundle:
    """A registered readmission bundle, loaded only if its SHA-256 is the one recorded.

    Raises:
        NoChampionError: If the version holds no bundle.
        UntrustedModelError: If the file is not what the registry recorded.
    """
    import mlflow

    from forecasting.readmission.bundle import load_bundle
    from forecasting.trust import HASH_TAG, sha256_file, sidecar_path, write_private_dir

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version.version}",
            dst_path=str(write_private_dir(dest / "bundle")),
            tracking_uri=uri,
            registry_uri=uri,
        )
    )
    found = sorted(local.rglob("*.joblib"))
    if not found:
        raise NoChampionError(
            f"'{name}' version {version.version} holds no readmission bundle (*.joblib). "
            "Fix: train one with `forecasting readmission train`"
        )
    expected = (version.tags or {}).get(HASH_TAG)
    digest = sha256_file(found[0])
    if not expected or digest != str(expected).lower() or not sidecar_path(found[0]).is_file():
        from forecasting.errors import UntrustedModelError

        raise UntrustedModelError(
            f"the bundle of '{name}' version {version.version} does not match the SHA-256 the "
            f"registry recorded ({HASH_TAG}), so it was not loaded. Fix: check who can write "
            "the store's artifacts"
        )
    return load_bundle(found[0])


def load_readmission_champion(cfg: Config, dest: Path) -> tuple[RiskBundle, str]:
    """The champion readmission bundle and its version.

    Raises:
        NoChampionError: If the registry has no readmission champion.
        StoreError: If the store is unusable.
    """
    from forecasting.tracking.registry import CHAMPION, client_for, version_by_alias
    from forecasting.tracking.store import (
        check_store,
        is_remote,
        resolve_tracking_uri,
        sqlite_path,
        using_store,
    )

    name = cfg.mlflow.readmission_model_name
    uri = resolve_tracking_uri(cfg)
    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        raise NoChampionError(f"no MLflow store at {db}, so no champion '{name}'")
    if not is_remote(uri):
        check_store(uri, configured=bool(cfg.mlflow.tracking_uri))
    with using_store(cfg, check=False):
        client = client_for(uri)
        version = version_by_alias(client, name, CHAMPION)
        if version is None:
            raise NoChampionError(f"no champion '{name}' in {uri}")
        return registered_bundle(client, uri, name, version, dest), str(version.version)


def _stored(
    client: MlflowClient,
    name: str,
    champion: ModelVersion,
    challenger: ModelVersion,
    brier_tol: float,
    slope_tol: float,
) -> ReadmissionReview:
    from mlflow.exceptions import MlflowException

    from forecasting.tracking.registry import set_review_description

    tags = challenger.tags or {}
    fix = (
        "Fix: train the challenger again with `forecasting readmission train` (it is reviewed "
        "on its held-out patients then), or use --force --reason TEXT"
    )
    if tags.get(CHAMPION_TAG) != str(champion.version) or not challenger.run_id:
        raise PromotionRefusedError(
            f"readmission version {challenger.version} of '{name}' has no review against "
            f"champion version {champion.version} on the same held-out patients. {fix}"
        )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(challenger.run_id, f"{REVIEW_DIR}/comparison.csv", tmp)
            table = pd.read_csv(path)
    except (MlflowException, OSError):
        raise PromotionRefusedError(
            f"the review of readmission version {challenger.version} is missing. {fix}"
        ) from None
    review = ReadmissionReview(
        name,
        str(champion.version),
        str(challenger.version),
        str(tags.get(BASIS_TAG, "the logged review")),
        table,
        tuple(judge_readmission(table, brier_tol, slope_tol)),
        brier_tol,
        slope_tol,
    )
    set_review_description(client, name, str(challenger.version), review.summary())
    client.set_model_version_tag(name, str(challenger.version), VERDICT_TAG, _verdict(review))
    return review


def _basis(
    client: MlflowClient, champion: ModelVersion, mine: ModelVersion, held_out: pd.DataFrame
) -> str:
    n_patients = int(held_out["patient_id"].nunique())
    where = f"the challenger's {n_patients:,} held-out patients ({len(held_out):,} episodes)"
    if not (champion.run_id and mine.run_id):
        return where
    theirs = client.get_run(champion.run_id).data.params
    ours = client.get_run(mine.run_id).data.params
    keys = ("data.sha256", "holdout", "seed")
    if all(theirs.get(k) is not None and theirs.get(k) == ours.get(k) for k in keys):
        return f"{where}, held out from both (same episodes, holdout and seed)"
    return (
        f"{where}; the champion was trained on other episodes or another split, so it may "
        "have seen some of these patients"
    )


def _log(client: MlflowClient, run_id: str, review: ReadmissionReview) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        review.table.to_csv(out / "comparison.csv", index=False, float_format="%.6g")
        (out / "comparison.md").write_text(review.summary() + "\n", encoding="utf-8")
        _chart(review, out / "comparison.png")
        client.log_artifacts(run_id, str(out), REVIEW_DIR)
    for key, value in _tags(review).items():
        client.set_tag(run_id, key, value)


def _chart(review: ReadmissionReview, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig: Any
    fig, ax = plt.subplots(figsize=(7, 3.6))
    table = review.table.set_index("metric").loc[["auroc", "brier", "calibration_slope"]]
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["champion"], 0.4, label=f"champion v{review.champion}")
    ax.bar(x + 0.2, table["challenger"], 0.4, label=f"challenger v{review.challenger}")
    ax.set_xticks(x, ["AUROC (higher better)", "Brier (lower better)", "calibration slope (1)"])
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_title(f"'{review.name}': same held-out patients", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def _tags(review: ReadmissionReview) -> dict[str, str]:
    return {
        CHAMPION_TAG: review.champion,
        BASIS_TAG: review.basis[:5000],
        VERDICT_TAG: _verdict(review),
    }


def _verdict(review: ReadmissionReview) -> str:
    return "passes" if review.passed else f"refused: {'; '.join(review.reasons)}"[:5000]


def _tolerances(cfg: Config, brier: float | None, slope: float | None) -> tuple[float, float]:
    return (
        cfg.mlflow.readmission_brier_tolerance if brier is None else brier,
        cfg.mlflow.readmission_slope_tolerance if slope is None else slope,
    )


def review_new_version(
    cfg: Config, version: str, held_out: pd.DataFrame, bundle: RiskBundle
) -> ReadmissionReview | None:
    """:func:`review_readmission` in the configured store (what ``readmission train`` calls).

    Raises:
        PromotionRefusedError: If the champion cannot score the held-out patients (the reason
            is also written into the version's tags and description).
    """
    from forecasting.tracking.registry import client_for, set_review_description
    from forecasting.tracking.store import using_store

    with using_store(cfg, check=False) as uri:
        client = client_for(uri)
        try:
            return review_readmission(cfg, client, uri, version, held_out, bundle)
        except PromotionRefusedError as exc:
            name = cfg.mlflow.readmission_model_name
            reason = " ".join(str(exc).split())
            client.set_model_version_tag(name, version, VERDICT_TAG, f"not reviewed: {reason}")
            set_review_description(client, name, version, f"Not reviewed: {reason}")
            raise
