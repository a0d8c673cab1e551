"""The store's inter-process write lock: ``flock`` on ``.lock``, safe across ``fork``.

Threads of one process are serialised by the backend's own ``RLock``; this lock
serialises processes. A forked child never uses its parent's descriptor (whose
lock the parent may hold): it opens its own on first use. A read-only store takes
no lock at all (and writes no lock file).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from nbtrack.store._fileio import store_error

_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class StoreLock:
    """A re-entrant (within one thread of one process) exclusive lock on a file.

    Parameters
    ----------
    path : Path
        The lock file, created with the process umask if missing.
    read_only : bool
        A no-op lock for stores this process cannot write.
    """

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._fd: int | None = None
        self._pid = os.getpid()
        self._depth = 0

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (a read-only store's lock never is)."""
        return self._depth > 0 and self._pid == os.getpid()

    def __enter__(self) -> StoreLock:
        if self.read_only:
            return self
        if self._pid != os.getpid():  # forked: the descriptor and any hold are the parent's
            self._forget()
        if self._depth == 0:
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, _FLAGS, 0o666)
                except OSError as exc:
                    raise store_error(exc, self.path, "opening the lock file") from None
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.read_only:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _forget(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # our copy only: the parent's lock stays the parent's
        self._fd, self._depth, self._pid = None, 0, os.getpid()

    def close(self) -> None:
        """Release the descriptor (the lock must not be held)."""
        if self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None
