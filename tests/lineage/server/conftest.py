"""A real Jupyter server (pytest-jupyter) with the nbtrack extension over a temporary store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, a ServerApp per test), scoped to this folder as in tests/server.
from pytest_jupyter.jupyter_server import *  # noqa: F403

import nbtrack


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
