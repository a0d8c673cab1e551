"""End-to-end: a ``%%track`` cell run in JupyterLab shows up in the nbtrack sidebar."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest

import nbtrack
from tests.browser.helpers import LabServer, PageErrors, execute_cell, notebook_cells, open_lab, open_sidebar

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# The feature's promise: a run appears in the sidebar within 5 s of its cell finishing.
APPEAR_TIMEOUT_MS = 5_000


def _write_notebook(lab_server: LabServer, name: str, sources: list[str]) -> list[str]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab_server.root / name))
    return [cell["id"] for cell in notebook.cells]


def test_track_cell_run_appears_in_sidebar_and_opens_its_cell(
    page: Any, lab_server: LabServer, page_errors: PageErrors
) -> None:
    # Given: a notebook whose second cell is tracked, open next to the nbtrack panel
    cell_ids = _write_notebook(
        lab_server,
        "track_demo.ipynb",
        [
            '%load_ext nbtrack\nimport nbtrack\nnbtrack.set_experiment("notebook-demo")',
            '%%track\nscore = 0.75\nnbtrack.log_metric("score", score)',
        ],
    )
    open_lab(page, lab_server, "track_demo.ipynb")
    cells = notebook_cells(page)
    cells.nth(1).wait_for()
    panel = open_sidebar(page)
    execute_cell(page, cells.nth(0))
    picker = panel.get_by_label("Experiment")
    picker.locator("option", has_text="notebook-demo").wait_for(state="attached")
    picker.select_option(label="notebook-demo")
    panel.locator(".jp-nbtrack-RunsTable.jp-nbtrack-empty").wait_for()

    # When: the %%track cell runs
    execute_cell(page, cells.nth(1))

    # Then: its run is listed within 5 s, and it is the run the store holds for that cell
    row = panel.locator(".jp-nbtrack-RunRow")
    row.first.wait_for(timeout=APPEAR_TIMEOUT_MS)
    client = nbtrack.TrackingClient(str(lab_server.store))
    experiment = client.get_experiment_by_name("notebook-demo")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.data.tags.get("nbtrack.cell_id") == cell_ids[1]
    assert row.count() == 1
    assert row.first.get_attribute("data-run-id") == run.info.run_id

    # When: the run is opened and "Open cell" clicked
    row.first.click()
    panel.locator(".jp-nbtrack-CellSource", has_text="score = 0.75").wait_for()
    panel.locator(".jp-nbtrack-OpenCell").click()

    # Then: the cell that produced the run is active and highlighted
    highlighted = page.locator(".jp-NotebookPanel:visible .jp-Cell.jp-nbtrack-highlight")
    highlighted.wait_for()
    assert "%%track" in highlighted.inner_text()
    assert "jp-mod-active" in (cells.nth(1).get_attribute("class") or "")
    assert page_errors.dialogs == []
