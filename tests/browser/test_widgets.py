"""End-to-end: the ``nbtrack.show()`` dashboard in a real JupyterLab, in headless Chromium."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import nbformat
import pytest

import nbtrack
from tests.browser.helpers import (
    LabServer,
    PageErrors,
    execute_cell,
    notebook_cells,
    open_lab,
    open_sidebar,
    run_python,
    save_screenshot,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

KERNEL_TIMEOUT_MS = 120_000
XSS_NAME = "<img src=x onerror=alert(1)>"

SETUP = textwrap.dedent(
    """
    import pathlib
    import nbtrack

    nbtrack.set_experiment("churn-widgets")
    runs = [("logreg-C0.1", 0.1, 0.842, 0.41), ("logreg-C1", 1.0, 0.871, 0.35),
            ("logreg-C10", 10.0, 0.864, 0.37), ("forest-200", None, 0.889, 0.31)]
    for name, c, acc, loss in runs:
        with nbtrack.start_run(run_name=name) as run:
            nbtrack.log_params({"model": "forest" if c is None else "logreg", "C": c if c is not None else "-"})
            for step in range(10):
                nbtrack.log_metric("accuracy", acc - 0.2 * (9 - step) / 9, step=step)
                nbtrack.log_metric("log_loss", loss + 0.3 * (9 - step) / 9, step=step)
            last = run.info.run_id

    client = nbtrack.TrackingClient()
    source = pathlib.Path(nbtrack.get_tracking_uri()) / "churn-model"
    source.mkdir(exist_ok=True)
    client.create_registered_model("ChurnWidgetModel")
    client.create_model_version("ChurnWidgetModel", str(source), run_id=last)

    nbtrack.set_experiment("escaping")
    with nbtrack.start_run(run_name=RUN_NAME):
        nbtrack.log_metric("accuracy", 0.5)
    """
).replace("RUN_NAME", repr(XSS_NAME))


def _open_notebook(page: Any, lab_server: LabServer, name: str, sources: list[str]) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab_server.root / name))
    open_lab(page, lab_server, name)
    cells = notebook_cells(page)
    cells.nth(len(sources) - 1).wait_for()
    return cells


def test_dashboard_shows_table_and_chart_and_promotes_with_confirmation(
    page: Any, lab_server: LabServer, page_errors: PageErrors
) -> None:
    # Given: four runs and a registered version, and a notebook cell calling nbtrack.show()
    run_python(lab_server.store, SETUP)
    cells = _open_notebook(page, lab_server, "dashboard.ipynb", ['import nbtrack\nnbtrack.show("churn-widgets")'])

    # When: the cell runs
    execute_cell(page, cells.nth(0))
    dashboard = cells.nth(0).locator(".jp-nbtrack-Dashboard")
    dashboard.wait_for(timeout=KERNEL_TIMEOUT_MS)

    # Then: the runs table has one row per run
    rows = dashboard.locator("table.jp-nbtrack-RunsGrid tbody tr")
    rows.first.wait_for()
    assert rows.count() == 4
    assert "logreg-C1" in dashboard.locator("table.jp-nbtrack-RunsGrid").inner_text()
    dashboard.locator(".widget-select-multiple select").select_option(index=[0, 1, 2, 3])
    save_screenshot(dashboard, "dashboard.png")

    # Then: the Charts tab draws plotly SVG charts
    dashboard.get_by_role("tab", name="Charts").click()
    svg = dashboard.locator(".js-plotly-plot svg.main-svg").first
    svg.wait_for(timeout=KERNEL_TIMEOUT_MS)
    wait_until(
        lambda: dashboard.locator(".js-plotly-plot .scatterlayer .trace").count() >= 4,
        60,
        "the metric chart did not draw one line per selected run",
    )

    # When: "→ Production" is clicked on the Models tab and confirmed
    dashboard.get_by_role("tab", name="Models").click()
    models = dashboard.locator(".jp-nbtrack-ModelRegistryPanel")
    model_picker = models.locator(".widget-dropdown").filter(has=page.locator("label", has_text=re.compile(r"^model$")))
    model_picker.locator("select").select_option(label="ChurnWidgetModel")
    models.locator(".widget-dropdown select option", has_text="v1 (None)").wait_for(state="attached")
    models.get_by_role("button", name="→ Production").click()
    confirm = models.get_by_role("button", name="Confirm")
    confirm.wait_for()
    client = nbtrack.TrackingClient(str(lab_server.store))
    assert client.get_model_version("ChurnWidgetModel", "1").current_stage == "None"
    confirm.click()

    # Then: the store has the version in Production
    wait_until(
        lambda: client.get_model_version("ChurnWidgetModel", "1").current_stage == "Production",
        60,
        "the widget's promotion did not reach the store",
    )
    assert page_errors.dialogs == []


def test_html_in_a_run_name_is_shown_as_text(page: Any, lab_server: LabServer, page_errors: PageErrors) -> None:
    # Given: a run named like an HTML tag with a script (written by the setup of this module or here)
    client = nbtrack.TrackingClient(str(lab_server.store))
    if client.get_experiment_by_name("escaping") is None:
        run_python(lab_server.store, SETUP)
    cells = _open_notebook(page, lab_server, "escaping.ipynb", ['import nbtrack\nnbtrack.show("escaping")'])

    # When: the dashboard and the sidebar show that experiment
    execute_cell(page, cells.nth(0))
    dashboard = cells.nth(0).locator(".jp-nbtrack-Dashboard")
    dashboard.wait_for(timeout=KERNEL_TIMEOUT_MS)
    table = dashboard.locator("table.jp-nbtrack-RunsGrid")
    table.wait_for()
    panel = open_sidebar(page)
    picker = panel.get_by_label("Experiment")
    picker.locator("option", has_text="escaping").wait_for(state="attached")
    picker.select_option(label="escaping")
    sidebar_name = panel.locator(".jp-nbtrack-RunName")
    sidebar_name.first.wait_for()

    # Then: the literal text is visible in both, no image element was made of it, and no alert ran
    assert XSS_NAME in table.inner_text()
    assert sidebar_name.first.inner_text() == XSS_NAME
    assert page.locator('img[src="x"]').count() == 0
    sidebar_name.first.click()
    panel.locator(".jp-nbtrack-RunTitle", has_text=XSS_NAME).wait_for()
    assert page.locator('img[src="x"]').count() == 0
    assert page_errors.dialogs == []
