"""Process pools and forks on one store (run as a script: ``python _fork_procs.py <mode> <store> [method]``)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from nbtrack.entities import ViewType
from nbtrack.tracking.client import TrackingClient


def train(args: tuple[str, int]) -> str:
    """What a pool worker does: one whole run with a metric history."""
    store, index = args
    client = TrackingClient(store)
    run_id = client.create_run("0", run_name=f"worker-{index}").info.run_id
    client.log_param(run_id, "index", index)
    for step in range(5):
        client.log_metric(run_id, "loss", index + step / 10, step=step)
    client.set_terminated(run_id)
    return run_id


def pool(store: str, method: str) -> None:
    client = TrackingClient(store)  # the parent opens the store (lock, caches, flusher) before the workers start
    client.search_runs(["0"], run_view_type=ViewType.ALL)
    context = multiprocessing.get_context(method)
    with context.Pool(2) as workers:
        ids = workers.map(train, [(store, i) for i in range(4)])
    with ProcessPoolExecutor(2, mp_context=context) as executor:
        ids += list(executor.map(train, [(store, i) for i in range(4, 6)]))
    ids.append(train((store, 6)))  # and the parent goes on writing
    print(" ".join(ids), flush=True)


def forked_live_run(store: str) -> None:
    """A forked child starts a run and stays alive; it exits without ending it when told to."""
    client = TrackingClient(store)
    client.search_runs(["0"])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        run_id = client.create_run("0", run_name="child").info.run_id
        client.log_metric(run_id, "loss", 1.0)
        os.write(write, run_id.encode() + b"\n")
        sys.stdin.readline()  # alive until the test says so
        client.log_metric(run_id, "loss", 0.5, step=1)
        os._exit(0)  # dies without ending its run
    os.close(write)
    print(os.read(read, 64).decode().strip(), flush=True)
    os.waitpid(pid, 0)
    time.sleep(0.1)
    print("exited", flush=True)


if __name__ == "__main__":
    mode, path, *rest = sys.argv[1:]
    if mode == "pool":
        pool(path, rest[0])
    else:
        forked_live_run(path)
