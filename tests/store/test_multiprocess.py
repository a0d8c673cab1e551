"""Many processes on one store: no lost runs, no torn reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.entities import ViewType
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

PROCS = Path(__file__).with_name("_procs.py")
ROOT = Path(nbtrack.__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(PROCS), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def test_eight_processes_writing_250_runs_each_leave_exactly_2000_complete_runs(tmp_path: Path) -> None:
    # Given one store folder and 8 writer processes started together
    store_path = str(tmp_path / "shared")
    procs = [_spawn("write", store_path, str(worker), "250", "100") for worker in range(8)]
    # When they all finish
    for proc in procs:
        assert _finish(proc).strip() == "ok"
    # Then a fresh store sees exactly 2000 runs, each complete
    store = TinyDBStore(store_path)
    runs = store.search_runs(["0"], run_view_type=ViewType.ALL)
    assert len(runs) == 2000
    pairs = set()
    for run in runs:
        assert run.info.status == "FINISHED"
        worker, index = run.data.params["worker"], run.data.params["index"]
        pairs.add((worker, index))
        assert run.data.params["lr"] == "0.01"
        assert run.data.tags["pair"] == f"{worker}:{index}"
        assert run.data.metrics["loss"] == pytest.approx(0.5 / (int(index) + 1))
        assert run.data.metrics["acc"] == pytest.approx(int(worker) + int(index) / 1000)
    assert pairs == {(str(w), str(i)) for w in range(8) for i in range(250)}
    # And every metric history is whole
    client = TrackingClient(store=store)
    sample = runs[::97]
    for run in sample:
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1]


def test_a_reader_never_sees_a_partial_store_while_writers_compact(tmp_path: Path) -> None:
    # Given a store with some finished runs
    store_path = str(tmp_path / "shared")
    assert _finish(_spawn("write", store_path, "9", "20", "0")).strip() == "ok"
    # When a reader loops over search and get_run while two writers write and compact often
    reader = _spawn("read", store_path, "4")
    writers = [_spawn("write", store_path, str(worker), "150", "5") for worker in range(2)]
    for proc in writers:
        assert _finish(proc).strip() == "ok"
    # Then the reader finished without a single error, after many reads
    out = _finish(reader)
    assert out.startswith("reads ")
    assert int(out.split()[1]) > 10
    assert len(TinyDBStore(store_path).search_runs(["0"], run_view_type=ViewType.ALL)) == 320


def test_threads_searching_while_another_thread_writes_see_no_errors(tmp_path: Path) -> None:
    # Given one store shared by threads of a process (a kernel plus a polling widget, say)
    import threading

    store = TinyDBStore(tmp_path / "threads")
    client = TrackingClient(store=store)
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            try:
                for doc in store.search_run_docs(["0"], run_view_type=ViewType.ALL):
                    assert doc["run_id"]
            except BaseException as exc:  # report anything, even assertion errors
                errors.append(exc)
                return

    readers = [threading.Thread(target=search) for _ in range(2)]
    for thread in readers:
        thread.start()
    # When the main thread writes 150 runs
    try:
        for i in range(150):
            run_id = client.create_run("0", run_name=f"t{i}").info.run_id
            client.log_param(run_id, "i", i)
            client.set_terminated(run_id)
    finally:
        done.set()
        for thread in readers:
            thread.join()
    # Then no reader ever failed, and every run is there
    assert errors == []
    assert len(store.search_run_docs(["0"])) == 150
