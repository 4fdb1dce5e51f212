"""Atomic file writes: write to a temporary file beside the target, then rename.

The temporary file gets the permissions a plain ``open(path, "w")`` would give (``0o666`` less
the process umask), is flushed to disk, and only then renamed onto the target, so readers see
either the old file or the whole new one. :class:`StagedOutputs` extends this to several files:
all are written first, and renamed only once the whole run has succeeded.

Operating-system errors are re-raised as the same ``OSError`` type naming the *target* path
(not the hidden temporary file), so callers can tell users which file could not be written.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_FILE_MODE = 0o666
_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows.

    Linux exposes it in ``/proc/self/status``; elsewhere it is read by setting and restoring it
    under a lock (``os.umask`` has no read-only form).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode(owner_writes_only: bool = False) -> int:
    """Permissions of a newly created file: ``0o666`` less the umask (``0o644`` under 022).

    Args:
        owner_writes_only: Also drop group and other write bits whatever the umask (for files
            that are code, such as pickled models, which loaders refuse when others can write).
    """
    mode = DEFAULT_FILE_MODE & ~current_umask()
    return mode & ~0o022 if owner_writes_only else mode


def _named(exc: OSError, target: Path, tmp: Path | None = None) -> OSError:
    """The same kind of error, naming ``target`` instead of a temporary file.

    With ``tmp`` given (errors raised by the caller's writer), only errors about ``tmp`` or
    about no file at all (a failed ``write``, e.g. a full disk) are renamed; an error about an
    unrelated file (an input read inside the block) is returned unchanged.
    """
    if tmp is not None and exc.filename is not None and str(exc.filename) != str(tmp):
        return exc
    code = exc.errno if exc.errno is not None else errno.EIO
    strerror = exc.strerror or str(exc)
    if os.path.isdir(target) and code in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
        code, strerror = errno.EISDIR, os.strerror(errno.EISDIR)
    return OSError(code, strerror, str(target))


def check_writable_file(path: str | Path) -> Path:
    """Fail early, before any work, if ``path`` cannot become a file.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        NotADirectoryError: A parent of ``path`` is a file.
        PermissionError: The folder that would hold ``path`` is not writable.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    check_writable_dir(target.parent)
    return target


def check_writable_dir(path: str | Path) -> Path:
    """Fail early if ``path`` cannot be (or become) a folder to write files into.

    Raises:
        NotADirectoryError: ``path`` or one of its parents is a file.
        PermissionError: The folder (or its nearest existing parent) is not writable.
    """
    target = Path(path)
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(existing))
    return target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_temp(target: Path) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _named(exc, target) from exc
    os.close(fd)
    return Path(tmp)


def _finish(tmp: Path, target: Path, mode: int) -> None:
    """Give ``tmp`` its final permissions and flush it to disk (not yet renamed)."""
    try:
        os.chmod(tmp, mode)
        _fsync(tmp)
    except OSError as exc:
        raise _named(exc, target) from exc


def _rename(tmp: Path, target: Path) -> None:
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise _named(exc, target) from exc


def _discard(tmp: Path) -> None:
    with suppress(OSError):
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any error the temporary file is removed and ``path`` is left as it was. The new file
    gets the permissions of ordinary new files (``0o666`` less the umask) unless ``mode`` is
    given (e.g. ``file_mode(owner_writes_only=True)`` for a pickled model).

    Raises:
        OSError: Naming ``path`` when its folder cannot be created or written, the disk is
            full, or ``path`` is a folder.
    """
    target = Path(path)
    tmp = _make_temp(target)
    try:
        try:
            yield tmp
        except OSError as exc:
            raise _named(exc, target, tmp) from exc
        _finish(tmp, target, file_mode() if mode is None else mode)
        _rename(tmp, target)
    finally:
        _discard(tmp)


def write_forecast_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a forecast frame atomically: Parquet for ``.parquet``, else CSV.

    Parquet keeps full precision and dtypes; CSV writes dates as ``YYYY-MM-DD`` and numbers
    with three decimals.
    """
    target = Path(path)
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%d", float_format="%.3f")
    return target


def atomic_write(
    path: str | Path, write: Callable[[IO[str]], None], mode: int | None = None
) -> Path:
    """Write text through ``write(handle)`` atomically and return the target path."""
    with atomic_path(path, mode) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        write(handle)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` atomically (permissions as :func:`atomic_path`)."""

    def write(handle: IO[str]) -> None:
        handle.write(text)

    return atomic_write(path, write, mode)


class StagedOutputs:
    """Several output files written now, renamed into place only on :meth:`commit`.

    Use it as a context manager: files staged inside the block are renamed onto their targets
    when the block ends without error; on any error every staged file is removed and no target
    is touched.

    Example:
        >>> with StagedOutputs() as staged:  # doctest: +SKIP
        ...     staged.write_text("a.json", "{}")
        ...     with staged.path("b.png") as tmp:
        ...         fig.savefig(tmp)
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []
        self._mode = file_mode()

    @contextmanager
    def path(self, path: str | Path, mode: int | None = None) -> Iterator[Path]:
        """Yield a temporary path to write ``path``'s content to (renamed on commit)."""
        target = Path(path)
        tmp = _make_temp(target)
        try:
            yield tmp
        except OSError as exc:
            _discard(tmp)
            raise _named(exc, target, tmp) from exc
        except BaseException:
            _discard(tmp)
            raise
        try:
            _finish(tmp, target, self._mode if mode is None else mode)
        except OSError:
            _discard(tmp)
            raise
        self._staged.append((tmp, target))

    def write_text(self, path: str | Path, text: str) -> Path:
        """Stage ``text`` for ``path``; return the temporary file (readable until commit)."""
        with self.path(path) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="")
        return tmp

    @property
    def targets(self) -> list[Path]:
        """The target paths staged so far."""
        return [target for _, target in self._staged]

    def commit(self) -> list[Path]:
        """Rename every staged file onto its target, in staging order; return the targets."""
        done = []
        while self._staged:
            tmp, target = self._staged[0]
            _rename(tmp, target)
            self._staged.pop(0)
            done.append(target)
        return done

    def discard(self) -> None:
        """Remove every staged file; no target is touched."""
        for tmp, _ in self._staged:
            _discard(tmp)
        self._staged.clear()

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.commit()
            finally:
                self.discard()
        else:
            self.discard()
