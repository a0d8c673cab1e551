"""The column-built ``search_runs`` frame equals the one built from documents, in every case."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbtrack.entities import Metric, Param, RunTag, ViewType
from nbtrack.store._columns import RunColumns
from nbtrack.store.frame import runs_frame
from nbtrack.store.listing import RunListing
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
    # And a document, once needed, is read alone (the others still unparsed) and agrees with it
    run = fresh.get_run(frame["run_id"][0])
    assert run.info.run_id == frame["run_id"][0]
    assert run.data.metrics["acc"] == frame["metrics.acc"][0]
    assert not fresh._b.runs.loaded


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


LISTED = ("run_id", "run_name", "experiment_id", "status", "lifecycle_stage", "start_time", "end_time", "_seq")


def _listed(doc: dict[str, object]) -> dict[str, object]:
    return {k: doc.get(k) for k in (*LISTED, "metrics", "params", "tags", "user_id", "artifact_uri")}


def _assert_listing_agrees(store: TinyDBStore, experiment_ids: list[str]) -> None:
    for view in (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL):
        want = store.search_run_docs(experiment_ids, None, view)
        listing = store.search_run_listing(experiment_ids, view)
        assert len(listing) == len(want)
        assert [_listed(listing.doc(i)) for i in range(len(listing))] == [_listed(d) for d in want], view
        assert [_listed(d) for d in listing.docs(np.arange(len(listing)))] == [_listed(d) for d in want], view
        assert listing.run_ids == [d["run_id"] for d in want]
        assert listing.numbers("start_time") == [d["start_time"] for d in want]
        for key in ("acc", "loss"):
            values = listing.metric(key)
            expected = [float(d["metrics"][key]) if key in d["metrics"] else math.nan for d in want]
            if values is None:
                assert all(math.isnan(x) for x in expected)
            else:
                assert values.tolist() == pytest.approx(expected, nan_ok=True)
        counts = {k: sum(k in d["params"] for d in want) for d in want for k in d["params"]}
        assert listing.key_counts("params") == counts
        distinct = {k: {d["params"][k] for d in want if k in d["params"]} for k in counts}
        assert listing.value_counts("params") == {k: (counts[k], distinct[k]) for k in counts}
    for filter_string in [*FILTERS, "datasets.name = 'iris'"]:  # the last one is answered from the documents
        want_ids = [d["run_id"] for d in store.search_run_docs(experiment_ids, filter_string, ViewType.ALL)]
        got = store.search_run_listing(experiment_ids, ViewType.ALL, filter_string)
        assert got.run_ids == want_ids, filter_string


def test_run_listing_equals_the_documents_and_parses_none(tmp_path: Path) -> None:
    # Given a compacted store of varied runs (NaN metrics, missing keys, deleted and live runs), and runs after it
    store = TinyDBStore(tmp_path / "s")
    _fill(store, 60)
    store.compact()
    _fill(store, 9)
    live = TrackingClient(store=store).create_run("0", run_name="live", start_time=1_800_000_000_000)
    store.log_metric(live.info.run_id, Metric("acc", 0.25, 1, 3))  # in the run's journal only
    # When a new store object lists them
    fresh = TinyDBStore(tmp_path / "s")
    listing = fresh.search_run_listing(["0", "1"], ViewType.ALL)
    # Then it was copied from the index: no run document was parsed
    assert not fresh._b.runs.loaded
    # And the live run carries what its journal holds, in its document and its column
    assert listing.run_ids[0] == live.info.run_id and listing.doc(0)["metrics"] == {"acc": 0.25}
    acc = listing.metric("acc")
    assert acc is not None and acc[0] == 0.25
    assert any(listing.doc(i)["metrics"].get("loss") == "NaN" for i in range(len(listing)))  # as documents hold it
    # And it agrees with the documents, run by run and in order, for every view
    _assert_listing_agrees(fresh, ["0", "1"])
    _assert_listing_agrees(store, ["0"])


def test_a_run_listing_is_a_snapshot(tmp_path: Path) -> None:
    # Given a listing of a store
    store = TinyDBStore(tmp_path / "s")
    ids = _fill(store, 20)
    listing = store.search_run_listing(["0"])
    before = [listing.doc(i) for i in range(len(listing))]
    # When runs change and are added after it
    client = TrackingClient(store=store)
    client.log_batch(ids[0], params=[Param("width", "99")])  # run 0 has no params
    client.create_run("0", run_name="later")
    # Then it still shows the runs as they were when it was made
    assert [listing.doc(i) for i in range(len(listing))] == before
    assert "width" not in listing.value_counts("params")
    # And a new listing shows the changes
    again = store.search_run_listing(["0"])
    assert len(again) == len(listing) + 1 and again.value_counts("params")["width"] == (1, {"99"})


def test_run_listing_on_the_memory_store_and_from_documents() -> None:
    # Given the memory store (columns too) and a listing made from documents, as stores without an index make them
    memory = MemoryStore()
    _fill(memory, 20)
    _assert_listing_agrees(memory, ["0", "1"])
    docs = memory.search_run_docs(["0"])
    listing = RunListing.from_docs(docs)
    # Then the documents come back as they are, and the columns agree with them
    assert [listing.doc(i) for i in range(len(listing))] == docs
    assert listing.run_ids == [d["run_id"] for d in docs]
    assert listing.key_counts("metrics") == {
        k: sum(k in d["metrics"] for d in docs) for d in docs for k in d["metrics"]
    }


def test_run_id_sort_keys_stay_right_once_a_blob_column_is_decoded_and_grown(tmp_path: Path) -> None:
    # Given a fresh store whose run ids are one fixed-width blob, with ties in start time
    store = TinyDBStore(tmp_path / "s")
    _fill(store, 1200)  # past BLOB_MIN: the run ids are stored as a blob
    store.compact()
    fresh = TinyDBStore(tmp_path / "s")
    # When its ids are made into strings (a listing does) and new runs are added after
    assert len(fresh.search_run_listing(["0", "1"], ViewType.ALL).run_ids) == 1200
    client = TrackingClient(store=fresh)
    for i in range(5):
        client.create_run("0", run_name=f"late{i}", start_time=1_700_000_000_000)  # ties with the first runs
    # Then ordering by start time, then id, still agrees with the documents, new runs included
    want = [d["run_id"] for d in fresh.search_run_docs(["0", "1"], None, ViewType.ALL)]
    assert fresh.search_run_listing(["0", "1"], ViewType.ALL).run_ids == want
    assert list(fresh.search_runs_frame(["0", "1"], None, ViewType.ALL)["run_id"]) == want


def test_a_fresh_store_applies_each_run_of_the_log_tail_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a compacted store, then runs each written several times over in its log (start, log, end)
    store = TinyDBStore(tmp_path / "s")
    _fill(store, 20)
    store.compact()
    ids = _fill(store, 15)
    # When a new store object opens it, counting the rows put into its columns
    puts: list[str] = []
    real_put = RunColumns.put

    def counted(self: RunColumns, key: str, doc: dict[str, object]) -> None:
        puts.append(key)
        real_put(self, key, doc)

    monkeypatch.setattr(RunColumns, "put", counted)
    fresh = TinyDBStore(tmp_path / "s")
    fresh.version()
    # Then each run of the tail was put once, and the change number is the writer's (the next write follows on)
    assert sorted(puts) == sorted(set(puts)) and set(ids) <= set(puts)
    assert fresh._b.seq == store._b.seq
    monkeypatch.undo()
    run = TrackingClient(store=fresh).create_run("0", run_name="after")
    assert TinyDBStore(tmp_path / "s").get_run(run.info.run_id).info.run_name == "after"
    _assert_frames_agree(TinyDBStore(tmp_path / "s"), ["0", "1"])
