"""Reading the write-ahead log (``wal.jsonl``): checksums, sequence numbers, damage reports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from nbtrack.errors import StoreCorrupted
from nbtrack.store import _codec
from nbtrack.store._snapshot import backup_of, read_bytes

Entry = tuple[int, str, str, str, "dict[str, Any] | None"]


class WalReader:
    """Parses the log of one store folder."""

    def __init__(self, wal: Path, root: Path, snapshot: Path) -> None:
        self.wal, self.root, self.snapshot = wal, root, snapshot
        self.ino: int | None = None

    def read(
        self, start: int, after_seq: int, stop: int | None = None, snapshot_seq: int | None = None
    ) -> tuple[list[Entry], int, bool]:
        """Entries numbered above ``after_seq`` from byte ``start`` (to ``stop``), the end offset, sealed-ness.

        A partial last line, or the first lines of a commit whose last line is not there
        yet (a writer appending, or killed mid-append), are left out: a commit shows
        whole or not at all. A damaged line, a gap in the numbers or a log newer than
        its snapshot raise :class:`StoreCorrupted`. :attr:`ino` is then the inode of the
        file read (a compaction may have replaced the log since the caller looked).
        """
        try:
            with open(self.wal, "rb") as fh:
                self.ino = os.fstat(fh.fileno()).st_ino
                first = fh.readline(256)
                fh.seek(start)
                chunk = fh.read() if stop is None else fh.read(max(0, stop - start))
        except FileNotFoundError:
            self.ino = None
            return [], start, True
        sealed = _codec.is_sealed_file(first)
        end = chunk.rfind(b"\n") + 1
        rest = chunk[end:]
        if sealed and len(rest) > 1 and _codec.unseal(rest[:-1] + b"\n") is not None:
            # a whole line with something else for its newline: damage, not an append under way
            raise self.corrupted(start + end, "its line end is damaged")
        offset = start
        expect = after_seq
        entries: list[Entry] = []
        # a commit of several entries names their number on its first line ("g"): (its offset, entries
        # before it, lines still to come)
        group: tuple[int, int, int] | None = None
        for line in chunk[:end].splitlines(keepends=True):
            body = _codec.unseal(line)
            if body is None:
                if sealed:
                    raise self.corrupted(offset, "its checksum does not match")
                body = line
            if offset == 0 and sealed:
                header = orjson.loads(body)
                base = header.get("base", 0) if isinstance(header, dict) else 0
                if snapshot_seq is not None and isinstance(base, int) and base > snapshot_seq:
                    if not self._restored_backup():
                        raise self.behind(base, snapshot_seq)
                    # The user copied the last good copy back: replay the log on top of it (each entry
                    # is a whole document, so every document ends at its newest surviving version).
                    expect = max(expect, base)
                offset += len(line)
                continue
            try:
                entry = orjson.loads(body)
                seq, table, key, kind = entry["s"], entry["t"], entry["k"], entry["o"]
                doc = entry["d"] if kind == "put" else None
                if (
                    not isinstance(seq, int)
                    or not isinstance(table, str)
                    or not isinstance(key, str)
                    or kind not in ("put", "del")
                    or (kind == "put" and not isinstance(doc, dict))
                ):
                    raise TypeError("bad entry")
                size = entry.get("g", 1)
            except (ValueError, KeyError, TypeError):
                raise self.corrupted(offset, "it is not a log entry") from None
            if group is not None:
                group = None if group[2] == 1 else (group[0], group[1], group[2] - 1)
            elif isinstance(size, int) and size > 1:
                group = (offset, len(entries), size - 1)
            if seq > expect:
                if seq != expect + 1:
                    raise self.corrupted(offset, f"entries {expect + 1} to {seq - 1} are missing before it")
                expect = seq
                entries.append((seq, table, key, kind, doc))
            offset += len(line)
        if group is not None:  # its last lines are still being written (or never will be)
            del entries[group[1] :]
            offset = group[0]
        return entries, offset, sealed

    def _restored_backup(self) -> bool:
        try:
            return read_bytes(backup_of(self.root)) == self.snapshot.read_bytes()
        except (OSError, ValueError):
            return False

    def corrupted(self, offset: int, why: str) -> StoreCorrupted:
        snapshot = (
            f"the snapshot {self.snapshot} and its last good copy, {backup_of(self.root)},"
            if backup_of(self.root).exists()
            else f"the snapshot {self.snapshot} (no copy {backup_of(self.root)} exists yet)"
        )
        return StoreCorrupted(
            f"The store log {self.wal} has an unreadable entry at byte {offset} ({why}); nbtrack will neither "
            f"read nor write this store until it is repaired. Entries before that byte are good, and {snapshot} "
            f"are untouched. To recover, stop every kernel using this store, then run `nbtrack doctor "
            f"{self.root} --repair` (it keeps every entry before that byte and every run journal), or cut "
            f"{self.wal.name} at byte {offset} (e.g. `truncate -s {offset} {self.wal}`); changes logged after "
            "it are lost."
        )

    def behind(self, base: int, snapshot_seq: int) -> StoreCorrupted:
        return StoreCorrupted(
            f"The store file {self.snapshot} is older than its log {self.wal} (change {snapshot_seq}, the log "
            f"follows change {base}): the snapshot was replaced or damaged. nbtrack will neither read nor write "
            f"this store until it is repaired: run `nbtrack doctor {self.root} --repair` (it rebuilds the store "
            f"from {backup_of(self.root)}, the log and the run journals)."
        )
