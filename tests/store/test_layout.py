"""Store layout: grouped journals and their migration, file modes, no links followed, no leftovers."""

from __future__ import annotations

import gc
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from nbtrack.entities import RunStatus, ViewType
from nbtrack.errors import NbtrackError
from nbtrack.store import _index
from nbtrack.store.memory_store import MemoryStore
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient


def _runs(path: Path, count: int) -> list[str]:
    """Finished runs with a two-step history each (so their journals stay: one point each would be folded)."""
    client = TrackingClient(store=TinyDBStore(path))
    ids = []
    for i in range(count):
        run_id = client.create_run("0").info.run_id
        client.log_metric(run_id, "loss", float(i), step=0)
        client.log_metric(run_id, "loss", float(i), step=1)
        client.set_terminated(run_id)
        ids.append(run_id)
    return ids


def test_journals_are_grouped_by_the_first_two_hex_digits(tmp_path: Path) -> None:
    ids = _runs(tmp_path / "s", 20)
    for run_id in ids:
        assert (tmp_path / "s" / "runs" / run_id[:2] / f"{run_id}.jsonl").is_file()
    assert not list((tmp_path / "s" / "runs").glob("*.jsonl"))


@pytest.mark.parametrize("moved_before_kill", [0, 7, 20])
def test_an_old_flat_store_is_migrated_in_place_even_after_a_killed_migration(
    tmp_path: Path, moved_before_kill: int
) -> None:
    # Given a store in the old layout (runs/<id>.jsonl), partly migrated when a migration was killed
    path = tmp_path / "s"
    ids = _runs(path, 20)
    for run_id in ids[moved_before_kill:]:
        os.rename(path / "runs" / run_id[:2] / f"{run_id}.jsonl", path / "runs" / f"{run_id}.jsonl")
    # Then a reader opens it and sees every history, wherever each journal is
    reader = TrackingClient(store=TinyDBStore(path, read_only=True))
    assert [[m.value for m in reader.get_metric_history(r, "loss")] for r in ids] == [[float(i)] * 2 for i in range(20)]
    # And the next writer finishes the migration
    TrackingClient(store=TinyDBStore(path)).create_experiment("e")
    assert not list((path / "runs").glob("*.jsonl"))
    fresh = TrackingClient(store=TinyDBStore(path))
    assert [[m.value for m in fresh.get_metric_history(r, "loss")] for r in ids] == [[float(i)] * 2 for i in range(20)]


def test_store_files_keep_the_process_umask_after_compaction(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        store = TinyDBStore(tmp_path / "s")
        _runs(tmp_path / "s", 2)
        store.compact()
        store.compact()
    finally:
        os.umask(old)
    for name in ("nbtrack.json", "nbtrack.json.bak.gz", "wal.jsonl", _index.INDEX):
        assert stat.S_IMODE((tmp_path / "s" / name).stat().st_mode) == 0o664, name
    journal = next((tmp_path / "s" / "runs").rglob("*.jsonl"))
    assert stat.S_IMODE(journal.stat().st_mode) == 0o664


def test_a_planted_journal_symlink_is_not_followed(tmp_path: Path) -> None:
    # Given a symlink planted where a new run's journal will be written, pointing outside the store
    path = tmp_path / "s"
    client = TrackingClient(store=TinyDBStore(path))
    run_id = client.create_run("0").info.run_id
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    journal = path / "runs" / run_id[:2] / f"{run_id}.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.symlink_to(outside)
    # Then logging refuses with an NbtrackError and the target is untouched
    with pytest.raises(NbtrackError):
        client.log_metric(run_id, "loss", 1.0)
    assert outside.read_text() == "precious"


def test_leftover_temp_files_of_an_interrupted_compaction_are_removed_on_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "s"
    _runs(path, 3)
    for i in range(3):
        (path / f".nbtrack-{i}deadbeef.tmp").write_bytes(b"x" * 1000)
    TrackingClient(store=TinyDBStore(path)).create_run("0")
    assert not list(path.glob(".nbtrack-*.tmp"))


def test_memory_store_leaves_no_temporary_folder(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("nbtrack-mem-*"))
    # Given memory stores, one of which wrote an artifact
    quiet = MemoryStore()
    TrackingClient(store=quiet).create_run("0")
    busy = MemoryStore()
    run_id = TrackingClient(store=busy).create_run("0").info.run_id
    (busy.artifact_dir(run_id) / "a.txt").write_text("x")
    assert busy.root.exists() and not quiet.root.exists()  # a folder only once artifacts need one
    # When they go away
    del quiet, busy
    gc.collect()
    # Then no nbtrack-mem-* folder is left
    assert set(Path(tempfile.gettempdir()).glob("nbtrack-mem-*")) == before


def test_a_stale_or_missing_index_is_rebuilt_and_agrees(tmp_path: Path) -> None:
    path = tmp_path / "s"
    ids = _runs(path, 10)
    (path / _index.INDEX).unlink()
    store = TinyDBStore(path)
    assert sorted(store.search_runs_frame(["0"])["run_id"]) == sorted(ids)
    store.create_experiment("e")  # a writer writes it back
    assert (path / _index.INDEX).exists()
    shutil.copy(path / _index.INDEX, tmp_path / "old-index")
    _runs(path, 2)
    shutil.copy(tmp_path / "old-index", path / _index.INDEX)  # an index older than the log: still right
    fresh = TinyDBStore(path)
    assert len(fresh.search_runs_frame(["0"], run_view_type=ViewType.ALL)) == 12
    assert all(s == RunStatus.FINISHED for s in fresh.search_runs_frame(["0"])["status"])


def test_after_every_compaction_a_fresh_process_opens_from_the_index(tmp_path: Path) -> None:
    # Given a store compacted again and again (file inode numbers get reused along the way)
    path = tmp_path / "s"
    store = TinyDBStore(path)
    for round_ in range(8):
        _runs(path, 3)
        store.compact()
        # Then a new store object answers a frame search from the index, without parsing a document
        fresh = TinyDBStore(path)
        assert len(fresh.search_runs_frame(["0"])) == 3 * (round_ + 1)
        assert not fresh._b.runs.loaded, round_


@pytest.mark.parametrize("batch", [1, 2, 10_000])
def test_the_streamed_snapshot_is_the_same_bytes_as_the_whole_one(tmp_path: Path, batch: int) -> None:
    # Given tables with several documents in one table, one in another, and empty ones
    from nbtrack.store._snapshot import empty_tables, encode, gzip_chunks, snapshot_chunks, to_tinydb

    tables = empty_tables()
    tables["runs"] = {f"r{i}": {"run_id": f"r{i}", "metrics": {"m": i / 3}, "params": {"p": "é"}} for i in range(5)}
    tables["experiments"] = {"0": {"name": "Default"}}
    # When it is written in pieces of `batch` documents, and an empty store too
    for case in (tables, empty_tables()):
        streamed = b"".join(snapshot_chunks(case, 7, batch))
        # Then the bytes are those of the whole-file encoder (same checksum record, same layout)
        assert streamed == encode(to_tinydb(case, 7))
    # And the streamed gzip copy of a file decompresses to that file
    path = tmp_path / "f"
    path.write_bytes(streamed * 1000)
    import gzip

    assert gzip.decompress(b"".join(gzip_chunks(path, 4096))) == streamed * 1000
