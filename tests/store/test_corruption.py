"""A damaged store file gives a clear StoreCorrupted and is never emptied or overwritten."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from nbtrack.entities import ViewType
from nbtrack.errors import NbtrackError, StoreCorrupted
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient


def _store_with_two_compactions(path: Path) -> tuple[TinyDBStore, list[str]]:
    """A store whose nbtrack.json and its last good copy both exist, plus runs in the log."""
    store = TinyDBStore(path)
    client = TrackingClient(store=store)
    ids = []
    for i in range(3):
        run = client.create_run("0", run_name=f"r{i}")
        client.log_param(run.info.run_id, "i", i)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
        store.compact()
    return store, ids


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file() and p.name != ".lock"}


def _assert_every_write_refused(path: Path, message_parts: list[str]) -> None:
    before = _files(path)
    client = TrackingClient(store=TinyDBStore(path))
    for attempt in (
        lambda: client.create_experiment("new"),
        lambda: client.create_run("0"),
        lambda: client.search_runs(["0"]),
    ):
        with pytest.raises(StoreCorrupted) as info:
            attempt()
        for part in message_parts:
            assert part in str(info.value)
    assert _files(path) == before  # nothing was written, nothing emptied


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "wrong_layout"])
def test_damaged_snapshot_raises_store_corrupted_naming_file_and_backup(tmp_path: Path, damage: str) -> None:
    # Given a store compacted twice (so a last good copy exists)
    path = tmp_path / "store"
    _store_with_two_compactions(path)
    snapshot = path / "nbtrack.json"
    raw = snapshot.read_bytes()
    # When nbtrack.json is damaged
    snapshot.write_bytes(
        {
            "truncate": raw[: len(raw) // 2],
            "empty": b"",
            "garbage": b"\x00\x01 not json",
            "wrong_layout": b'{"runs": 5}',
        }[damage]
    )
    # Then every access raises StoreCorrupted naming the file and its backup, and nothing is written
    _assert_every_write_refused(path, [str(snapshot), str(path / "nbtrack.json.bak.gz")])


def test_store_corrupted_is_an_nbtrack_error_and_backup_restores_the_store(tmp_path: Path) -> None:
    # Given a corrupt snapshot
    path = tmp_path / "store"
    _, ids = _store_with_two_compactions(path)
    (path / "nbtrack.json").write_bytes(b"{")
    with pytest.raises(NbtrackError):
        TinyDBStore(path).get_run(ids[0])
    # When the user follows the message: unpack the last good copy over the file (what `gunzip -c` does)
    (path / "nbtrack.json").write_bytes(gzip.decompress((path / "nbtrack.json.bak.gz").read_bytes()))
    # Then the store opens again with the runs that backup holds
    store = TinyDBStore(path)
    assert store.get_run(ids[0]).data.params == {"i": "0"}


def test_a_store_opened_before_the_damage_refuses_to_write_after_it(tmp_path: Path) -> None:
    # Given an open store that has cached its tables
    path = tmp_path / "store"
    store, ids = _store_with_two_compactions(path)
    client = TrackingClient(store=store)
    assert client.get_run(ids[0]).info.status == "FINISHED"
    # When another process truncates the file under it
    snapshot = path / "nbtrack.json"
    snapshot.write_bytes(snapshot.read_bytes()[:100])
    before = _files(path)
    # Then the open store raises instead of writing its stale copy back
    with pytest.raises(StoreCorrupted, match=r"nbtrack\.json\.bak\.gz"):
        client.create_run("0")
    with pytest.raises(StoreCorrupted):
        client.set_tag(ids[0], "late", "x")
    assert _files(path) == before


def test_missing_snapshot_with_a_backup_is_reported_not_treated_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "store"
    _store_with_two_compactions(path)
    (path / "nbtrack.json").unlink()
    with pytest.raises(StoreCorrupted, match="missing"):
        TinyDBStore(path).search_runs(["0"])
    assert not (path / "nbtrack.json").exists()


def test_garbage_line_in_the_middle_of_the_log_raises_and_nothing_is_written(tmp_path: Path) -> None:
    # Given a store with several runs in its write-ahead log
    path = tmp_path / "store"
    _store_with_two_compactions(path)
    client = TrackingClient(store=TinyDBStore(path))
    for i in range(3):
        client.set_terminated(client.create_run("0", run_name=f"log{i}").info.run_id)
    wal = path / "wal.jsonl"
    lines = wal.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4
    # When a line in the middle is garbage
    lines[2] = b'{"s": oops this is not json\n'
    wal.write_bytes(b"".join(lines))
    # Then a fresh store raises StoreCorrupted naming the log, the byte, and the intact copies
    offset = len(lines[0]) + len(lines[1])
    _assert_every_write_refused(path, [str(wal), f"byte {offset}", str(path / "nbtrack.json.bak.gz")])


def test_valid_json_that_is_not_a_log_entry_is_also_corruption(tmp_path: Path) -> None:
    path = tmp_path / "store"
    TrackingClient(store=TinyDBStore(path)).create_experiment("e")
    wal = path / "wal.jsonl"
    wal.write_bytes(b'{"unexpected": true}\n' + wal.read_bytes())
    _assert_every_write_refused(path, [str(wal), "byte 0"])


def test_partial_last_log_line_is_ignored_then_cut_by_the_next_writer(tmp_path: Path) -> None:
    # Given a log whose last line was cut by a killed writer
    path = tmp_path / "store"
    client = TrackingClient(store=TinyDBStore(path))
    kept = client.create_run("0", run_name="kept").info.run_id
    client.set_terminated(kept)
    wal = path / "wal.jsonl"
    with open(wal, "ab") as fh:
        fh.write(b'{"s": 999, "t": "runs", "k": "half", "o": "put", "d": {"run_')
    # When a fresh store reads it
    reader = TrackingClient(store=TinyDBStore(path))
    runs = reader.search_runs(["0"], run_view_type=ViewType.ALL)
    # Then the partial line is ignored
    assert [r.info.run_id for r in runs] == [kept]
    # And the next write cuts it off: every line of the log parses again
    new = reader.create_run("0", run_name="after").info.run_id
    for line in wal.read_bytes().splitlines():
        orjson.loads(line)
    assert wal.read_bytes().endswith(b"\n")
    fresh = TrackingClient(store=TinyDBStore(path))
    assert {r.info.run_id for r in fresh.search_runs(["0"])} == {kept, new}


def test_the_last_good_copy_is_the_snapshot_compressed_and_replaces_an_older_plain_copy(tmp_path: Path) -> None:
    # Given a store of an older version, whose last good copy was the previous snapshot, uncompressed
    path = tmp_path / "store"
    _, ids = _store_with_two_compactions(path)
    plain = path / "nbtrack.json.bak"
    plain.write_bytes(gzip.decompress((path / "nbtrack.json.bak.gz").read_bytes()))
    (path / "nbtrack.json.bak.gz").unlink()
    # Then a damaged snapshot names that plain copy, and doctor rebuilds from it
    snapshot = path / "nbtrack.json"
    good = snapshot.read_bytes()
    snapshot.write_bytes(b"{")
    with pytest.raises(StoreCorrupted, match=r"nbtrack\.json\.bak\b"):
        TinyDBStore(path).get_run(ids[0])
    snapshot.write_bytes(good)
    # When the store compacts again
    TinyDBStore(path).compact()
    # Then the compressed copy holds exactly the new snapshot, and the plain one is gone
    assert gzip.decompress((path / "nbtrack.json.bak.gz").read_bytes()) == snapshot.read_bytes()
    assert not plain.exists()


def test_a_damaged_compressed_copy_is_reported_by_doctor(tmp_path: Path) -> None:
    from nbtrack.store.doctor import doctor

    path = tmp_path / "store"
    _store_with_two_compactions(path)
    copy = path / "nbtrack.json.bak.gz"
    copy.write_bytes(copy.read_bytes()[:40])
    report = doctor(path)
    assert not report.ok and any("nbtrack.json.bak.gz" in p and "gzip" in p for p in report.problems)
