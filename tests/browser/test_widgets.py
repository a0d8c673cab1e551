"""End-to-end: the ``nbtrack.show()`` dashboard in a real JupyterLab, in headless Chromium."""

from __future__ import annotations

import json
import shutil
import textwrap
import time
import urllib.request
from pathlib import Path
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
    wait_for_kernel,
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


LIVE = ".jp-nbtrack-Dashboard.widget-tab"  # the live widget (its saved HTML form is a plain div)
FIRST_ROW = ".jp-nbtrack-Grid tr[data-run]"
REPO = Path(__file__).resolve().parents[2]


def _open_notebook(page: Any, lab_server: LabServer, name: str, sources: list[str]) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab_server.root / name))
    open_lab(page, lab_server, name)
    cells = notebook_cells(page)
    cells.nth(len(sources) - 1).wait_for()
    return cells


def _time_to_first_row(page: Any, cell: Any) -> float:
    """Run ``cell`` and return the seconds from Shift+Enter to the live table's first row on screen."""
    wait_for_kernel(page, KERNEL_TIMEOUT_MS)
    cell.locator(".jp-InputArea-editor").click()
    start = time.monotonic()
    page.keyboard.press("Shift+Enter")
    cell.locator(f"{LIVE} {FIRST_ROW}").first.wait_for(state="visible", timeout=KERNEL_TIMEOUT_MS)
    return time.monotonic() - start


def test_dashboard_follows_the_experiment_selects_by_click_and_promotes(
    page: Any, lab_server: LabServer, page_errors: PageErrors
) -> None:
    # Given: four runs and a registered version, and a notebook whose active experiment is theirs
    run_python(lab_server.store, SETUP)
    cells = _open_notebook(
        page,
        lab_server,
        "dashboard.ipynb",
        ['import nbtrack\nnbtrack.set_experiment("churn-widgets")', "nbtrack.show()", "nbtrack.show()"],
    )
    execute_cell(page, cells.nth(0))

    # When: nbtrack.show() runs without naming an experiment
    first = _time_to_first_row(page, cells.nth(1))
    dashboard = cells.nth(1).locator(LIVE)
    second = _time_to_first_row(page, cells.nth(2))
    print(f"browser: nbtrack.show() first paint {first * 1000:.0f} ms, second dashboard {second * 1000:.0f} ms")

    # Then: it shows the notebook's active experiment only, one row per run
    rows = dashboard.locator(FIRST_ROW)
    assert rows.count() == 4
    picker = dashboard.locator(".widget-dropdown", has_text="experiment").locator("select")
    assert picker.locator("option:checked").inner_text() == "churn-widgets"

    # When: a row is clicked, the last Shift-clicked, and one Ctrl-clicked out and in again
    selected = dashboard.locator("tr.nbtrack-selected")
    rows.nth(0).click()
    wait_until(lambda: selected.count() == 1, 20, "a click did not select the run")
    rows.nth(3).click(modifiers=["Shift"])
    wait_until(lambda: selected.count() == 4, 20, "Shift-click did not select the range")
    rows.nth(1).click(modifiers=["Control"])
    wait_until(lambda: selected.count() == 3, 20, "Ctrl-click did not drop the run")
    rows.nth(1).click(modifiers=["Control"])

    # Then: the four runs are selected, each with its colour swatch
    wait_until(lambda: selected.count() == 4, 20, "Ctrl-click did not add the run back")
    assert dashboard.locator("tr.nbtrack-selected .nbtrack-swatch").count() == 4
    assert "4 selected" in dashboard.inner_text()
    # the controls fit the default width: nothing cut (the filter's placeholder included)
    for control in dashboard.locator(".widget-hbox").first.locator("input, select, button").all():
        box = control.bounding_box()
        assert box is not None and box["width"] >= 36
    save_screenshot(dashboard, "dashboard.png")

    # Then: the Charts tab draws one line per selected run, as wide as the output area
    dashboard.get_by_role("tab", name="Charts").click()
    plot = dashboard.locator(".js-plotly-plot").first
    plot.wait_for(timeout=KERNEL_TIMEOUT_MS)
    wait_until(
        lambda: dashboard.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").count() >= 4,
        60,
        "the metric chart did not draw one line per selected run",
    )
    area = cells.nth(1).locator(".jp-OutputArea-output").first.bounding_box()
    chart = plot.bounding_box()
    assert area is not None and chart is not None and chart["width"] > 0.8 * area["width"]
    assert chart["height"] >= 300  # drawn at its height, not collapsed
    save_screenshot(dashboard.locator(".jp-nbtrack-MetricsChart"), "dashboard-charts.png")

    # When: "→ Production" is clicked on the Models tab and confirmed
    dashboard.get_by_role("tab", name="Models").click()
    models = dashboard.locator(".jp-nbtrack-ModelRegistryPanel")
    models.locator(".widget-dropdown select option", has_text="v1 (None)").wait_for(state="attached")
    assert models.locator(".widget-dropdown select").first.input_value() == "ChurnWidgetModel"  # opened by itself
    models.get_by_role("button", name="→ Production").click()
    confirm = models.get_by_role("button", name="Confirm")
    confirm.wait_for()
    client = nbtrack.TrackingClient(str(lab_server.store))
    assert client.get_model_version("ChurnWidgetModel", "1").current_stage == "None"
    confirm.click()

    # Then: the store has the version in Production, and its "→ Production" is no longer offered
    wait_until(
        lambda: client.get_model_version("ChurnWidgetModel", "1").current_stage == "Production",
        60,
        "the widget's promotion did not reach the store",
    )
    wait_until(
        lambda: models.get_by_role("button", name="→ Production").is_disabled(),
        30,
        "→ Production stays offered for a version already in Production",
    )
    assert page_errors.dialogs == []


def test_first_paint_over_ten_thousand_runs(page: Any, lab_server: LabServer) -> None:
    # Given: 10,000 runs in one experiment
    run_python(
        lab_server.store,
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "import nbtrack\nfrom benchmarks.widgets import bulk_runs\n"
        "client = nbtrack.TrackingClient()\n"
        "bulk_runs(client, 10_000, client.create_experiment('scale-10k'))\n",
    )
    cells = _open_notebook(
        page, lab_server, "scale.ipynb", ['import nbtrack\nnbtrack.show("scale-10k")', 'nbtrack.show("scale-10k")']
    )

    # When: the dashboard is shown in a fresh kernel, then a second one
    first = _time_to_first_row(page, cells.nth(0))
    second = _time_to_first_row(page, cells.nth(1))
    print(f"browser, 10,000 runs: first paint {first * 1000:.0f} ms, second dashboard {second * 1000:.0f} ms")

    # Then: the first page of rows is on screen, the rest a page away
    assert cells.nth(0).locator(f"{LIVE} {FIRST_ROW}").count() == 50
    # (text_content: once the second dashboard is shown, the notebook may have scrolled the first out of view)
    assert "10001 runs" in (cells.nth(0).locator(LIVE).text_content() or "")


def test_saved_notebook_shows_its_saved_view_without_the_kernel(
    page: Any, lab_server: LabServer, browser: Any, page_errors: PageErrors
) -> None:
    # Given: a notebook with a dashboard and a %%track run card, run and saved
    client = nbtrack.TrackingClient(str(lab_server.store))
    if client.get_experiment_by_name("churn-widgets") is None:
        run_python(lab_server.store, SETUP)
    cells = _open_notebook(
        page,
        lab_server,
        "saved.ipynb",
        [
            'import nbtrack\n%load_ext nbtrack\nnbtrack.set_experiment("churn-widgets")',
            "%%track saved-card\nfor step in range(60):\n    nbtrack.log_metric('loss', 1 / (step + 1), step=step)",
            "nbtrack.show()",
        ],
    )
    execute_cell(page, cells.nth(0))
    execute_cell(page, cells.nth(1))
    cells.nth(1).locator(".jp-nbtrack-RunCard", has_text="last of 60").wait_for()
    execute_cell(page, cells.nth(2))
    cells.nth(2).locator(f"{LIVE} {FIRST_ROW}").first.wait_for()
    page.keyboard.press("Control+s")
    wait_until(
        lambda: "jp-nbtrack-Dashboard" in (lab_server.root / "saved.ipynb").read_text(),
        30,
        "the notebook was not saved with the dashboard's output",
    )
    saved = nbformat.read(str(lab_server.root / "saved.ipynb"), as_version=4)
    dashboard_output = json.dumps(saved.cells[2].outputs)
    size = len(dashboard_output.encode())
    print(f"saved notebook: dashboard output {size / 1024:.0f} KB")
    assert size <= 200_000 and "plotly.js" not in dashboard_output

    # When: the kernel is gone and the notebook is opened again in a new page
    for session in lab_server.api("api/sessions"):
        request = urllib.request.Request(
            f"{lab_server.url}api/sessions/{session['id']}",
            method="DELETE",
            headers={"Authorization": f"token {lab_server.token}"},
        )
        urllib.request.urlopen(request, timeout=10).close()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    fresh = context.new_page()
    try:
        open_lab(fresh, lab_server, "saved.ipynb")
        reopened = notebook_cells(fresh)
        view = reopened.nth(2).locator(".jp-nbtrack-SavedView table.jp-nbtrack-RunsGrid")
        view.wait_for(timeout=60_000)

        # Then: the saved table, bars and card show instead of "model not found", under every output
        assert view.locator("tbody tr").count() == 5  # the four runs and the card's
        bars = reopened.nth(2).locator(".jp-nbtrack-StaticBars").first
        assert "forest-200" in bars.inner_text()  # each bar names its run
        label = bars.locator("td", has_text="forest-200").bounding_box()
        assert label is not None and label["width"] > 40
        assert reopened.nth(1).locator(".jp-nbtrack-RunCard", has_text="last of 60").count() == 1
        fresh.wait_for_timeout(2000)  # the widget manager gives up on the models meanwhile
        assert "model not found" not in fresh.locator(".jp-NotebookPanel:visible").inner_text()
        assert "Loading widget" not in fresh.locator(".jp-NotebookPanel:visible").inner_text()
        save_screenshot(reopened.nth(2), "dashboard-saved.png")
    finally:
        context.close()


def test_run_card_sparkline_compare_and_register_name(page: Any, lab_server: LabServer) -> None:
    # Given: a %%track cell that fits a model and logs a 60-step metric
    cells = _open_notebook(
        page,
        lab_server,
        "card.ipynb",
        [
            'import nbtrack\n%load_ext nbtrack\nnbtrack.set_experiment("wine card")',
            "%%track forest\n"
            "from sklearn.datasets import load_wine\n"
            "from sklearn.ensemble import RandomForestClassifier\n"
            "X, y = load_wine(return_X_y=True)\n"
            "RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)\n"
            "for step in range(60):\n"
            "    nbtrack.log_metric('loss', 1 / (step + 1), step=step)",
        ],
    )
    execute_cell(page, cells.nth(0))
    execute_cell(page, cells.nth(1))

    # Then: the card shows the metric's last value of 60 with a sparkline
    card = cells.nth(1).locator(".jp-nbtrack-RunCard")
    card.wait_for()
    assert "last of 60" in card.inner_text()
    assert card.locator(".jp-nbtrack-Sparkline span").count() >= 20

    # Then: "Register model" suggests a name that says what the model is
    name = cells.nth(1).locator(".widget-text", has_text="Name").locator("input")
    name.wait_for()
    assert name.input_value() == "wine-card-random-forest-classifier"
    save_screenshot(cells.nth(1).locator(".jp-Cell-outputArea"), "run-card.png")

    # When: "Compare with earlier runs" is clicked
    cells.nth(1).get_by_role("button", name="Compare with earlier runs").click()

    # Then: the dashboard opens with this run selected
    dashboard = cells.nth(1).locator(LIVE)
    dashboard.locator("tr.nbtrack-selected").first.wait_for(timeout=KERNEL_TIMEOUT_MS)
    assert dashboard.locator("tr.nbtrack-selected").count() == 1
    assert "forest" in dashboard.locator("tr.nbtrack-selected").inner_text()


def test_quickstart_opens_unmodified(page: Any, lab_server: LabServer) -> None:
    # Given: the shipped quickstart notebook
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", lab_server.root / "quickstart-copy.ipynb")

    # When: it is opened and its kernel is up
    open_lab(page, lab_server, "quickstart-copy.ipynb")
    wait_for_kernel(page, KERNEL_TIMEOUT_MS)
    page.wait_for_timeout(1500)

    # Then: its tab is not marked modified
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="quickstart-copy.ipynb")
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or "")


def test_html_in_a_run_name_is_shown_as_text(page: Any, lab_server: LabServer, page_errors: PageErrors) -> None:
    # Given: a run named like an HTML tag with a script (written by the setup of this module or here)
    client = nbtrack.TrackingClient(str(lab_server.store))
    if client.get_experiment_by_name("escaping") is None:
        run_python(lab_server.store, SETUP)
    cells = _open_notebook(page, lab_server, "escaping.ipynb", ['import nbtrack\nnbtrack.show("escaping")'])

    # When: the dashboard and the sidebar show that experiment
    execute_cell(page, cells.nth(0))
    dashboard = cells.nth(0).locator(LIVE)
    dashboard.wait_for(timeout=KERNEL_TIMEOUT_MS)
    table = dashboard.locator(".jp-nbtrack-Grid table.jp-nbtrack-RunsGrid")
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
