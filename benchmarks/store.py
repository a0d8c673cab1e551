"""Store benchmark: nbtrack's store at 1k, 10k and 100k runs (1M behind a flag), beside stock TinyDB.

Run from the repository root::

    PYTHONPATH=. python benchmarks/store.py                 # 1k, 10k and 100k runs
    PYTHONPATH=. python benchmarks/store.py --tiers 1000    # one tier
    PYTHONPATH=. python benchmarks/store.py --million       # adds the 1M tier (long; not for CI)
    PYTHONPATH=. python benchmarks/store.py --quick         # 1k and 10k, fewer repeats

Each tier's store is filled through the public API (whole runs: 10 params, 5
metrics, 3 tags), as a user's would be. Every figure is then measured in fresh
processes: a whole run (start, log, end; median), ``log_metric`` per call over
2000 steps (end of the run included), ``search_runs`` of every run to a
DataFrame (the first one in a new process, import and reading included: the
median of three processes, the slowest printed too; and repeated), a filtered search, the top 10 by a metric, the peak RSS of that
process once it has searched every run (and again after the repeated searches,
which hold two frames at once), and the disk per run. Stock TinyDB (``TinyDB(path)``, its JSON
storage) does the same work on the same documents. Ratios compare each tier
with the 1k tier of the same run, and TinyDB with nbtrack; the load average and
an append + fsync are printed first and last, since both swing widely on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILTER = "metrics.m0 > 0.5 and params.p1 = '3'"
TOP = ["metrics.m0 DESC"]
#: issue targets at 100k runs stored
TARGETS = {
    "whole run, median (ms)": 2.0,
    "log_metric per call (ms)": 0.01,
    "search_runs -> DataFrame, repeated (ms)": 300.0,
    "first search_runs in a fresh process, import included (ms)": 1000.0,
    "filtered search_runs (ms)": 50.0,
    "top 10 by a metric (ms)": 50.0,
    "peak RSS, store opened and every run searched (MiB)": 250.0,
    "disk per run, no artifacts (KiB)": 2.0,
}

#: figures printed without a target
ALSO = (
    "peak RSS after the searches above too (MiB)",
    "slowest whole run (ms)",
    "slowest first search_runs of the fresh processes (ms)",
)
#: fresh processes that each search once; their median is the figure (the slowest is printed too)
FRESH = 3


def _times_ms(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    return statistics.median(_times_ms(fn, repeat))


def _disk_per_run_kib(path: Path, runs: int) -> float:
    """Blocks allocated on disk (what ``du`` counts), per run."""
    if path.is_file():
        return path.stat().st_blocks * 512 / max(runs, 1) / 1024
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total / max(runs, 1) / 1024


def _child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False, timeout=36000
    )
    if out.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- what runs in child processes ---------------------------------------------
def _fill(path: str, count: int) -> None:
    import nbtrack

    nbtrack.set_tracking_uri(path)
    have = len(nbtrack.search_runs(max_results=count + 1))
    rng = random.Random(have)
    for _ in range(count - have):
        with nbtrack.start_run():
            nbtrack.log_params({f"p{j}": rng.randint(0, 9) for j in range(10)})
            nbtrack.log_metrics({f"m{j}": rng.random() for j in range(5)})
            nbtrack.set_tags({f"t{j}": "x" for j in range(3)})
    # a compaction or index job the last writes started would compete with the measurements that follow
    from nbtrack.store import _background

    _background.wait(Path(path).resolve())
    print(json.dumps({"filled": count}))


def _writes(path: str, repeat: int) -> None:
    import nbtrack

    nbtrack.set_tracking_uri(path)
    params = {f"p{j}": j for j in range(10)}
    metrics = {f"m{j}": j / 10 for j in range(5)}
    tags = {f"t{j}": "x" for j in range(3)}

    def whole_run() -> None:
        with nbtrack.start_run():
            nbtrack.log_params(params)
            nbtrack.log_metrics(metrics)
            nbtrack.set_tags(tags)

    whole_run()  # the first write of a process opens the store
    times = _times_ms(whole_run, repeat)
    out = {"whole run, median (ms)": statistics.median(times), "slowest whole run (ms)": max(times)}
    steps = 2000
    start = time.perf_counter()
    with nbtrack.start_run():
        for step in range(steps):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
    out["log_metric per call (ms)"] = (time.perf_counter() - start) / steps * 1000
    print(json.dumps(out))


def _reads(path: str, started: float) -> None:
    import resource

    import nbtrack

    nbtrack.set_tracking_uri(path)
    frame = nbtrack.search_runs()
    first = (time.perf_counter() - started) * 1000
    searched = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "first search_runs in a fresh process, import included (ms)": first,
        "peak RSS, store opened and every run searched (MiB)": searched,
        "search_runs -> DataFrame, repeated (ms)": _median_ms(nbtrack.search_runs, 5),
        "filtered search_runs (ms)": _median_ms(lambda: nbtrack.search_runs(filter_string=FILTER), 5),
        "top 10 by a metric (ms)": _median_ms(lambda: nbtrack.search_runs(order_by=TOP, max_results=10), 5),
        # the first frame is still held while the others are built: two at once
        "peak RSS after the searches above too (MiB)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": len(frame),
    }
    print(json.dumps(out))


def _tinydb_doc(rng: random.Random, index: int) -> dict[str, Any]:
    start = 1_700_000_000_000 + index * 1000
    run_id = f"{rng.getrandbits(128):032x}"
    return {
        "run_id": run_id,
        "experiment_id": "0",
        "status": "FINISHED",
        "start_time": start,
        "end_time": start + 500,
        "artifact_uri": f"/tmp/artifacts/{run_id}",
        "lifecycle_stage": "active",
        "params": {f"p{j}": str(rng.randint(0, 9)) for j in range(10)},
        "tags": {"mlflow.runName": f"bench-{index}", "t0": "x", "t1": "x", "t2": "x"},
        "metrics": {f"m{j}": rng.random() for j in range(5)},
    }


def _flat(doc: dict[str, Any]) -> dict[str, Any]:
    row = {k: doc[k] for k in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")}
    for prefix in ("metrics", "params", "tags"):
        for key, value in doc[prefix].items():
            row[f"{prefix}.{key}"] = value
    return row


def _tinydb(path: str, count: int, started: float) -> None:
    import resource

    import pandas as pd
    from tinydb import Query, TinyDB

    if not Path(path).exists():
        rng = random.Random(1)
        with TinyDB(path) as db:
            db.table("runs").insert_multiple(_tinydb_doc(rng, i) for i in range(count))
        print(json.dumps({"filled": count}))
        return
    db = TinyDB(path)
    runs = db.table("runs", cache_size=0)
    run = Query()

    def search(cond: Any = None) -> Any:
        hits = runs.search(cond if cond is not None else run.experiment_id == "0")
        return pd.DataFrame([_flat(d) for d in hits])

    frame = search()
    out: dict[str, Any] = {
        "first search_runs in a fresh process, import included (ms)": (time.perf_counter() - started) * 1000,
        "peak RSS, store opened and every run searched (MiB)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        / 1024,
    }
    heavy = count >= 50_000
    out["search_runs -> DataFrame, repeated (ms)"] = _median_ms(search, 1 if heavy else 3)
    out["filtered search_runs (ms)"] = _median_ms(lambda: search((run.metrics.m0 > 0.5) & (run.params.p1 == "3")), 1)
    out["top 10 by a metric (ms)"] = _median_ms(
        lambda: pd.DataFrame(sorted((_flat(d) for d in runs.all()), key=lambda r: -r["metrics.m0"])[:10]), 1
    )
    out["peak RSS after the searches above too (MiB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del frame
    rng = random.Random(2)

    def whole_run() -> None:  # one insert and four updates, as the API calls of a run
        doc = _tinydb_doc(rng, 0)
        run_id = doc["run_id"]
        runs.insert({**doc, "status": "RUNNING", "params": {}, "metrics": {}, "tags": {}})
        runs.update({"params": doc["params"]}, run.run_id == run_id)
        runs.update({"metrics": doc["metrics"]}, run.run_id == run_id)
        runs.update({"tags": doc["tags"]}, run.run_id == run_id)
        runs.update({"status": "FINISHED", "end_time": doc["end_time"]}, run.run_id == run_id)

    out["whole run, median (ms)"] = _median_ms(whole_run, 1 if heavy else 5)
    points = db.table("metric_points", cache_size=0)
    steps = 5 if heavy else 50
    start = time.perf_counter()
    for step in range(steps):
        points.insert({"run_id": "x", "key": "loss", "value": 1.0 / (step + 1), "step": step, "ts": 0})
    out["log_metric per call (ms)"] = (time.perf_counter() - start) / steps * 1000
    db.close()
    print(json.dumps(out))


# -- the driver ----------------------------------------------------------------
def fsync_latency(folder: Path) -> float:
    """Median time of a small append + fsync in ``folder``: the floor of a durable write on this disk."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:

        def probe() -> None:
            os.write(fd, b"x" * 200 + b"\n")
            os.fsync(fd)

        return _median_ms(probe, 50)
    finally:
        os.close(fd)
        path.unlink()


def measure_tier(base: Path, count: int, quick: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fill a store of ``count`` runs (nbtrack and TinyDB), then measure both in fresh processes."""
    nb_path, tdb_path = base / f"nb-{count}", base / f"tinydb-{count}.json"
    start = time.perf_counter()
    _child(["--do", "fill", str(nb_path), str(count)])
    print(f"  filled {count} runs through the API in {time.perf_counter() - start:.0f} s", flush=True)
    # measured before the benchmark's own extra runs land in the store
    nb: dict[str, Any] = {"disk per run, no artifacts (KiB)": _disk_per_run_kib(nb_path, count)}
    reads = [_child(["--do", "reads", str(nb_path), "0"]) for _ in range(FRESH)]
    first = "first search_runs in a fresh process, import included (ms)"
    nb.update({key: statistics.median(r[key] for r in reads) for key in reads[0]})
    nb["slowest first search_runs of the fresh processes (ms)"] = max(r[first] for r in reads)
    nb.update(_child(["--do", "writes", str(nb_path), str(50 if quick else 200)]))
    _child(["--do", "tinydb", str(tdb_path), str(count)])
    tdb: dict[str, Any] = {"disk per run, no artifacts (KiB)": _disk_per_run_kib(tdb_path, count)}
    tdb.update(_child(["--do", "tinydb", str(tdb_path), str(count)]))
    shutil.rmtree(nb_path, ignore_errors=True)
    tdb_path.unlink(missing_ok=True)
    return nb, tdb


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k runs, fewer repeats")
    parser.add_argument("--million", action="store_true", help="add the 1M tier (hours of filling; not for CI)")
    parser.add_argument("--tiers", type=int, nargs="*", help="store sizes to measure (the 1k tier is always added)")
    parser.add_argument("--do", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.do:
        mode, path, number = args.do
        started = float(os.environ.get("NBTRACK_BENCH_START", time.perf_counter()))
        {"fill": lambda: _fill(path, int(number)), "writes": lambda: _writes(path, int(number))}.get(
            mode, lambda: _reads(path, started) if mode == "reads" else _tinydb(path, int(number), started)
        )()
        return
    tiers = args.tiers or ([1000, 10_000] if args.quick else [1000, 10_000, 100_000])
    tiers = sorted({1000, *tiers, *([1_000_000] if args.million else [])})
    base = Path(tempfile.mkdtemp(prefix="nbtrack-bench-"))
    print(f"python {sys.version.split()[0]}; lower is better; ratios: against the 1k tier, TinyDB / nbtrack")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; append+fsync {fsync_latency(base):.3f} ms")
    results: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    try:
        for count in tiers:
            print(f"\n== {count} runs stored ==", flush=True)
            nb, tdb = results[count] = measure_tier(base, count, args.quick)
            first = results[tiers[0]][0]
            print(f"{'figure':62} {'nbtrack':>10} {'vs 1k':>7} {'TinyDB':>10} {'TinyDB/nb':>9}")
            for key in [*TARGETS, *ALSO]:
                value, other, ref = nb[key], tdb.get(key), first[key]
                ratio = f"{value / ref:6.2f}x" if ref else ""
                vs = f"{other / value:8.1f}x" if other and value else ""
                print(f"{key:62} {value:10.3f} {ratio:>7} {'-' if other is None else f'{other:10.3f}':>10} {vs:>9}")
                if count == 100_000 and key in TARGETS:  # (the issue sets them at 100k; at 1M, the ratio only)
                    verdict = "meets" if value <= TARGETS[key] else "MISSES"
                    print(f"{'':62}   target <= {TARGETS[key]}: {verdict}")
            if count >= 100_000:
                grow = nb["whole run, median (ms)"] / first["whole run, median (ms)"]
                limit = 1.3 if count < 1_000_000 else 1.5
                print(
                    f"whole run vs the 1k tier: {grow:.2f}x (target <= {limit}x: {'meets' if grow <= limit else 'MISSES'})"
                )
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end; append+fsync {fsync_latency(base):.3f} ms")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
