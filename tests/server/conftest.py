"""A real Jupyter server (pytest-jupyter) with the nbtrack extension over a temporary store."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures and hooks (async tests, jp_fetch, a ServerApp per test), scoped to this
# folder. ``pytest_plugins`` would load them for the whole suite, and pytest refuses it outside the
# top-level conftest; importing them here keeps the per-test server and event loop off other tests.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPResponse

import nbtrack

Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """The store folder the server is configured to use."""
    return tmp_path / "served-store"


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    """Enable nbtrack, require authentication, point the extension at ``store_path``."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbtrack": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "NbtrackServer": {"store": str(store_path)},
    }


@pytest.fixture
def tracking(store_path: Path) -> nbtrack.TrackingClient:
    """A client writing into the store the server reads."""
    return nbtrack.TrackingClient(str(store_path))


@pytest.fixture
def api(jp_fetch: Fetch) -> Callable[..., Awaitable[Any]]:
    """``await api("runs", params={...})`` → the decoded JSON body of a nbtrack API call.

    Path parts are URL-encoded by ``jp_fetch``.
    """

    async def call(*parts: str, method: str = "GET", body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        response = await jp_fetch("nbtrack", "api", *parts, method=method, **kwargs)
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.body)

    return call
