"""Process pools: every worker's run is recorded, complete and FINISHED, on every start method the platform has."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbtrack.tracking.client import TrackingClient

JOB = Path(__file__).with_name("_pool_job.py")
ROOT = Path(__file__).resolve().parents[2]
METHODS = multiprocessing.get_all_start_methods()
WORKERS = 2

pytestmark = pytest.mark.slow


def _run(case: str, store: Path) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NBTRACK_STORE", None)
    out = subprocess.run(
        [sys.executable, str(JOB), case, str(store), str(WORKERS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=JOB.parent,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    found: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        key, _, rest = line.partition(" ")
        found[key] = rest.split()
    return found


def _worker_runs(store: Path) -> list:
    # Read from a fresh client in this process, as another kernel would.
    client = TrackingClient(str(store))
    exp = client.get_experiment_by_name("pools")
    assert exp is not None
    return client.search_runs([exp.experiment_id], "attributes.run_name LIKE 'worker-%'")


@pytest.mark.parametrize("method", METHODS)
def test_every_pool_worker_run_is_recorded_complete(method: str, tmp_path: Path) -> None:
    # Given a parent that chose an experiment and a pool of workers each logging a run
    store = tmp_path / "store"
    ids = _run(method, store)["ids"]
    # Then every worker's run is there, FINISHED, with its param, tag and every point
    runs = _worker_runs(store)
    assert sorted(r.info.run_id for r in runs) == sorted(ids)
    assert len(runs) == WORKERS * 2
    client = TrackingClient(str(store))
    for run in runs:
        assert run.info.status == "FINISHED", run.info
        assert run.data.tags["kind"] == "pool"
        assert len(client.get_metric_history(run.info.run_id, "loss")) == 25
    assert sorted(int(r.data.params["worker"]) for r in runs) == list(range(WORKERS * 2))


@pytest.mark.parametrize("method", METHODS)
def test_pool_workers_nest_under_the_parents_run_when_asked(method: str, tmp_path: Path) -> None:
    store = tmp_path / "store"
    found = _run(f"nested-{method}", store)
    parent = found["parent"][0]
    runs = _worker_runs(store)
    assert len(runs) == WORKERS * 2
    assert {r.data.tags.get("mlflow.parentRunId") for r in runs} == {parent}
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert TrackingClient(str(store)).get_run(parent).info.status == "FINISHED"


def test_process_pool_executor_workers_are_recorded(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ids = _run("executor", store)["ids"]
    runs = _worker_runs(store)
    assert sorted(r.info.run_id for r in runs) == sorted(ids)
    assert {r.info.status for r in runs} == {"FINISHED"}


def test_gridsearch_with_loky_workers_logs_one_parent_and_its_children(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    store = tmp_path / "store"
    parent = _run("gridsearch", store)["ids"][0]
    client = TrackingClient(str(store))
    exp = client.get_experiment_by_name("pools")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent]
    # One parent run for the search and one child per candidate; the loky workers' fits made no runs
    assert len(runs) == 1 + 3
    assert len(children) == 3
    assert {r.info.status for r in runs} == {"FINISHED"}
