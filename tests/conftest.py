"""Shared fixtures: every test gets its own store and a clean fluent state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from remote.mlflow_process import MlflowServer

import nbtrack
from nbtrack import config
from nbtrack.store import clear_cache
from nbtrack.tracking import fluent


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NBTRACK_TESTING", "true")
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NBTRACK_SPOOL", str(tmp_path / "spool"))
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "JPY_SESSION_NAME", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    config.reset()
    fluent.reset()
    clear_cache()
    yield
    while nbtrack.active_run() is not None:
        nbtrack.end_run()
    config.reset()
    fluent.reset()
    clear_cache()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run ``client`` tests on every backend; modules with ``RUN_ON_SERVER = True`` also on an MLflow server."""
    if "client" in metafunc.fixturenames:
        backends = ["memory", "tinydb"]
        if getattr(metafunc.module, "RUN_ON_SERVER", False):
            backends.append("server")
        metafunc.parametrize("client", backends, indirect=True)


_server: MlflowServer | None = None


def _uses_server(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    names = getattr(item, "fixturenames", ())
    return "mlflow_server" in names or (callspec is not None and callspec.params.get("client") == "server")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the MLflow server as soon as a selected test needs it: it boots while other tests run."""
    global _server
    if _server is None and any(_uses_server(item) for item in items):
        import tempfile

        _server = MlflowServer(Path(tempfile.mkdtemp(prefix="nbtrack-mlflow-server-")))
        _server.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _server is not None:
        _server.stop()


@pytest.fixture(scope="session")
def mlflow_server() -> MlflowServer:
    """The session's real ``mlflow server`` (SQLite backend, artifacts in a temp folder), killed at the end."""
    global _server
    if _server is None:
        import tempfile

        _server = MlflowServer(Path(tempfile.mkdtemp(prefix="nbtrack-mlflow-server-")))
        _server.start()
    _server.wait()
    return _server


@pytest.fixture
def client(request: pytest.FixtureRequest, tmp_path: Path) -> nbtrack.TrackingClient:
    """A client on each store backend (``server``: the session's MLflow server, emptied first)."""
    if request.param == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        server.reset()
        return nbtrack.TrackingClient(server.url)
    uri = "memory:" + str(tmp_path) if request.param == "memory" else str(tmp_path / "store")
    return nbtrack.TrackingClient(uri)
