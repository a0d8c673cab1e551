"""A notebook with a dashboard and a run card, executed and saved, then reopened with its kernel gone.

In Notebook 7 (``jupyter notebook``) and as nbconvert HTML, in headless Chromium: the saved view
(the table, the bars, the card) shows instead of "Error displaying widget: model not found".
JupyterLab's own check lives in ``test_widgets.py``.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.browser.helpers import LabServer, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
CELLS = [
    'import nbtrack\n%load_ext nbtrack\nnbtrack.set_experiment("saved-wine")',
    "%%track saved-card\nfor step in range(60):\n    nbtrack.log_metric('loss', 1 / (step + 1), step=step)",
    "with nbtrack.start_run(run_name='second'):\n    nbtrack.log_metric('loss', 0.5)\nnbtrack.show()",
]
NO_WIDGET = ("model not found", "Error displaying widget", "Loading widget")


def _executed_notebook(store: Path, folder: Path) -> Any:
    """The cells run top to bottom in a real kernel (nbclient), outputs and widget state kept."""
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved_env = dict(os.environ)
    os.environ["NBTRACK_STORE"] = str(store)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *sys.path])  # the kernel imports this checkout
    os.environ.pop("NBTRACK_TESTING", None)
    try:
        NotebookClient(
            notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    return notebook


@pytest.fixture(scope="module")
def executed(notebook7_server: LabServer) -> Any:
    """The executed notebook (with the widget state nbclient records)."""
    return _executed_notebook(notebook7_server.store, notebook7_server.root)


def _without_widget_state(notebook: Any) -> Any:
    # what JupyterLab and Notebook 7 save by default ("Save Widget State Automatically" is off)
    plain = copy.deepcopy(notebook)
    plain.metadata.pop("widgets", None)
    return plain


def _assert_saved_views(page: Any, root: Any) -> None:
    """The dashboard's saved table and bars and the run card are on screen; no widget error anywhere."""
    table = root.locator(".jp-nbtrack-Dashboard table.jp-nbtrack-RunsGrid").first
    table.wait_for(state="visible", timeout=60_000)
    assert table.locator("tbody tr").count() == 2  # the card's run and the second one
    assert "saved-card" in table.inner_text() and "second" in table.inner_text()
    bars = root.locator(".jp-nbtrack-StaticBars").first
    assert bars.is_visible() and "saved-card" in bars.inner_text()
    card = root.locator(".jp-nbtrack-RunCard", has_text="last of 60").first
    assert card.is_visible()
    page.wait_for_timeout(2000)  # a widget manager gives up on the models meanwhile
    text = root.inner_text()
    for words in NO_WIDGET:
        assert words not in text


def test_notebook7_shows_the_saved_views_without_the_kernel(
    browser: Any, notebook7_server: LabServer, executed: Any
) -> None:
    # Given: the notebook saved as Notebook 7 saves it, and no kernel of the run that made it
    path = notebook7_server.root / "saved-nb7.ipynb"
    nbformat.write(_without_widget_state(executed), str(path))
    assert notebook7_server.api("api/sessions") == []

    # When: it is opened in Notebook 7 (a fresh kernel starts, which never had the widget models)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(notebook7_server.lab_url("notebooks/saved-nb7.ipynb"))
        notebook = page.locator(".jp-Notebook")
        notebook.locator(".jp-Cell").nth(2).wait_for()

        # Then: the saved table, bars and run card show, and no "model not found"
        _assert_saved_views(page, notebook)
        save_screenshot(notebook.locator(".jp-Cell").nth(2), "notebook7-saved.png")
    finally:
        context.close()
    assert not [e for e in errors if "nbtrack" in e]


def test_notebook7_with_saved_widget_state_shows_widgets_or_saved_views(
    browser: Any, notebook7_server: LabServer, executed: Any
) -> None:
    # Given: the notebook saved with its widget state ("Save Widget State Automatically", nbconvert --execute)
    path = notebook7_server.root / "saved-state.ipynb"
    nbformat.write(executed, str(path))

    # When: it is opened in Notebook 7
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(notebook7_server.lab_url("notebooks/saved-state.ipynb"))
        notebook = page.locator(".jp-Notebook")
        cell = notebook.locator(".jp-Cell").nth(2)
        cell.wait_for()

        # Then: the dashboard's table shows (drawn from the saved state, or as its saved view)
        cell.locator("table.jp-nbtrack-RunsGrid").first.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(2000)
        for words in NO_WIDGET:
            assert words not in notebook.inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("widget_state", ["not saved", "cleared on export"])
def test_nbconvert_html_shows_the_saved_views(
    browser: Any, notebook7_server: LabServer, executed: Any, tmp_path: Path, widget_state: str
) -> None:
    # Given: the notebook exported to HTML: saved without widget state (the default), or exported with
    # nbconvert's ClearMetadataPreprocessor (which drops the state that --execute records)
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    if widget_state == "not saved":
        exported, _ = HTMLExporter().from_notebook_node(_without_widget_state(executed))
    else:
        config = Config({"ClearMetadataPreprocessor": {"enabled": True}})
        exported, _ = HTMLExporter(config=config).from_notebook_node(copy.deepcopy(executed))
    markup = re.sub(r"<script\b.*?</script>", "", exported, flags=re.S)
    assert "&amp;#x27;" not in markup and "&amp;lt;" not in markup  # escaped once
    assert "html-manager" not in exported  # nothing to fetch from a CDN
    page_path = tmp_path / "saved.html"
    page_path.write_text(exported)

    # When: the HTML is opened in the browser, offline
    context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
    page = context.new_page()
    try:
        page.goto(page_path.as_uri())

        # Then: the table, the bars and the card are on screen
        _assert_saved_views(page, page.locator("body"))
        if widget_state == "not saved":
            save_screenshot(page.locator(".jp-Cell").nth(2), "nbconvert-saved.png")
    finally:
        context.close()
