"""Forked workers and process pools on one store: every run recorded, liveness judged per process."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.entities import RunStatus, ViewType
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

PROCS = Path(__file__).with_name("_fork_procs.py")
ROOT = Path(nbtrack.__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_pool_workers_on_every_start_method_record_every_run(tmp_path: Path, method: str) -> None:
    # Given a parent that opened the store, then a Pool and a ProcessPoolExecutor of 2 workers each
    store = str(tmp_path / "s")
    done = subprocess.run(
        [sys.executable, str(PROCS), "pool", store, method], capture_output=True, text=True, env=ENV, timeout=300
    )
    assert done.returncode == 0, done.stderr
    ids = done.stdout.split()
    # Then every worker's run (and the parent's) is FINISHED with its whole history
    assert len(ids) == 7 == len(set(ids))
    client = TrackingClient(store=TinyDBStore(store))
    runs = {r.info.run_id: r for r in client.search_runs(["0"], run_view_type=ViewType.ALL)}
    assert set(runs) == set(ids)
    for run_id in ids:
        run = runs[run_id]
        index = int(run.data.params["index"])
        assert run.info.status == RunStatus.FINISHED
        assert [m.value for m in client.get_metric_history(run_id, "loss")] == [index + s / 10 for s in range(5)]


def _status(store: str, run_id: str) -> str:
    code = "import sys; from nbtrack.store.tinydb_store import TinyDBStore as S; print(S(sys.argv[1]).get_run(sys.argv[2]).info.status)"
    return subprocess.run(
        [sys.executable, "-c", code, store, run_id], capture_output=True, text=True, env=ENV, check=True
    ).stdout.strip()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform has no fork")
def test_a_forked_childs_live_run_is_running_until_the_child_is_gone(tmp_path: Path) -> None:
    # Given a forked child logging to a run it started
    store = str(tmp_path / "s")
    proc = subprocess.Popen(
        [sys.executable, str(PROCS), "live", store],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stdout is not None and proc.stdin is not None
    run_id = proc.stdout.readline().strip()
    # Then another process sees it RUNNING while the child lives (it is not taken for dead)
    assert _status(store, run_id) == RunStatus.RUNNING
    assert _status(store, run_id) == RunStatus.RUNNING  # the first reader did not mark it KILLED either
    # When the child dies without ending it
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "exited"
    assert proc.wait(timeout=60) == 0
    # Then it is KILLED, with both points it logged
    assert _status(store, run_id) == RunStatus.KILLED
    history = TrackingClient(store=TinyDBStore(store)).get_metric_history(run_id, "loss")
    assert [m.value for m in history] == [1.0, 0.5]
