"""Checksummed lines of the write-ahead log and the run journals.

Each line stays one JSON value: a log entry (an object) ends with
``"c":"<crc32>"``, a journal record (an array) with a last ``"<crc32>"`` item,
the CRC32 (8 hex digits) of the line's bytes before that field. Files written
by this version start with a checksummed header line (``{"nbtrack_wal": 2,
...}`` for the log, ``["v", 2]`` for a journal), and then every line must carry
a good checksum; files without the header (older stores) are read as plain
JSON lines.
"""

from __future__ import annotations

import zlib

import orjson

WAL_FORMAT = 2


def seal(body: bytes) -> bytes:
    """``body`` (a JSON object or array, non-empty) as one checksummed line."""
    head = body[:-1]
    crc = zlib.crc32(head)
    if body[-1:] == b"}":
        return b'%s,"c":"%08x"}\n' % (head, crc)
    return b'%s,"%08x"]\n' % (head, crc)


JOURNAL_HEADER = seal(b'["v",2]')


def journal_lines(records: list[list[object]]) -> bytes:
    """Journal records as checksummed lines, ready to append."""
    return b"".join(seal(orjson.dumps(r)) for r in records)


def unseal(line: bytes) -> bytes | None:
    """The JSON of a checksummed line without its checksum, or ``None`` if there is none or it fails."""
    if line.endswith(b"\n"):
        line = line[:-1]
    last = line[-1:]
    if last == b"}":
        if len(line) < 17 or line[-16:-10] != b',"c":"':
            return None
        head, digits, close = line[:-16], line[-10:-2], b"}"
    elif last == b"]":
        if len(line) < 13 or line[-12:-10] != b',"':
            return None
        head, digits, close = line[:-12], line[-10:-2], b"]"
    else:
        return None
    try:
        crc = int(digits, 16)
    except ValueError:
        return None
    return head + close if zlib.crc32(head) == crc else None


def wal_header(base_seq: int, follows: tuple[int, int] | None = None) -> bytes:
    """The first line of a new log: its format and the snapshot sequence number it follows.

    ``follows`` is ``(inode, byte offset)`` of the log a compaction replaced: what
    this log holds after its header is what that one held from the offset on, so a
    process that had read that log carries on here without reloading the store.
    """
    header: dict[str, object] = {"nbtrack_wal": WAL_FORMAT, "base": base_seq}
    if follows is not None:
        header["follows"] = list(follows)
    return seal(orjson.dumps(header))


def read_wal_header(first_line: bytes) -> dict[str, object] | None:
    """A log's header (its first line, checksummed), or ``None``."""
    body = unseal(first_line) if first_line.endswith(b"\n") else None
    if body is None or not body.startswith(b'{"nbtrack_wal"'):
        return None
    try:
        header = orjson.loads(body)
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def is_sealed_file(first_line: bytes) -> bool:
    """Whether a file's first line is a good header of this format (its lines must then be checksummed)."""
    body = unseal(first_line)
    return body is not None and (body.startswith(b'{"nbtrack_wal"') or body.startswith(b'["v",'))


class JournalDamaged(ValueError):
    """A journal line failed its checksum or does not parse (``offset``: its first byte)."""

    def __init__(self, offset: int, why: str) -> None:
        super().__init__(f"byte {offset}: {why}")
        self.offset = offset
        self.why = why


def journal_records(data: bytes) -> list[list[object]]:
    """The records of a run journal (complete lines only).

    Raises
    ------
    JournalDamaged
        A line of a checksummed journal fails its checksum or is not a record.
    """
    sealed = is_sealed_file(data[: data.find(b"\n") + 1])
    out: list[list[object]] = []
    offset = 0
    for line in data.splitlines(keepends=True):
        size = len(line)
        body = unseal(line)
        if body is None:
            if sealed:
                raise JournalDamaged(offset, "its checksum does not match")
            body = line
        try:
            record = orjson.loads(body)
        except orjson.JSONDecodeError:
            if sealed:
                raise JournalDamaged(offset, "it is not a record") from None
            offset += size
            continue  # older journals: a line glued by a cut write is skipped, as before
        if not isinstance(record, list) or not record:
            if sealed:
                raise JournalDamaged(offset, "it is not a record")
        elif record[0] != "v":
            out.append(record)
        offset += size
    return out
