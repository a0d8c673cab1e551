"""Where a store's tables live: a durable directory, or memory.

The file backend keeps a TinyDB-format snapshot (``nbtrack.json``, written with
orjson and replaced atomically) plus a write-ahead log (``wal.jsonl``) of whole
document puts and deletes, each line checksummed. A write appends a few lines
and fsyncs (a run's start skips the fsync: it needs only to survive a killed
process, and the run's end flushes it); the snapshot is rewritten only when the
log grows past a share of it, so per-run cost does not grow with the number of
runs. An index file (``index.bin``, see :mod:`._index`) lets a fresh process
open the store without parsing the snapshot. Readers reload only when a file's
stat changes, and only the log's new tail. Every write happens under one file
lock; reading takes no file lock, so a process opening a big store or parsing
its documents never holds up writers elsewhere (a reader reads again when a
compaction replaced a file under it, and applies a commit of several entries
only once its last line is there). A store in a folder this process cannot
write is opened read-only.

A ``kill -9`` at any moment leaves either the old or the new snapshot (atomic
``os.replace``) and, at worst, a partial last log line, which readers ignore and
the next writer cuts off. Log entries are idempotent and numbered, so a crash
between snapshot and log reset replays nothing twice.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from nbtrack.errors import StoreCorrupted, StoreReadOnly
from nbtrack.store import _background, _codec, _fileio, _index
from nbtrack.store._columns import RunColumns
from nbtrack.store._flock import StoreLock
from nbtrack.store._journals import JournalsMixin
from nbtrack.store._runs_table import RunsTable
from nbtrack.store._snapshot import (
    BACKUP,
    SNAPSHOT,
    TABLES,
    WAL,
    Op,
    OrjsonStorage,
    Tables,
    backup_of,
    empty_tables,
    from_tinydb,
    identity,
    paused_gc,
    restore_hint,
    stat_key,
)
from nbtrack.store._wal import WalReader

__all__ = ["BACKUP", "SNAPSHOT", "TABLES", "WAL", "Backend", "FileBackend", "Op", "Tables", "paused_gc"]

WAL_LENGTH = "wal.len"
_MIN_COMPACT_BYTES = 4 << 20
_MIN_INDEX_BYTES = 1 << 20
#: snapshots at least this big are compacted, and their index written, by a background process
BACKGROUND_BYTES = 16 << 20


class Backend:
    """Tables plus a lock; the memory variant, and the base of :class:`FileBackend`."""

    durable = False
    read_only = False

    def __init__(self) -> None:
        self.tables: Tables = empty_tables()
        self.tables["runs"] = RunsTable(docs={})  # type: ignore[assignment]
        self.seq = 0
        self._lock = threading.RLock()
        self.journals: dict[str, list[bytes]] = {}

    @property
    def runs(self) -> RunsTable:
        """The runs table (documents and columns)."""
        return self.tables["runs"]  # type: ignore[return-value]

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

    def _apply(self, ops: list[Op], seqs: list[int] | None = None) -> None:
        # Runs change in place (one row of the columns, one entry of the documents);
        # the small tables copy on write, so a reader iterating one keeps a consistent dict.
        copies: Tables = {}
        runs = self.runs
        for i, (table, key, kind, doc) in enumerate(ops):
            self.seq = seqs[i] if seqs is not None else self.seq + 1
            if table == "runs":
                if kind == "put":
                    assert doc is not None
                    doc["_seq"] = self.seq
                    runs[key] = doc
                else:
                    runs.pop(key, None)
                continue
            rows = copies.get(table)
            if rows is None:
                rows = copies[table] = dict(self.tables.get(table, {}))
            if kind == "put":
                assert doc is not None
                doc["_seq"] = self.seq
                rows[key] = doc
            else:
                rows.pop(key, None)
        if copies:
            self.tables = {**self.tables, **copies}

    # -- per-run journals -------------------------------------------------
    def journal_append(self, run_id: str, payload: bytes) -> int:
        """Append encoded journal lines of a run; return how many bytes the journal grew by."""
        self.journals.setdefault(run_id, []).append(payload)
        return len(payload)

    def journal_read(self, run_id: str) -> bytes:
        """Return a run's whole journal."""
        return b"".join(self.journals.get(run_id, []))

    def journal_remove(self, run_id: str) -> None:
        """Delete a run's journal (its document holds everything it said)."""
        self.journals.pop(run_id, None)

    def journal_size(self, run_id: str) -> int:
        """Return the journal's size, a cheap change marker."""
        return sum(len(p) for p in self.journals.get(run_id, []))

    def journal_sync(self, run_id: str) -> None:
        """Make the journal durable (fsync) and release its handle."""

    def journal_mtime(self, run_id: str) -> float | None:
        """Return when the journal was last written, if known."""
        return None

    def settle(self) -> None:
        """Wait for background journal flushes (nothing to wait for in memory)."""

    def version(self) -> tuple[int, ...]:
        """A token that changes whenever the tables change."""
        return (self.seq,)

    def close(self) -> None:
        """Release open files (nothing to release in memory)."""

    def after_fork(self) -> None:
        """Forget what a forked child must not share with its parent."""
        self._lock = threading.RLock()


class FileBackend(JournalsMixin, Backend):
    """Tables in a directory: snapshot + write-ahead log + index + per-run journals."""

    durable = True

    def __init__(self, root: Path, read_only: bool | None = None) -> None:
        super().__init__()
        self.root = root
        if read_only is None:
            if not root.exists():
                try:
                    root.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise _fileio.store_error(exc, root, "creating the store folder") from None
            read_only = not _fileio.writable(root)
        self.read_only = read_only
        if not read_only:
            try:
                (root / "runs").mkdir(exist_ok=True)
            except OSError as exc:
                raise _fileio.store_error(exc, root / "runs", "creating") from None
        self.snapshot = root / SNAPSHOT
        self.wal = root / WAL
        self.index_path = root / _index.INDEX
        self.wal_length_path = root / WAL_LENGTH
        self._file = OrjsonStorage(self.snapshot)
        self._flock = StoreLock(root / ".lock", read_only)
        self._snap_key: tuple[int, int, int] | bool | None = False
        self._wal_key: tuple[int, int, int] | None = None
        self._wal_offset = 0
        self._wal_sealed = True
        self._index_offset = -1  # log offset the newest index known here covers (-1: none)
        self._snapshot_size = 0
        #: the files on disk predate this version's format (the first writer rewrites them)
        self.legacy = False
        self._init_journals()

    def after_fork(self) -> None:
        super().after_fork()
        self._flock = StoreLock(self.root / ".lock", self.read_only)
        self._after_fork_journals()

    def close(self) -> None:
        """Release open files (journal handles, the lock file); the backend reopens them if used again."""
        with self._lock:
            for run_id in list(self._fds):
                self.journal_sync(run_id)
            self.settle()
            self._flock.close()

    def _writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(
                f"The store {self.root} is read-only for this process (the folder cannot be written); it can be "
                "searched and read, not changed. Make it writable or copy it to a writable folder to log to it."
            )

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock, self._flock:
            try:
                yield
            finally:
                self.settle()

    def read(self) -> Tables:
        if stat_key(self.snapshot) != self._snap_key or stat_key(self.wal) != self._wal_key:
            with self._lock:  # not the store lock: a writer in another process never waits for a reader
                self.refresh()
        return self.tables

    def version(self) -> tuple[int, ...]:
        self.read()
        return (self.seq,)

    # -- reading ------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the tables up to date with the files (this process's lock held; the store lock need not be).

        Without the store lock a compaction may replace the files while they are read:
        the read is then noticed (the snapshot or the log is not the one looked at) and
        done again.
        """
        for attempt in range(20):
            try:
                self._refresh()
                return
            except _Raced:
                if attempt == 19:
                    raise StoreCorrupted(f"The store {self.root} kept changing while being read.") from None

    def _refresh(self) -> None:
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
        lock_free = not self._flock.held
        try:
            if full and self._follow_compaction(snap_key, wal_key):
                full = False
            if full:
                if snap_key is None and backup_of(self.root).exists():
                    raise StoreCorrupted(
                        f"The store file {self.snapshot} is missing but its last good copy {backup_of(self.root)} "
                        f"exists; restore it with {restore_hint(self.root)}."
                    )
                if not self._open_index(snap_key, wal_key):
                    self._open_snapshot(snap_key)
            with paused_gc():
                wal_ino = self._read_wal_tail()
            self._check_wal_length(wal_key)
        except StoreCorrupted:
            if lock_free and self._replaced(snap_key, wal_key):
                self._snap_key = False  # what was read may mix two versions: read everything again
                raise _Raced from None
            raise
        if lock_free and (self._replaced(snap_key, wal_key) or wal_ino != (wal_key[0] if wal_key else None)):
            self._snap_key = False
            raise _Raced
        # (without the store lock the log may have grown since it was looked at: keep the older key,
        # so the next read looks again)
        self._snap_key, self._wal_key = snap_key, wal_key if lock_free else stat_key(self.wal)

    def _replaced(self, snap_key: tuple[int, int, int] | None, wal_key: tuple[int, int, int] | None) -> bool:
        """Whether the snapshot, or the log's inode, is no longer the one looked at (a compaction ran)."""
        now = stat_key(self.wal)
        return stat_key(self.snapshot) != snap_key or (now[0] if now else None) != (wal_key[0] if wal_key else None)

    def _follow_compaction(self, snap_key: tuple[int, int, int] | None, wal_key: tuple[int, int, int] | None) -> bool:
        """Carry on from a log that replaced the one read here, without reloading anything.

        A compaction (here, in another process, or in the background) writes a log whose
        header names the log and offset it continues (``follows``) and copies what came
        after byte for byte: a process that had read at least that far holds the same
        state, and only its offset in the new log changes. ``False`` when that does not
        hold (the caller then reopens the store from its files).
        """
        old = self._wal_key
        if old is None or wal_key is None or snap_key is None or self._snap_key is False or wal_key[0] == old[0]:
            return False
        try:
            with open(self.wal, "rb") as fh:
                first = fh.readline(256)
        except OSError:
            return False
        header = _codec.read_wal_header(first)
        follows = header.get("follows") if header else None
        base = header.get("base") if header else None
        if not (isinstance(follows, list) and len(follows) == 2 and isinstance(base, int)):
            return False
        if (
            follows[0] != old[0]
            or not isinstance(follows[1], int)
            or not base <= self.seq
            or follows[1] > self._wal_offset
        ):
            return False
        offset = len(first) + self._wal_offset - follows[1]
        if offset > wal_key[1]:
            return False
        try:  # what this process read after that offset must be there, ending at its last change
            entries, end, _ = self._wal_reader(len(first)).read(len(first), base, stop=offset)
        except StoreCorrupted:
            return False
        if end != offset or (entries[-1][0] if entries else base) != self.seq:
            return False
        self._wal_offset = offset
        self._wal_sealed = True
        self._snapshot_size = snap_key[1]
        self._snap_key = snap_key
        self._wal_key = wal_key
        self._index_offset = self._known_index_offset()
        self.runs.columns.reset_spans()  # they pointed into the snapshot just replaced
        return True

    def _check_wal_length(self, wal_key: tuple[int, int, int] | None) -> None:
        """Refuse a log shorter than what was written to it (cut, emptied or deleted behind nbtrack's back)."""
        try:
            with open(self.wal_length_path, "rb") as fh:
                ino, length = (int(x) for x in fh.read(64).split())
        except (OSError, ValueError):
            return
        if wal_key is None and length > 0 and stat_key(self.snapshot) is not None:
            found = "is missing"
        elif wal_key is not None and wal_key[0] == ino and wal_key[1] < length:
            found = f"holds {wal_key[1]} bytes"
        else:
            return
        now = stat_key(self.wal)  # a reader without the lock may have read the log before a writer appended
        if now is not None and (now[0] != ino or now[1] >= length):
            return
        raise StoreCorrupted(
            f"The store log {self.wal} {found}, but {length} bytes were written to it: it was cut, emptied or "
            f"deleted, and the changes in its lost part would be missing without a word. nbtrack will neither read "
            f"nor write this store until it is repaired: run `nbtrack doctor {self.root} --repair` (it rebuilds the "
            "lost runs from their journals)."
        )

    def _record_wal_length(self) -> None:
        """Note how long the log is (``wal.len``), so a cut or deleted log is noticed."""
        ino = self._wal_key[0] if self._wal_key else 0
        with contextlib.suppress(OSError):
            fd = os.open(self.wal_length_path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
            try:
                os.pwrite(fd, b"%020d %020d\n" % (ino, self._wal_offset), 0)
            finally:
                os.close(fd)

    def _open_index(self, snap_key: tuple[int, int, int] | None, wal_key: tuple[int, int, int] | None) -> bool:
        """Open from the index file if it matches the snapshot and log on disk."""
        checkpoint = _index.read(self.index_path)
        if checkpoint is None or wal_key is None or checkpoint.wal_offset > wal_key[1]:
            return False
        same_files = checkpoint.snap == snap_key and checkpoint.wal_ino == wal_key[0]
        if not same_files and not (  # a copy of the store: the same content under new inodes
            checkpoint.snap_id is not None
            and snap_key is not None
            and checkpoint.snap is not None
            and checkpoint.snap[1] == snap_key[1]
            and checkpoint.snap_id == identity(self.snapshot)
        ):
            return False
        if checkpoint.wal_check != _index.wal_check(self.wal, checkpoint.wal_offset):
            return False
        tables = empty_tables()
        tables.update(checkpoint.tables)
        tables["runs"] = RunsTable(checkpoint.columns, None, self._load_docs, self._load_one)  # type: ignore[assignment]
        self.tables, self.seq = tables, checkpoint.seq
        self._wal_offset = self._index_offset = checkpoint.wal_offset
        self._wal_sealed = True
        self._snapshot_size = snap_key[1] if snap_key else 0
        return True

    def _parse_snapshot(self) -> tuple[Tables, int]:
        with paused_gc():
            data = self._file.read()
        if data is None:
            return empty_tables(), 0
        meta = data.get("_nbtrack", {}).get("1", {}) if isinstance(data.get("_nbtrack"), dict) else {}
        self.legacy = not isinstance(meta, dict) or int(meta.get("format", 1) or 1) < 2
        try:
            with paused_gc():
                return from_tinydb(data)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise self._file.corrupted(f"unexpected layout: {type(exc).__name__} {exc}") from None

    def _open_snapshot(self, snap_key: tuple[int, int, int] | None) -> None:
        tables, seq = self._parse_snapshot()
        with paused_gc():
            tables["runs"] = RunsTable.from_docs(tables["runs"])  # type: ignore[assignment]
        self.tables, self.seq, self._wal_offset = tables, seq, 0
        self._index_offset = -1
        self._snapshot_size = snap_key[1] if snap_key else 0

    def _wal_reader(self, start: int) -> WalReader:
        return WalReader(self.wal, self.root, self.snapshot)

    def _read_wal_tail(self) -> int | None:
        """Apply the log's entries after this process's offset; return the inode of the log read."""
        reader = self._wal_reader(self._wal_offset)
        entries, end, sealed = reader.read(
            self._wal_offset, self.seq, snapshot_seq=self.seq if self._wal_offset == 0 else None
        )
        if self._wal_offset == 0:
            self._wal_sealed = sealed
            if not sealed and end:
                self.legacy = True
        ops: list[Op] = []
        seqs: list[int] = []
        current = self.seq
        # A run is written a few times over (started, logged to, ended): only its last entry is applied,
        # one row of the columns per run instead of one per write (the store's change number still
        # ends at the last entry's).
        last: dict[str, int] = {}
        for i, (seq, table, key, _, _) in enumerate(entries):
            if table == "runs" and seq > current:
                last[key] = i
        for i, (seq, table, key, kind, doc) in enumerate(entries):
            if seq <= current:
                continue
            current = seq
            if table == "runs" and last[key] != i:
                continue
            ops.append((table, key, kind, doc))
            seqs.append(seq)
        if ops:
            self._apply(ops, seqs)
        self.seq = max(self.seq, current)
        self._wal_offset = end
        return reader.ino

    def _load_docs(self, table: RunsTable) -> dict[str, dict[str, Any]]:
        """Every run document as of this process's view (the runs table's loader).

        Parsing a big snapshot takes a while: it is done without the store lock, so
        writers in other processes go on; should a compaction replace the files
        meanwhile, this catches up with it and parses again.
        """
        with self._lock:
            for _ in range(20):
                if table.loaded:
                    return table.copy()
                if self.runs is not table:  # reopened since: the new table knows the documents
                    return self.runs.copy()
                if stat_key(self.snapshot) != self._snap_key:  # replaced since we opened: catch up first
                    self.refresh()
                    continue
                docs = self._parse_docs(table)
                if docs is not None:
                    return docs
                self.refresh()
        raise StoreCorrupted(f"The store {self.root} kept changing while being read.")

    def _load_one(self, table: RunsTable, key: str) -> dict[str, Any] | None:
        """Run ``key``'s document read alone, or ``None`` when it cannot be (the caller then parses them all).

        The index records where each document lies in the snapshot, with its bytes'
        CRC32; a run changed since is read from its last entry in the log. Either is
        checked (the CRC, the log line's checksum, the run id) and anything amiss
        gives ``None``: the whole parse then reports the damage, if damage it is.
        ``table`` may be one this process has reopened since: the current one answers.
        """
        with self._lock:
            if self.runs.loaded:
                return self.runs.get(key)
            if self.runs.columns.spans_of is None and not self._reopen_from_index():
                return None  # (no spans for the snapshot on disk, nor an index that has them)
            current = self.runs.peek(key)
            if current is not None:
                return current
            columns = self.runs.columns
            snap_key, wal_key = self._snap_key, self._wal_key
            row = columns.pos.get(key)
            if row is None or not columns.alive[row] or columns.spans_of is None or not isinstance(snap_key, tuple):
                return None
            try:
                if stat_key(self.snapshot) != snap_key:
                    return None
                if columns.span_at[row] >= 0:
                    doc = self._doc_in_snapshot(columns, key, row)
                else:
                    doc = self._doc_in_log(key, wal_key)
            except (OSError, ValueError):
                return None
            if doc is None or self._replaced(snap_key, wal_key):
                return None
            return doc

    def _reopen_from_index(self) -> bool:
        """Take the runs from the index file, if it describes the files on disk (lock held; see :meth:`_load_one`).

        A process that followed a compaction made elsewhere knows no spans in the new
        snapshot; the index the compaction wrote does. Reading it costs what opening the
        store costs, where parsing every document would cost far more.
        """
        snap_key, wal_key = stat_key(self.snapshot), stat_key(self.wal)
        if snap_key != self._snap_key or wal_key is None or self._wal_key is None or wal_key[0] != self._wal_key[0]:
            return False  # the files changed since: the next refresh catches up first
        before = (self.tables, self.seq, self._wal_offset, self._index_offset, self._wal_sealed, self._snapshot_size)
        try:
            if self._open_index(snap_key, wal_key) and self.runs.columns.spans_of is not None:
                with paused_gc():
                    self._read_wal_tail()
                if not self._replaced(snap_key, wal_key) and self.seq >= before[1]:
                    self._wal_key = wal_key if not self._flock.held else stat_key(self.wal)
                    return True
        except StoreCorrupted:
            pass
        self.tables, self.seq, self._wal_offset, self._index_offset, self._wal_sealed, self._snapshot_size = before
        return False

    def _doc_in_snapshot(self, columns: RunColumns, key: str, row: int) -> dict[str, Any] | None:
        at, size, crc = int(columns.span_at[row]), int(columns.span_size[row]), int(columns.span_crc[row])
        if crc < 0:
            return None  # an index written before spans had checksums
        with open(self.snapshot, "rb") as fh:
            body = os.pread(fh.fileno(), size, at)
        if len(body) != size or zlib.crc32(body) != crc or not body.startswith(b'{"_key":' + orjson.dumps(key) + b","):
            return None
        doc: dict[str, Any] = orjson.loads(body)
        del doc["_key"]
        return doc

    def _doc_in_log(self, key: str, wal_key: tuple[int, int, int] | None) -> dict[str, Any] | None:
        stop = self._wal_offset
        if wal_key is None or stop <= 0:
            return None
        with open(self.wal, "rb") as fh:
            if os.fstat(fh.fileno()).st_ino != wal_key[0]:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                # its last entry (orjson writes "s", "t", "k", "o" in that order; a value holding the
                # same text has its quotes escaped)
                at = data.rfind(b'"t":"runs","k":' + orjson.dumps(key) + b',"o":"', 0, stop)
                if at < 0:
                    return None
                start = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at, stop) + 1
                line = data[start:end] if end > 0 else b""
        body = _codec.unseal(line)
        if body is None:
            return None
        entry = orjson.loads(body)
        doc = entry.get("d")
        if entry.get("k") != key or entry.get("o") != "put" or not isinstance(doc, dict):
            return None
        doc["_seq"] = entry["s"]
        return doc

    def _parse_docs(self, table: RunsTable) -> dict[str, dict[str, Any]] | None:
        """The documents of this process's view, or ``None`` when a compaction replaced the files meanwhile."""
        snap_key = self._snap_key if isinstance(self._snap_key, tuple) else None
        wal_key = self._wal_key
        lock_free = not self._flock.held
        try:
            tables, seq = self._parse_snapshot()
            docs = tables["runs"]
            reader = self._wal_reader(0)
            entries, _, _ = reader.read(0, seq, stop=self._wal_offset)
        except StoreCorrupted:
            if lock_free and self._replaced(snap_key, wal_key):
                return None
            raise
        if lock_free and (self._replaced(snap_key, wal_key) or reader.ino != (wal_key[0] if wal_key else None)):
            return None
        with paused_gc():
            for entry_seq, name, key, kind, doc in entries:
                if name != "runs" or entry_seq <= seq:
                    continue
                if kind == "put":
                    assert doc is not None
                    doc["_seq"] = entry_seq
                    docs[key] = doc
                else:
                    docs.pop(key, None)
        if len(docs) != len(table):
            raise StoreCorrupted(
                f"The store {self.root} holds {len(docs)} run documents but its index lists {len(table)}; "
                f"run `nbtrack doctor {self.root}` to see which and to rebuild the index."
            )
        return docs

    # -- writing ------------------------------------------------------------
    def commit(self, ops: list[Op], durable: bool = True) -> None:
        self._writable()
        lines: list[bytes] = []
        seq = self.seq
        for table, key, kind, doc in ops:
            seq += 1
            entry: dict[str, Any] = {"s": seq, "t": table, "k": key, "o": kind}
            if len(ops) > 1 and not lines:  # readers apply a commit whole or not at all (see WalReader.read)
                entry["g"] = len(ops)
            if kind == "put":
                assert doc is not None
                doc["_seq"] = seq  # the change cursor ("since") of the document
                entry["d"] = doc
            lines.append(_codec.seal(orjson.dumps(entry, option=orjson.OPT_SERIALIZE_NUMPY)))
        payload = b"".join(lines)
        try:
            fd = _fileio.open_append(self.wal)
        except OSError as exc:
            raise _fileio.store_error(exc, self.wal, "opening") from None
        try:
            size = os.fstat(fd).st_size
            if size != self._wal_offset:  # a killed writer left a partial line
                os.ftruncate(fd, self._wal_offset)
            if self._wal_offset == 0:  # a new log starts with its header
                payload = _codec.wal_header(self.seq) + payload
                self._wal_sealed = True
            _fileio.append(fd, payload, self.wal, durable)
        except OSError as exc:
            raise _fileio.store_error(exc, self.wal, "writing") from None
        finally:
            os.close(fd)
        self.settle()
        self._apply(ops)
        self._wal_offset += len(payload)
        self._wal_key = stat_key(self.wal)
        self._record_wal_length()
        # What follows only tidies up: the change is on disk, so a full disk here must not fail the call.
        with contextlib.suppress(Exception):
            self._tidy()

    def _tidy(self) -> None:
        """Compact or checkpoint the index when the log has grown enough (lock held).

        Both rewrite a file as big as the store; in a big store a background process
        does it (:mod:`._compactor`) and this write returns at once. Should background
        jobs keep failing, the log is compacted here once it is twice the snapshot.
        """
        snapshot = self._snapshot_size
        background = self._wal_sealed and snapshot >= BACKGROUND_BYTES
        if self._wal_offset > max(_MIN_COMPACT_BYTES, snapshot // 2) or not self._wal_sealed:
            if not (background and self._wal_offset < 2 * snapshot and _background.launch(self.root, "compact")):
                self.compact()
            return
        # (a background job reads the whole index: let more log build up between two of them)
        due = max(_MIN_INDEX_BYTES, snapshot // (16 if background else 64))
        if self._wal_offset - max(self._index_offset, 0) <= due:
            return
        if background:
            self._index_offset = max(self._index_offset, self._known_index_offset())
            if self._wal_offset - max(self._index_offset, 0) <= due or _background.launch(self.root, "index"):
                return
        self.write_index()

    def _known_index_offset(self) -> int:
        """The log offset the index file on disk covers, if it matches this snapshot and log (else -1)."""
        known = _index.peek(self.index_path)
        wal_ino = self._wal_key[0] if self._wal_key else 0
        if known is None or known[1] != wal_ino or known[3] != stat_key(self.snapshot):
            return -1
        return known[2]

    def compact(self) -> None:
        """Fold the log into a new snapshot (lock held)."""
        self._writable()
        _fileio.remove_leftovers(self.root)
        columns = self.runs.columns
        columns.reset_spans()
        with paused_gc():
            meta = self._file.write_tables(self.tables, self.seq, columns.set_span)
        columns.reset_spans([meta["crc"], meta["length"]])  # where a later compaction finds each document
        follows = (self._wal_key[0], self._wal_offset) if self._wal_key else None
        _fileio.replace_with(self.wal, [_codec.wal_header(self.seq, follows)])
        self._snap_key = stat_key(self.snapshot)
        self._snapshot_size = self._snap_key[1] if self._snap_key else 0
        self._wal_key = stat_key(self.wal)
        self._wal_offset = self._wal_key[1] if self._wal_key else 0
        self._wal_sealed = True
        self.legacy = False
        self._record_wal_length()
        with contextlib.suppress(Exception):
            self.write_index()

    def write_index(self) -> None:
        """Write the index file for the current state (lock held)."""
        self._writable()
        known = _index.peek(self.index_path)
        wal_ino = self._wal_key[0] if self._wal_key else 0
        snap = stat_key(self.snapshot)
        # (inode numbers are reused: the snapshot's identity tells an older index from a current one)
        if known is not None and known[1] == wal_ino and known[3] == snap and known[2] >= self._wal_offset:
            self._index_offset = known[2]  # another process wrote one as recent
            return
        _index.write(self.index_path, self.checkpoint(), lambda path, chunks: _fileio.replace_with(path, chunks, False))
        self._index_offset = self._wal_offset

    def checkpoint(self) -> _index.Checkpoint:
        """What an index file written now holds: this state, at this log offset."""
        small = {name: rows for name, rows in self.tables.items() if name != "runs"}
        wal_ino = self._wal_key[0] if self._wal_key else 0
        check = _index.wal_check(self.wal, self._wal_offset)
        snap = stat_key(self.snapshot)
        columns = self.runs.columns
        return _index.Checkpoint(
            self.seq, wal_ino, self._wal_offset, snap, small, columns, check, identity(self.snapshot)
        )

    def has_index(self) -> bool:
        """Whether an index file matching the files on disk was opened or written."""
        return self._index_offset >= 0


class _Raced(Exception):
    """A file was replaced while a lock-free reader read it."""
