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
) -> Promotion:
    """Make the challenger (or ``version``) the demand model's champion if it is better.

    Compares the runs' backtest ``cfg.mlflow.promotion_metric`` (lower is better); ``force``
    with a ``reason`` overrides it and records the reason as a tag of the version.

    Raises:
        PromotionRefusedError: If the challenger does not beat the champion.
        TrackingError: If there is nothing to promote or ``force`` lacks a reason.
    """
    from forecasting.tracking import registry
    from forecasting.tracking.sqlite import store_lock
    from forecasting.tracking.store import using_store

    cfg = cfg or Config()
    with using_store(cfg) as uri, store_lock(uri):  # one alias move at a time
        return registry.promote(
            registry.client_for(uri),
            cfg.mlflow.model_name,
            cfg.mlflow.promotion_metric,
            version=version,
            force=force,
            reason=reason,
        )
