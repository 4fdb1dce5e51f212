"""Load the champion demand model, with a local cache for when the registry is unreachable."""

from __future__ import annotations

import json
import pickle
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from forecasting.config import Config
from forecasting.errors import ForecastingError
from forecasting.io import atomic_path, atomic_write_text
from forecasting.models.base import Forecaster
from forecasting.tracking.errors import NoChampionError, RegistryUnavailableWarning
from forecasting.tracking.pyfunc import FORECASTER_FILE
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

DEFAULT_CACHE = Path(".forecasting") / "champion"


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
    """Load ``models:/<model_name>@champion``, keeping a local copy for bad days.

    The copy (``<cache_dir>/<name>.pkl`` and ``<name>.json``, written atomically) is reused
    while the registry's champion is the same version. If the registry cannot be reached
    within ``timeout`` seconds, the cached copy is used with a
    :class:`RegistryUnavailableWarning`.

    Raises:
        NoChampionError: If the registry has no champion, or is unreachable and no copy is
            cached.
        StoreError: If the configured store is an unusable file store.
    """
    name = cfg.mlflow.model_name
    uri = resolve_tracking_uri(cfg)
    if not is_remote(uri):
        check_store(uri, configured=bool(cfg.mlflow.tracking_uri))
    cache = Path(cache_dir)
    problem = _unavailable(uri, timeout)
    if problem is None:
        try:
            version = version_by_alias(client_for(uri), name, CHAMPION)
            if version is None:
                raise NoChampionError(
                    f"no champion model for '{name}' in {uri}: "
                    "run `forecasting train --data FILE` first"
                )
            meta = {"name": name, "version": str(version.version), "run_id": version.run_id}
            with using_store(cfg, check=False):  # models:/ downloads use MLflow's global URI
                return _from_registry(uri, meta, cache)
        except ForecastingError:
            raise
        except Exception as exc:  # network or server failure: any of them means "unavailable"
            problem = f"registry at {uri} failed: {' '.join(str(exc).split())[:200]}"
    return _from_cache(name, cache, problem, remote=is_remote(uri))


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
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta


def _load(cache: Path, name: str) -> Forecaster:
    with open(cache / f"{name}.pkl", "rb") as handle:
        model: Forecaster = pickle.load(handle)
    return model


def _from_registry(uri: str, meta: dict[str, Any], cache: Path) -> LoadedChampion:
    name = meta["name"]
    cached = _read_meta(cache, name)
    same = cached is not None and all(
        cached.get(k) == v for k, v in {**meta, "tracking_uri": uri}.items()
    )
    if not same or cached is None:
        cached = {**meta, "tracking_uri": uri, "cached_at": _now()}
        _download(uri, name, meta["version"], cache / f"{name}.pkl")
        atomic_write_text(cache / f"{name}.json", json.dumps(cached, indent=2) + "\n")
    return LoadedChampion(
        model=_load(cache, name),
        ref=f"models:/{name}@{CHAMPION}",
        version=meta["version"],
        run_id=meta["run_id"],
        source="registry",
        cached_at=str(cached["cached_at"]),
    )


def _download(uri: str, name: str, version: str, target: Path) -> None:
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
        with atomic_path(target) as tmp_target:
            shutil.copyfile(found[0], tmp_target)


def _from_cache(name: str, cache: Path, problem: str, remote: bool) -> LoadedChampion:
    meta = _read_meta(cache, name)
    if meta is None:
        fix = "start the tracking server, or " if remote else ""
        raise NoChampionError(
            f"no champion model for '{name}': {problem}, and no cached copy in {cache}. "
            f"Fix: {fix}run `forecasting train --data FILE` first"
        )
    warnings.warn(
        f"MLflow registry unavailable ({problem}): using the locally cached champion "
        f"'{name}' version {meta.get('version')} from {meta.get('cached_at')} "
        f"({cache / (name + '.pkl')}); it may be out of date",
        RegistryUnavailableWarning,
        stacklevel=3,
    )
    return LoadedChampion(
        model=_load(cache, name),
        ref=f"models:/{name}@{CHAMPION}",
        version=str(meta.get("version")),
        run_id=meta.get("run_id"),
        source="cache",
        cached_at=str(meta.get("cached_at")),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
