"""Checks made before a model file is unpickled: its hash, its owner and its permissions.

A pickle (joblib, cloudpickle) runs code when it is loaded, so a model file is code. The
package loads one only if its SHA-256 matches a record kept apart from it (the registry's
version tag, a cache's meta file, a ``.sha256`` sidecar) and, for files found in the working
folder, if no one but its owner can write it. Pure standard library: no MLflow import.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from forecasting.errors import UntrustedModelError

HASH_TAG = "forecasting.forecaster_sha256"
SIDECAR_SUFFIX = ".sha256"
PRIVATE_FILE_MODE = 0o600
_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_private_bytes(path: str | Path, data: bytes) -> str:
    """Write ``data`` atomically to a file only its owner can read or write; return its hash.

    The bytes go to a temporary file beside ``path`` (mode ``0o600`` whatever the umask),
    are flushed to disk, then renamed onto ``path``: readers see the old file or the new one.
    """
    from forecasting.io import atomic_path

    with atomic_path(path, mode=PRIVATE_FILE_MODE) as tmp:
        tmp.write_bytes(data)
    return sha256_bytes(data)


def write_private_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) so that only the current user can write it."""
    folder = Path(path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def check_private(path: str | Path, what: str, allow_root: bool = False) -> None:
    """Refuse a file or folder that someone other than its owner could have written.

    A folder writable by all is accepted only with the sticky bit (as ``/tmp``), which stops
    others from replacing its entries. Does nothing where POSIX owners do not exist.

    Args:
        path: The file or folder.
        what: What it is, for the message (e.g. ``"cached champion"``).
        allow_root: Also accept files owned by root (installed by an administrator).

    Raises:
        UntrustedModelError: Missing, owned by another user, or group/world-writable.
    """
    if not hasattr(os, "getuid"):  # pragma: no cover  (Windows: no POSIX owners)
        return
    target = Path(path)
    try:
        info = target.lstat()
    except OSError:
        raise UntrustedModelError(f"{what} {target} is missing; nothing was loaded") from None
    if stat.S_ISLNK(info.st_mode):
        raise UntrustedModelError(
            f"{what} {target} is a symbolic link; nothing was loaded. "
            "Fix: point to the real file, kept where only you can write"
        )
    owners = {os.getuid(), 0} if allow_root else {os.getuid()}
    if info.st_uid not in owners:
        raise UntrustedModelError(
            f"{what} {target} belongs to another user (uid {info.st_uid}); a model file is "
            "code, so it was not loaded. Fix: use a model you wrote, kept where only you can write"
        )
    writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    sticky_dir = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if writable and not sticky_dir:
        raise UntrustedModelError(
            f"{what} {target} can be written by other users (mode {stat.S_IMODE(info.st_mode):o});"
            f" a model file is code, so it was not loaded. Fix: chmod go-w {target} if only you "
            "could have written it, else delete it and train again"
        )


def read_sidecar(model: str | Path) -> str | None:
    """The hash in ``<model>.sha256`` (``sha256sum`` format), or ``None`` if there is none."""
    sidecar = sidecar_path(model)
    if not sidecar.is_file():
        return None
    words = sidecar.read_text(encoding="utf-8", errors="replace").split()
    return words[0].lower() if words else ""


def sidecar_path(model: str | Path) -> Path:
    """``<model>.sha256``: where the hash of a saved model file is kept."""
    target = Path(model)
    return target.with_name(target.name + SIDECAR_SUFFIX)


def sidecar_text(model: str | Path, digest: str) -> str:
    """The sidecar's content for ``digest`` (``sha256sum -c`` can check it)."""
    return f"{digest}  {Path(model).name}\n"


def verify_file(path: str | Path, expected: str | None, what: str, fix: str) -> str:
    """Check a file's SHA-256 against ``expected`` and return it.

    Raises:
        UntrustedModelError: If nothing is expected or the hash differs.
    """
    if not expected:
        raise UntrustedModelError(
            f"{what} {path} has no recorded SHA-256, so it was not loaded (a model file is "
            f"code). Fix: {fix}"
        )
    actual = sha256_file(path)
    if actual != expected.lower():
        raise UntrustedModelError(
            f"{what} {path} does not match its recorded SHA-256 (changed since it was "
            f"written), so it was not loaded. Fix: {fix}"
        )
    return actual
