"""The column-built ``search_runs`` frame equals the one built from documents, in every case."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd
import pytest

from nbtrack.entities import Metric, Param, RunTag, ViewType
from nbtrack.store.frame import runs_frame
from nbtrack.store.memory_store import MemoryStore
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

FILTERS = [
    None,
    "",
    "metrics.acc > 0.5",
    "metrics.acc >= 0.5 and params.depth = '3'",
    "metrics.loss != 1.0",
    "metrics.loss IS NULL",
    "metrics.acc IS NOT NULL OR tags.team = 'b'",
    "params.depth IN ('1', '2') AND (tags.team != 'a' OR metrics.acc < 0.2)",
    "params.depth NOT IN ('1')",
    "tags.team LIKE 'a%'",
    "tags.team ILIKE 'B'",
    "tags.note IS NULL",
    "params.missing = 'x'",
    "attributes.status = 'FINISHED'",
    "status IN ('KILLED', 'RUNNING')",
    "start_time > 1700000000050",
    "attributes.end_time <= 1700000000600",
    "run_name LIKE 'r1%'",
    "tags.mlflow.runName = 'r3'",
    "metrics.nothing > 0",
]
ORDERS = [None, ["metrics.acc DESC"], ["metrics.acc"], ["start_time"], ["attributes.end_time DESC"], ["params.depth"]]


def _fill(store: TinyDBStore, count: int) -> list[str]:
    client = TrackingClient(store=store)
    rng = random.Random(count)
    found = client.get_experiment_by_name("other")
    exp = found.experiment_id if found is not None else client.create_experiment("other")
    ids = []
    for i in range(count):
        run = client.create_run(exp if i % 7 == 0 else "0", run_name=f"r{i}", start_time=1_700_000_000_000 + i // 2)
        run_id = run.info.run_id
        metrics = [Metric("acc", rng.random(), 1, 0)] if i % 5 else []
        if i % 3 == 0:
            metrics.append(Metric("loss", math.nan if i % 2 else 1.0, 1, 0))
        params = [Param("depth", str(i % 4))] if i % 6 else []
        tags = [RunTag("team", rng.choice(["a", "b", "ab"]))] if i % 4 else [RunTag("note", "x")]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        if i % 11 == 0:
            continue  # left RUNNING (this process is alive)
        client.set_terminated(run_id, "FAILED" if i % 13 == 0 else "FINISHED", end_time=1_700_000_000_500 + i)
        if i % 9 == 0:
            client.delete_run(run_id)
        ids.append(run_id)
    return ids


def _assert_frames_agree(store: TinyDBStore, experiment_ids: list[str]) -> None:
    cases = [(f, o, ViewType.ALL, None) for f in FILTERS for o in ORDERS]
    cases += [(f, o, v, 5) for f in FILTERS[:4] for o in ORDERS for v in (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY)]
    for filter_string, order_by, view, limit in cases:
        args = (experiment_ids, filter_string, view, limit, order_by)
        got = store.search_runs_frame(*args)
        want = runs_frame(store.search_run_docs(*args))
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=str(args))


@pytest.mark.parametrize("count", [0, 1, 60])
def test_column_frame_equals_document_frame(tmp_path: Path, count: int) -> None:
    # Given a store with varied runs: missing keys, NaN, deleted, running, several experiments
    store = TinyDBStore(tmp_path / "s")
    _fill(store, count)
    # Then every filter, order, view and limit gives the same frame both ways, in this process
    _assert_frames_agree(store, ["0", "1"])
    # And in a fresh store object, which opens from the index file
    _assert_frames_agree(TinyDBStore(tmp_path / "s"), ["0"])


def test_column_frame_on_the_memory_store() -> None:
    store = MemoryStore()
    _fill(store, 30)
    _assert_frames_agree(store, ["0", "1"])


def test_fresh_process_frame_reads_no_run_document(tmp_path: Path) -> None:
    # Given a compacted store (so its runs are in the snapshot, not the log tail)
    store = TinyDBStore(tmp_path / "s")
    _fill(store, 40)
    store.compact()
    # When a new store object searches to a frame, filtered and ordered
    fresh = TinyDBStore(tmp_path / "s")
    frame = fresh.search_runs_frame(["0"], "metrics.acc > 0.3", ViewType.ALL, 10, ["metrics.acc DESC"])
    assert 0 < len(frame) <= 10
    # Then it answered from the index: no run document was parsed
    assert not fresh._b.runs.loaded
    # And the documents, once needed, agree with it
    assert fresh.get_run(frame["run_id"][0]).info.run_id == frame["run_id"][0]
    assert fresh._b.runs.loaded


def test_column_frame_with_text_columns_stored_as_blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an index whose many-valued text columns are blobs (the layout of stores past 1,024 runs)
    from nbtrack.store import _columns

    monkeypatch.setattr(_columns, "BLOB_MIN", 2)
    store = TinyDBStore(tmp_path / "s")
    _fill(store, 40)
    store.compact()
    # Then a fresh store reads the same frames from them, and writes on top of them
    fresh = TinyDBStore(tmp_path / "s")
    fresh.version()  # opens it from the index
    assert fresh._b.runs.columns.text["run_id"]._values is None  # not made into strings yet
    _assert_frames_agree(fresh, ["0"])
    _fill(fresh, 12)
    _assert_frames_agree(TinyDBStore(tmp_path / "s"), ["0", "1"])


def test_a_blob_column_takes_new_rows_without_decoding_its_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh store opened from an index whose run names are one blob
    from nbtrack.store import _columns

    monkeypatch.setattr(_columns, "BLOB_MIN", 2)
    store = TinyDBStore(tmp_path / "s")
    _fill(store, 40)
    store.compact()
    fresh = TinyDBStore(tmp_path / "s")
    fresh.version()
    names = fresh._b.runs.columns.text["artifact_uri"]
    assert names.unique and names._values is None
    # When runs are added (and one renamed) in it
    _fill(fresh, 5)
    run_id = fresh._b.runs.keys()[-1]
    fresh.update_run_info(run_id, run_name="renamed")
    # Then the blob is still not decoded, yet every read and the frames agree with the documents
    assert names._values is None and len(names._tail) >= 5
    _assert_frames_agree(fresh, ["0", "1"])
    _assert_frames_agree(TinyDBStore(tmp_path / "s"), ["0", "1"])


def test_a_fresh_process_finds_runs_by_id_without_a_string_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh store opened from an index whose run ids are one blob
    from nbtrack.errors import NotFound
    from nbtrack.store import _columns

    monkeypatch.setattr(_columns, "BLOB_MIN", 2)
    store = TinyDBStore(tmp_path / "s")
    ids = _fill(store, 40)
    store.compact()
    fresh = TinyDBStore(tmp_path / "s")
    fresh.version()
    run_ids = fresh._b.runs.columns.text["run_id"]
    # When every run is looked up by id, and ids it does not hold
    found = [fresh.get_run(run_id).info.run_id for run_id in ids]
    assert fresh._b.runs.columns.pos._ids is not None  # the ids stayed one bytes array
    for missing in ("0" * 32, ids[0][:-1], ids[0] + "0"):
        with pytest.raises(NotFound):
            fresh.get_run(missing)
    assert fresh._b.runs.columns.pos.get(ids[0][:-1] + "\0") is None  # (bytes arrays drop trailing NULs)
    assert fresh._b.runs.columns.pos.get(42) is None
    # Then each is found at its own row, no id was made a Python string, and new runs are found too
    assert found == ids
    assert run_ids._values is None
    new = _fill(fresh, 6)
    assert [fresh.get_run(run_id).info.run_id for run_id in new] == new
    assert run_ids._values is None
    third = TinyDBStore(tmp_path / "s")
    third.version()
    assert sorted(third._b.runs.keys()) == sorted(fresh._b.runs.keys())
    assert set(ids + new) <= set(third._b.runs.keys())


def test_a_copied_store_still_opens_from_its_index(tmp_path: Path) -> None:
    # Given a store with runs in its snapshot and its log, copied to another folder (new inodes, new times)
    import shutil

    store = TinyDBStore(tmp_path / "s")
    ids = _fill(store, 30)
    store.compact()
    ids += _fill(store, 10)
    store.version()
    store._b.write_index()
    shutil.copytree(tmp_path / "s", tmp_path / "copy")
    # When a fresh process opens the copy
    copy = TinyDBStore(tmp_path / "copy")
    frame = copy.search_runs_frame(["0", "1"], None, ViewType.ALL, None, None)
    # Then it answered from the index, without parsing a document, and holds every run
    assert copy._b.has_index() and not copy._b.runs.loaded
    assert set(ids) <= set(frame["run_id"])
    # But a copy whose snapshot differs from the one the index was made from is read from its files
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "s", other)
    snapshot = other / "nbtrack.json"
    snapshot.write_bytes(snapshot.read_bytes().replace(b'"crc":', b'"crc" :', 1))
    changed = TinyDBStore(other)
    changed.version()
    assert changed._b.runs.loaded
