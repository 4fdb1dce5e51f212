"""The local SQLite store: an integrity check before use, and a lock for changes to it.

A ``mlflow.db`` that is not a whole SQLite database (garbage bytes, a cut-off copy) makes
MLflow fail deep inside SQLAlchemy with hundreds of lines; :func:`check_sqlite` says so in one
line first. :func:`store_lock` serialises what two processes must not do at once on one store
(creating its tables, moving aliases): ``fcntl.flock`` on ``<store>.lock`` beside it. The
kernel drops the lock when its process ends, even when killed, so no stale lock is left
behind (the reason for flock over a lock file with a pid in it; the ``filelock`` package
would do the same through the same call, at the cost of a dependency).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from forecasting.tracking.errors import StoreError

try:  # POSIX only; elsewhere the lock does nothing
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

MAGIC = b"SQLite format 3\x00"
LOCK_TIMEOUT = 300.0
_HEADER = 100
_held: dict[Path, int] = {}
_checked: dict[Path, tuple[int, int]] = {}


def check_sqlite(db: Path) -> None:
    """Refuse a store file that is not a whole SQLite database.

    A missing or empty file is fine (MLflow creates the store).

    Raises:
        StoreError: Naming the file and the fix.
    """
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _broken(db, f"cannot be read ({exc.strerror})") from None
    if size == 0:
        return
    try:
        with open(db, "rb") as handle:
            header = handle.read(_HEADER)
    except OSError as exc:
        raise _broken(db, f"cannot be read ({exc.strerror})") from None
    if not header.startswith(MAGIC) or len(header) < _HEADER:
        raise _broken(db, "is not an SQLite database")
    stamp = (size, db.stat().st_mtime_ns)
    if _checked.get(db) == stamp:  # one command checks its store several times
        return
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_valid = header[92:96] == header[24:28]
    if header_valid and size < page_size * pages:
        raise _broken(db, f"is cut off ({size:,} of {page_size * pages:,} bytes)")
    _quick_check(db)
    _checked[db] = stamp


def _quick_check(db: Path) -> None:
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        ) as conn:
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):  # not damage: someone is writing
            raise StoreError(
                f"the MLflow store {db} stayed locked by another process for 30 s. "
                "Fix: wait for the other run to finish, then run again"
            ) from None
        raise _broken(db, f"is damaged ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise _broken(db, f"is damaged ({exc})") from None
    if rows != [("ok",)]:
        raise _broken(db, f"is damaged ({rows[0][0] if rows else 'no answer'})")


def _broken(db: Path, what: str) -> StoreError:
    what = " ".join(what.split())  # SQLite's reports span lines
    return StoreError(
        f"the MLflow store {db} {what}. Fix: move it aside (mv {db} {db}.broken) to start a "
        "new store, or restore it from a backup"
    )


def lock_path(uri: str) -> Path | None:
    """``<store>.lock`` beside a ``sqlite:///`` store, ``None`` for other stores."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    db = Path(unquote(uri[len(prefix) :]))
    return db.with_name(db.name + ".lock")


@contextlib.contextmanager
def store_lock(uri: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the store's lock for the block (re-entrant within a process).

    Args:
        uri: The tracking URI; only SQLite stores are locked (a server serialises itself).
        timeout: Seconds to wait for another process.

    Raises:
        StoreError: If another process holds the lock for longer than ``timeout``.
    """
    path = lock_path(uri)
    if path is None or fcntl is None or path in _held:
        if path is not None and path in _held:
            _held[path] += 1
            try:
                yield
            finally:
                _held[path] -= 1
        else:
            yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, timeout)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"another forecasting process has held {path} for over {timeout:g} s. "
                    "Fix: wait for it to finish, or stop it"
                ) from None
            time.sleep(0.05)
