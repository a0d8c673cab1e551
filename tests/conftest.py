"""Shared fixtures: every test gets its own store and a clean fluent state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from remote.mlflow_process import AUTH_PASSWORD, MlflowServer

import nbtrack
from nbtrack import config
from nbtrack.store import clear_cache
from nbtrack.tracking import fluent


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NBTRACK_TESTING", "true")
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NBTRACK_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBTRACK_KEY_FILE", str(tmp_path / "model.key"))
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "JPY_SESSION_NAME", "MLFLOW_TRACKING_URI"):
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


@pytest.fixture
def ip() -> Iterator[Any]:
    """The process's real IPython shell, reset, with the nbtrack extension freshly loaded.

    IPython keeps one shell per process. A widget test may already have made a plain ``InteractiveShell``
    (ipywidgets' ``Output`` asks for one); it gives way to IPython's testing shell (no colours, in-memory history),
    so these tests see the same shell whatever ran before them.
    """
    from IPython.core.getipython import get_ipython
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython

    from nbtrack.magics import load_ipython_extension, unload_ipython_extension

    if InteractiveShell.initialized() and type(InteractiveShell.instance()) is InteractiveShell:
        InteractiveShell.clear_instance()  # a plain shell made by ``Output``: replace it with the testing one
    shell = start_ipython() or get_ipython()
    shell.reset(new_session=True)
    unload_ipython_extension(shell)
    load_ipython_extension(shell)
    yield shell
    unload_ipython_extension(shell)
    shell.reset(new_session=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run ``client`` tests on every backend; modules with ``RUN_ON_SERVER = True`` also on an MLflow server."""
    if "client" in metafunc.fixturenames:
        backends = ["memory", "tinydb"]
        if getattr(metafunc.module, "RUN_ON_SERVER", False):
            backends.append("server")
        metafunc.parametrize("client", backends, indirect=True)


# Session servers by fixture name: the contract's, one that a test kills and restarts, one with basic auth.
_SERVER_OPTIONS: dict[str, dict[str, object]] = {
    "mlflow_server": {},
    "killable_mlflow_server": {},
    "auth_mlflow_server": {
        "app_name": "basic-auth",
        "env": {"MLFLOW_AUTH_ADMIN_PASSWORD": AUTH_PASSWORD, "MLFLOW_FLASK_SERVER_SECRET_KEY": "nbtrack-tests"},
    },
}
_servers: dict[str, MlflowServer] = {}


def _server_names(item: pytest.Item) -> set[str]:
    callspec = getattr(item, "callspec", None)
    names = set(getattr(item, "fixturenames", ())) & set(_SERVER_OPTIONS)
    if callspec is not None and callspec.params.get("client") == "server":
        names.add("mlflow_server")
    return names


def _server(name: str) -> MlflowServer:
    server = _servers.get(name)
    if server is None:
        import tempfile

        options = _SERVER_OPTIONS[name]
        folder = Path(tempfile.mkdtemp(prefix=f"nbtrack-{name.replace('_', '-')}-"))
        server = _servers[name] = MlflowServer(folder, **options)  # type: ignore[arg-type]
        server.start()
    return server


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the MLflow servers the selected tests need at once: they boot while other tests run."""
    for name in sorted(set().union(*(_server_names(item) for item in items))):
        _server(name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    for server in _servers.values():
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server() -> MlflowServer:
    """The session's real ``mlflow server`` (SQLite backend, artifacts in a temp folder), killed at the end."""
    server = _server("mlflow_server")
    server.wait()
    return server


@pytest.fixture(scope="session")
def killable_mlflow_server() -> MlflowServer:
    """A second server that tests may kill and restart (same port and database)."""
    server = _server("killable_mlflow_server")
    server.wait()
    return server


@pytest.fixture(scope="session")
def auth_mlflow_server() -> MlflowServer:
    """A server with MLflow's basic-auth app (admin user ``AUTH_USER`` / ``AUTH_PASSWORD``)."""
    server = _server("auth_mlflow_server")
    server.wait()
    return server


@pytest.fixture
def client(request: pytest.FixtureRequest, tmp_path: Path) -> nbtrack.TrackingClient:
    """A client on each store backend (``server``: the session's MLflow server, emptied first)."""
    if request.param == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        server.reset()
        return nbtrack.TrackingClient(server.url)
    uri = "memory:" + str(tmp_path) if request.param == "memory" else str(tmp_path / "store")
    return nbtrack.TrackingClient(uri)
