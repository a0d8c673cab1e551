"""Low-level file writes of the store: whole writes, atomic replaces, OS errors as NbtrackErrors.

``os.write`` may write part of a buffer (a nearly full disk, a signal); every
write here loops until all bytes are written or raises. Temporary files are
created with ``O_EXCL | O_NOFOLLOW`` (a planted symlink is never followed) and
the process umask (``mkstemp`` would make them 0600, and a compacted store
unreadable for the group that shares it).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from nbtrack.errors import NbtrackError, StoreFull, StoreIOError, StoreReadOnly

TMP_PREFIX = ".nbtrack-"
TMP_SUFFIX = ".tmp"
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def store_error(exc: OSError, path: Path | str, action: str) -> NbtrackError:
    """The NbtrackError for an OS error met while ``action`` on ``path``."""
    where = f"{action} {path}"
    if exc.errno in _FULL:
        return StoreFull(
            f"The disk holding the store is full ({exc.strerror}) while {where}. Nothing half-written was kept: "
            "free some space (or move the store with NBTRACK_STORE) and call again; this process goes on "
            "where it stopped."
        )
    if exc.errno in _READ_ONLY:
        return StoreReadOnly(
            f"The store cannot be written ({exc.strerror}) while {where}. It can still be read; to log to it, "
            "make the folder writable (chmod u+w, remount read-write) or point NBTRACK_STORE at a writable folder."
        )
    return StoreIOError(
        f"The disk failed ({exc.strerror}, errno {exc.errno}) while {where}. Nothing half-written was kept; "
        "check the disk (dmesg), then call again, or run `nbtrack doctor` on the store."
    )


class _Partial(OSError):
    """A write failed after ``written`` bytes had gone out."""

    def __init__(self, exc: OSError, written: int) -> None:
        super().__init__(exc.errno, exc.strerror)
        self.written = written


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (looping over short writes)."""
    written = os.write(fd, data)
    if written == len(data):  # the usual case: one call
        return
    view = memoryview(data)[written:]
    try:
        while view:
            count = os.write(fd, view)
            if count <= 0:  # pragma: no cover - the kernel reports an error instead
                raise OSError(errno.EIO, "write returned 0")
            written += count
            view = view[count:]
    except OSError as exc:
        raise _Partial(exc, written) from None


def append(fd: int, data: bytes, path: Path | Callable[[], Path], sync: bool) -> None:
    """Append ``data`` to the open file ``fd``; on failure cut back what was appended, then raise.

    A cut write would otherwise glue the next record to a partial one. ``path`` (or a
    function giving it, so the hot path builds no path) names the file in the error.
    """
    try:
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    except OSError as exc:
        written = exc.written if isinstance(exc, _Partial) else (len(data) if sync else 0)
        if written:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, os.fstat(fd).st_size - written)
        raise store_error(exc, path() if callable(path) else path, "writing") from None


def open_append(path: Path, mode: int = 0o666) -> int:
    """Open ``path`` for appending (created with the umask), never through a symlink."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW | _CLOEXEC, mode)


#: temporary files of a background compaction (kept by :func:`remove_leftovers` while it runs)
BACKGROUND_PREFIX = f"{TMP_PREFIX}bg-"
#: the lock a background compaction holds while it runs
COMPACTION_LOCK = ".compact.lock"


def tmp_path(folder: Path, prefix: str = TMP_PREFIX) -> Path:
    return folder / f"{prefix}{uuid.uuid4().hex}{TMP_SUFFIX}"


def write_new(folder: Path, chunks: Iterable[bytes | memoryview], durable: bool, prefix: str = TMP_PREFIX) -> Path:
    """Write ``chunks`` to a new temporary file in ``folder`` (fsynced if ``durable``); its path."""
    tmp = tmp_path(folder, prefix)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
        try:
            for chunk in chunks:
                write_all(fd, chunk)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:  # a failed write, or the chunks' producer raising: leave no half file
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def replace_with(path: Path, chunks: Iterable[bytes | memoryview], durable: bool = True) -> None:
    """Write ``chunks`` to a new file, then rename it over ``path`` (readers see old or new, never half)."""
    try:
        tmp = write_new(path.parent, chunks, durable)
        try:
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise store_error(exc, path, "writing") from None
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (new names, renames) durable; best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_leftovers(folder: Path, background: bool = False) -> list[Path]:
    """Delete temporary files left by interrupted writes (``.nbtrack-*.tmp``); return what was removed.

    A background compaction's files are kept while one runs, unless ``background``
    (the caller holds the compaction lock itself).
    """
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    compacting = not background and any(n.startswith(BACKGROUND_PREFIX) for n in names) and compaction_running(folder)
    for name in names:
        if compacting and name.startswith(BACKGROUND_PREFIX):
            continue  # a background compaction's files, in use
        if (name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)) or name.startswith(".wal-"):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed


def compaction_running(folder: Path) -> bool:
    """Whether a background compaction holds the store's compaction lock."""
    try:
        fd = os.open(folder / COMPACTION_LOCK, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def writable(folder: Path) -> bool:
    """Whether this process may create files in ``folder``."""
    return os.access(folder, os.W_OK | os.X_OK)
