"""Authentication and XSRF protection of the nbtrack routes."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import nbtrack

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"
ROUTES = [
    ("GET", ("version",)),
    ("GET", ("experiments",)),
    ("GET", ("runs",)),
    ("GET", ("runs", UNKNOWN_RUN)),
    ("GET", ("runs", UNKNOWN_RUN, "metrics")),
    ("GET", ("runs", UNKNOWN_RUN, "metrics", "loss")),
    ("GET", ("runs", UNKNOWN_RUN, "artifact")),
    ("DELETE", ("runs", UNKNOWN_RUN)),
    ("GET", ("models",)),
    ("GET", ("models", "m", "versions")),
    ("GET", ("models", "m", "events")),
    ("POST", ("models", "m", "versions", "1", "stage")),
    ("POST", ("models", "m", "aliases")),
    ("DELETE", ("models", "m", "aliases", "champion")),
]


@pytest.mark.parametrize(("method", "parts"), ROUTES)
async def test_every_route_is_403_without_a_token(jp_fetch: Any, method: str, parts: tuple[str, ...]) -> None:
    # When calling a route with no credentials at all
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nbtrack", "api", *parts, method=method, body=body, headers={"Authorization": ""})
    # Then it is refused with 403 and a JSON error
    assert err.value.code == 403
    assert set(json.loads(err.value.response.body)) == {"message", "reason"}


async def _login_cookies(jp_fetch: Any, jp_serverapp: Any) -> dict[str, str]:
    """Log in the way a browser does: the token in the URL once, then only cookies."""
    token = jp_serverapp.identity_provider.token
    jar: SimpleCookie = SimpleCookie()
    for params in ({}, {"token": token}):  # the login page (XSRF cookie), then the token (session cookie)
        response = await jp_fetch(
            "login", params=params, headers={"Authorization": ""}, follow_redirects=False, raise_error=False
        )
        for header in response.headers.get_list("Set-Cookie"):
            jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


async def test_cookie_session_delete_without_xsrf_is_rejected(
    jp_fetch: Any, jp_serverapp: Any, store_path: Any
) -> None:
    # Given a finished run and a browser session (login cookie, but no XSRF token sent)
    tracking = nbtrack.TrackingClient(str(store_path))
    run = tracking.create_run("0")
    tracking.set_terminated(run.info.run_id)
    cookies = await _login_cookies(jp_fetch, jp_serverapp)
    login = {k: v for k, v in cookies.items() if k != "_xsrf"}
    assert login, "logging in set no session cookie"
    cookie_header = "; ".join(f"{k}={v}" for k, v in login.items())
    # When the session reads, it is allowed (the cookie authenticates it)
    ok = await jp_fetch("nbtrack", "api", "version", headers={"Authorization": "", "Cookie": cookie_header})
    assert ok.code == 200
    # When it deletes without the XSRF token
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "nbtrack",
            "api",
            "runs",
            run.info.run_id,
            method="DELETE",
            headers={"Authorization": "", "Cookie": cookie_header},
        )
    # Then the write is refused with 403 and the run is untouched
    assert err.value.code == 403
    assert "xsrf" in json.loads(err.value.response.body)["message"].lower()
    assert tracking.get_run(run.info.run_id).info.lifecycle_stage == "active"
    # When the same session sends the XSRF cookie and header, as JupyterLab does
    xsrf = cookies.get("_xsrf")
    assert xsrf, "the login page set no _xsrf cookie"
    response = await jp_fetch(
        "nbtrack",
        "api",
        "runs",
        run.info.run_id,
        method="DELETE",
        headers={"Authorization": "", "Cookie": f"{cookie_header}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    # Then the run is deleted
    assert response.code == 200
    assert tracking.get_run(run.info.run_id).info.lifecycle_stage == "deleted"


async def test_cookie_session_post_without_xsrf_is_rejected(jp_fetch: Any, jp_serverapp: Any) -> None:
    # Given a browser session without the XSRF token
    cookies = await _login_cookies(jp_fetch, jp_serverapp)
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items() if k != "_xsrf")
    # When it POSTs a stage transition
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "nbtrack",
            "api",
            "models",
            "m",
            "versions",
            "1",
            "stage",
            method="POST",
            body=json.dumps({"stage": "Production"}),
            headers={"Authorization": "", "Cookie": cookie_header},
        )
    # Then it is refused with 403 before any handler runs
    assert err.value.code == 403
    assert "xsrf" in json.loads(err.value.response.body)["message"].lower()


async def test_token_header_authenticates_writes_without_xsrf(jp_fetch: Any, store_path: Any) -> None:
    # Given a finished run
    tracking = nbtrack.TrackingClient(str(store_path))
    run = tracking.create_run("0")
    tracking.set_terminated(run.info.run_id)
    # When deleting it with the token header only (jp_fetch's default, like JupyterLab's ServerConnection)
    response = await jp_fetch("nbtrack", "api", "runs", run.info.run_id, method="DELETE")
    # Then it succeeds
    assert response.code == 200
    assert tracking.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
