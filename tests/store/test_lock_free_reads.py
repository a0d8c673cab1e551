"""Readers take no store lock: writers elsewhere go on while a store is opened or its documents parsed."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nbtrack.entities import Metric, Param
from nbtrack.errors import StoreCorrupted
from nbtrack.store._backend import WAL_LENGTH, FileBackend
from nbtrack.store._snapshot import WAL
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

ROOT = Path(__file__).resolve().parents[2]
_OPEN = (
    "import sys; from nbtrack.store.tinydb_store import TinyDBStore; from nbtrack.tracking.client import "
    "TrackingClient; s = TinyDBStore(sys.argv[1]); c = TrackingClient(store=s)\n"
)
_WRITE_A_RUN = (
    _OPEN + "r = c.create_run('0').info.run_id; c.log_param(r, 'from', 'elsewhere'); c.set_terminated(r); print(r)"
)
_WRITE_AND_COMPACT = _OPEN + "for i in range(5):\n    r = c.create_run('0').info.run_id; print(r)\ns.compact()"


def _runs(store: TinyDBStore, count: int) -> list[str]:
    client = TrackingClient(store=store)
    ids = []
    for i in range(count):
        run_id = client.create_run("0", run_name=f"r{i}").info.run_id
        client.log_batch(run_id, metrics=[Metric("acc", i / count, 0, 0)], params=[Param("i", str(i))])
        client.set_terminated(run_id)
        ids.append(run_id)
    return ids


def _lock_is_free(root: Path) -> bool:
    """Whether another open of the lock file could take the store lock now."""
    fd = os.open(root / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # (closing releases it)
    return True


def _in_another_process(code: str, root: Path) -> list[str]:
    """Run ``code`` on the store in a new process (a timeout, not a hang, should it wait for a held lock)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _hook(monkeypatch: pytest.MonkeyPatch, name: str, during: Any) -> list[bool]:
    """Call ``during(backend)`` inside ``FileBackend.<name>`` the first time it runs; returns when it did."""
    original = getattr(FileBackend, name)
    calls: list[bool] = []

    def hooked(self: FileBackend, *args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append(True)
            during(self)
        else:
            calls.append(False)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FileBackend, name, hooked)
    return calls


def test_another_process_writes_while_a_reader_parses_every_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store opened from its index, whose documents a reader has not parsed yet
    root = tmp_path / "s"
    writer = TinyDBStore(root)
    ids = _runs(writer, 30)
    writer.compact()
    reader = TinyDBStore(root)
    reader.version()
    assert not reader._b.runs.loaded
    seen: dict[str, Any] = {}

    def write_meanwhile(backend: FileBackend) -> None:
        seen["free"] = _lock_is_free(root)
        seen["run"] = _in_another_process(_WRITE_A_RUN, root)[0]

    _hook(monkeypatch, "_parse_snapshot", write_meanwhile)
    # When the reader parses every document (a search no column answers)
    docs = reader._b.runs.copy()
    # Then the store lock was free meanwhile and the other process's run was written
    assert set(docs) == set(ids)
    assert seen["free"] is True
    # And the reader sees that run next
    assert reader.get_run(seen["run"]).data.params == {"from": "elsewhere"}


def test_a_compaction_while_a_reader_parses_every_document_is_caught_up_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store with runs in its snapshot and in its log, and a reader opened from its index
    root = tmp_path / "s"
    writer = TinyDBStore(root)
    ids = _runs(writer, 20)
    writer.compact()
    ids += _runs(writer, 10)
    reader = TinyDBStore(root)
    reader.version()

    def compact_meanwhile(backend: FileBackend) -> None:
        # (replaces the snapshot and the log the reader is about to parse)
        ids.extend(_in_another_process(_WRITE_AND_COMPACT, root))

    calls = _hook(monkeypatch, "_parse_snapshot", compact_meanwhile)
    # When the reader parses every document while another store compacts
    docs = reader._b.runs.copy()
    # Then it parsed again once it saw the files replaced, and holds every run up to the compaction
    assert len(calls) >= 2
    assert set(docs) == set(ids)
    assert {r.info.run_id for r in reader.search_runs(["0"])} == set(ids)


def test_opening_a_store_reads_its_index_and_log_without_the_store_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store with a log tail beyond its index
    root = tmp_path / "s"
    writer = TinyDBStore(root)
    ids = _runs(writer, 10)
    writer.compact()
    ids += _runs(writer, 5)
    seen: dict[str, bool] = {}
    _hook(monkeypatch, "_read_wal_tail", lambda backend: seen.setdefault("free", _lock_is_free(root)))
    # When a new process's store opens it
    reader = TinyDBStore(root)
    frame = reader.search_runs_frame(["0"], None, 3, None, None)
    # Then the log was read while the store lock was free, and every run is there
    assert seen["free"] is True
    assert set(frame["run_id"]) == set(ids)


def _wal_lines(root: Path) -> list[bytes]:
    return (root / WAL).read_bytes().splitlines(keepends=True)


def test_a_commit_of_several_documents_is_seen_whole_or_not_at_all(tmp_path: Path) -> None:
    # Given a store whose last commit wrote two documents (a model and its audit event)
    root = tmp_path / "s"
    store = TinyDBStore(root)
    _runs(store, 2)
    before = len(_wal_lines(root))
    length_before = (root / WAL_LENGTH).read_bytes()  # (a writer notes the log's length once its append is done)
    store.create_registered_model("churn")
    store.close()
    lines = _wal_lines(root)
    assert len(lines) - before >= 2
    whole, length_after = b"".join(lines), (root / WAL_LENGTH).read_bytes()
    # When a reader finds only part of that commit written (a writer still appending)
    (root / WAL_LENGTH).write_bytes(length_before)
    for cut in (len(whole) - len(lines[-1]), len(whole) - len(lines[-1]) // 2, len(whole) - 1):
        (root / WAL).write_bytes(whole[:cut])
        # Then it sees none of it
        assert TinyDBStore(root).list_registered_models() == []
    # And once the whole commit is there it sees all of it
    (root / WAL).write_bytes(whole)
    (root / WAL_LENGTH).write_bytes(length_after)
    fresh = TinyDBStore(root)
    assert [m.name for m in fresh.list_registered_models()] == ["churn"]


def test_a_damaged_newline_ending_the_log_is_reported_not_read_as_an_append_under_way(tmp_path: Path) -> None:
    # Given a store whose log's last byte (a newline) is changed
    root = tmp_path / "s"
    store = TinyDBStore(root)
    _runs(store, 3)
    store.close()
    raw = bytearray((root / WAL).read_bytes())
    raw[-1:] = b"P"
    (root / WAL).write_bytes(bytes(raw))
    # When the store is opened, then the damage is reported, with the way to repair it
    with pytest.raises(StoreCorrupted, match=r"line end is damaged.*nbtrack doctor"):
        TinyDBStore(root).search_runs(["0"])


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    return _hook(monkeypatch, "_parse_snapshot", lambda backend: None)


def test_a_new_process_writes_to_an_old_run_without_parsing_every_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a compacted store (its runs in the snapshot) opened by a new store object from its index
    root = tmp_path / "s"
    ids = _runs(TinyDBStore(root), 30)
    TinyDBStore(root).compact()
    parses = _count_parses(monkeypatch)
    fresh = TinyDBStore(root)
    client = TrackingClient(store=fresh)
    # When it tags the oldest run and reads it back
    client.set_tag(ids[0], "reviewed", "yes")
    run = client.get_run(ids[0])
    # Then only that run's document was read (from its span in the snapshot), with all it held
    assert parses == []
    assert not fresh._b.runs.loaded
    assert run.data.tags["reviewed"] == "yes" and run.data.params == {"i": "0"} and run.data.metrics["acc"] == 0.0
    # And every other process sees the write, beside the untouched runs
    again = TrackingClient(store=TinyDBStore(root))
    assert again.get_run(ids[0]).data.tags["reviewed"] == "yes"
    assert again.get_run(ids[1]).data.params == {"i": "1"}


def test_a_run_changed_since_the_snapshot_is_read_alone_from_its_last_log_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run changed twice after the snapshot, the index then written (so the log tail is empty)
    root = tmp_path / "s"
    writer = TinyDBStore(root)
    ids = _runs(writer, 10)
    writer.compact()
    client = TrackingClient(store=writer)
    client.set_tag(ids[3], "v", "1")
    client.set_tag(ids[3], "v", "2")
    with writer._b.locked():
        writer._b.write_index()
    parses = _count_parses(monkeypatch)
    # When a new store object reads it
    fresh = TinyDBStore(root)
    run = TrackingClient(store=fresh).get_run(ids[3])
    # Then it holds the newest version, read without parsing every document
    assert run.data.tags["v"] == "2" and run.data.params == {"i": "3"}
    assert parses == [] and not fresh._b.runs.loaded


def test_a_damaged_document_read_alone_is_reported_by_the_whole_parse(tmp_path: Path) -> None:
    # Given a compacted store with one byte of a run's document changed in the snapshot
    root = tmp_path / "s"
    ids = _runs(TinyDBStore(root), 5)
    TinyDBStore(root).compact()
    raw = bytearray((root / "nbtrack.json").read_bytes())
    at = raw.index(b'"i":"2"') + 5  # the value of run 2's param
    raw[at] = ord("7")
    (root / "nbtrack.json").write_bytes(bytes(raw))
    # When a new store object reads that run, then the damage is reported (the value is never read as "7")
    with pytest.raises(StoreCorrupted, match=r"nbtrack\.json"):
        TrackingClient(store=TinyDBStore(root)).get_run(ids[2])


def test_after_following_a_compaction_made_elsewhere_an_old_run_is_still_read_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store object that has read everything, then followed a compaction another one made
    root = tmp_path / "s"
    other = TinyDBStore(root)
    ids = _runs(other, 20)
    other.compact()
    here = TinyDBStore(root)
    here.version()  # (opened from the index: the runs' documents are in the snapshot, unparsed)
    ids += _runs(other, 2)
    here.version()
    table = here._b.runs
    other.compact()
    ids += _runs(other, 3)
    here.version()
    assert here._b.runs is table and table.columns.spans_of is None  # followed: no spans in the new snapshot
    parses = _count_parses(monkeypatch)
    # When it writes to an old run and reads it back
    client = TrackingClient(store=here)
    client.set_tag(ids[0], "reviewed", "yes")
    run = client.get_run(ids[0])
    # Then it took the spans from the index the compaction wrote, and parsed no snapshot
    assert parses == []
    assert run.data.tags["reviewed"] == "yes" and run.data.params == {"i": "0"}
    # And the table it had before (as a write under way holds it) reads other old runs alone too
    old = table.get(ids[1])
    assert old is not None and old["params"] == {"i": "1"} and parses == []
    assert {r.info.run_id for r in here.search_runs(["0"])} == set(ids)
    assert TrackingClient(store=TinyDBStore(root)).get_run(ids[0]).data.tags["reviewed"] == "yes"


def test_a_search_over_a_running_run_keeps_where_its_document_lies(tmp_path: Path) -> None:
    # Given a compacted store holding a running run, opened by a new store object from its index
    root = tmp_path / "s"
    store = TinyDBStore(root)
    client = TrackingClient(store=store)
    live = client.create_run("0").info.run_id
    client.log_param(live, "p", "1")
    _runs(store, 3)
    store.compact()
    fresh = TinyDBStore(root)
    fresh.version()
    columns = fresh._b.runs.columns
    row = columns.pos.get(live)
    assert row is not None and columns.span_at[row] >= 0
    # When it searches (which shows the running run's live view for a while)
    frame = fresh.search_runs_frame(["0"], None, 3, None, None)
    # Then the run is listed running, and its document's place in the snapshot is still known
    assert frame.set_index("run_id").loc[live, "status"] == "RUNNING"
    assert columns.span_at[row] >= 0
