"""Load the champion demand model, with a local cache for when the registry is unreachable.

A pickled model runs code when it is loaded, so no copy is unpickled unchecked. The registry
records the SHA-256 of each version's pickled forecaster (tag :data:`HASH_TAG`). With the
registry reachable, the cached copy is used only if its hash is the registry's; otherwise it
is downloaded again, and the download is checked against the same hash. With the registry
down, the cache is used only if its hash matches the one in its meta file and neither file
(nor their folder) can be written by anyone but the current user.

The morning run is fast: with a local SQLite store whose champion is the cached version, the
alias, version and recorded hash are read with one read-only SQLite query and the cached copy
is loaded without importing MLflow (about 2 s of imports and client set-up saved). Anything
else (a tracking server, a new champion, a store the query does not understand) goes through
the MLflow client as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import posixpath
import sqlite3
import sys
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.request import pathname2url

from forecasting.config import Config
from forecasting.errors import ForecastingError
from forecasting.models.base import Forecaster
from forecasting.tracking.errors import (
    NoChampionError,
    RegistryUnavailableWarning,
    UntrustedModelError,
)
from forecasting.tracking.registry import CHAMPION, client_for, version_by_alias
from forecasting.tracking.store import (
    HEALTH_TIMEOUT,
    check_store,
    is_remote,
    reachable,
    resolve_tracking_uri,
    sqlite_path,
    using_store,
)
from forecasting.trust import (
    HASH_TAG,
    check_private,
    sha256_bytes,
    write_private_bytes,
    write_private_dir,
)

DEFAULT_CACHE = Path(".forecasting") / "champion"
FORECASTER_FILE = "forecaster.pkl"
"""The pickled forecaster in a logged model (``forecasting.tracking.pyfunc.FORECASTER_FILE``,
repeated here so that loading the champion does not import ``mlflow.pyfunc``)."""
MLFLOW_DEFAULT_DB = "mlflow.db"
"""MLflow's own default store (in the working folder) when no URI is set and ``./mlruns``
holds no file store."""


@dataclass(frozen=True)
class LoadedChampion:
    """The champion model and where it came from.

    Attributes:
        model: The fitted forecaster.
        ref: Registry reference, e.g. ``models:/ed-demand@champion``.
        version: Registered version number.
        run_id: The MLflow run that trained it.
        source: ``"registry"`` (checked against the registry now) or ``"cache"`` (registry
            unreachable: the last locally cached champion).
        cached_at: When the cached copy was written (ISO time).
    """

    model: Forecaster
    ref: str
    version: str
    run_id: str | None
    source: Literal["registry", "cache"]
    cached_at: str


def load_champion(
    cfg: Config, cache_dir: str | Path = DEFAULT_CACHE, timeout: float = HEALTH_TIMEOUT
) -> LoadedChampion:
    """Load ``models:/<model_name>@champion``, keeping a checked local copy for bad days.

    The copy (``<cache_dir>/<name>.pkl`` and ``<name>.json``, written atomically, readable by
    the current user only) is reused while the registry's champion is the same version and
    its SHA-256 is the one the registry recorded. If the registry cannot be reached within
    ``timeout`` seconds, the copy is used with a :class:`RegistryUnavailableWarning`, after
    the checks described in the module docstring.

    Raises:
        NoChampionError: If the registry has no champion, or is unreachable and no copy is
            cached, or the copy is not a model.
        UntrustedModelError: If a copy fails its hash or ownership checks (nothing is loaded).
        StoreError: If the configured store is unusable (file store, damaged SQLite file).
    """
    name = cfg.mlflow.model_name
    uri = tracking_uri(cfg)
    if not is_remote(uri):
        check_store(uri, configured=bool(cfg.mlflow.tracking_uri))
    cache = Path(cache_dir)
    problem = _unavailable(uri, timeout)
    if problem is None:
        quick = _cached_champion(uri, name, cache)
        if quick is not None:
            return quick
        try:
            client = client_for(uri)
            version = version_by_alias(client, name, CHAMPION)
            if version is None:
                raise NoChampionError(
                    f"no champion model for '{name}' in {uri}: "
                    "run `forecasting train --data FILE` first"
                )
            meta = {"name": name, "version": str(version.version), "run_id": version.run_id}
            expected = _recorded_hash(client, version)
            with using_store(cfg, check=False):  # models:/ downloads use MLflow's global URI
                return _from_registry(uri, meta, expected, cache)
        except ForecastingError:
            raise
        except Exception as exc:  # network or server failure: any of them means "unavailable"
            problem = f"registry at {uri} failed: {' '.join(str(exc).split())[:200]}"
    return _from_cache(name, cache, problem, remote=is_remote(uri))


def tracking_uri(cfg: Config) -> str:
    """The store :func:`~forecasting.tracking.store.resolve_tracking_uri` names, cheaply.

    The same string, without importing MLflow when it is not loaded yet: the config's URI,
    else ``MLFLOW_TRACKING_URI``, else MLflow's default, ``mlflow.db`` in the working folder
    (as MLflow spells it: ``sqlite:///`` and the absolute path, URL-quoted). A ``./mlruns``
    folder with an old file store in it (where MLflow chooses differently) is left to MLflow.
    """
    if cfg.mlflow.tracking_uri or "mlflow" in sys.modules:
        return resolve_tracking_uri(cfg)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    if _has_file_store(Path("mlruns")):
        return resolve_tracking_uri(cfg)
    return "sqlite:///" + posixpath.abspath(pathname2url(os.path.abspath(MLFLOW_DEFAULT_DB)))


def _has_file_store(folder: Path) -> bool:
    """Whether ``folder`` holds experiments of an MLflow file store (``<digits>/meta.yaml``)."""
    try:
        with os.scandir(folder) as entries:
            return any(
                e.is_dir() and e.name.isdigit() and os.path.lexists(Path(e.path) / "meta.yaml")
                for e in entries
            )
    except OSError:
        return False


def registry_record(db: Path, name: str) -> dict[str, str | None] | None:
    """The champion's version, run and recorded hash, read from a local SQLite store.

    One read-only query, no MLflow import. ``None`` whenever the answer is not certain (no
    champion, several workspaces, a schema this query does not know, a locked or damaged
    file): the caller then asks MLflow.

    Returns:
        ``{"version", "run_id", "sha256"}`` (``sha256`` from the version's tag, else the
        run's; ``None`` if neither has one).
    """
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            rows = conn.execute(
                "SELECT v.version, v.run_id FROM registered_model_aliases a "
                "JOIN model_versions v ON v.name = a.name AND v.version = a.version "
                "WHERE a.name = ? AND a.alias = ?",
                (name, CHAMPION),
            ).fetchall()
            if len(rows) != 1:
                return None
            version, run_id = rows[0]
            tag = conn.execute(
                "SELECT value FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
                (name, version, HASH_TAG),
            ).fetchall()
            if not tag and run_id:
                tag = conn.execute(
                    "SELECT value FROM tags WHERE run_uuid = ? AND key = ?", (run_id, HASH_TAG)
                ).fetchall()
    except sqlite3.Error:
        return None
    if len(tag) > 1:
        return None
    digest = str(tag[0][0]).lower() if tag and tag[0][0] else None
    return {"version": str(version), "run_id": run_id, "sha256": digest}


def _cached_champion(uri: str, name: str, cache: Path) -> LoadedChampion | None:
    """The cached copy, if a local store's champion is that version with that hash; else None.

    The same checks as a registry load that finds its cache current (version, run, store and
    the SHA-256 the registry recorded), with the registry read by :func:`registry_record`.
    """
    db = sqlite_path(uri)
    if db is None:
        return None
    record = registry_record(db, name)
    if record is None or record["sha256"] is None:
        return None
    cached = _read_meta(cache, name)
    meta = {"name": name, "version": record["version"], "run_id": record["run_id"]}
    if cached is None or any(cached.get(k) != v for k, v in {**meta, "tracking_uri": uri}.items()):
        return None
    model_path = cache / f"{name}.pkl"
    try:
        data = model_path.read_bytes()
    except OSError:
        return None
    if sha256_bytes(data) != record["sha256"]:
        return None
    return LoadedChampion(
        model=_unpickle(data, model_path),
        ref=f"models:/{name}@{CHAMPION}",
        version=str(record["version"]),
        run_id=record["run_id"],
        source="registry",
        cached_at=str(cached.get("cached_at")),
    )


def _recorded_hash(client: Any, version: Any) -> str | None:
    """The forecaster's SHA-256 as the registry recorded it: version tag, else run tag."""
    digest = (version.tags or {}).get(HASH_TAG)
    if not digest and version.run_id:
        digest = client.get_run(version.run_id).data.tags.get(HASH_TAG)
    return str(digest).lower() if digest else None


def _unavailable(uri: str, timeout: float) -> str | None:
    if is_remote(uri) and not reachable(uri, timeout):
        return f"tracking server {uri} did not answer within {timeout:g} s"
    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        return f"no MLflow store at {db}"
    return None


def _read_meta(cache: Path, name: str) -> dict[str, Any] | None:
    meta_path, model_path = cache / f"{name}.json", cache / f"{name}.pkl"
    if not (meta_path.is_file() and model_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _unpickle(data: bytes, path: Path) -> Forecaster:
    """The forecaster in ``data`` (already checked: hash and, for the cache, owner)."""
    fix = "Fix: delete it and run `forecasting daily` with the registry reachable"
    try:
        model = pickle.loads(data)
    except Exception as exc:  # unpickling raises many types; any of them means unusable
        raise NoChampionError(
            f"cached champion {path} is not a readable model ({type(exc).__name__}). {fix}"
        ) from None
    if not isinstance(model, Forecaster):
        raise NoChampionError(f"cached champion {path} is not a forecasting model. {fix}")
    return model


def _from_registry(
    uri: str, meta: dict[str, Any], expected: str | None, cache: Path
) -> LoadedChampion:
    name = meta["name"]
    model_path = cache / f"{name}.pkl"
    cached = _read_meta(cache, name)
    same = cached is not None and all(
        cached.get(k) == v for k, v in {**meta, "tracking_uri": uri}.items()
    )
    data = model_path.read_bytes() if same else None
    # a version logged before hashes were kept cannot be checked: downloaded every time
    if cached is None or data is None or expected is None or sha256_bytes(data) != expected:
        write_private_dir(cache)
        data = _download(uri, name, meta["version"], expected)
        digest = write_private_bytes(model_path, data)
        cached = {**meta, "tracking_uri": uri, "sha256": digest, "cached_at": _now()}
        write_private_bytes(cache / f"{name}.json", (json.dumps(cached, indent=2) + "\n").encode())
    return LoadedChampion(
        model=_unpickle(data, model_path),
        ref=f"models:/{name}@{CHAMPION}",
        version=meta["version"],
        run_id=meta["run_id"],
        source="registry",
        cached_at=str(cached["cached_at"]),
    )


def _download(uri: str, name: str, version: str, expected: str | None) -> bytes:
    """The bytes of the version's pickled forecaster, if their hash is ``expected``.

    Raises:
        NoChampionError: If the version holds no forecaster.
        UntrustedModelError: If the downloaded file is not what the registry recorded.
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}",
            dst_path=tmp,
            tracking_uri=uri,
            registry_uri=uri,
        )
        found = sorted(Path(local).rglob(FORECASTER_FILE))
        if not found:
            raise NoChampionError(
                f"champion '{name}' version {version} is not a forecasting demand model "
                f"(no {FORECASTER_FILE}). Fix: promote a model logged by `forecasting train`"
            )
        data = found[0].read_bytes()
    if expected is not None and sha256_bytes(data) != expected:
        raise UntrustedModelError(
            f"the {FORECASTER_FILE} of '{name}' version {version} in {uri} does not match "
            f"the SHA-256 the registry recorded ({HASH_TAG}): its artifact was changed "
            "after it was logged, so it was not loaded. Fix: check who can write the "
            "MLflow store's artifacts; promote a model you trust"
        )
    return data


def _from_cache(name: str, cache: Path, problem: str, remote: bool) -> LoadedChampion:
    meta = _read_meta(cache, name)
    if meta is None:
        fix = "start the tracking server, or " if remote else ""
        raise NoChampionError(
            f"no champion model for '{name}': {problem}, and no cached copy in {cache}. "
            f"Fix: {fix}run `forecasting train --data FILE` first"
        )
    model_path, meta_path = cache / f"{name}.pkl", cache / f"{name}.json"
    what = f"with the registry unavailable ({problem}), the cached champion"
    for path in (cache, meta_path, model_path):
        check_private(path, what)
    data = model_path.read_bytes()
    recorded = meta.get("sha256")
    if not recorded or sha256_bytes(data) != str(recorded).lower():
        raise UntrustedModelError(
            f"{what} {model_path} does not match the SHA-256 in {meta_path}, so it was not "
            "loaded. Fix: run `forecasting daily` with the registry reachable to fetch the "
            "champion again"
        )
    model = _unpickle(data, model_path)
    warnings.warn(
        f"MLflow registry unavailable ({problem}): using the locally cached champion "
        f"'{name}' version {meta.get('version')} from {meta.get('cached_at')} "
        f"({model_path}); it may be out of date",
        RegistryUnavailableWarning,
        stacklevel=3,
    )
    return LoadedChampion(
        model=model,
        ref=f"models:/{name}@{CHAMPION}",
        version=str(meta.get("version")),
        run_id=meta.get("run_id"),
        source="cache",
        cached_at=str(meta.get("cached_at")),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
