"""Shared fixtures: every test gets its own store and a clean fluent state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack import config
from nbtrack.store import clear_cache
from nbtrack.tracking import fluent


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NBTRACK_TESTING", "true")
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NBTRACK_KEY_FILE", str(tmp_path / "model.key"))
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    config.reset()
    fluent.reset()
    clear_cache()
    yield
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)  # set_experiment exports it for child processes
    while nbtrack.active_run() is not None:
        nbtrack.end_run()
    config.reset()
    fluent.reset()
    clear_cache()


@pytest.fixture(params=["memory", "tinydb"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> nbtrack.TrackingClient:
    """A client on each store backend."""
    uri = "memory:" + str(tmp_path) if request.param == "memory" else str(tmp_path / "store")
    return nbtrack.TrackingClient(uri)
