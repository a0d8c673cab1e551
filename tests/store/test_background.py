"""Compaction and index writes of a big store run in a background process; writers carry on meanwhile."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.entities import Metric, Param
from nbtrack.errors import StoreCorrupted
from nbtrack.store import _backend, _background, _compactor, _fileio, _index
from nbtrack.store._snapshot import SNAPSHOT, WAL, stat_key
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

ROOT = Path(__file__).resolve().parents[2]


def _runs(store: TinyDBStore, count: int) -> list[str]:
    client = TrackingClient(store=store)
    ids = []
    for i in range(count):
        run_id = client.create_run("0", run_name=f"r{i}").info.run_id
        client.log_batch(run_id, metrics=[Metric("acc", i / count, 0, 0)], params=[Param("i", str(i))])
        client.set_terminated(run_id)
        ids.append(run_id)
    return ids


def _logged_and_compacted(root: Path, in_snapshot: int, in_log: int) -> tuple[TinyDBStore, list[str]]:
    """A store with ``in_snapshot`` runs folded into its snapshot, then ``in_log`` more only in its log."""
    store = TinyDBStore(root)
    ids = _runs(store, in_snapshot)
    store.compact()
    return store, ids + _runs(store, in_log)


def _stored_ids(root: Path) -> set[str]:
    fresh = TinyDBStore(root)
    return set(fresh.search_runs_frame(["0"], None, 3, None, None)["run_id"])


def _snapshot_ids(root: Path) -> set[str]:
    data = json.loads((root / SNAPSHOT).read_bytes())
    return {doc["_key"] for doc in data["runs"].values()}


def _leftovers(root: Path) -> list[str]:
    return [name for name in os.listdir(root) if name.startswith(_fileio.TMP_PREFIX)]


def test_a_big_store_compacts_in_the_background_while_writes_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store big enough to compact in the background (thresholds lowered to a test's size)
    monkeypatch.setattr(_backend, "BACKGROUND_BYTES", 0)
    monkeypatch.setattr(_backend, "_MIN_COMPACT_BYTES", 64 << 10)
    monkeypatch.setattr(_backend, "_MIN_INDEX_BYTES", 64 << 20)
    root = tmp_path / "s"
    store = TinyDBStore(root)
    ids = _runs(store, 150)  # the first compaction runs in-process (no snapshot yet)
    assert (root / SNAPSHOT).exists()
    # When runs are logged until a compaction is due, and on while the job runs
    before = stat_key(root / SNAPSHOT)
    while str(root) not in _background._jobs:
        ids += _runs(store, 10)
    runs_table = store._b.runs
    during = _runs(store, 30)
    assert _background.wait(root, 120) == 0
    after = _runs(store, 5)
    # Then the snapshot was replaced by the job, holding the runs logged before it started
    assert stat_key(root / SNAPSHOT) != before
    assert set(ids) <= _snapshot_ids(root)
    # And the writer carried on in the new log without reloading the store
    assert store._b.runs is runs_table
    assert store._b._wal_offset == os.path.getsize(root / WAL)
    # And every run, those logged while the job ran included, is in the store as a fresh process reads it
    assert _stored_ids(root) == set(ids + during + after)
    assert not _leftovers(root)


def test_a_reader_follows_a_compaction_without_reloading(tmp_path: Path) -> None:
    # Given a writer and a reader that has read everything, and one that has fallen behind
    root = tmp_path / "s"
    writer = TinyDBStore(root)
    ids = _runs(writer, 20)
    reader, behind = TinyDBStore(root), TinyDBStore(root)
    reader.version()
    behind.version()
    ids += _runs(writer, 5)
    reader.version()
    table = reader._b.runs
    # When the writer compacts and logs more
    writer.compact()
    ids += _runs(writer, 5)
    # Then the reader carries on from the new log with the same tables, and sees every run
    assert _stored_ids(root) == set(ids)
    assert set(reader.search_runs_frame(["0"], None, 3, None, None)["run_id"]) == set(ids)
    assert reader._b.runs is table
    # And the reader that was behind reopens the store and sees every run too
    assert set(behind.search_runs_frame(["0"], None, 3, None, None)["run_id"]) == set(ids)


def test_a_killed_background_compaction_leaves_a_store_that_opens_with_every_run(tmp_path: Path) -> None:
    # Given a store of a few thousand runs, the last of them only in its log
    root = tmp_path / "s"
    _, ids = _logged_and_compacted(root, 1500, 1500)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "nbtrack.store._compactor", str(root), "compact"]
    # When compaction jobs are killed (SIGKILL) at several moments of their work
    for delay in (0.05, 0.15, 0.25, 0.35, 0.45, 0.6):
        job = subprocess.Popen(command, env=env)
        time.sleep(delay)
        job.send_signal(signal.SIGKILL)
        job.wait()
        # Then each time the store opens and holds every run
        assert _stored_ids(root) == set(ids)
    # And a job left to finish compacts it and removes what the killed ones left behind
    assert subprocess.run(command, env=env, check=False, timeout=120).returncode == 0
    assert set(ids) <= _snapshot_ids(root)
    assert not _leftovers(root)
    assert _stored_ids(root) == set(ids)


def test_a_job_gives_way_to_another_job_and_to_a_compaction_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store with runs in its log
    root = tmp_path / "s"
    store = TinyDBStore(root)
    ids = _runs(store, 30)
    # When another job holds the compaction lock, a second one does nothing
    with _compactor._exclusive(root) as held:
        assert held
        assert _compactor.run(root, "compact") == _background.BUSY
    # When another process compacts while the job writes its files
    real_chunks = _compactor.snapshot_chunks

    def chunks_then_compact(tables: dict, seq: int, **kwargs: Any) -> Iterator[bytes]:  # type: ignore[type-arg]
        yield from real_chunks(tables, seq, **kwargs)
        TinyDBStore(root).compact()

    monkeypatch.setattr(_compactor, "snapshot_chunks", chunks_then_compact)
    before = stat_key(root / SNAPSHOT)
    # Then the job gives up, leaving that compaction's files in place and no file of its own
    assert _compactor.run(root, "compact") == _background.BUSY
    assert stat_key(root / SNAPSHOT) != before
    assert not _leftovers(root)
    assert _stored_ids(root) == set(ids)


def test_a_background_index_job_writes_the_index_a_fresh_process_opens_from(tmp_path: Path) -> None:
    # Given a store whose log has grown past its index
    root = tmp_path / "s"
    _, ids = _logged_and_compacted(root, 40, 40)
    assert _index.peek(root / _index.INDEX)[2] < os.path.getsize(root / WAL)  # type: ignore[index]
    # When the index job runs
    assert _compactor.run(root, "index") == 0
    # Then the index covers the whole log, and a fresh process opens from it without parsing a document
    assert _index.peek(root / _index.INDEX)[2] == os.path.getsize(root / WAL)  # type: ignore[index]
    fresh = TinyDBStore(root)
    fresh.version()
    assert fresh._b.has_index() and not fresh._b.runs.loaded
    assert _stored_ids(root) == set(ids)
    # And running it again finds nothing to do
    assert _compactor.run(root, "index") == _background.BUSY


def test_a_lock_free_reader_that_read_the_log_before_an_append_is_not_told_it_was_cut(tmp_path: Path) -> None:
    # Given a reader without the lock (as a background job reads) that stat-ed the log, then a writer appended
    root = tmp_path / "s"
    writer = TinyDBStore(root)
    _runs(writer, 3)
    reader = _backend.FileBackend(root, read_only=True)
    seen = stat_key(root / WAL)
    _runs(writer, 3)
    # Then the log length the writer recorded does not make the reader call the log cut
    reader._check_wal_length(seen)
    # But a log really cut below that length is refused
    os.truncate(root / WAL, seen[1] - 10)  # type: ignore[index]
    with pytest.raises(StoreCorrupted, match="cut, emptied or deleted"):
        reader._check_wal_length(stat_key(root / WAL))


def _every_doc(root: Path) -> dict[str, dict[str, object]]:
    """Every run document, parsed from the snapshot and the log of a copy of the store without its index."""
    copy = root.with_name(root.name + "-copy")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy)
    _index.remove(copy / _index.INDEX)
    fresh = TinyDBStore(copy)
    docs = {d["run_id"]: d for d in fresh.search_run_docs(["0"], None, 3)}
    return {run_id: {k: v for k, v in d.items() if k != "artifact_uri"} for run_id, d in docs.items()}


def _changed_since_the_snapshot(root: Path) -> tuple[TinyDBStore, list[str]]:
    """A compacted store of 120 runs, then a tag changed on 5, 2 deleted for good and 20 new ones (in its log)."""
    store, ids = _logged_and_compacted(root, 120, 0)
    client = TrackingClient(store=store)
    for run_id in ids[10:15]:
        client.set_tag(run_id, "touched", "yes")
    with store._tx() as tx:
        for run_id in ids[20:22]:
            tx.delete("runs", run_id)
    return store, ids + _runs(store, 20)


def test_a_compaction_copies_unchanged_documents_from_the_old_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a compacted store (its index records where each document lies) changed since in its log
    root = tmp_path / "s"
    store, _ = _changed_since_the_snapshot(root)
    want = {
        d["run_id"]: {k: v for k, v in d.items() if k != "artifact_uri"} for d in store.search_run_docs(["0"], None, 3)
    }
    assert len(want) == 138

    # When the background job compacts it, with parsing the old snapshot forbidden
    def no_parse(self: _backend.FileBackend) -> object:
        raise AssertionError("the old snapshot was parsed")

    monkeypatch.setattr(_backend.FileBackend, "_parse_snapshot", no_parse)
    assert _compactor.run(root, "compact") == 0
    # Then the new snapshot holds every run as the store does (the documents the log changed included)
    monkeypatch.undo()
    assert _snapshot_ids(root) == set(want)
    assert _every_doc(root) == want
    assert (root / WAL).stat().st_size < 200  # the log was folded in
    # And a second compaction, after more changes, copies again from the new snapshot
    store = TinyDBStore(root)
    _runs(store, 5)
    monkeypatch.setattr(_backend.FileBackend, "_parse_snapshot", no_parse)
    assert _compactor.run(root, "compact") == 0
    monkeypatch.undo()
    assert len(_every_doc(root)) == 143


def test_a_compaction_parses_a_snapshot_whose_spans_it_does_not_know(tmp_path: Path) -> None:
    # Given a store whose index was rebuilt from its documents (no spans: as an older version wrote it)
    root = tmp_path / "s"
    store, _ = _changed_since_the_snapshot(root)
    want = {
        d["run_id"]: {k: v for k, v in d.items() if k != "artifact_uri"} for d in store.search_run_docs(["0"], None, 3)
    }
    _index.remove(root / _index.INDEX)
    rebuilt = TinyDBStore(root)
    rebuilt.search_run_docs(["0"])  # opens and writes a new index
    assert _index.read(root / _index.INDEX).columns.spans_of is None
    # When the job compacts it, it parses the documents, and the result holds every run
    assert _compactor.run(root, "compact") == 0
    assert _every_doc(root) == want
    # And the new index records the spans of the new snapshot
    assert _index.read(root / _index.INDEX).columns.spans_of is not None


def test_a_compaction_does_not_copy_a_damaged_snapshot_into_a_new_one(tmp_path: Path) -> None:
    # Given a compacted store whose snapshot had one character of a document changed behind its back
    root = tmp_path / "s"
    _logged_and_compacted(root, 60, 5)
    raw = (root / SNAPSHOT).read_bytes()
    at = raw.index(b'"acc":') + 7
    damaged = raw[:at] + (b"9" if raw[at : at + 1] != b"9" else b"8") + raw[at + 1 :]
    (root / SNAPSHOT).write_bytes(damaged)
    os.utime(root / SNAPSHOT, ns=(stat_key(root / SNAPSHOT)[2], stat_key(root / SNAPSHOT)[2]))
    # When the job compacts it, it is refused, naming the damage
    with pytest.raises(StoreCorrupted):
        _compactor.run(root, "compact")
    # Then the damaged file is still the snapshot (no new checksum was written over the change)
    assert (root / SNAPSHOT).read_bytes() == damaged
    assert _leftovers(root) == []
