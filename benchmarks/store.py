"""Store benchmark: nbtrack's store beside stock TinyDB, measured in the same run.

Run from the repository root::

    PYTHONPATH=. python benchmarks/store.py           # stores of 0, 1k and 10k runs
    PYTHONPATH=. python benchmarks/store.py --quick   # 0, 200 and 1k runs, fewer repeats

For each store size it prints the median time to log a whole run (10 params,
5 metrics, 3 tags, start to end), ``log_metric`` per call over 2000 steps,
``search_runs`` to a DataFrame (all runs, and a filtered search), ``get_run``,
and ``import nbtrack`` in a fresh interpreter. The baseline is stock TinyDB
(``TinyDB(path)`` with its default JSON storage) doing the same work on the same
run documents: an insert or update per API call, ``Query`` searches, and the
same DataFrame built from the hits.

The machine's load average and the latency of one append + ``fsync`` are printed
first and last: run-end durability costs one flush, and on a shared machine both
figures swing widely, so read the ratios, and the best search time beside the
median, with them in mind.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

FILTER = "metrics.m0 > 0.5 and params.p1 = '3'"
TARGETS = {"whole run": 5.0, "log_metric": 0.03, "search_runs": 100.0, "import": 300.0}


def _times_ms(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    return statistics.median(_times_ms(fn, repeat))


@functools.cache
def _auto_tags() -> dict[str, str]:
    from nbtrack.tracking._context import context_tags

    return context_tags()


def _run_doc(rng: random.Random, index: int) -> dict[str, Any]:
    """A finished run document shaped like the ones the API writes (10 params, 5 metrics, 3+ tags)."""
    run_id = uuid.uuid4().hex
    start = 1_700_000_000_000 + index * 1000
    return {
        "run_id": run_id,
        "experiment_id": "0",
        "run_name": f"bench-{index}",
        "user_id": "bench",
        "status": "FINISHED",
        "start_time": start,
        "end_time": start + 500,
        "artifact_uri": f"/tmp/artifacts/{run_id}",
        "lifecycle_stage": "active",
        "pid": 1,
        "pstart": "",
        "host": "bench",
        "params": {f"p{j}": str(rng.randint(0, 9)) for j in range(10)},
        # the tags a run started through the API gets: automatic ones, its name, and 3 user tags
        "tags": {**_auto_tags(), "mlflow.runName": f"bench-{index}", "t0": "a", "t1": "b", "t2": "c"},
        "metrics": {f"m{j}": rng.random() for j in range(5)},
        "metric_meta": {f"m{j}": [start, 0] for j in range(5)},
        "inputs": [],
    }


def _flat(doc: dict[str, Any]) -> dict[str, Any]:
    row = {k: doc[k] for k in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")}
    for prefix in ("metrics", "params", "tags"):
        for key, value in doc[prefix].items():
            row[f"{prefix}.{key}"] = value
    return row


# -- nbtrack ---------------------------------------------------------------
def fill_nbtrack(path: str, n: int) -> None:
    """Put ``n`` finished runs into a new store in one transaction (then compact)."""
    from nbtrack.store.tinydb_store import TinyDBStore

    store = TinyDBStore(path)
    rng = random.Random(1)
    with store._tx() as tx:
        for i in range(n):
            doc = _run_doc(rng, i)
            tx.put("runs", doc["run_id"], doc)
    store.compact()


def bench_nbtrack(path: str, quick: bool) -> dict[str, float | str]:
    import nbtrack
    from nbtrack.errors import InvalidParameter
    from nbtrack.store import clear_cache
    from nbtrack.store.tinydb_store import TinyDBStore
    from nbtrack.tracking import fluent

    clear_cache()
    nbtrack.set_tracking_uri(path)
    params = {f"p{j}": j for j in range(10)}
    metrics = {f"m{j}": j / 10 for j in range(5)}
    tags = {f"t{j}": "x" for j in range(3)}

    def whole_run() -> None:
        with nbtrack.start_run():
            nbtrack.log_params(params)
            nbtrack.log_metrics(metrics)
            nbtrack.set_tags(tags)

    out: dict[str, float | str] = {}
    whole_run()  # warm caches (the first open of a store reads its files)
    out["whole run"] = _median_ms(whole_run, 30 if quick else 100)

    steps = 2000
    with nbtrack.start_run():
        start = time.perf_counter()
        for step in range(steps):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        loop = time.perf_counter() - start
    ended = time.perf_counter() - start
    out["log_metric"] = loop / steps * 1000
    out["log_metric incl. end_run"] = ended / steps * 1000

    import pandas  # noqa: F401  (imported outside the measures)

    # The first search in a process that has not read the store yet: opens and parses its files.
    clear_cache()
    fluent.reset()  # no active run here; the client holds the store object
    nbtrack.set_tracking_uri(path)
    first_start = time.perf_counter()
    nbtrack.search_runs()
    out["search_runs, first after opening the store"] = (time.perf_counter() - first_start) * 1000
    search_times = _times_ms(nbtrack.search_runs, 5 if quick else 15)
    out["search_runs"] = statistics.median(search_times)
    out["search_runs, best of the repeats"] = min(search_times)
    fresh_start = time.perf_counter()
    TinyDBStore(path).search_run_docs(["0"])
    out["search docs only (new store object, parses files)"] = (time.perf_counter() - fresh_start) * 1000
    try:
        out["search_runs filtered"] = _median_ms(lambda: nbtrack.search_runs(filter_string=FILTER), 5)
    except InvalidParameter as exc:
        out["search_runs filtered"] = f"n/a ({exc})"
    ids = list(nbtrack.search_runs(output_format="list", max_results=200))
    run_ids = [r.info.run_id for r in ids]
    out["get_run"] = _median_ms(lambda: nbtrack.get_run(random.choice(run_ids)), 200)
    return out


# -- stock TinyDB ----------------------------------------------------------
def fill_tinydb(path: str, n: int) -> None:
    from tinydb import TinyDB

    rng = random.Random(1)
    with TinyDB(path) as db:
        db.table("runs").insert_multiple(_run_doc(rng, i) for i in range(n))


def bench_tinydb(path: str, quick: bool, n: int) -> dict[str, float | str]:
    import pandas as pd
    from tinydb import Query, TinyDB

    db = TinyDB(path)
    # No query cache: each search reads the file, as a search after any write would.
    runs = db.table("runs", cache_size=0)
    points = db.table("metric_points", cache_size=0)
    run = Query()
    rng = random.Random(2)
    heavy = n >= 5000
    out: dict[str, float | str] = {}

    def whole_run() -> None:
        doc = _run_doc(rng, 0)
        doc.update(status="RUNNING", params={}, metrics={}, tags={})
        run_id = doc["run_id"]
        runs.insert(doc)  # start_run
        runs.update({"params": {f"p{j}": str(j) for j in range(10)}}, run.run_id == run_id)
        runs.update({"metrics": {f"m{j}": j / 10 for j in range(5)}}, run.run_id == run_id)
        runs.update({"tags": {f"t{j}": "x" for j in range(3)}}, run.run_id == run_id)
        runs.update({"status": "FINISHED", "end_time": int(time.time() * 1000)}, run.run_id == run_id)

    out["whole run"] = _median_ms(whole_run, 3 if heavy else (5 if quick else 10))
    steps = 20 if heavy else 100
    start = time.perf_counter()
    for step in range(steps):
        points.insert({"run_id": "x", "key": "loss", "value": 1.0 / (step + 1), "step": step, "ts": 0})
    out["log_metric"] = (time.perf_counter() - start) / steps * 1000
    out["log_metric incl. end_run"] = out["log_metric"]

    def search() -> Any:
        return pd.DataFrame([_flat(d) for d in runs.search(run.experiment_id == "0")])

    out["search_runs"] = _median_ms(search, 3)
    out["search_runs, best of the repeats"] = out["search_runs"]  # every TinyDB search reads the file
    out["search_runs, first after opening the store"] = out["search_runs"]
    out["search docs only (new store object, parses files)"] = out["search_runs"]
    out["search_runs filtered"] = _median_ms(
        lambda: pd.DataFrame([_flat(d) for d in runs.search((run.metrics.m0 > 0.5) & (run.params.p1 == "3"))]), 3
    )
    some = [d["run_id"] for d in runs.all()[:50]] or ["none"]
    out["get_run"] = _median_ms(lambda: runs.get(run.run_id == random.choice(some)), 3 if heavy else 10)
    db.close()
    return out


def import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(times) * 1000


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


def _fmt(value: float | str) -> str:
    return f"{value:10.4f}" if isinstance(value, float) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small stores and few repeats")
    args = parser.parse_args()
    sizes = [0, 200, 1000] if args.quick else [0, 1000, 10000]
    base = Path(tempfile.mkdtemp(prefix="nbtrack-bench-"))
    print(f"python {sys.version.split()[0]}; times in ms; lower is better; ratio = stock TinyDB / nbtrack")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; append+fsync {fsync_latency(base):.3f} ms")
    try:
        for n in sizes:
            nb_path, tdb_path = str(base / f"nb-{n}"), str(base / f"tinydb-{n}.json")
            fill_nbtrack(nb_path, n)
            fill_tinydb(tdb_path, n)
            nb = bench_nbtrack(nb_path, args.quick)
            tdb = bench_tinydb(tdb_path, args.quick, n)
            print(f"\n== store holding {n} runs ==")
            print(f"{'operation':50} {'nbtrack':>10} {'TinyDB':>10} {'ratio':>8}")
            for key, value in nb.items():
                other = tdb.get(key, "")
                ratio = (
                    f"{other / value:8.1f}x" if isinstance(value, float) and isinstance(other, float) and value else ""
                )
                print(f"{key:50} {_fmt(value):>10} {_fmt(other):>10} {ratio}")
                target = TARGETS.get(key)
                if target is not None and n == sizes[-1] and isinstance(value, float):
                    verdict = "meets" if value <= target else "MISSES"
                    print(f"{'':50}   target <= {target} ms: {verdict}")
        nb_import, tdb_import = import_time("nbtrack"), import_time("tinydb")
        print(f"\nimport nbtrack (fresh interpreter): {nb_import:.1f} ms; import tinydb: {tdb_import:.1f} ms")
        print(f"  target <= {TARGETS['import']} ms: {'meets' if nb_import <= TARGETS['import'] else 'MISSES'}")
        print(f"load average {os.getloadavg()[0]:.2f} at the end; append+fsync {fsync_latency(base):.3f} ms")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
