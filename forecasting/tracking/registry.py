"""Model registry: ``champion`` / ``challenger`` aliases and promotion on a backtest metric."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from forecasting.tracking.errors import PromotionRefusedError, TrackingError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from forecasting.tracking.protocol import BacktestProtocol


class Reviewed(Protocol):
    """What a judge returns: a review of a challenger against the champion."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the challenger must not be promoted (empty: it may be)."""
        ...

    @property
    def basis(self) -> str:
        """How both were put on the same footing, in words."""
        ...

    def value(self, who: str) -> float:
        """The compared metric of ``champion`` or ``challenger``."""
        ...

    def refusal(self) -> str:
        """One line saying why the promotion is refused."""
        ...


Judge = Callable[["ModelVersion", "ModelVersion"], "Reviewed | None"]
"""Compares ``(champion, challenger)`` on the same footing (:mod:`forecasting.tracking.review`)."""

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Promotion:
    """What ``promote`` did.

    Attributes:
        name: Registered model name.
        version: The new champion's version.
        previous: The former champion's version, or ``None`` if there was none.
        metric: Promotion metric (lower is better).
        challenger_value: The new champion's backtest value of ``metric``.
        champion_value: The former champion's value, or ``None``.
        forced: Whether ``force`` overrode the comparison.
        basis: How champion and challenger were put on the same footing (``None``: run
            metrics compared as logged, or no champion).
    """

    name: str
    version: str
    previous: str | None
    metric: str
    challenger_value: float | None
    champion_value: float | None
    forced: bool
    basis: str | None = None


def client_for(uri: str) -> MlflowClient:
    """An MLflow client whose tracking and registry both use ``uri``."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version with ``alias`` under ``name``, or ``None`` (also if the name is unknown)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def assign_alias(client: MlflowClient, name: str, version: str, uri: str = "") -> str | None:
    """Give a new version its alias: ``champion`` if there is none yet, else ``challenger``.

    Under the store's lock (see :func:`~forecasting.tracking.sqlite.store_lock`), so that two
    runs finishing at once do not both become champion. Returns the alias the version holds
    when read back, which a later run may already have taken (``None`` then).
    """
    from forecasting.tracking.sqlite import store_lock

    with store_lock(uri):
        alias = CHALLENGER if version_by_alias(client, name, CHAMPION) else CHAMPION
        client.set_registered_model_alias(name, alias, version)
    return alias_of(client, name, version)


def alias_of(client: MlflowClient, name: str, version: str) -> str | None:
    """The alias ``version`` holds now (``champion`` first), or ``None``."""
    aliases = set(client.get_model_version(name, version).aliases or ())
    for alias in (CHAMPION, CHALLENGER):
        if alias in aliases:
            return alias
    return next(iter(sorted(aliases)), None)


TRAIN_KEY_TAG = "forecasting.train_key"
VERSION_METRICS = ("pinball", "MAE", "MASE", "cov90", "brier")
MAX_SITES_SHOWN = 20
REVIEW_HEADING = "## Review against the champion"


def find_same_version(client: MlflowClient, name: str, key: str) -> ModelVersion | None:
    """The newest version of ``name`` whose training key tag is ``key``, or ``None``."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name = '{name}'", max_results=10000)
    except MlflowException:
        return None
    same = [v for v in versions if (v.tags or {}).get(TRAIN_KEY_TAG) == key]
    return max(same, key=lambda v: int(v.version), default=None)


def describe_version(
    client: MlflowClient,
    name: str,
    version: str,
    model: str,
    fingerprint: Mapping[str, Any],
    protocol: BacktestProtocol,
    metrics: Mapping[str, float],
    key: str,
    site_ids: Sequence[object],
) -> None:
    """Tag a demand model version (data range, sites, backtest protocol, metrics) and describe it.

    Only aggregates: the data's first and last day, site count and ids (sites are hospitals,
    not patients), its hash, the backtest settings and overall metrics.
    """
    site_ids = sorted(str(s) for s in site_ids)
    sites = ", ".join(site_ids[:MAX_SITES_SHOWN]) + (
        " …" if len(site_ids) > MAX_SITES_SHOWN else ""
    )
    tags = {
        TRAIN_KEY_TAG: key,
        "model": model,
        "data.start": str(fingerprint.get("start", "")),
        "data.end": str(fingerprint.get("end", "")),
        "data.sites": str(fingerprint.get("n_sites", "")),
        "data.site_ids": sites[:5000],
        "data.sha256": str(fingerprint.get("sha256", "")),
        "backtest.protocol": protocol.describe(),
        "backtest.cutoffs": protocol.cutoffs_text,
    }
    shown = {m: metrics[m] for m in VERSION_METRICS if m in metrics}
    tags.update({f"metric.{m}": f"{v:.4g}" for m, v in shown.items()})
    for tag, value in tags.items():
        client.set_model_version_tag(name, version, tag, value)
    lines = [
        f"**{model}** trained on {fingerprint.get('n_sites', '?')} sites, "
        f"{fingerprint.get('start', '?')} to {fingerprint.get('end', '?')} "
        f"({fingerprint.get('n_rows', '?')} rows, "
        f"data sha256 {str(fingerprint.get('sha256'))[:12]}).",
        "",
        f"Backtest: {protocol.describe()}.",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {m} | {v:.4g} |" for m, v in shown.items()],
    ]
    client.update_model_version(name, version, description="\n".join(lines))


def set_review_description(client: MlflowClient, name: str, version: str, summary: str) -> None:
    """Put ``summary`` under :data:`REVIEW_HEADING` in the version's description (replacing it)."""
    current = client.get_model_version(name, version).description or ""
    base = current.split(REVIEW_HEADING)[0].rstrip()
    text = f"{base}\n\n{REVIEW_HEADING}\n\n{summary}".strip()
    client.update_model_version(name, version, description=text)


def run_metric(client: MlflowClient, version: ModelVersion, metric: str) -> float | None:
    """The backtest ``metric`` of the run that produced ``version`` (``None`` if absent)."""
    if not version.run_id:
        return None
    value = client.get_run(version.run_id).data.metrics.get(metric)
    return None if value is None else float(value)


def promote(
    client: MlflowClient,
    name: str,
    metric: str,
    version: str | None = None,
    force: bool = False,
    reason: str | None = None,
    judge: Judge | None = None,
) -> Promotion:
    """Make a version the champion if its backtest beats the champion's on ``metric``.

    With ``judge``, the two are compared on the same data and cutoffs, per horizon and per
    site (the judge's rule); without it, the runs' own ``metric`` values are compared.

    Args:
        client: Client on the registry.
        name: Registered model name.
        metric: Run metric to compare (lower is better, e.g. ``pinball``).
        version: Version to promote (default: the ``challenger``).
        force: Promote even if it does not beat the champion (needs ``reason``).
        reason: Why a forced promotion is right; recorded as a tag of the version.
        judge: Reviews ``(champion, challenger)``; raises ``PromotionRefusedError`` when
            they cannot be compared (ignored with ``force``).

    Raises:
        TrackingError: If there is nothing to promote, or ``force`` comes without a reason.
        PromotionRefusedError: If the challenger does not beat the champion.
    """
    if force and not (reason and reason.strip()):
        raise TrackingError("--force needs a reason. Fix: add --reason TEXT (kept as a tag)")
    if version is None:
        challenger = version_by_alias(client, name, CHALLENGER)
        if challenger is None:
            raise TrackingError(
                f"no challenger for '{name}' to promote. "
                "Fix: run `forecasting train --data FILE` first, or pass --version"
            )
    else:
        challenger = _version(client, name, version)
    champion = version_by_alias(client, name, CHAMPION)
    if champion is not None and str(champion.version) == str(challenger.version):
        raise TrackingError(f"version {challenger.version} of '{name}' is already the champion")
    new = run_metric(client, challenger, metric)
    old = None if champion is None else run_metric(client, champion, metric)
    basis = None
    if champion is not None and judge is not None:
        try:
            review = judge(champion, challenger)
        except PromotionRefusedError:
            if not force:
                raise
            review = None
        if review is not None:
            new, old, basis = review.value("challenger"), review.value("champion"), review.basis
            if review.reasons and not force:
                raise PromotionRefusedError(review.refusal())
    elif champion is not None and not force:
        if new is None or old is None:
            missing = challenger.version if new is None else champion.version
            raise PromotionRefusedError(
                f"version {missing} of '{name}' has no backtest metric '{metric}' to compare. "
                "Fix: retrain it with `forecasting train`, or use --force --reason TEXT"
            )
        if not new < old:
            raise PromotionRefusedError(
                f"challenger version {challenger.version} of '{name}' ({metric} {new:.4g}) does "
                f"not beat champion version {champion.version} ({metric} {old:.4g}); nothing "
                "changed. Fix: train a better model, or use --force --reason TEXT"
            )
    _promote(client, name, str(challenger.version), champion, metric, force, reason)
    return Promotion(
        name=name,
        version=str(challenger.version),
        previous=None if champion is None else str(champion.version),
        metric=metric,
        challenger_value=new,
        champion_value=old,
        forced=force,
        basis=basis,
    )


def _version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, version)
    except MlflowException:
        raise TrackingError(
            f"'{name}' has no version {version}. Fix: see the versions with `forecasting ui`"
        ) from None


def _promote(
    client: MlflowClient,
    name: str,
    version: str,
    champion: ModelVersion | None,
    metric: str,
    force: bool,
    reason: str | None,
) -> None:
    client.set_registered_model_alias(name, CHAMPION, version)
    challenger = version_by_alias(client, name, CHALLENGER)
    if challenger is not None and str(challenger.version) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    tags = {
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promotion": "forced" if force else f"beat champion on {metric}",
        "previous_champion": "none" if champion is None else str(champion.version),
    }
    if force:
        tags["promotion_reason"] = str(reason).strip()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
