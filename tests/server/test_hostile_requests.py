"""Hostile requests against a real Jupyter server: the loop keeps answering, bodies of any shape get 4xx JSON."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.entities import RunTag
from nbtrack.server import _handler

BUDGET = 0.5


@pytest.fixture(autouse=True)
def _drain_workers() -> Any:
    """Wait after each test until the worker threads are idle: hostile work outlives its 503 answer."""
    yield
    pool = _handler.worker_pool()
    for future in [pool.submit(time.sleep, 0.01) for _ in range(_handler.WORKERS)]:
        future.result()


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    """The suite's server, with a short request budget so a hostile request hits it."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbtrack": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "NbtrackServer": {"store": str(store_path), "request_budget": BUDGET},
    }


def _long_tags(store_path: Path, runs: int) -> None:
    client = nbtrack.TrackingClient(str(store_path))
    for i in range(runs):
        run = client.create_run("0", run_name=f"pad-{i}")
        # distinct values: a search answered from the store's columns matches each distinct value once
        client.log_batch(run.info.run_id, tags=[RunTag("pad", "a" * 7990 + f"{i:010d}")])
        client.set_terminated(run.info.run_id)


async def test_status_answers_while_a_hostile_search_runs(jp_fetch: Any, store_path: Path) -> None:
    # Given 200 runs with an 8,000-character tag, and a filter that reads every character of each
    _long_tags(store_path, 200)
    hostile_filter = "tags.pad LIKE '%a_%zz'"
    # When the hostile search is in flight
    hostile = asyncio.ensure_future(
        jp_fetch("nbtrack", "api", "runs", params={"filter": hostile_filter}, raise_error=False)
    )
    await asyncio.sleep(0.05)
    latencies: list[float] = []
    answered_while_running = 0
    while not hostile.done():
        start = time.perf_counter()
        status = await jp_fetch("api", "status")
        latencies.append(time.perf_counter() - start)
        assert status.code == 200
        if not hostile.done():
            answered_while_running += 1
    response = await hostile
    # Then /api/status kept answering meanwhile, and the hostile request got a JSON answer
    print(
        f"\n/api/status during a hostile search: {len(latencies)} answers, "
        f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
        f"hostile request answered {response.code}"
    )
    assert answered_while_running >= 1
    body = json.loads(response.body)
    if response.code == 503:
        assert body["reason"] == "REQUEST_TIMEOUT" and "budget" in body["message"]
    else:
        assert response.code == 200 and body["runs"] == []


async def test_many_hostile_requests_at_once_leave_status_answering(jp_fetch: Any, store_path: Path) -> None:
    _long_tags(store_path, 120)
    flood = [
        asyncio.ensure_future(
            jp_fetch("nbtrack", "api", "runs", params={"filter": f"tags.pad LIKE '%a_%z{i}'"}, raise_error=False)
        )
        for i in range(8)
    ]
    await asyncio.sleep(0.05)
    answered = 0
    while not all(f.done() for f in flood):
        assert (await jp_fetch("api", "status")).code == 200
        answered += not all(f.done() for f in flood)
    codes = sorted({(await f).code for f in flood})
    print(f"\nflood of 8 hostile searches answered {codes}; /api/status answered {answered} times meanwhile")
    assert answered >= 1
    assert set(codes) <= {200, 503}


BODIES = {
    "100,000-deep array": b"[" * 100_000 + b"]" * 100_000,
    "100,000-deep object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "2 MiB": b'{"alias": "' + b"x" * (2 << 20) + b'"}',
    "array": b"[1, 2]",
    "null": b"null",
    "string": b'"alias"',
    "number": b"1e999",
    "not utf-8": b"\xff\xfe{}",
    "truncated": b'{"alias": ',
    "alias a list": b'{"alias": ["x"], "version": "1"}',
    "alias a dict": b'{"alias": {"x": 1}, "version": {"v": 1}}',
    "surrogate escape": b'{"alias": "\\ud800", "version": "1"}',
    "stage a number": b'{"stage": 5}',
    "archive not a bool": b'{"stage": "Production", "archive_existing_versions": "yes"}',
}


@pytest.mark.parametrize("route", [("models", "m", "aliases"), ("models", "m", "versions", "1", "stage")])
async def test_bodies_of_any_shape_get_4xx_json(jp_fetch: Any, route: tuple[str, ...]) -> None:
    for name, body in BODIES.items():
        response = await jp_fetch("nbtrack", "api", *route, method="POST", body=body, raise_error=False)
        assert 400 <= response.code < 500, (name, response.code, response.body[:200])
        assert set(json.loads(response.body)) == {"message", "reason"}, name


HOSTILE_QUERIES = [
    {"filter": "(" * 2000 + "metrics.m > 1" + ")" * 2000},
    {"filter": "not " * 2000 + "metrics.m > 1"},
    {"filter": "metrics.m > 1 and " * 300 + "("},
    {"max_results": "9" * 5000},
    {"since": "-1"},
    {"page_token": "!!!" * 1000},
    {"order_by": "metrics.m sideways"},
    {"experiment_id": "9" * 400},
]


async def test_hostile_query_strings_get_4xx_json(jp_fetch: Any) -> None:
    for params in HOSTILE_QUERIES:
        response = await jp_fetch("nbtrack", "api", "runs", params=params, raise_error=False)
        assert 400 <= response.code < 500, (params, response.code, response.body[:200])
        assert set(json.loads(response.body)) == {"message", "reason"}
