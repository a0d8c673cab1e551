"""The store's index file (``index.bin``): a checkpoint a fresh process opens from.

It holds every table except the run documents (experiments and the registry,
which are small), the columns of every run (:class:`RunColumns`) and where the
write-ahead log stood when it was written: a reader loads it, then replays the
log from that byte on, and never parses the snapshot unless it needs a run
document. It is derived data: a writer rewrites it after each compaction and
whenever the log has grown by a share of the snapshot since, and a missing,
stale or damaged index (checked by CRC32) is simply rebuilt from the snapshot
and the log.

Layout: ``NBIX1\\n``, then five little-endian u64 (sequence number, the log's
inode and byte offset, the snapshot's inode and mtime in ns), the snapshot's
size (u64), the header's length (u64) and a CRC32 (u32) of what follows; then
the JSON header and the raw column arrays.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from nbtrack.store._columns import RunColumns

INDEX = "index.bin"
_MAGIC = b"NBIX1\n"
_PREFIX = struct.Struct("<QQQQQQQI")


@dataclass
class Checkpoint:
    """What an index file says: the state at log offset ``wal_offset`` of log inode ``wal_ino``."""

    seq: int
    wal_ino: int
    wal_offset: int
    snap: tuple[int, int, int] | None
    tables: dict[str, dict[str, dict[str, Any]]]
    columns: RunColumns
    wal_check: list[int] | None = None
    #: the snapshot's checksum record (:func:`~nbtrack.store._snapshot.identity`): its content, whatever its inode
    snap_id: list[int] | None = None


def wal_check(wal: Path, offset: int) -> list[int]:
    """CRC32s of the log's first and last 4 KiB before ``offset``: an edited or shifted log fails them."""
    try:
        with open(wal, "rb") as fh:
            head = fh.read(min(offset, 4096))
            fh.seek(max(0, offset - 4096))
            tail = fh.read(min(offset, 4096))
    except OSError:
        return [-1, -1]
    return [zlib.crc32(head), zlib.crc32(tail)]


def peek(path: Path) -> tuple[int, int, int, tuple[int, int, int] | None] | None:
    """``(seq, wal_ino, wal_offset, snapshot stat key)`` of an index file without reading it all, or ``None``."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_MAGIC) + _PREFIX.size)
    except OSError:
        return None
    if len(head) < len(_MAGIC) + _PREFIX.size or not head.startswith(_MAGIC):
        return None
    seq, wal_ino, wal_offset, snap_ino, snap_mtime, snap_size, *_ = _PREFIX.unpack_from(head, len(_MAGIC))
    return seq, wal_ino, wal_offset, (snap_ino, snap_size, snap_mtime) if snap_ino else None


class _Body:
    """Reads an index file's arrays one by one into the buffers given, checksumming as it goes."""

    def __init__(self, fh: Any, crc: int, size: int) -> None:
        self.fh, self.crc, self.left = fh, crc, size

    def read_into(self, buffer: memoryview) -> None:
        size = buffer.nbytes
        padded = (size + 7) & ~7
        if padded > self.left or self.fh.readinto(buffer) != size:
            raise ValueError("the index file ends inside an array")
        self.crc = zlib.crc32(buffer, self.crc)
        if padded != size:
            pad = self.fh.read(padded - size)
            if len(pad) != padded - size:
                raise ValueError("the index file ends inside an array")
            self.crc = zlib.crc32(pad, self.crc)
        self.left -= padded


def read(path: Path) -> Checkpoint | None:
    """Load an index file; ``None`` when it is missing or damaged in any way."""
    start = len(_MAGIC) + _PREFIX.size
    try:
        with open(path, "rb") as fh:
            head = fh.read(start)
            if len(head) < start or not head.startswith(_MAGIC):
                return None
            seq, wal_ino, wal_offset, snap_ino, snap_mtime, snap_size, header_len, crc = _PREFIX.unpack_from(
                head, len(_MAGIC)
            )
            raw_header = fh.read(header_len)
            if len(raw_header) != header_len:
                return None
            body = _Body(fh, zlib.crc32(raw_header), os.fstat(fh.fileno()).st_size - start - header_len)
            header = orjson.loads(raw_header)
            del raw_header
            # each array is read straight into its column (no copy of the whole body is kept)
            columns = RunColumns.load(header["runs"], body.read_into)
            tables = header["tables"]
            check = header.get("wal_check")
            snap_id = header.get("snap_id")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if body.left != 0 or body.crc != crc:
        return None
    snap = (snap_ino, snap_size, snap_mtime) if snap_ino else None
    return Checkpoint(seq, wal_ino, wal_offset, snap, tables, columns, check, snap_id)


def write(path: Path, checkpoint: Checkpoint, write_file: Any) -> None:
    """Write an index file atomically through ``write_file(path, chunks)``."""
    runs_header, arrays = checkpoint.columns.dump()
    header = orjson.dumps(
        {
            "tables": checkpoint.tables,
            "runs": runs_header,
            "wal_check": checkpoint.wal_check,
            "snap_id": checkpoint.snap_id,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
    header += b" " * (-(len(_MAGIC) + _PREFIX.size + len(header)) % 8)  # arrays start 8-byte aligned
    crc = zlib.crc32(header)
    for chunk in arrays:
        crc = zlib.crc32(chunk, crc)
    snap = checkpoint.snap or (0, 0, 0)
    prefix = _MAGIC + _PREFIX.pack(
        checkpoint.seq, checkpoint.wal_ino, checkpoint.wal_offset, snap[0], snap[2], snap[1], len(header), crc
    )
    write_file(path, [prefix, header, *arrays])


def remove(path: Path) -> None:
    """Delete an index file (it is rebuilt on the next open)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
