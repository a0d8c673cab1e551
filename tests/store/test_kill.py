"""``kill -9`` at random moments: the store opens, finished runs are whole, the live one is KILLED."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.entities import RunStatus, ViewType
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

PROCS = Path(__file__).with_name("_procs.py")
ROOT = Path(nbtrack.__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


class Reported:
    """What the writer said had returned before it was killed."""

    def __init__(self, out: str) -> None:
        self.started: list[str] = []
        self.done: set[str] = set()
        self.ending: set[str] = set()
        self.params: dict[str, dict[str, str]] = {}
        self.points: dict[str, list[tuple[int, float]]] = {}
        complete = out[: out.rfind("\n") + 1]  # a line cut by the kill is not a report
        for line in complete.splitlines():
            kind, run_id, *rest = line.split()
            if kind == "start":
                self.started.append(run_id)
                self.params[run_id] = {}
                self.points[run_id] = []
            elif kind == "param":
                self.params[run_id][rest[0]] = rest[1]
            elif kind == "metric":
                self.points[run_id].append((int(rest[1]), float(rest[2])))
            elif kind == "ending":
                self.ending.add(run_id)
            elif kind == "done":
                self.done.add(run_id)


def _kill_writer_at_random(store_path: str, seed: int, delay: float, compact_share: float = 0.2) -> Reported:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(PROCS), "kill", store_path, str(seed), str(compact_share)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # wait until it is writing, then let it run a random while
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()  # through the same buffer that served the first line
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == -signal.SIGKILL, err
    return Reported(first + rest)


def _check(store_path: str, reported: Reported) -> None:
    store = TinyDBStore(store_path)  # a fresh instance: opens the files anew
    client = TrackingClient(store=store)
    runs = {r.info.run_id: r for r in store.search_runs(["0"], run_view_type=ViewType.ALL)}
    assert not [r for r in runs.values() if r.info.status == RunStatus.RUNNING]
    for run_id in reported.started:
        run = runs[run_id]
        history = [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]
        if run_id in reported.done:
            assert run.info.status == RunStatus.FINISHED
            assert history == reported.points[run_id]
        else:
            allowed = {RunStatus.KILLED, RunStatus.FINISHED} if run_id in reported.ending else {RunStatus.KILLED}
            assert run.info.status in allowed, (run_id, run.info.status)
            # every point reported before the kill is there; one more may have landed unreported
            assert history[: len(reported.points[run_id])] == reported.points[run_id]
            assert len(history) - len(reported.points[run_id]) <= 1
        assert run.data.params == reported.params[run_id] or (
            run_id not in reported.done and not reported.params[run_id]
        )
        if history:
            assert run.data.metrics["loss"] == history[-1][1]


def test_store_survives_twenty_random_kill_9s_during_writes(tmp_path: Path) -> None:
    store_path = str(tmp_path / "killed")
    rng = random.Random(20261127)
    all_done: set[str] = set()
    live_runs = 0
    for round_ in range(20):
        # Given a writer looping over runs and metric points
        # When it is killed with SIGKILL at a random moment
        # (every third writer compacts after each run, so kills also land mid-compaction)
        share = 1.0 if round_ % 3 == 2 else 0.2
        reported = _kill_writer_at_random(store_path, round_, rng.uniform(0.0, 0.25), share)
        # Then the store opens, finished runs are whole, the live run is KILLED with its points
        _check(store_path, reported)
        all_done |= reported.done
        live_runs += len(set(reported.started) - reported.done)
    # And runs finished in earlier rounds are all still there and FINISHED
    store = TinyDBStore(store_path)
    statuses = {r.info.run_id: r.info.status for r in store.search_runs(["0"], run_view_type=ViewType.ALL)}
    assert all(statuses[run_id] == RunStatus.FINISHED for run_id in all_done)
    assert live_runs >= 15  # nearly every kill caught a run in flight
    assert len(all_done) > 20


def test_killed_run_is_reported_killed_by_a_new_process(tmp_path: Path) -> None:
    # Given a store opened before a writer is killed while a run was live
    store_path = str(tmp_path / "killed")
    early = TinyDBStore(store_path)
    early.search_runs(["0"])
    live: list[str] = []
    for attempt in range(10):  # a kill may land between two runs; try again then
        reported = _kill_writer_at_random(store_path, 7 + attempt, 0.1)
        live = [r for r in reported.started if r not in reported.done and r not in reported.ending]
        if live:
            break
    assert live, "no kill landed while a run was live"
    # When another process reads that run
    code = (
        "import sys; from nbtrack.store.tinydb_store import TinyDBStore; "
        "r = TinyDBStore(sys.argv[1]).get_run(sys.argv[2]); print(r.info.status, len(r.data.metrics))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, store_path, live[0]], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    # Then it is KILLED, with the metric it had logged
    assert out[0] == RunStatus.KILLED
    # And the store that was open all along reports it KILLED too
    assert early.get_run(live[0]).info.status == RunStatus.KILLED
    if reported.points[live[0]]:
        assert out[1] == "1"
