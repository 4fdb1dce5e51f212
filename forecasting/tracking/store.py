"""Which MLflow store to use, and checks that it is usable before any work starts.

With no ``mlflow.tracking_uri`` in the config, MLflow chooses: ``MLFLOW_TRACKING_URI`` if set,
else a SQLite database ``mlflow.db`` in the working folder (created on first use). The config's
URI, when set, wins; it is set for the duration of :func:`using_store` and then restored.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from forecasting.config import Config
from forecasting.tracking.errors import StoreError
from forecasting.tracking.sqlite import check_sqlite, store_lock

HEALTH_TIMEOUT = 3.0
_SQLITE = "sqlite:///"


def resolve_tracking_uri(cfg: Config) -> str:
    """The tracking (and registry) URI: the config's, else MLflow's own choice.

    A relative SQLite path in the config is made absolute against the working folder.
    """
    uri = cfg.mlflow.tracking_uri
    if uri:
        path = sqlite_path(uri)
        return _SQLITE + str(path.resolve()) if path is not None else uri.rstrip("/")
    import mlflow

    return str(mlflow.get_tracking_uri())


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or ``None`` for other stores."""
    if not uri.startswith(_SQLITE):
        return None
    return Path(unquote(uri[len(_SQLITE) :]))


def is_remote(uri: str) -> bool:
    """Whether the URI names a tracking server (``http://`` or ``https://``)."""
    return urlparse(uri).scheme in ("http", "https")


def is_file_store(uri: str) -> bool:
    """Whether the URI is an old-style file store (``file:`` or a plain folder path)."""
    scheme = urlparse(uri).scheme
    return scheme == "file" or (scheme == "" and uri != "databricks")


def reachable(uri: str, timeout: float = HEALTH_TIMEOUT) -> bool:
    """Whether the tracking server at ``uri`` answers its health check within ``timeout`` s."""
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


def check_store(uri: str, configured: bool = False, timeout: float = HEALTH_TIMEOUT) -> None:
    """Fail early and clearly if the store cannot be used.

    Args:
        uri: The resolved tracking URI.
        configured: Whether the URI came from the config (changes the advice).
        timeout: Seconds to wait for a tracking server's health check.

    Raises:
        StoreError: For a file store (MLflow 3 keeps it in maintenance mode and refuses new
            runs; a leftover ``./mlruns`` folder silently selects it), a SQLite file that is
            not a whole database, or an unreachable server.
    """
    if is_file_store(uri):
        if configured:
            raise StoreError(
                f"mlflow.tracking_uri '{uri}' is a file store, which MLflow 3 refuses to write. "
                "Fix: use sqlite:///PATH/mlflow.db or http://HOST:PORT"
            )
        raise StoreError(
            f"./mlruns holds an old MLflow file store, so MLflow chose it ({uri}) instead of "
            "./mlflow.db, and it refuses new runs. Fix: migrate it (mlflow migrate-filestore), "
            "move it aside (mv mlruns mlruns.old), or set mlflow.tracking_uri in the config"
        )
    db = sqlite_path(uri)
    if db is not None:
        check_sqlite(db)
    if is_remote(uri) and not reachable(uri, timeout):
        where = "mlflow.tracking_uri" if configured else "MLFLOW_TRACKING_URI"
        raise StoreError(
            f"MLflow tracking server {uri} is unreachable (no answer to /health within "
            f"{timeout:g} s). Fix: start the server, or unset {where} to use ./mlflow.db"
        )


@contextmanager
def using_store(cfg: Config, check: bool = True) -> Iterator[str]:
    """Point MLflow at the configured store for the block; yield the resolved URI.

    Args:
        cfg: The configuration (``mlflow.tracking_uri``).
        check: Run :func:`check_store` first.

    Raises:
        StoreError: If ``check`` and the store is unusable.
    """
    uri = resolve_tracking_uri(cfg)
    configured = bool(cfg.mlflow.tracking_uri)
    if check:
        check_store(uri, configured)
    ensure_store(uri)
    if not configured:
        yield uri
        return
    import mlflow
    from mlflow.environment_variables import MLFLOW_TRACKING_URI
    from mlflow.tracking._tracking_service import utils

    before, env_before = utils._tracking_uri, MLFLOW_TRACKING_URI.get()
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        # set_tracking_uri also writes MLFLOW_TRACKING_URI; put both back as they were
        mlflow.set_tracking_uri(before)  # type: ignore[arg-type]  # None unsets it
        if env_before is not None:
            MLFLOW_TRACKING_URI.set(env_before)


def ensure_store(uri: str) -> None:
    """Create a SQLite store's tables now, one process at a time.

    MLflow creates the tables of a new ``mlflow.db`` on first use; two processes doing it at
    once collide (``table ... already exists``). Under the store's lock the second one finds
    the tables made. Other stores are left to their server.
    """
    db = sqlite_path(uri)
    if db is None:
        return
    with store_lock(uri):
        from forecasting.tracking.registry import client_for

        client = client_for(uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"


def use_experiment(name: str, uri: str) -> str:
    """Make ``name`` the active experiment, creating it if needed; return its id.

    In a SQLite store the experiment's artifacts go to ``mlruns/<name>`` beside the database,
    not to ``./mlruns`` of whatever folder the first run happened to start in.
    """
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        db = sqlite_path(uri)
        location = None if db is None else str(db.parent / "mlruns" / _folder_name(name))
        with store_lock(uri):  # two first runs must not both create it
            experiment = mlflow.get_experiment_by_name(name)
            experiment_id = (
                mlflow.create_experiment(name, artifact_location=location)
                if experiment is None
                else experiment.experiment_id
            )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    from forecasting.tracking.registry import client_for
    from forecasting.tracking.stale import close_stale_runs

    client = client_for(uri)
    close_stale_runs(client, str(experiment_id))
    tags = (experiment.tags if experiment is not None else None) or {}
    if tags.get(EXPERIMENT_KIND_TAG) != MODEL_TRAINING:
        # the UI opens this experiment in its "Model training" view, not the GenAI one
        client.set_experiment_tag(str(experiment_id), EXPERIMENT_KIND_TAG, MODEL_TRAINING)
    return str(experiment_id)


def _folder_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "experiment"
