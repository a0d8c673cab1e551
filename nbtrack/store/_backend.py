"""Where a store's tables live: a durable directory, or memory.

The file backend keeps a TinyDB-format snapshot (``nbtrack.json``, written with
orjson and replaced atomically) plus a write-ahead log (``wal.jsonl``) of whole
document puts and deletes. A write appends a few lines and fsyncs (a run's
start skips the fsync: it needs only to survive a killed process, and the run's
end flushes it); the snapshot is rewritten only when the log grows past a share
of it, so per-run cost does not grow with the number of runs. Readers reload
only when a file's stat changes, and only the log's new tail. Every write
happens under one file lock. When a run ends, its journal is flushed by a
background thread while the log is flushed here, so the disk serves both at once.

A ``kill -9`` at any moment leaves either the old or the new snapshot (atomic
``os.replace``) and, at worst, a partial last log line, which readers ignore and
the next writer cuts off. Log entries are idempotent and numbered, so a crash
between snapshot and log reset replays nothing twice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock
from tinydb.storages import MemoryStorage, Storage

from nbtrack.errors import StoreCorrupted
from nbtrack.store._snapshot import (
    BACKUP,
    SNAPSHOT,
    TABLES,
    WAL,
    Op,
    OrjsonStorage,
    Tables,
    empty_tables,
    from_tinydb,
    fsync_dir,
    paused_gc,
    stat_key,
    to_tinydb,
)

__all__ = ["BACKUP", "SNAPSHOT", "TABLES", "WAL", "Backend", "FileBackend", "Op", "Tables", "paused_gc"]

_MIN_COMPACT_BYTES = 4 << 20
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


class Backend:
    """Tables plus a lock; the memory variant, and the base of :class:`FileBackend`."""

    durable = False

    def __init__(self) -> None:
        self.tables: Tables = empty_tables()
        self.seq = 0
        self._lock = threading.RLock()
        self._storage: Storage = MemoryStorage()  # type: ignore[no-untyped-call]
        self.journals: dict[str, list[bytes]] = {}

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the write lock (re-entrant within a process)."""
        with self._lock:
            yield

    def read(self) -> Tables:
        """Return the current tables; callers must not mutate them."""
        return self.tables

    def refresh(self) -> None:
        """Bring the tables up to date; call with the lock held."""

    def commit(self, ops: list[Op], durable: bool = True) -> None:
        """Apply and persist ``ops``; call with the lock held.

        ``durable=False`` skips the ``fsync``: the change survives the process
        being killed but maybe not a power cut (the next durable commit syncs it).
        """
        self._apply(ops)

    def compact(self) -> None:
        """Fold pending changes into a snapshot (nothing to do in memory)."""

    def _apply(self, ops: list[Op]) -> None:
        # Copy on write: a reader iterating a table (another thread, no lock) keeps a
        # consistent dict; copying even 10k entries costs a fraction of the fsync.
        copies: Tables = {}
        for table, key, kind, doc in ops:
            rows = copies.get(table)
            if rows is None:
                rows = copies[table] = dict(self.tables.get(table, {}))
            self.seq += 1
            if kind == "put":
                assert doc is not None
                doc["_seq"] = self.seq
                rows[key] = doc
            else:
                rows.pop(key, None)
        self.tables = {**self.tables, **copies}

    # -- per-run journals -------------------------------------------------
    def journal_append(self, run_id: str, payload: bytes) -> None:
        """Append encoded journal lines of a run."""
        self.journals.setdefault(run_id, []).append(payload)

    def journal_read(self, run_id: str) -> bytes:
        """Return a run's whole journal."""
        return b"".join(self.journals.get(run_id, []))

    def journal_size(self, run_id: str) -> int:
        """Return the journal's size, a cheap change marker."""
        return sum(len(p) for p in self.journals.get(run_id, []))

    def journal_sync(self, run_id: str) -> None:
        """Make the journal durable (fsync) and release its handle."""

    def journal_mtime(self, run_id: str) -> float | None:
        """Return when the journal was last written, if known."""
        return None

    def version(self) -> tuple[int, ...]:
        """A token that changes whenever the tables change."""
        return (self.seq,)


class FileBackend(Backend):
    """Tables in a directory: snapshot + write-ahead log + per-run journals."""

    durable = True

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "runs").mkdir(exist_ok=True)
        self.snapshot = root / SNAPSHOT
        self.wal = root / WAL
        self._file = OrjsonStorage(self.snapshot)
        self._storage = self._file
        self._flock = FileLock(str(root / ".lock"))
        self._snap_key: tuple[int, int, int] | bool | None = False
        self._wal_key: tuple[int, int, int] | None = None
        self._wal_offset = 0
        self._snapshot_size = 0
        self._fds: dict[str, int] = {}
        self._syncing: list[Future[None]] = []
        self._loaded = False

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock, self._flock:
            try:
                yield
            finally:
                self._settle()

    def read(self) -> Tables:
        if stat_key(self.snapshot) != self._snap_key or stat_key(self.wal) != self._wal_key:
            with self.locked():
                self.refresh()
        return self.tables

    def version(self) -> tuple[int, ...]:
        self.read()
        return (self.seq,)

    def refresh(self) -> None:
        snap_key = stat_key(self.snapshot)
        wal_key = stat_key(self.wal)
        if snap_key == self._snap_key and wal_key == self._wal_key:
            return
        full = (
            snap_key != self._snap_key
            or wal_key is None
            or self._wal_key is None
            or wal_key[0] != self._wal_key[0]
            or wal_key[1] < self._wal_offset
        )
        if full:
            with paused_gc():
                data = self._storage.read()
            if data is None:
                if (self.root / BACKUP).exists():
                    raise StoreCorrupted(
                        f"The store file {self.snapshot} is missing but its backup {self.root / BACKUP} "
                        "exists; copy the backup to nbtrack.json to recover."
                    )
                tables, seq = empty_tables(), 0
            else:
                try:
                    with paused_gc():
                        tables, seq = from_tinydb(data)
                except (KeyError, TypeError, AttributeError, ValueError) as exc:
                    raise self._file.corrupted(f"unexpected layout: {type(exc).__name__} {exc}") from None
            self.tables, self.seq, self._wal_offset = tables, seq, 0
            self._snapshot_size = snap_key[1] if snap_key else 0
        with paused_gc():
            self._read_wal_tail()
        self._snap_key, self._wal_key = snap_key, stat_key(self.wal)

    def _read_wal_tail(self) -> None:
        try:
            with open(self.wal, "rb") as fh:
                fh.seek(self._wal_offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1  # ignore a partial last line left by a killed writer
        offset, current = self._wal_offset, self.seq
        copies: Tables = {}
        for line in chunk[:end].splitlines(keepends=True):
            try:
                entry = orjson.loads(line)
                seq, table, key, kind = entry["s"], entry["t"], entry["k"], entry["o"]
                doc = entry["d"] if kind == "put" else None
                if not isinstance(seq, int) or (doc is not None and not isinstance(doc, dict)):
                    raise TypeError("bad entry")
            except (ValueError, KeyError, TypeError):
                raise self._wal_corrupted(offset) from None
            offset += len(line)
            if seq <= current:
                continue
            current = seq
            rows = copies.get(table)
            if rows is None:  # copy on write, as in _apply
                rows = copies[table] = dict(self.tables.get(table, {}))
            if doc is not None:
                rows[key] = doc
            else:
                rows.pop(key, None)
        self.tables, self.seq = {**self.tables, **copies}, current
        self._wal_offset += end

    def _wal_corrupted(self, offset: int) -> StoreCorrupted:
        snapshot = (
            f"the snapshot {self.snapshot} and the copy before it, {self.root / BACKUP},"
            if (self.root / BACKUP).exists()
            else f"the snapshot {self.snapshot} (no older copy {self.root / BACKUP} exists yet)"
        )
        return StoreCorrupted(
            f"The store log {self.wal} has an unreadable entry at byte {offset}; nbtrack will neither read nor "
            f"write this store until it is repaired. Entries before that byte are good, and {snapshot} are "
            f"untouched. To recover, stop every kernel using this store, then cut {self.wal.name} at byte "
            f"{offset} (e.g. `truncate -s {offset} {self.wal}`); changes logged after it are lost."
        )

    def commit(self, ops: list[Op], durable: bool = True) -> None:
        lines = []
        seq = self.seq
        for table, key, kind, doc in ops:
            seq += 1
            entry: dict[str, Any] = {"s": seq, "t": table, "k": key, "o": kind}
            if kind == "put":
                assert doc is not None
                doc["_seq"] = seq  # the change cursor ("since") of the document
                entry["d"] = doc
            lines.append(orjson.dumps(entry, option=orjson.OPT_SERIALIZE_NUMPY))
        payload = b"\n".join(lines) + b"\n"
        fd = os.open(self.wal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size != self._wal_offset:  # a killed writer left a partial line
                os.ftruncate(fd, self._wal_offset)
            os.write(fd, payload)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        self._settle()
        self._apply(ops)
        self._wal_offset += len(payload)
        self._wal_key = stat_key(self.wal)
        if self._wal_offset > max(_MIN_COMPACT_BYTES, self._snapshot_size // 2):
            self.compact()

    def compact(self) -> None:
        """Fold the log into a new snapshot (lock held)."""
        self._storage.write(to_tinydb(self.tables, self.seq))
        fd, tmp = tempfile.mkstemp(prefix=".wal-", dir=self.root)
        os.close(fd)
        os.replace(tmp, self.wal)
        fsync_dir(self.root)
        self._snap_key = stat_key(self.snapshot)
        self._snapshot_size = self._snap_key[1] if self._snap_key else 0
        self._wal_key = stat_key(self.wal)
        self._wal_offset = 0

    # -- per-run journals -------------------------------------------------
    def _journal_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.jsonl"

    def journal_append(self, run_id: str, payload: bytes) -> None:
        fd = self._fds.get(run_id)
        if fd is None:
            fd = os.open(self._journal_path(run_id), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._fds[run_id] = fd
        os.write(fd, payload)

    def journal_read(self, run_id: str) -> bytes:
        try:
            data = self._journal_path(run_id).read_bytes()
        except FileNotFoundError:
            return b""
        return data[: data.rfind(b"\n") + 1]

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

    def _settle(self) -> None:
        """Wait for journal flushes started by :meth:`journal_sync`; raise the first failure."""
        pending, self._syncing = self._syncing, []
        for future in pending:
            future.result()

    def journal_mtime(self, run_id: str) -> float | None:
        try:
            return os.stat(self._journal_path(run_id)).st_mtime
        except FileNotFoundError:
            return None

    def remove_tree(self, path: Path) -> None:
        """Delete a folder inside the store."""
        shutil.rmtree(path, ignore_errors=True)
