"""Run journals on disk: ``runs/<first two hex digits>/<run_id>.jsonl``.

Grouping keeps a store of a million runs at about 4,000 files per folder. Stores
written before the grouping hold ``runs/<run_id>.jsonl``; :meth:`migrate_journals`
moves those files one ``rename`` at a time (atomic each), and every read looks in
both places, so a migration killed half-way leaves a store that opens and the next
writer finishes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from nbtrack.store import _codec, _fileio

_flushers: dict[int, ThreadPoolExecutor] = {}


def _flusher() -> ThreadPoolExecutor:
    """One background thread per process that flushes journals (a forked child makes its own)."""
    pool = _flushers.get(os.getpid())
    if pool is None:
        _flushers.clear()
        pool = _flushers[os.getpid()] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbtrack-fsync")
    return pool


def _sync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def journal_path(root: Path, run_id: str) -> Path:
    """Where the journal of ``run_id`` lives in a store of this version."""
    return root / "runs" / run_id[:2] / f"{run_id}.jsonl"


class JournalsMixin:
    """Appends, reads and flushes of run journals; mixed into the file backend."""

    root: Path
    read_only: bool
    _fds: dict[str, int]
    _syncing: list[Future[None]]

    def _init_journals(self) -> None:
        self._paths: dict[str, Path] = {}
        self._fds = {}
        self._syncing = []
        self._fd_pid = os.getpid()

    def _after_fork_journals(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)  # the child's copies; the parent keeps its own
        self._fds, self._syncing, self._fd_pid = {}, [], os.getpid()

    def _journal_path(self, run_id: str) -> Path:
        path = self._paths.get(run_id)
        if path is not None:
            return path
        path = journal_path(self.root, run_id)
        if not path.exists():
            old = self.root / "runs" / f"{run_id}.jsonl"
            if old.exists():
                return old
        if len(self._paths) > 4096:
            self._paths.clear()
        self._paths[run_id] = path  # grouped layout: the path never changes again
        return path

    def journal_append(self, run_id: str, payload: bytes) -> int:
        fd = self._fds.get(run_id)
        if fd is None:
            path = self._journal_path(run_id)
            try:
                path.parent.mkdir(exist_ok=True)
                fd = _fileio.open_append(path)
            except OSError as exc:
                raise _fileio.store_error(exc, path, "opening the run journal") from None
            self._fds[run_id] = fd
            if os.fstat(fd).st_size == 0:
                payload = _codec.JOURNAL_HEADER + payload
        _fileio.append(fd, payload, lambda: self.root / "runs" / run_id[:2], False)
        return len(payload)

    def journal_read(self, run_id: str) -> bytes:
        try:
            data = self._journal_path(run_id).read_bytes()
        except FileNotFoundError:
            return b""
        return data[: data.rfind(b"\n") + 1]

    def journal_remove(self, run_id: str) -> None:
        """Delete a run's journal (its document holds everything it said)."""
        fd = self._fds.pop(run_id, None)
        if fd is not None:
            os.close(fd)
        for path in (journal_path(self.root, run_id), self.root / "runs" / f"{run_id}.jsonl"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._paths.pop(run_id, None)

    def journal_size(self, run_id: str) -> int:
        try:
            return os.stat(self._journal_path(run_id)).st_size
        except FileNotFoundError:
            return 0

    def journal_sync(self, run_id: str) -> None:
        """Start flushing a run's journal; the commit that follows waits for it.

        The journal's ``fsync`` runs in a thread while the log's own ``fsync``
        runs here: the file system serves both with one disk flush, where two in
        a row would wait for two.
        """
        fd = self._fds.pop(run_id, None)
        if fd is not None:
            self._syncing.append(_flusher().submit(_sync_close, fd))

    def settle(self) -> None:
        """Wait for journal flushes started by :meth:`journal_sync`; raise the first failure."""
        pending, self._syncing = self._syncing, []
        for future in pending:
            try:
                future.result()
            except OSError as exc:
                raise _fileio.store_error(exc, self.root / "runs", "flushing a run journal") from None

    def journal_mtime(self, run_id: str) -> float | None:
        try:
            return os.stat(self._journal_path(run_id)).st_mtime
        except FileNotFoundError:
            return None

    def migrate_journals(self) -> int:
        """Move journals of the old flat layout into their subfolders; return how many moved."""
        folder = self.root / "runs"
        moved = 0
        try:
            entries = os.scandir(folder)
        except OSError:
            return 0
        with entries:
            for entry in entries:
                name = entry.name
                if not name.endswith(".jsonl") or not entry.is_file(follow_symlinks=False):
                    continue
                target = journal_path(self.root, name[: -len(".jsonl")])
                try:
                    target.parent.mkdir(exist_ok=True)
                    # a moved copy exists (two migrations at once): keep the longer
                    if target.exists() and target.stat().st_size >= entry.stat().st_size:
                        os.unlink(entry.path)
                        continue
                    os.rename(entry.path, target)
                    moved += 1
                except OSError as exc:
                    raise _fileio.store_error(exc, entry.path, "moving the run journal") from None
        return moved

    def remove_tree(self, path: Path) -> None:
        """Delete a folder inside the store."""
        shutil.rmtree(path, ignore_errors=True)
