"""The snapshot file: TinyDB's layout, written with orjson and replaced atomically."""

from __future__ import annotations

import contextlib
import gc
import gzip
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage

from nbtrack.errors import StoreCorrupted
from nbtrack.store import _fileio

Tables = dict[str, dict[str, dict[str, Any]]]
Op = tuple[str, str, str, "dict[str, Any] | None"]  # (table, key, kind, doc)

TABLES = ("experiments", "runs", "registered_models", "model_versions", "events")
_META = "_nbtrack"
SNAPSHOT = "nbtrack.json"
#: the last good copy: the snapshot as last written, gzip-compressed (``gunzip -c`` gives ``nbtrack.json`` back)
BACKUP = "nbtrack.json.bak.gz"
#: the last good copy in stores written before it was compressed: the previous snapshot, as it was
PLAIN_BACKUP = "nbtrack.json.bak"
WAL = "wal.jsonl"


def backup_of(root: Path) -> Path:
    """The last good copy in store folder ``root`` (the compressed one, else an older store's plain one)."""
    plain = root / PLAIN_BACKUP
    return plain if not (root / BACKUP).exists() and plain.exists() else root / BACKUP


def read_bytes(path: Path) -> bytes:
    """A snapshot's bytes; a ``.gz`` copy is decompressed (a damaged one raises ``ValueError``)."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"not a whole gzip file ({exc})") from None


def restore_hint(root: Path) -> str:
    """How a user puts the last good copy back in place of ``nbtrack.json``."""
    backup = backup_of(root)
    copy = f"gunzip -c {backup} > {root / SNAPSHOT}" if backup.suffix == ".gz" else f"cp {backup} {root / SNAPSHOT}"
    return f"`nbtrack doctor {root} --repair` (or by hand: `{copy}`)"


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while many acyclic objects are built.

    Parsing a store of 10k runs makes about a million objects; every few
    hundred of them the collector would otherwise rescan the growing heap,
    doubling the time. Plain JSON data holds no cycles, so nothing is lost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def empty_tables() -> Tables:
    return {name: {} for name in TABLES}


def to_tinydb(tables: Tables, seq: int) -> dict[str, Any]:
    """Lay tables out as TinyDB does: ``{table: {"<int id>": doc}}``; keys live in the docs."""
    data: dict[str, Any] = {_META: {"1": {"seq": seq, "format": 1}}}
    for name, rows in tables.items():
        data[name] = {str(i): {"_key": key, **doc} for i, (key, doc) in enumerate(rows.items(), 1)}
    return data


def from_tinydb(data: dict[str, Any]) -> tuple[Tables, int]:
    tables = empty_tables()
    for name, rows in data.items():
        if name == _META:
            continue
        table = tables.setdefault(name, {})
        for doc in rows.values():
            key = doc.pop("_key")
            table[key] = doc
    seq = int(data.get(_META, {}).get("1", {}).get("seq", 0))
    return tables, seq


def encode(data: dict[str, Any]) -> bytes:
    """Serialise TinyDB-layout ``data`` with its meta table last, holding a CRC32 of everything before it.

    The file stays plain TinyDB JSON (the meta is one more table, ``_nbtrack``).
    """
    meta = dict(data.get(_META, {}).get("1", {}))
    body = orjson.dumps({k: v for k, v in data.items() if k != _META}, option=orjson.OPT_SERIALIZE_NUMPY)
    head = body[:-1]
    meta.update(format=2, crc=zlib.crc32(head), length=len(head))
    sep = b"," if len(head) > 1 else b""
    return head + sep + b'"' + _META.encode() + b'":' + orjson.dumps({"1": meta}) + b"}"


#: a run's document in the snapshot as the bytes orjson gives (what a compaction can copy unchanged)
RunBodies = Iterable[tuple[str, bytes]]
SpanRecorder = Callable[[str, int, int, int], None]


def run_body(key: str, doc: dict[str, Any]) -> bytes:
    """A run document's bytes in the snapshot: ``{"_key": key, ...doc}`` as orjson writes it."""
    return orjson.dumps({"_key": key, **doc}, option=orjson.OPT_SERIALIZE_NUMPY)


def snapshot_chunks(
    tables: Tables,
    seq: int,
    batch: int = 10_000,
    spans: SpanRecorder | None = None,
    run_bodies: RunBodies | None = None,
    meta_out: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """``encode(to_tinydb(tables, seq))`` in pieces, ``batch`` documents at a time.

    The same bytes, without the whole file (and a copy of every document) in memory at
    once: a store of 1M runs is a gigabyte of JSON. ``spans(key, at, size, crc)`` is told
    where each run's document lands (its byte offset, length and CRC32); ``run_bodies`` gives
    the run documents as ready bytes instead of ``tables["runs"]`` (a compaction copying
    them from the previous snapshot). ``meta_out`` receives the checksum record written.
    """
    crc, length = 0, 0

    def counted(piece: bytes) -> bytes:
        nonlocal crc, length
        crc, length = zlib.crc32(piece, crc), length + len(piece)
        return piece

    yield counted(b"{")
    first = True
    for name, rows in tables.items():
        yield counted((b"" if first else b",") + orjson.dumps(name) + b":{")
        first = False
        if name == "runs" and (spans is not None or run_bodies is not None):
            bodies = run_bodies if run_bodies is not None else ((k, run_body(k, d)) for k, d in rows.items())
            parts: list[bytes] = []
            pending = 0
            for i, (key, body) in enumerate(bodies, 1):
                head = b'%s"%d":' % (b"," if i > 1 else b"", i)
                if spans is not None:
                    spans(key, length + pending + len(head), len(body), zlib.crc32(body))
                parts += (head, body)
                pending += len(head) + len(body)
                if pending >= 1 << 20:
                    yield counted(b"".join(parts))
                    parts, pending = [], 0
            if parts:
                yield counted(b"".join(parts))
        else:
            numbered = enumerate(rows.items(), 1)
            sep = b""
            while chunk := list(islice(numbered, batch)):
                body = orjson.dumps(
                    {str(i): {"_key": key, **doc} for i, (key, doc) in chunk}, option=orjson.OPT_SERIALIZE_NUMPY
                )
                yield counted(sep + body[1:-1])
                sep = b","
        yield counted(b"}")
    meta = {"seq": seq, "format": 2, "crc": crc, "length": length}
    if meta_out is not None:
        meta_out.update(meta)
    yield (b"" if first else b",") + b'"' + _META.encode() + b'":' + orjson.dumps({"1": meta}) + b"}"


def gzip_chunks(path: Path, size: int = 16 << 20) -> Iterator[bytes]:
    """The gzip-compressed bytes (level 1, no time stamp) of file ``path``, read ``size`` bytes at a time."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: the gzip container
    with open(path, "rb") as fh:
        while data := fh.read(size):
            out = compressor.compress(data)
            if out:
                yield out
    yield compressor.flush()


def check(raw: bytes, data: dict[str, Any]) -> str | None:
    """Why a parsed snapshot fails its checksum, or ``None`` if it passes (or predates checksums)."""
    meta = data.get(_META, {}).get("1", {}) if isinstance(data.get(_META), dict) else {}
    if not isinstance(meta, dict) or int(meta.get("format", 1) or 1) < 2:
        return None
    length, crc = meta.get("length"), meta.get("crc")
    if not isinstance(length, int) or not isinstance(crc, int) or length > len(raw):
        return "its checksum record is damaged"
    if zlib.crc32(raw[:length]) != crc:
        return "its checksum does not match its content"
    return None


def identity(path: Path) -> list[int] | None:
    """``[crc, length]`` from a snapshot's checksum record (the file's last bytes), or ``None``.

    Two files with the same record hold the same content: an index names its snapshot
    by it as well as by inode, so a copied store (new inodes) still opens from its index.
    """
    meta = read_meta(path)
    return None if meta is None else [meta["crc"], meta["length"]]


def read_meta(path: Path) -> dict[str, Any] | None:
    """A snapshot's checksum record (``seq``, ``crc``, ``length``), read from its last bytes; ``None`` if it has none."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 512))
            tail = fh.read()
    except OSError:
        return None
    at = tail.rfind(b'"' + _META.encode() + b'":')
    if at < 0 or not tail.endswith(b"}"):
        return None
    try:
        meta = orjson.loads(tail[at + len(_META) + 3 : -1]).get("1", {})
    except (ValueError, AttributeError):
        return None
    crc, length = meta.get("crc"), meta.get("length")
    if not isinstance(crc, int) or not isinstance(length, int) or meta.get("format") != 2:
        return None
    if not isinstance(meta.get("seq"), int):
        return None
    return dict(meta)


class OrjsonStorage(Storage):
    """A TinyDB storage that reads and writes with orjson and replaces the file atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any] | None:
        try:
            raw = read_bytes(self.path)
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise self.corrupted(str(exc)) from None
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
        except ValueError as exc:
            raise self.corrupted(str(exc)) from None
        failed = check(raw, data)
        if failed:
            raise self.corrupted(failed)
        return data

    def corrupted(self, reason: str) -> StoreCorrupted:
        """The error for an unreadable snapshot, naming the last good copy."""
        backup = backup_of(self.path.parent)
        hint = (
            f"The last good copy is {backup}: stop every kernel using this store, then restore it with "
            f"{restore_hint(self.path.parent)}; runs changed since that copy are replayed from {WAL} where it "
            "still holds them."
            if backup.exists() and backup != self.path
            else f"No earlier copy ({backup}) exists."
        )
        return StoreCorrupted(
            f"The store file {self.path} is corrupt or truncated ({reason}); nbtrack will neither read nor "
            f"write this store until it is repaired. {hint}"
        )

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file atomically, then its last good copy (the same bytes, gzip-compressed).

        The copy holds what the file holds, so restoring it and replaying the log
        loses nothing; it costs a sixth of the file's size on disk. A process killed
        between the two writes leaves the copy of the snapshot before, as good as ever.
        """
        payload = encode(data)
        _fileio.replace_with(self.path, [payload])
        backup = self.path.with_name(BACKUP)
        try:
            _fileio.replace_with(backup, [gzip.compress(payload, compresslevel=1, mtime=0)])
        except OSError as exc:
            raise _fileio.store_error(exc, backup, "keeping the last good copy") from None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path.with_name(PLAIN_BACKUP))  # an older store's uncompressed copy, now superseded

    def write_tables(self, tables: Tables, seq: int, spans: SpanRecorder | None = None) -> dict[str, Any]:
        """:meth:`write` of ``to_tinydb(tables, seq)``, streamed: neither file is ever whole in memory.

        ``spans`` is told where each run's document lands; returns the checksum record written.
        """
        meta: dict[str, Any] = {}
        _fileio.replace_with(self.path, snapshot_chunks(tables, seq, spans=spans, meta_out=meta))
        self.write_backup()
        return meta

    def write_backup(self) -> None:
        """Replace the last good copy with the snapshot as it is now (gzip-compressed, streamed)."""
        backup = self.path.with_name(BACKUP)
        try:
            _fileio.replace_with(backup, gzip_chunks(self.path))
        except OSError as exc:
            raise _fileio.store_error(exc, backup, "keeping the last good copy") from None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path.with_name(PLAIN_BACKUP))


fsync_dir = _fileio.fsync_dir


def stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
