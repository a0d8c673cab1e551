"""Compaction and index checkpoints of a big store, done by a background process.

Folding the log into a new snapshot, and writing the index, rewrite a file as big
as the store (about a second per 50k runs). In a big store the write that finds
one due hands it to ``python -m nbtrack.store._compactor ROOT JOB`` and returns:
no write of the user's waits for work that grows with the store.

The job reads the store as a read-only reader does (no lock), writes the new
files under temporary names, and takes the store's lock only to swap them in:

1. check that the snapshot and the log are the ones it read (else give up: some
   other process compacted or repaired the store meanwhile);
2. copy what the log gained since it read it (the writes made during the job)
   into the new log, after a header naming the old log and offset it continues;
3. rename the snapshot, the log and the index into place.

The new snapshot is written without parsing the old one where the index allows it:
the index records where each run's document lies (its span), so the documents the
log did not change are copied byte for byte, after checking the whole old file
against its checksum record and each span against its run id; only the log is
parsed. Without spans for that very snapshot (an index rebuilt from documents, or
written by an older version) every document is parsed instead.

A job killed at any moment leaves the old files (or, between the two renames, the
new snapshot with the old log, whose entries up to the snapshot are skipped by
their numbers): the store opens either way, and the temporary files are removed
by the next writer once no job holds :data:`~nbtrack.store._fileio.COMPACTION_LOCK`.
Processes that had read the old log carry on in the new one without reloading
(see ``FileBackend._follow_compaction``).
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nbtrack.store import _codec, _fileio, _index
from nbtrack.store._backend import WAL_LENGTH, FileBackend
from nbtrack.store._background import BUSY, JOBS
from nbtrack.store._flock import StoreLock
from nbtrack.store._snapshot import (
    SNAPSHOT,
    WAL,
    OrjsonStorage,
    identity,
    read_meta,
    run_body,
    snapshot_chunks,
    stat_key,
)


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[bool]:
    """Hold the compaction lock if no other job does; yields whether it is held."""
    fd = os.open(root / _fileio.COMPACTION_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def run(root: Path, job: str) -> int:
    """Do ``job`` (``"compact"`` or ``"index"``) on store ``root``; ``0`` when done, :data:`BUSY` when not needed."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; use one of {JOBS}")
    with _exclusive(root) as held:
        if not held:
            return BUSY
        _fileio.remove_leftovers(root, background=True)  # a killed job's files too (we hold the lock)
        backend = FileBackend(root, read_only=True)  # read as a lock-free reader does
        backend.refresh()
        if backend.legacy or not backend._wal_sealed or backend._wal_key is None:
            return BUSY  # an older layout: the next writer rewrites it itself
        return _compact(backend) if job == "compact" else _checkpoint(backend)


def _same_files(backend: FileBackend) -> bool:
    """Whether the snapshot and the log are still the ones ``backend`` read (store lock held)."""
    wal = stat_key(backend.wal)
    assert backend._wal_key is not None
    return (
        stat_key(backend.snapshot) == backend._snap_key
        and wal is not None
        and wal[0] == backend._wal_key[0]
        and wal[1] >= backend._wal_offset
    )


def _write_index_file(root: Path, checkpoint: _index.Checkpoint) -> Path:
    written: list[Path] = []
    _index.write(
        root / _index.INDEX,
        checkpoint,
        lambda path, chunks: written.append(_fileio.write_new(root, chunks, False, _fileio.BACKGROUND_PREFIX)),
    )
    return written[0]


def _checkpoint(backend: FileBackend) -> int:
    root = backend.root
    offset = backend._wal_offset
    if backend._known_index_offset() >= offset:
        return BUSY
    tmp = _write_index_file(root, backend.checkpoint())
    try:
        with StoreLock(root / ".lock"):
            if not _same_files(backend) or backend._known_index_offset() >= offset:
                return BUSY
            os.replace(tmp, root / _index.INDEX)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return 0


class _CannotCopy(Exception):
    """The previous snapshot's bytes cannot be reused (no spans, a damaged file): parse it instead."""


def _copied_bodies(backend: FileBackend) -> Iterator[tuple[str, bytes]]:
    """Every live run's document as snapshot bytes: copied from the previous snapshot where unchanged.

    Only the documents the log changed since that snapshot are parsed (from the log); the others are
    sliced out of the old file at the spans the index recorded, after checking the whole file against
    its checksum record and each slice against its run id. Raises :class:`_CannotCopy` (before any
    byte is given, for the file checks) when that is not possible.
    """
    columns = backend.runs.columns
    meta = read_meta(backend.snapshot)
    if meta is None or columns.spans_of != [meta["crc"], meta["length"]]:
        raise _CannotCopy("the index has no spans for this snapshot")
    n = columns.n
    alive = np.flatnonzero(columns.alive[:n])
    at, size = columns.span_at[alive], columns.span_size[alive]
    entries, _, _ = backend._wal_reader(0).read(0, meta["seq"], stop=backend._wal_offset)
    changed: dict[str, dict[str, Any] | None] = {}
    for entry_seq, name, entry_key, kind, doc in entries:
        if name == "runs":
            if doc is not None:
                doc["_seq"] = entry_seq
            changed[entry_key] = doc if kind == "put" else None
    ids = columns.text["run_id"]
    with open(backend.snapshot, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as old:
        crc = 0
        for start in range(0, meta["length"], 16 << 20):
            crc = zlib.crc32(old[start : min(start + (16 << 20), meta["length"])], crc)
        if crc != meta["crc"] or len(old) < meta["length"]:
            raise _CannotCopy("the snapshot does not match its checksum")
        for row, start, length in zip(alive.tolist(), at.tolist(), size.tolist(), strict=True):
            key = ids.get(row)
            if key is None:
                raise _CannotCopy("a run without an id")
            if key in changed:
                doc = changed[key]
                if doc is None:
                    raise _CannotCopy(f"run {key} is live in the index but deleted in the log")
                yield key, run_body(key, doc)
                continue
            if start < 0:
                raise _CannotCopy(f"no span for run {key}")
            body = old[start : start + length]
            if not body.startswith(b'{"_key":' + orjson.dumps(key) + b",") or not body.endswith(b"}"):
                raise _CannotCopy(f"the span of run {key} does not hold its document")
            yield key, body


def _compact(backend: FileBackend) -> int:
    try:
        return _compact_with(backend, copy=True)
    except _CannotCopy:
        return _compact_with(backend, copy=False)


def _compact_with(backend: FileBackend, copy: bool) -> int:
    root = backend.root
    assert backend._wal_key is not None
    seq, offset, wal_ino = backend.seq, backend._wal_offset, backend._wal_key[0]
    read_mark = _mark(backend.wal, offset)
    columns = backend.runs.columns
    tables = dict(backend.tables)
    bodies = None
    if copy:
        bodies = _copied_bodies(backend)
    else:
        tables["runs"] = backend.runs.copy()  # every document: the snapshot and the log, parsed here
    prefix = _fileio.BACKGROUND_PREFIX
    made: list[Path] = []
    meta: dict[str, Any] = {}
    new_at = np.full(len(columns.span_at), -1, dtype=np.int64)
    new_size = np.full(len(columns.span_size), -1, dtype=np.int64)
    new_crc = np.full(len(columns.span_crc), -1, dtype=np.int64)

    def record(key: str, at: int, size: int, crc: int) -> None:
        row = columns.pos.get(key)
        if row is not None:
            new_at[row], new_size[row], new_crc[row] = at, size, crc

    try:
        chunks = snapshot_chunks(tables, seq, spans=record, run_bodies=bodies, meta_out=meta)
        made.append(snap_tmp := _fileio.write_new(root, chunks, True, prefix))
        del tables
        columns.span_at, columns.span_size, columns.span_crc = new_at, new_size, new_crc
        columns.reset_spans([meta["crc"], meta["length"]])
        header = _codec.wal_header(seq, (wal_ino, offset))
        made.append(wal_tmp := _fileio.write_new(root, [header], False, prefix))
        small = {name: rows for name, rows in backend.tables.items() if name != "runs"}
        checkpoint = _index.Checkpoint(
            seq,
            os.stat(wal_tmp).st_ino,
            len(header),
            stat_key(snap_tmp),
            small,
            backend.runs.columns,
            _index.wal_check(wal_tmp, len(header)),
            identity(snap_tmp),
        )
        made.append(index_tmp := _write_index_file(root, checkpoint))
        # The writes made while this job ran: most are copied (and synced) before taking the lock,
        # so that writers wait only for the last few.
        copied, mark = _copy_tail(backend.wal, wal_tmp, offset, sync=True)
        with StoreLock(root / ".lock"):
            if (
                not _same_files(backend)
                or _mark(backend.wal, offset) != read_mark
                or _mark(backend.wal, copied) != mark
            ):
                return BUSY  # replaced, or cut back by a write that failed after this job read it
            _copy_tail(backend.wal, wal_tmp, copied, sync=True)
            os.replace(snap_tmp, root / SNAPSHOT)
            os.replace(wal_tmp, root / WAL)
            _fileio.fsync_dir(root)
            os.replace(index_tmp, root / _index.INDEX)
            _record_length(root)
    finally:
        for path in made:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    OrjsonStorage(root / SNAPSHOT).write_backup()  # the last good copy: this snapshot, compressed
    return 0


def _mark(wal: Path, end: int) -> int:
    """CRC32 of the log's last 4 KiB before byte ``end`` (-1 if it is shorter)."""
    with open(wal, "rb") as fh:
        fh.seek(max(0, end - 4096))
        data = fh.read(min(end, 4096))
    return zlib.crc32(data) if len(data) == min(end, 4096) else -1


def _copy_tail(wal: Path, target: Path, start: int, sync: bool) -> tuple[int, int]:
    """Append the whole lines of ``wal`` from byte ``start`` on to ``target``: the byte copied up to, and its mark."""
    with open(wal, "rb") as fh:
        fh.seek(start)
        tail = fh.read()
    tail = tail[: tail.rfind(b"\n") + 1]
    fd = _fileio.open_append(target)
    try:
        _fileio.append(fd, tail, target, sync)
    finally:
        os.close(fd)
    end = start + len(tail)
    return end, _mark(wal, end) if len(tail) < 4096 else zlib.crc32(tail[-4096:])


def _record_length(root: Path) -> None:
    st = os.stat(root / WAL)
    _fileio.replace_with(root / WAL_LENGTH, [b"%020d %020d\n" % (st.st_ino, st.st_size)], False)


def main(argv: list[str]) -> int:
    """``python -m nbtrack.store._compactor ROOT JOB``."""
    if len(argv) != 2 or argv[1] not in JOBS:
        print(f"usage: python -m nbtrack.store._compactor STORE_FOLDER {{{','.join(JOBS)}}}", file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
