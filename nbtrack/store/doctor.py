"""``nbtrack doctor``: check every file of a store, say what is damaged and what can be recovered, repair.

What is checked: the snapshot (``nbtrack.json``: parses, checksum, not older than
its log), its last good copy (``nbtrack.json.bak.gz``), the write-ahead log (every line's
checksum and number), the index (derived: rebuilt if stale), every run journal
(checksums, cuts, a journal without its run document) and leftover temporary
files. ``repair=True`` first copies the damaged files into
``<store>/damaged-<time>/``, then rebuilds a consistent store from the best
snapshot (or its backup), every good log entry after it and every run journal,
which holds each param, tag and metric point of its run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from nbtrack.errors import NbtrackError, StoreCorrupted
from nbtrack.store import _codec, _fileio, _index
from nbtrack.store._flock import StoreLock
from nbtrack.store._snapshot import (
    BACKUP,
    SNAPSHOT,
    WAL,
    OrjsonStorage,
    Tables,
    backup_of,
    empty_tables,
    from_tinydb,
    to_tinydb,
)
from nbtrack.store._tx import HISTORY_IN_SUMMARY, Fold
from nbtrack.store.base import DEFAULT_STORE


@dataclass
class DoctorReport:
    """What :func:`doctor` found (and did).

    Attributes
    ----------
    store : Path
        The store folder.
    problems : list of str
        Damage found, one sentence each; empty when the store is sound.
    notes : list of str
        What is intact or recoverable, and what a repair did.
    repaired : bool
        Whether a repair rewrote the store.
    saved_to : Path or None
        Where the damaged files were copied before the repair.
    """

    store: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: bool = False
    saved_to: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether no damage was found."""
        return not self.problems

    def __str__(self) -> str:
        lines = [f"nbtrack doctor: {self.store}"]
        lines += [f"  DAMAGED  {p}" for p in self.problems] or ["  every file is sound"]
        lines += [f"  note     {n}" for n in self.notes]
        if self.problems and not self.repaired:
            lines.append(f"  run `nbtrack doctor {self.store} --repair` to rebuild it (damaged files are kept aside)")
        return "\n".join(lines)


@dataclass
class _State:
    tables: Tables
    seq: int
    damaged: set[Path]
    journals: dict[str, tuple[Path, list[list[Any]], bool]]  # run id -> (file, good records, whole)


def _read_snapshot(path: Path, report: DoctorReport) -> tuple[Tables, int] | None:
    if not path.exists():
        return None
    try:
        data = OrjsonStorage(path).read()
        if data is None:
            return None
        return from_tinydb(data)
    except (StoreCorrupted, KeyError, TypeError, AttributeError, ValueError) as exc:
        report.problems.append(f"{path.name}: {exc}".split("; nbtrack will")[0])
        return None


def _read_wal(path: Path, after: int, report: DoctorReport) -> tuple[list[tuple[int, str, str, str, Any]], bool]:
    """Good log entries (numbered above ``after``) up to the first damaged line; and whether all were good."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], True
    sealed = _codec.is_sealed_file(raw[: raw.find(b"\n") + 1])
    entries: list[tuple[int, str, str, str, Any]] = []
    offset = 0
    for line in raw[: raw.rfind(b"\n") + 1].splitlines(keepends=True):
        body = _codec.unseal(line)
        try:
            if body is None and sealed:
                raise ValueError("checksum")
            entry = orjson.loads(body if body is not None else line)
            if "nbtrack_wal" in entry and offset == 0:
                offset += len(line)
                continue
            seq, table, key, kind = entry["s"], entry["t"], entry["k"], entry["o"]
            doc = entry.get("d")
            if kind not in ("put", "del") or (kind == "put" and not isinstance(doc, dict)):
                raise ValueError("entry")
        except (ValueError, KeyError, TypeError):
            report.problems.append(
                f"{WAL}: damaged entry at byte {offset} of {len(raw)}; the {len(entries)} entries before it are good"
            )
            return entries, False
        if seq > after:
            entries.append((seq, table, key, kind, doc))
        offset += len(line)
    return entries, True


def _recorded_wal_length(root: Path) -> tuple[int, int] | None:
    try:
        ino, length = (int(x) for x in (root / "wal.len").read_bytes().split())
    except (OSError, ValueError):
        return None
    return ino, length


def _journal_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    runs = root / "runs"
    for folder, _, files in os.walk(runs):
        for name in files:
            if name.endswith(".jsonl"):
                found[name[: -len(".jsonl")]] = Path(folder) / name
    return found


def _read_journals(
    root: Path, runs: dict[str, Any], report: DoctorReport
) -> dict[str, tuple[Path, list[list[Any]], bool]]:
    out = {}
    for run_id, path in sorted(_journal_files(root).items()):
        data = path.read_bytes()
        data = data[: data.rfind(b"\n") + 1]
        whole = True
        try:
            records = _codec.journal_records(data)
        except _codec.JournalDamaged as exc:
            whole = False
            report.problems.append(f"{path.relative_to(root)}: damaged at byte {exc.offset} ({exc.why})")
            records = _codec.journal_records(data[: exc.offset])
        doc = runs.get(run_id)
        if doc is not None and doc.get("history") == HISTORY_IN_SUMMARY:
            # a process killed between a run's end and its journal's removal; reads ignore this file
            report.notes.append(f"{path.relative_to(root)}: already folded into its run document (ignored)")
            continue
        if doc is None:
            report.problems.append(
                f"{path.relative_to(root)}: a journal without its run document ({len(records)} records)"
            )
        elif isinstance(doc.get("journal_bytes"), int) and len(data) < doc["journal_bytes"]:
            whole = False
            report.problems.append(
                f"{path.relative_to(root)}: cut to {len(data)} of the {doc['journal_bytes']} bytes written"
            )
        out[run_id] = (path, records, whole)
    return out


def _examine(root: Path, report: DoctorReport) -> _State:
    damaged: set[Path] = set()
    snap = _read_snapshot(root / SNAPSHOT, report)
    if snap is None and (root / SNAPSHOT).exists():
        damaged.add(root / SNAPSHOT)
    copy = backup_of(root)
    backup = _read_snapshot(copy, report) if copy.exists() else None
    if backup is None and copy.exists():
        damaged.add(copy)
    if snap is None and not (root / SNAPSHOT).exists() and copy.exists():
        report.problems.append(f"{SNAPSHOT} is missing but {copy.name} exists")
    base = snap or backup or (empty_tables(), 0)
    if snap is None and backup is not None:
        report.notes.append(f"{copy.name} is intact (change {backup[1]}): the rebuild starts from it")
    tables, seq = base
    entries, whole = _read_wal(root / WAL, seq, report)
    if not whole:
        damaged.add(root / WAL)
    length = _recorded_wal_length(root)
    if length is not None:
        wal = root / WAL
        if not wal.exists() and length[1] > 0:
            report.problems.append(f"{WAL} is missing, but {length[1]} bytes had been written to it")
        elif wal.exists() and wal.stat().st_ino == length[0] and wal.stat().st_size < length[1]:
            report.problems.append(f"{WAL} holds {wal.stat().st_size} of the {length[1]} bytes written to it")
            damaged.add(wal)
    if entries and entries[0][0] != seq + 1:
        report.problems.append(
            f"{SNAPSHOT} (change {seq}) is older than {WAL} (which goes on from change {entries[0][0] - 1}): "
            "changes between them are lost unless the journals hold them"
        )
    for entry_seq, table, key, kind, doc in entries:
        rows = tables.setdefault(table, {})
        if kind == "put":
            rows[key] = {**doc, "_seq": entry_seq}
        else:
            rows.pop(key, None)
        seq = max(seq, entry_seq)
    report.notes.append(f"{len(entries)} good log entries replay on top of the snapshot")
    journals = _read_journals(root, tables.get("runs", {}), report)
    for run_id, (path, _, whole_journal) in journals.items():
        if not whole_journal or run_id not in tables.get("runs", {}):
            damaged.add(path)
    if _index.read(root / _index.INDEX) is None and (root / _index.INDEX).exists():
        report.notes.append(f"{_index.INDEX} is damaged or stale; it is rebuilt on the next open (no data in it)")
    leftovers = [p for p in root.iterdir() if p.name.startswith(_fileio.TMP_PREFIX) and p.name.endswith(".tmp")]
    if leftovers:
        report.notes.append(f"{len(leftovers)} temporary files of interrupted writes (removed on the next write)")
    report.notes.append(f"{len(tables.get('runs', {}))} runs and {len(journals)} run journals recoverable")
    return _State(tables, seq, damaged, journals)


def _repair(root: Path, state: _State, report: DoctorReport) -> None:
    saved = root / time.strftime("damaged-%Y%m%d-%H%M%S")
    saved.mkdir()
    for path in sorted(state.damaged):
        target = saved / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    report.saved_to = saved
    runs = state.tables.setdefault("runs", {})
    for run_id, (path, records, whole) in state.journals.items():
        doc = runs.get(run_id)
        if doc is None:  # a journal without its document: rebuild the run from it
            points = [r[3] for r in records if r and r[0] == "m" and len(r) > 3 and isinstance(r[3], int)]
            start = min(points) if points else int(path.stat().st_mtime * 1000)
            doc = {
                "run_id": run_id,
                "experiment_id": "0",
                "run_name": f"recovered-{run_id[:8]}",
                "user_id": "",
                "status": "KILLED",
                "start_time": start,
                "end_time": max(points) if points else start,
                "artifact_uri": str(root / "artifacts" / run_id),
                "lifecycle_stage": "active",
                "params": {},
                "tags": {"nbtrack.recovered": "from its journal by nbtrack doctor"},
                "metrics": {},
                "metric_meta": {},
                "inputs": [],
            }
            report.notes.append(f"run {run_id} rebuilt from its journal (in the Default experiment, KILLED)")
        fold = Fold(doc)
        for record in records:
            with contextlib.suppress(ValueError, IndexError, KeyError, TypeError, AttributeError):
                fold.apply(record)
        if not whole:  # keep the good records, checksummed, in place of the damaged file
            payload = _codec.JOURNAL_HEADER + _codec.journal_lines(records)
            _fileio.replace_with(path, [payload])
        state.seq += 1
        runs[run_id] = {**fold.merged(doc), "journal_bytes": path.stat().st_size, "_seq": state.seq}
    storage = OrjsonStorage(root / SNAPSHOT)
    if (root / SNAPSHOT) in state.damaged or not (root / SNAPSHOT).exists():
        _fileio.replace_with(root / SNAPSHOT, [_snapshot_bytes(state)])  # the last good copy stays as it was
    else:
        storage.write(to_tinydb(state.tables, state.seq))
    _fileio.replace_with(root / WAL, [_codec.wal_header(state.seq)])
    with contextlib.suppress(FileNotFoundError):
        (root / "wal.len").unlink()
    _index.remove(root / _index.INDEX)
    _fileio.remove_leftovers(root)
    report.repaired = True
    report.notes.append(f"store rebuilt at change {state.seq}; damaged files copied to {saved}")


def _snapshot_bytes(state: _State) -> bytes:
    from nbtrack.store._snapshot import encode

    return encode(to_tinydb(state.tables, state.seq))


def doctor(store: str | os.PathLike[str] | None = None, repair: bool = False) -> DoctorReport:
    """Check a store's files and report damage and what is recoverable; optionally repair it.

    Parameters
    ----------
    store : str or path-like, optional
        The store folder; the current tracking store by default.
    repair : bool
        Rebuild a consistent store keeping everything recoverable, after copying the damaged
        files aside. Stop every kernel using the store first.

    Returns
    -------
    DoctorReport
        ``report.ok`` is true when nothing is damaged; ``str(report)`` reads as the CLI prints it.

    Raises
    ------
    NbtrackError
        The folder is not a store, or cannot be read (or written, for a repair).
    """
    if store is None:  # the store in use: set_tracking_uri exports its choice as NBTRACK_STORE
        store = os.environ.get("NBTRACK_STORE") or DEFAULT_STORE
    root = Path(store).expanduser().resolve()
    if not (root / SNAPSHOT).exists() and not (root / WAL).exists() and not backup_of(root).exists():
        raise NbtrackError(f"{root} is not an nbtrack store (no {SNAPSHOT}, {BACKUP} or {WAL} in it).")
    report = DoctorReport(root)
    try:
        if not repair:
            _examine(root, report)
            return report
        with StoreLock(root / ".lock"):
            state = _examine(root, report)
            if report.problems:
                _repair(root, state, report)
    except OSError as exc:
        raise _fileio.store_error(exc, root, "checking the store") from None
    return report
