"""Finished runs whose journal holds one point per metric keep no journal: the document holds every point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store.doctor import doctor
from nbtrack.store.memory_store import MemoryStore
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient


def _journal(root: Path, run_id: str) -> Path:
    return root / "runs" / run_id[:2] / f"{run_id}.jsonl"


def _history(client: TrackingClient, run_id: str, key: str) -> list[tuple[float, int, int]]:
    return [(m.value, m.step, m.timestamp) for m in client.get_metric_history(run_id, key)]


def _one_point_run(client: TrackingClient) -> str:
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "C", "1.0")
    client.set_tag(run_id, "team", "a")
    client.log_metric(run_id, "acc", 0.75, timestamp=1_700_000_000_123, step=3)
    client.log_metric(run_id, "loss", float("nan"), timestamp=1_700_000_000_124, step=0)
    client.set_terminated(run_id)
    return run_id


def test_a_finished_one_point_run_leaves_no_journal_and_keeps_its_history(tmp_path: Path) -> None:
    client = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    run_id = _one_point_run(client)
    assert not _journal(tmp_path / "s", run_id).exists()
    # a fresh process (a new store on the same folder) reads the same history and summary
    fresh = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    assert _history(fresh, run_id, "acc") == [(0.75, 3, 1_700_000_000_123)]
    (loss,) = fresh.get_metric_history(run_id, "loss")
    assert loss.value != loss.value and loss.step == 0  # NaN survives the fold
    run = fresh.get_run(run_id)
    assert run.data.params == {"C": "1.0"} and run.data.tags["team"] == "a" and run.data.metrics["acc"] == 0.75
    assert set(fresh.get_metric_histories(run_id)) == {"acc", "loss"}


def test_a_run_with_a_metric_history_keeps_its_journal(tmp_path: Path) -> None:
    client = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    run_id = client.create_run("0").info.run_id
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.set_terminated(run_id)
    assert _journal(tmp_path / "s", run_id).is_file()
    assert [v for v, _, _ in _history(TrackingClient(store=TinyDBStore(tmp_path / "s")), run_id, "loss")] == [
        1.0,
        0.5,
        pytest.approx(1 / 3),
    ]


@pytest.mark.parametrize("backend", ["file", "memory"])
def test_logging_to_a_folded_run_again_keeps_the_earlier_point(tmp_path: Path, backend: str) -> None:
    store = TinyDBStore(tmp_path / "s") if backend == "file" else MemoryStore()
    client = TrackingClient(store=store)
    run_id = _one_point_run(client)
    client.log_metric(run_id, "acc", 0.8, timestamp=1_700_000_000_200, step=4)
    assert [(v, s) for v, s, _ in _history(client, run_id, "acc")] == [(0.75, 3), (0.8, 4)]
    assert client.get_run(run_id).data.metrics["acc"] == 0.8
    assert client.get_run(run_id).data.params == {"C": "1.0"}


def test_a_resumed_folded_run_keeps_its_history(tmp_path: Path) -> None:
    nbtrack.set_tracking_uri(str(tmp_path / "s"))  # (the suite's autouse fixture restores the default)
    with nbtrack.start_run() as run:
        nbtrack.log_metric("acc", 0.5, step=0)
    run_id = run.info.run_id
    assert not _journal(tmp_path / "s", run_id).exists()
    with nbtrack.start_run(run_id=run_id):
        nbtrack.log_metric("acc", 0.6, step=1)
    client = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    assert [(v, s) for v, s, _ in _history(client, run_id, "acc")] == [(0.5, 0), (0.6, 1)]
    assert _journal(tmp_path / "s", run_id).is_file()  # two points now: the journal stays


def test_a_journal_left_by_a_kill_after_the_fold_is_ignored_and_replaced(tmp_path: Path) -> None:
    # Given a run whose process was killed after its end was written but before its journal was removed
    root = tmp_path / "s"
    client = TrackingClient(store=TinyDBStore(root))
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "acc", 0.75, step=0)
    kept = tmp_path / "journal"
    client.store._b.journal_sync(run_id)  # type: ignore[attr-defined]
    client.store._b.settle()  # type: ignore[attr-defined]
    shutil.copy(_journal(root, run_id), kept)
    client.set_terminated(run_id)
    shutil.copy(kept, _journal(root, run_id))
    # Then a fresh process reads one point, not two, and doctor calls the file harmless
    fresh = TrackingClient(store=TinyDBStore(root))
    assert [v for v, _, _ in _history(fresh, run_id, "acc")] == [0.75]
    report = doctor(root)
    assert report.ok and any("already folded" in note for note in report.notes)
    # And logging to the run again replaces the stale file instead of appending to it
    fresh.log_metric(run_id, "acc", 0.9, step=1)
    again = TrackingClient(store=TinyDBStore(root))
    assert [v for v, _, _ in _history(again, run_id, "acc")] == [0.75, 0.9]


def test_points_another_store_logged_to_a_live_run_survive_its_end(tmp_path: Path) -> None:
    # Given a run started by one store and logged to by a second store on the same folder (another kernel)
    owner = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    other = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    run_id = owner.create_run("0").info.run_id
    owner.log_metric(run_id, "acc", 0.5, step=0)
    other.log_metric(run_id, "acc", 0.6, step=1)
    other.log_param(run_id, "from_other", "yes")
    # When the owner ends it
    owner.set_terminated(run_id)
    # Then nothing the other store logged is lost
    fresh = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    assert [v for v, _, _ in _history(fresh, run_id, "acc")] == [0.5, 0.6]
    assert fresh.get_run(run_id).data.params == {"from_other": "yes"}
