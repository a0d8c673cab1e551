"""A real ``mlflow server`` on 127.0.0.1: SQLite backend and artifact folder in a temporary directory.

Start-up takes 15-30 s here, so one server serves a whole test session; ``reset()`` empties
its database between tests (a direct SQLite ``DELETE``, the server keeps no cache of it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

AUTH_USER, AUTH_PASSWORD = "admin", "nbtrack-test-Pa55word"  # the basic-auth server's admin

# Tables of runs, experiments and the registry; the rest (traces, jobs...) the tests never fill.
_WIPED = (
    "latest_metrics",
    "metrics",
    "params",
    "tags",
    "input_tags",
    "inputs",
    "datasets",
    "experiment_tags",
    "registered_model_aliases",
    "model_version_tags",
    "registered_model_tags",
    "model_versions",
    "registered_models",
    "entity_associations",
    "logged_model_tags",
    "logged_model_params",
    "logged_model_metrics",
    "logged_models",
    "runs",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mlflow_cli() -> str:
    exe = Path(sys.executable).with_name("mlflow")
    return str(exe) if exe.exists() else "mlflow"


class MlflowServer:
    """One ``mlflow server`` process.

    Parameters
    ----------
    folder : Path
        Holds ``mlflow.db``, ``artifacts/`` and ``server.log``.
    app_name : str, optional
        ``--app-name`` (e.g. ``basic-auth``).
    """

    def __init__(self, folder: Path, app_name: str | None = None, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "mlflow.db"
        self.artifacts = folder / "artifacts"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app_name = app_name
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "server.log"

    def start(self) -> None:
        """Launch the process (returns at once; :meth:`wait` waits for ``/health``)."""
        cmd = [
            mlflow_cli(),
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.db}",
            "--artifacts-destination",
            str(self.artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        if self.app_name:
            cmd += ["--app-name", self.app_name]
        env = {**os.environ, **self.env}
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.pop(name, None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, env=env, start_new_session=True
            )

    def wait(self, timeout: float = 180.0) -> None:
        """Block until the server answers ``/health``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + "/health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"mlflow server did not start in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """``kill -9`` the server and its workers."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def reset(self) -> None:
        """Empty the runs, experiments (but Default) and registry."""
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as db:
            existing = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for table in _WIPED:
                if table in existing:
                    db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM experiments WHERE experiment_id != 0")
            db.execute("UPDATE experiments SET lifecycle_stage = 'active', name = 'Default'")
            db.commit()
