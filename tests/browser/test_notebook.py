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


def test_sidebar_opens_a_runs_slice_reproduces_it_and_shows_it_stale(
    page: Any, lab_server: LabServer, page_errors: PageErrors
) -> None:
    # Given: a notebook with a setup cell, an exploratory cell, a cell the run uses and a tracked cell
    _write_notebook(
        lab_server,
        "slice_demo.ipynb",
        [
            '%load_ext nbtrack\nimport nbtrack\nnbtrack.set_experiment("slice-demo")',
            "scratch = [1, 2, 3]\nprint(len(scratch))",
            "base = 0.5",
            '%%track\nscore = base + 0.25\nnbtrack.log_metric("score", score)',
        ],
    )
    open_lab(page, lab_server, "slice_demo.ipynb")
    cells = notebook_cells(page)
    cells.nth(3).wait_for()
    panel = open_sidebar(page)
    for i in range(4):
        execute_cell(page, cells.nth(i))
    picker = panel.get_by_label("Experiment")
    picker.locator("option", has_text="slice-demo").wait_for(state="attached")
    picker.select_option(label="slice-demo")
    client = nbtrack.TrackingClient(str(lab_server.store))
    experiment = client.get_experiment_by_name("slice-demo")
    assert experiment is not None
    for _ in range(150):  # the tracked cell may still be running
        tracked = client.search_runs([experiment.experiment_id])
        if tracked:
            break
        page.wait_for_timeout(200)
    assert len(tracked) == 1
    run_id = tracked[0].info.run_id
    # (the listing may still show the previously chosen experiment for a moment: wait for this run's own row)
    row = panel.locator(f'.jp-nbtrack-RunRow[data-run-id="{run_id}"]')
    row.wait_for(timeout=30_000)

    # When: the run is opened and "Open slice as notebook" clicked
    row.click()
    panel.locator(".jp-nbtrack-OpenSlice").click()

    # Then: a notebook of the slice is written beside the notebook: the cells the run used, not the exploratory one
    target = lab_server.root / f"slice-{run_id[:8]}.ipynb"
    for _ in range(100):
        if target.exists():
            break
        page.wait_for_timeout(200)
    assert target.exists(), "no slice notebook was written"
    sources = [c.source for c in nbformat.read(str(target), as_version=4).cells if c.cell_type == "code"]
    joined = "\n".join(sources)
    assert "base = 0.5" in joined and "score = base + 0.25" in joined
    assert "scratch" not in joined

    # When: "Reproduce" is clicked
    page.get_by_role("tab", name="slice_demo.ipynb").click()
    panel.locator(".jp-nbtrack-Reproduce").click()  # the run's detail is still open

    # Then: the slice is re-run in a fresh kernel and the sidebar says the params and metrics match
    panel.locator(".jp-nbtrack-ReproduceResult", has_text="params and metrics match").wait_for(timeout=120_000)
    copies = [
        r
        for r in client.search_runs([experiment.experiment_id])
        if r.data.tags.get("nbtrack.reproduced_from") == run_id
    ]
    assert len(copies) == 1 and copies[0].data.metrics["score"] == 0.75

    # When: the cell the run used is re-run with other code
    cells.nth(2).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("base = 0.9")
    execute_cell(page, cells.nth(2))

    # Then: the run is stale, and the sidebar names the cell that changed
    for _ in range(100):
        if client.get_run(run_id).data.tags.get("nbtrack.stale") == "true":
            break
        page.wait_for_timeout(200)
    assert client.get_run(run_id).data.tags.get("nbtrack.stale") == "true"
    panel.locator(".jp-nbtrack-Stale", has_text="base").wait_for(timeout=20_000)  # the open detail refreshes
    assert page_errors.dialogs == []
