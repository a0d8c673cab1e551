"""Helpers of the browser tests: the server handle, page actions, scripts on the store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: where it listens and where its files and store are."""

    url: str
    token: str
    root: Path
    store: Path

    def lab_url(self, path: str = "lab") -> str:
        """The URL of a page of this server, token included."""
        return f"{self.url}{path}?token={self.token}"

    def api(self, path: str) -> Any:
        """GET a JSON endpoint of the server (authenticated with the token)."""
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@dataclass
class PageErrors:
    """What a page reported on its own: dialogs (alert/confirm) and uncaught errors."""

    dialogs: list[str]
    errors: list[str]


def open_lab(page: Any, lab_server: LabServer, notebook: str | None = None) -> None:
    """Load JupyterLab in a fresh workspace (optionally opening ``notebook``) and wait for the nbtrack tab."""
    workspace = f"lab/workspaces/t{uuid.uuid4().hex[:12]}"
    page.goto(lab_server.lab_url(f"{workspace}/tree/{notebook}" if notebook else workspace))
    page.wait_for_selector("#jp-main-dock-panel", state="visible")
    page.wait_for_selector('.jp-SideBar.jp-mod-left [data-id="nbtrack-sidebar"]', state="visible")


def open_sidebar(page: Any) -> Any:
    """Show the nbtrack panel (clicking its tab in the left sidebar); return its locator."""
    panel = page.locator("#nbtrack-sidebar")
    if not panel.is_visible():
        page.locator('.jp-SideBar.jp-mod-left [data-id="nbtrack-sidebar"]').click()
    panel.wait_for(state="visible")
    return panel


def notebook_cells(page: Any) -> Any:
    """The cells of the notebook shown in the main area."""
    return page.locator(".jp-NotebookPanel:visible .jp-Cell")


def wait_for_kernel(page: Any, timeout_ms: int = 120_000) -> None:
    """Wait until the shown notebook's kernel is connected and idle."""
    page.locator('.jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
        timeout=timeout_ms
    )
    page.locator("#jp-main-statusbar", has_text="| Idle").wait_for(timeout=timeout_ms)


def execute_cell(page: Any, cell: Any, timeout_ms: int = 120_000) -> None:
    """Run ``cell`` with Shift+Enter once the kernel is ready, and wait for its execution count."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_for_kernel(page, timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]")).wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            # A run asked for while the kernel connection is still settling is dropped by
            # JupyterLab before anything is sent (the prompt stays "[ ]"): ask again.
            if time.monotonic() > deadline:
                raise
    cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout_ms)


def widen_left_sidebar(page: Any, pixels: int) -> None:
    """Drag the handle between the left sidebar and the main area ``pixels`` to the right."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + pixels, y, steps=5)
    page.mouse.up()


def run_python(store: Path, code: str) -> str:
    """Run ``code`` in a separate Python process on ``store``; return its stdout."""
    env = dict(os.environ, NBTRACK_STORE=str(store))
    env.pop("NBTRACK_TESTING", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"script failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_until(predicate: Any, timeout: float, message: str) -> None:
    """Poll ``predicate`` until it is true; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.1)


def save_screenshot(target: Any, name: str, **kwargs: Any) -> Path:
    """Save a PNG of a page or element under ``docs/`` (the README shows it)."""
    DOCS.mkdir(exist_ok=True)
    path = DOCS / name
    target.screenshot(path=str(path), **kwargs)
    return path
