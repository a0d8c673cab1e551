"""Latency of the server extension's runs listing over a store of 10,000 runs.

Starts a real ``jupyter server`` (token auth, 127.0.0.1, a free port) over a seeded
store and measures, over one keep-alive connection, the median latency of

- ``GET /api/status`` (Jupyter's own cheap route: the baseline of this machine and run),
- ``GET nbtrack/api/runs?max_results=100`` (first page of 100 runs, newest first),
- ``GET nbtrack/api/runs?since=<cursor>`` with no change in the store (the sidebar's poll),
- ``GET nbtrack/api/runs?max_results=100`` right after a change (cache rebuilt),

and prints them beside the targets (50 ms and 5 ms) and as ratios to the baseline.

Usage::

    PYTHONPATH=. python benchmarks/server.py [--runs 10000] [--repeat 200] [--store DIR]

``--store DIR`` keeps the seeded store for later runs (seeding 10,000 runs through the
client takes a minute or two); without it a temporary folder is used and removed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbtrack  # noqa: E402
from nbtrack.entities import Metric, Param, RunTag  # noqa: E402

TOKEN = "nbtrack-bench-" + os.urandom(8).hex()


def seed(store: Path, runs: int) -> str:
    """Fill ``store`` with ``runs`` finished runs in one experiment; return its id."""
    client = nbtrack.TrackingClient(str(store))
    existing = client.get_experiment_by_name("bench")
    if existing is not None:
        have = len(client.search_run_docs([existing.experiment_id]))
        if have >= runs:
            print(f"reusing {store} ({have} runs)")
            return existing.experiment_id
    exp = existing.experiment_id if existing else client.create_experiment("bench")
    have = len(client.search_run_docs([exp]))
    start = time.perf_counter()
    for i in range(have, runs):
        run_id = client.create_run(exp, run_name=f"run-{i}", start_time=1_700_000_000_000 + i * 1000).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("accuracy", (i % 97) / 97, 0, 0), Metric("loss", 1 / (i + 1), 0, 0)],
            params=[Param("C", str(i % 10)), Param("max_depth", str(i % 7))],
            tags=[RunTag("nbtrack.notebook_path", "train.ipynb")],
        )
        client.set_terminated(run_id)
        if (i + 1) % 1000 == 0:
            print(f"  seeded {i + 1} runs ({time.perf_counter() - start:.0f} s)", flush=True)
    return exp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(store: Path, root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    env.pop("NBTRACK_STORE", None)
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.jpserver_extensions={'nbtrack': True}",
        f"--NbtrackServer.store={store}",
        "--ServerApp.log_level=WARN",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")
    log = open(root / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


class Api:
    """A keep-alive HTTP connection with the token header."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"token {TOKEN}"}

    def get(self, path: str) -> tuple[float, Any]:
        start = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status}: {body[:300]!r}")
        return elapsed, json.loads(body)


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> Api:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("jupyter server exited:\n" + log.read_text(errors="replace")[-3000:])
        try:
            api = Api(port)
            api.get("/api/status")
            return api
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError("jupyter server did not answer within 60 s")


def summary(name: str, samples: list[float], baseline: float, target: float | None = None) -> str:
    med = statistics.median(samples)
    p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
    line = (
        f"{name:<42} median {med:7.2f} ms  p90 {p90:7.2f} ms  "
        f"{med / baseline:5.1f}x /api/status ({med - baseline:+6.2f} ms)"
    )
    if target is not None:
        line += f"   target <= {target:g} ms: {'met' if med <= target else 'NOT met'}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nbtrack-bench-server-"))
    store = args.store.resolve() if args.store else tmp / "store"
    proc = None
    try:
        print(f"seeding {args.runs} runs into {store} ...", flush=True)
        exp = seed(store, args.runs)
        port = free_port()
        proc = start_server(store, tmp, port)
        api = wait_ready(port, proc, tmp / "server.log")

        runs_path = f"/nbtrack/api/runs?experiment_id={exp}&max_results=100"
        cold, first = api.get(runs_path)
        assert len(first["runs"]) == 100 and first["total"] >= args.runs, (len(first["runs"]), first["total"])
        since_path = f"/nbtrack/api/runs?experiment_id={exp}&since={first['cursor']}"
        for _ in range(10):  # warm up
            api.get("/api/status")
            api.get(runs_path)
            api.get(since_path)

        status: list[float] = []
        page: list[float] = []
        poll: list[float] = []

        def one_poll() -> None:
            elapsed, body = api.get(since_path)
            assert body["runs"] == [] and body["cursor"] == first["cursor"], "the store changed during the poll"
            poll.append(elapsed)

        steps = [
            lambda: status.append(api.get("/api/status")[0]),
            lambda: page.append(api.get(runs_path)[0]),
            one_poll,
        ]
        for i in range(args.repeat):  # rotate the order so no route always follows the big answer
            for k in range(len(steps)):
                steps[(i + k) % len(steps)]()

        client = nbtrack.TrackingClient(str(store))
        some_run = first["runs"][0]["run_id"]
        changed: list[float] = []
        for i in range(min(20, args.repeat)):
            client.set_tag(some_run, "bench.touch", str(i))
            changed.append(api.get(runs_path)[0])
        # the server sees this process's writes: the poll returns exactly the touched run
        _, polled = api.get(since_path)
        assert [r["run_id"] for r in polled["runs"]] == [some_run], polled["runs"][:3]
        assert polled["runs"][0]["tags"]["bench.touch"] == str(i)

        base = statistics.median(status)
        print()
        print(f"jupyter server over {first['total']} runs, {args.repeat} requests each, one keep-alive connection")
        print(summary("GET /api/status (baseline)", status, base))
        print(summary("GET runs?max_results=100 (first page)", page, base, 50))
        print(summary("GET runs?since=<cursor> (no change)", poll, base, 5))
        print(summary("GET runs?max_results=100 after a change", changed, base))
        print(f"{'first GET runs after server start (cold)':<44} {cold:7.2f} ms")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
