"""Notebook helpers: compare runs, load a registered model, promote a challenger."""

from __future__ import annotations

from typing import Any

import pandas as pd

from forecasting.config import Config
from forecasting.tracking.registry import CHAMPION, Promotion
from forecasting.tracking.runs import KIND_TAG


def search_runs(
    cfg: Config | None = None, kind: str | None = None, max_results: int = 100
) -> pd.DataFrame:
    """Runs of the configured experiment, newest first, one row each.

    Args:
        cfg: Configuration (store and experiment); embedded defaults if ``None``.
        kind: Only ``train``, ``backtest`` or ``readmission`` runs.
        max_results: At most this many runs.

    Returns:
        MLflow's run table: ``run_id``, ``start_time``, ``metrics.*``, ``params.*``, ``tags.*``.
    """
    import mlflow

    from forecasting.tracking.store import using_store

    cfg = cfg or Config()
    query = f"tags.`{KIND_TAG}` = '{kind}'" if kind else ""
    with using_store(cfg):
        runs = mlflow.search_runs(
            experiment_names=[cfg.mlflow.experiment],
            filter_string=query,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )
    assert isinstance(runs, pd.DataFrame)
    return runs


def load_model(cfg: Config | None = None, alias: str = CHAMPION) -> Any:
    """The registered demand model with ``alias`` as an MLflow pyfunc.

    ``model.predict(demand_frame)`` returns the forecast frame of the next days
    (``params={"horizon": 14}`` for another horizon, up to the model's own).
    """
    import mlflow

    from forecasting.tracking.store import using_store

    cfg = cfg or Config()
    with using_store(cfg):
        return mlflow.pyfunc.load_model(f"models:/{cfg.mlflow.model_name}@{alias}")


def promote(
    cfg: Config | None = None,
    version: str | None = None,
    force: bool = False,
    reason: str | None = None,
    tolerance: float | None = None,
    brier_tolerance: float | None = None,
) -> Promotion:
    """Make the challenger (or ``version``) the demand model's champion if it is better.

    Champion and challenger are compared on the same data and backtest cutoffs (the review
    logged when the challenger was trained, or a new one: the champion re-scored on the
    challenger's data), overall, per horizon and per site, on
    ``cfg.mlflow.promotion_metric`` and the surge Brier score (see
    :func:`forecasting.tracking.comparison.judge`); ``force`` with a ``reason`` overrides
    the result and records the reason as a tag of the version.

    Args:
        cfg: Configuration (store, names, metric, tolerances); embedded defaults if ``None``.
        version: Version to promote (default: the challenger).
        force: Promote whatever the comparison says (needs ``reason``).
        reason: Why a forced promotion is right.
        tolerance: Relative tolerance per horizon and site (default: config).
        brier_tolerance: Absolute surge Brier tolerance (default: config).

    Raises:
        PromotionRefusedError: If the challenger does not beat the champion, is worse beyond
            a tolerance, or cannot be compared on the same footing.
        TrackingError: If there is nothing to promote or ``force`` lacks a reason.
    """
    from forecasting.tracking import registry
    from forecasting.tracking.review import review_version, stored_review
    from forecasting.tracking.sqlite import store_lock
    from forecasting.tracking.store import using_store

    config = cfg or Config()
    with using_store(config) as uri:
        client = registry.client_for(uri)
        name = config.mlflow.model_name

        done: dict[tuple[str, str], Any] = {}

        def judge(champion: Any, challenger: Any) -> Any:
            key = (str(champion.version), str(challenger.version))
            if key not in done:
                done[key] = stored_review(
                    config, client, name, challenger, champion, tolerance, brier_tolerance
                ) or review_version(
                    config,
                    client,
                    uri,
                    name,
                    str(challenger.version),
                    tolerance=tolerance,
                    brier_tolerance=brier_tolerance,
                    champion=champion,
                )
            return done[key]

        # a review may re-score the champion (minutes): do it before taking the store's lock,
        # under which the aliases are read again (a review of another pair is made there)
        _review_first(client, name, version, judge)
        with store_lock(uri):  # one alias move at a time
            return registry.promote(
                client,
                name,
                config.mlflow.promotion_metric,
                version=version,
                force=force,
                reason=reason,
                judge=judge,
            )


def _review_first(client: Any, name: str, version: str | None, judge: Any) -> None:
    """Run ``judge`` on the current (champion, challenger) pair, if both exist; errors wait."""
    from forecasting.tracking.registry import CHALLENGER, version_by_alias

    champion = version_by_alias(client, name, CHAMPION)
    if champion is None:
        return
    try:
        challenger = (
            version_by_alias(client, name, CHALLENGER)
            if version is None
            else client.get_model_version(name, version)
        )
        if challenger is not None and str(challenger.version) != str(champion.version):
            judge(champion, challenger)
    except Exception:  # any failure is met again under the lock and reported from there
        return


def review_verdict(cfg: Config, version: str, name: str | None = None) -> str | None:
    """The verdict of a version's review against the champion (tag ``review.verdict``).

    ``passes``, ``refused: …`` or ``not reviewed: …``; ``None`` if the version was not
    reviewed (it is the first one, or became champion).
    """
    from forecasting.tracking.registry import client_for
    from forecasting.tracking.review import VERDICT_TAG
    from forecasting.tracking.store import using_store

    with using_store(cfg, check=False) as uri:
        tags = client_for(uri).get_model_version(name or cfg.mlflow.model_name, version).tags
    verdict = (tags or {}).get(VERDICT_TAG)
    return None if verdict is None else str(verdict)
