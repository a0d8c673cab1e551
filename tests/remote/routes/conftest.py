"""A real Jupyter server (pytest-jupyter) whose nbtrack extension reads an MLflow tracking server."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

# pytest-jupyter's fixtures, scoped to this folder (as in tests/server/conftest.py).
from pytest_jupyter.jupyter_server import *  # noqa: F403
from remote.mlflow_process import MlflowServer

import nbtrack


@pytest.fixture
def jp_server_config(mlflow_server: MlflowServer) -> dict[str, Any]:
    """Enable nbtrack, require authentication, point the extension at the (emptied) MLflow server."""
    mlflow_server.reset()
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbtrack": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "NbtrackServer": {"store": mlflow_server.url},
    }


@pytest.fixture
def tracking(mlflow_server: MlflowServer) -> nbtrack.TrackingClient:
    """A client writing to the tracking server the Jupyter server reads."""
    return nbtrack.TrackingClient(mlflow_server.url)


@pytest.fixture
def api(jp_fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``await api("runs", params={...})`` → the decoded JSON body of a nbtrack API call."""

    async def call(*parts: str, method: str = "GET", body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        response = await jp_fetch("nbtrack", "api", *parts, method=method, **kwargs)
        return json.loads(response.body)

    return call
