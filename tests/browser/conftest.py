"""A real JupyterLab server and headless Chromium for the end-to-end tests.

The browser tests start ``jupyter lab`` in a subprocess (token auth, a free port on
127.0.0.1, a temporary root folder whose store is ``NBTRACK_STORE``) with the
nbtrack extensions of the current environment, and Debian's Chromium driven by
Playwright. Tests skip only when ``/usr/bin/chromium`` is missing and ``CI`` is
not ``"true"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import LabServer, PageErrors

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SERVER_START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_lab_settings(settings_dir: Path) -> None:
    # No network prompts or toasts over the page in a test.
    notification = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture(scope="package")
def chromium_path() -> Path:
    """Debian's Chromium, or a skip (a failure under ``CI=true``)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is required for the browser tests under CI=true")
        pytest.skip("/usr/bin/chromium is not installed")
    return CHROMIUM


@contextlib.contextmanager
def _start_lab(base: Path, server_config: dict[str, Any] | None = None, app: str = "lab") -> Iterator[LabServer]:
    """Run ``jupyter lab`` (or ``app``: ``notebook`` is Notebook 7) on a free port with ``base/root`` as root."""
    root = base / "root"
    root.mkdir()
    store = root / ".nbtrack"
    settings_dir = base / "settings"
    _write_lab_settings(settings_dir)
    config_dir = base / "config"
    config_dir.mkdir()
    config: dict[str, Any] = {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
    config.update(server_config or {})
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "NBTRACK_STORE": str(store),
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("NBTRACK_TESTING", None)
    log_path = base / "lab.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                app,
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = LabServer(url=f"http://127.0.0.1:{port}/", token=token, root=root, store=store)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"jupyter {app} exited early:\n{log_path.read_text(errors='replace')}")
                try:
                    server.api("api/status")
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"jupyter lab did not answer in time:\n{log_path.read_text(errors='replace')}"
                        ) from None
                    time.sleep(0.5)
            yield server
        finally:
            # SIGTERM: the server shuts its kernels down before exiting.
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            shutil.rmtree(base / "runtime", ignore_errors=True)


@pytest.fixture(scope="package")
def lab_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A ``jupyter lab`` subprocess with nbtrack's server and lab extensions, for the browser tests."""
    with _start_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="module")
def notebook7_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A ``jupyter notebook`` (Notebook 7) subprocess with nbtrack's extensions, for the saved-notebook tests."""
    with _start_lab(tmp_path_factory.mktemp("notebook7"), app="notebook") as server:
        yield server


@pytest.fixture(scope="module")
def lab_without_server_extension(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A ``jupyter lab`` whose nbtrack server extension is disabled (the lab extension stays)."""
    config = {"ServerApp": {"jpserver_extensions": {"nbtrack": False}}}
    with _start_lab(tmp_path_factory.mktemp("lab-no-ext"), config) as server:
        yield server


@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[Any]:
    """Headless Chromium driven by Playwright.

    Package scope: Playwright's sync API keeps its event loop current while it is open, which
    would break the asyncio-based tests (Jupyter server, widgets) that run after this package.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_errors() -> PageErrors:
    """Collector for the page's dialogs and errors."""
    return PageErrors(dialogs=[], errors=[])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's report on the test item (the ``page`` fixture reads it)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(
    browser: Any, lab_server: LabServer, page_errors: PageErrors, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    """A fresh browser page on JupyterLab; on failure a screenshot is kept in the test's tmp folder."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)

    def on_dialog(dialog: Any) -> None:
        page_errors.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: page_errors.errors.append(str(error)))
    try:
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            shot = tmp_path / "failure.png"
            page.screenshot(path=str(shot))
            print(f"screenshot of the failed page: {shot}")
    finally:
        context.close()
