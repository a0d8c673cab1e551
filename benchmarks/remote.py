"""Server benchmark: nbtrack's server store beside MLflow's own client, on the same MLflow server, in one run.

Run from the repository root (it starts its own ``mlflow server`` on 127.0.0.1 unless given ``--url``)::

    PYTHONPATH=. python benchmarks/remote.py            # 1000 runs for the search and sync figures
    PYTHONPATH=. python benchmarks/remote.py --quick    # 200 runs, fewer repeats

Figures, each as nbtrack's time, MLflow's, and their ratio against the issue's target:

- ``log_metric`` per call, amortized over 2000 calls of a run (start to end, so the flush counts),
  against MLflow's synchronous ``MlflowClient.log_metric`` per call;
- a whole run (10 params, 5 metrics, 3 tags, start to end) through the fluent API of each;
- ``search_runs`` of an experiment of N runs to a DataFrame, ``nbtrack.search_runs`` against
  ``mlflow.search_runs``;
- ``nbtrack sync`` of N runs with 100 metric points each from an embedded store to the server,
  against the same data sent with MLflow's client directly (create, one ``log_batch``, end per run).

The server's latency per call is printed first: on this shared machine it swings with load, so read
the ratios, which are measured side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The test suite's helper that starts a real `mlflow server` (this file is itself named remote.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "remote"))

TARGETS = {"log_metric": 1 / 20, "whole run": 1 / 2, "search_runs": 1.0, "sync": 2.0}


def _median_s(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _line(name: str, ours: float, theirs: float, unit: str, scale: float) -> None:
    ratio = ours / theirs if theirs else float("inf")
    target = TARGETS[name]
    verdict = "meets" if ratio <= target else "MISSES"
    print(
        f"{name:<12} nbtrack {ours * scale:10.3f} {unit}   mlflow {theirs * scale:10.3f} {unit}   "
        f"ratio {ratio:6.3f}  (target <= {target:.3g}: {verdict})"
    )


def bench_log_metric(url: str, steps: int, mlflow_calls: int) -> None:
    from mlflow.tracking import MlflowClient

    import nbtrack

    nbtrack.set_tracking_uri(url)
    nbtrack.set_experiment("bench-log-metric")
    start = time.perf_counter()
    with nbtrack.start_run():
        for step in range(steps):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
    ours = (time.perf_counter() - start) / steps
    client = MlflowClient(url)
    exp = client.get_experiment_by_name("bench-log-metric").experiment_id  # type: ignore[union-attr]
    run_id = client.create_run(exp).info.run_id
    start = time.perf_counter()
    for step in range(mlflow_calls):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    theirs = (time.perf_counter() - start) / mlflow_calls
    client.set_terminated(run_id)
    _line("log_metric", ours, theirs, "ms/call", 1000)


def _whole_run(module: Any) -> None:
    with module.start_run():
        for i in range(10):
            module.log_param(f"p{i}", i)
        for i in range(5):
            module.log_metric(f"m{i}", i / 10)
        for i in range(3):
            module.set_tag(f"t{i}", "x")


def bench_whole_run(url: str, repeat: int) -> None:
    import mlflow

    import nbtrack

    nbtrack.set_tracking_uri(url)
    nbtrack.set_experiment("bench-whole-run")
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench-whole-run")
    _whole_run(nbtrack)
    _whole_run(mlflow)  # warm both (connections, experiment look-ups)
    ours = _median_s(lambda: _whole_run(nbtrack), repeat)
    theirs = _median_s(lambda: _whole_run(mlflow), repeat)
    _line("whole run", ours, theirs, "ms/run", 1000)


def _fill_embedded(folder: str, runs: int, points: int) -> None:
    import nbtrack
    from nbtrack.entities import Metric, Param, RunTag

    client = nbtrack.TrackingClient(folder)
    exp = client.create_experiment("bench-sync")
    for i in range(runs):
        rid = client.create_run(exp, start_time=1_700_000_000_000 + i, run_name=f"r{i}").info.run_id
        client.log_batch(
            rid,
            metrics=[Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(points)],
            params=[Param("depth", str(i % 7)), Param("lr", "0.1")],
            tags=[RunTag("kind", "rf")],
        )
        client.set_terminated(rid, end_time=1_700_000_001_000 + i)


def bench_sync_and_search(url: str, runs: int, points: int, repeat: int) -> None:
    import mlflow
    from mlflow.entities import Metric as MlflowMetric
    from mlflow.entities import Param as MlflowParam
    from mlflow.entities import RunTag as MlflowTag
    from mlflow.tracking import MlflowClient

    import nbtrack

    folder = tempfile.mkdtemp(prefix="nbtrack-bench-src-")
    _fill_embedded(folder, runs, points)
    start = time.perf_counter()
    summary = nbtrack.sync(folder, url, progress=False)
    ours = time.perf_counter() - start
    print(f"             {summary}")
    client = MlflowClient(url)
    exp = client.create_experiment("bench-direct")
    start = time.perf_counter()
    for i in range(runs):
        rid = client.create_run(exp, start_time=1_700_000_000_000 + i, run_name=f"r{i}").info.run_id
        client.log_batch(
            rid,
            metrics=[MlflowMetric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(points)],
            params=[MlflowParam("depth", str(i % 7)), MlflowParam("lr", "0.1")],
            tags=[MlflowTag("kind", "rf")],
        )
        client.set_terminated(rid, end_time=1_700_000_001_000 + i)
    theirs = time.perf_counter() - start
    _line("sync", ours, theirs, f"s/{runs} runs", 1)

    nbtrack.set_tracking_uri(url)
    mlflow.set_tracking_uri(url)
    exp_id = client.get_experiment_by_name("bench-sync").experiment_id  # type: ignore[union-attr]
    frames = [nbtrack.search_runs(experiment_ids=[exp_id]), mlflow.search_runs(experiment_ids=[exp_id])]
    assert len(frames[0]) == len(frames[1]) == runs, [len(f) for f in frames]
    ours = _median_s(lambda: nbtrack.search_runs(experiment_ids=[exp_id]), repeat)
    theirs = _median_s(lambda: mlflow.search_runs(experiment_ids=[exp_id]), repeat)
    _line("search_runs", ours, theirs, f"ms/{runs} runs", 1000)


def _latency_ms(url: str) -> float:
    from nbtrack.store.mlflow_server._transport import Transport

    transport = Transport(url)
    return 1000 * _median_s(lambda: transport.call("experiments/get", "GET", {"experiment_id": "0"}), 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an MLflow server to use (default: start one)")
    parser.add_argument("--quick", action="store_true", help="200 runs and fewer repeats")
    args = parser.parse_args()
    runs, repeat = (200, 3) if args.quick else (1000, 5)
    os.environ.setdefault("NBTRACK_SPOOL", tempfile.mkdtemp(prefix="nbtrack-bench-spool-"))
    warnings.simplefilter("ignore")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # MLflow prints a line per run
    server = None
    url = args.url
    if url is None:
        from mlflow_process import MlflowServer

        server = MlflowServer(Path(tempfile.mkdtemp(prefix="nbtrack-bench-server-")))
        server.start()
        server.wait()
        url = server.url
    try:
        print(f"server {url}: one call takes {_latency_ms(url):.1f} ms (median of 20); load {os.getloadavg()}")
        bench_log_metric(url, 2000, 200 if args.quick else 500)
        bench_whole_run(url, repeat * 2)
        bench_sync_and_search(url, runs, 100, repeat)
        print(f"server {url}: one call takes {_latency_ms(url):.1f} ms at the end; load {os.getloadavg()}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
