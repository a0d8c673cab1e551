"""Processes the multi-process tests start: writers, a killable writer and a reader.

Run as ``python _procs.py <mode> <store> [args...]``; every line printed is flushed
at once so the parent knows exactly what had returned before a kill.
"""

from __future__ import annotations

import random
import sys
import time

from nbtrack.entities import Metric, Param, RunTag, ViewType
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def write(store_path: str, worker: int, runs: int, compact_every: int) -> None:
    """Create ``runs`` finished runs with params, metrics and tags."""
    store = TinyDBStore(store_path)
    client = TrackingClient(store=store)
    for i in range(runs):
        run_id = client.create_run("0", run_name=f"w{worker}-r{i}").info.run_id
        ts = int(time.time() * 1000)
        client.log_batch(
            run_id,
            params=[Param("worker", str(worker)), Param("index", str(i)), Param("lr", "0.01")],
            metrics=[Metric("loss", 1.0 / (i + 1), ts, 0), Metric("loss", 0.5 / (i + 1), ts, 1)],
            tags=[RunTag("kind", "load"), RunTag("pair", f"{worker}:{i}")],
        )
        client.log_metric(run_id, "acc", worker + i / 1000, step=3)
        client.set_terminated(run_id)
        if compact_every and i % compact_every == compact_every - 1:
            store.compact()
    say("ok")


def killable(store_path: str, seed: int, compact_share: float) -> None:
    """Loop forever: start a run, log points, end it; report each step once it returned.

    After ``compact_share`` of the runs the log is folded into a new snapshot, so
    a kill can land in the middle of a compaction too.
    """
    rng = random.Random(seed)
    store = TinyDBStore(store_path)
    client = TrackingClient(store=store)
    n = 0
    while True:
        run_id = client.create_run("0", run_name=f"k{seed}-{n}").info.run_id
        say(f"start {run_id}")
        client.log_param(run_id, "seed", seed)
        say(f"param {run_id} seed {seed}")
        for step in range(rng.randint(1, 40)):
            value = rng.random()
            client.log_metric(run_id, "loss", value, step=step)
            say(f"metric {run_id} loss {step} {value!r}")
        if rng.random() < compact_share:
            store.compact()
        say(f"ending {run_id}")
        client.set_terminated(run_id)
        say(f"done {run_id}")
        n += 1


def read(store_path: str, seconds: float) -> None:
    """Read runs over and over for ``seconds``; print how many reads succeeded."""
    store = TinyDBStore(store_path)
    client = TrackingClient(store=store)
    reads = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        docs = store.search_run_docs(["0"], run_view_type=ViewType.ALL)
        for doc in docs[:20]:
            run = client.get_run(doc["run_id"])
            assert run.info.run_id == doc["run_id"]
            if run.info.status == "FINISHED":
                assert run.data.params["lr"] == "0.01", run.data.params
                assert len(run.data.metrics) == 2, run.data.metrics
        reads += 1
    say(f"reads {reads}")


if __name__ == "__main__":
    mode, path, *args = sys.argv[1:]
    if mode == "write":
        write(path, int(args[0]), int(args[1]), int(args[2]))
    elif mode == "kill":
        killable(path, int(args[0]), float(args[1]))
    elif mode == "read":
        read(path, float(args[0]))
    else:
        raise SystemExit(f"unknown mode {mode}")
