"""``GET runs/<id>/slice`` and ``POST runs/<id>/reproduce`` on a real Jupyter server."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.lineage import record as rec

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


def _run_with_slice(tracking: nbtrack.TrackingClient, *, stale: str | None = None) -> str:
    """A finished run (param p=1, metric m=2.0) whose slice recomputes it."""
    run = tracking.create_run("0", run_name="source")
    run_id = run.info.run_id
    record = rec.SliceRecord(
        cells=(
            rec.SliceCell(1, "a1", "x = 2.0"),
            rec.SliceCell(
                3,
                "c3",
                "import nbtrack\nwith nbtrack.start_run():\n    nbtrack.log_param('p', 1)\n    nbtrack.log_metric('m', x)",
            ),
        ),
        executed=3,
    )
    tags = [RunTag(k, v) for k, v in rec.slice_tags(record, stale).items()]
    tracking.log_batch(run_id, metrics=[Metric("m", 2.0, 0, 0)], params=[Param("p", "1")], tags=tags)
    rec.save(tracking, run_id, record)
    tracking.set_terminated(run_id)
    return run_id


async def _json(jp_fetch: Any, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("nbtrack", "api", *parts, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def test_get_slice_answers_cells_source_and_verdict(jp_fetch: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a run with a stored slice that a later change made stale
    run_id = _run_with_slice(tracking, stale="cell [1] `x = ...` changed after this run (re-run as [4])")
    # When the sidebar asks for its slice
    body = await _json(jp_fetch, "runs", run_id, "slice")
    # Then it gets the cells in order, the slice.py text and the verdict
    assert [(c["execution_count"], c["cell_id"]) for c in body["cells"]] == [(1, "a1"), (3, "c3")]
    assert body["cells"][0]["source"] == "x = 2.0"
    assert "# %% In[1] cell a1\nx = 2.0\n" in body["source"]
    assert body["stale"] is True
    assert body["stale_reason"] == "cell [1] `x = ...` changed after this run (re-run as [4])"


async def test_get_slice_of_a_fresh_run_has_no_reason(jp_fetch: Any, tracking: nbtrack.TrackingClient) -> None:
    body = await _json(jp_fetch, "runs", _run_with_slice(tracking), "slice")
    assert body["stale"] is False
    assert body["stale_reason"] is None


@pytest.mark.parametrize("has_run", [False, True])
async def test_get_slice_is_404_without_a_slice(jp_fetch: Any, tracking: nbtrack.TrackingClient, has_run: bool) -> None:
    run_id = tracking.create_run("0").info.run_id if has_run else UNKNOWN_RUN
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nbtrack", "api", "runs", run_id, "slice")
    assert err.value.code == 404
    message = json.loads(err.value.response.body)["message"]
    assert ("no recorded slice" in message) == has_run


@pytest.mark.parametrize(("method", "route"), [("GET", "slice"), ("POST", "reproduce")])
async def test_lineage_routes_are_403_without_a_token(jp_fetch: Any, method: str, route: str) -> None:
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "nbtrack", "api", "runs", UNKNOWN_RUN, route, method=method, body=body, headers={"Authorization": ""}
        )
    assert err.value.code == 403


async def test_reproduce_from_a_cookie_session_needs_the_xsrf_token(
    jp_fetch: Any, jp_serverapp: Any, tracking: nbtrack.TrackingClient
) -> None:
    # Given a browser session (login cookie) that does not send the XSRF token
    token = jp_serverapp.identity_provider.token
    jar: SimpleCookie = SimpleCookie()
    for params in ({}, {"token": token}):
        response = await jp_fetch(
            "login", params=params, headers={"Authorization": ""}, follow_redirects=False, raise_error=False
        )
        for header in response.headers.get_list("Set-Cookie"):
            jar.load(header)
    cookie = "; ".join(f"{k}={m.value}" for k, m in jar.items() if k != "_xsrf")
    run_id = _run_with_slice(tracking)
    # When it asks for a reproduction
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "nbtrack",
            "api",
            "runs",
            run_id,
            "reproduce",
            method="POST",
            body="{}",
            headers={"Authorization": "", "Cookie": cookie},
        )
    # Then it is refused before any kernel starts: no run was added
    assert err.value.code == 403
    assert len(tracking.search_runs(["0"])) == 1


@pytest.mark.parametrize("body", [{"rtol": -1}, {"atol": "x"}, {"rtol": True}])
async def test_reproduce_rejects_bad_tolerances(jp_fetch: Any, tracking: nbtrack.TrackingClient, body: Any) -> None:
    run_id = _run_with_slice(tracking)
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nbtrack", "api", "runs", run_id, "reproduce", method="POST", body=json.dumps(body))
    assert err.value.code == 400
    assert len(tracking.search_runs(["0"])) == 1


@pytest.mark.slow
async def test_reproduce_runs_the_slice_in_a_fresh_kernel(jp_fetch: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a run whose slice recomputes it
    run_id = _run_with_slice(tracking)
    # When the sidebar asks for a reproduction
    body = await _json(jp_fetch, "runs", run_id, "reproduce", method="POST", body="{}", request_timeout=300)
    # Then a new run, tagged with its source, logged the same param and metric
    assert body["source_run_id"] == run_id
    assert body["matches"] is True, body
    assert body["diffs"] == [] and body["error"] is None
    new = tracking.get_run(body["run_id"])
    assert new.data.tags[rec.REPRODUCED_FROM] == run_id
    assert new.data.metrics == {"m": 2.0}
