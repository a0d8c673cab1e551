"""End-to-end: the nbtrack sidebar in a real JupyterLab, in headless Chromium."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import nbformat
import pytest

import nbtrack
from tests.browser.helpers import (
    LabServer,
    PageErrors,
    notebook_cells,
    open_lab,
    open_sidebar,
    run_python,
    save_screenshot,
    wait_until,
    widen_left_sidebar,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

LOG_RUNS = textwrap.dedent(
    """
    import json, pathlib
    import nbtrack

    nbtrack.set_experiment("sidebar-demo")
    ids = {}
    for name, c, final in [("run-a", 0.1, 0.81), ("run-b", 1.0, 0.93), ("run-c", 10.0, 0.88)]:
        with nbtrack.start_run(run_name=name) as run:
            nbtrack.log_params({"C": c, "solver": "lbfgs"})
            for step in range(5):
                nbtrack.log_metric("accuracy", final - 0.1 * (4 - step) / 4, step=step)
            nbtrack.set_tag("team", "churn")
            ids[name] = run.info.run_id

    client = nbtrack.TrackingClient()
    source = pathlib.Path(nbtrack.get_tracking_uri()) / "model-src"
    source.mkdir(exist_ok=True)
    client.create_registered_model("SidebarModel")
    client.create_model_version("SidebarModel", str(source), run_id=ids["run-b"])
    client.create_model_version("SidebarModel", str(source), run_id=ids["run-c"])
    print(json.dumps(ids))
    """
)


def _select_experiment(panel: Any, name: str) -> None:
    picker = panel.get_by_label("Experiment")
    picker.locator("option", has_text=name).wait_for(state="attached")
    picker.select_option(label=name)


def test_sidebar_lists_script_runs_shows_detail_and_promotes(
    page: Any, lab_server: LabServer, page_errors: PageErrors
) -> None:
    # Given: three runs and a registered model with two versions, written by another process
    ids = json.loads(run_python(lab_server.store, LOG_RUNS).strip().splitlines()[-1])

    # When: the nbtrack panel is opened on that experiment
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    _select_experiment(panel, "sidebar-demo")

    # Then: the runs are listed with their metric column
    rows = panel.locator(".jp-nbtrack-RunRow")
    rows.first.wait_for()
    wait_until(lambda: rows.count() == 3, 10, f"expected 3 runs, saw {rows.count()}")
    names = sorted(panel.locator(".jp-nbtrack-RunName").all_inner_texts())
    assert names == ["run-a", "run-b", "run-c"]
    assert panel.get_by_label("Metric column").input_value() == "accuracy"

    # When: the metric column's header is clicked (best first), then again
    header = panel.locator(".jp-nbtrack-RunsTable th", has_text="accuracy")
    header.click()
    assert panel.locator(".jp-nbtrack-RunName").all_inner_texts() == ["run-b", "run-c", "run-a"]
    header.click()
    assert panel.locator(".jp-nbtrack-RunName").all_inner_texts() == ["run-a", "run-c", "run-b"]

    # When: a run is clicked
    panel.locator(f'.jp-nbtrack-RunRow[data-run-id="{ids["run-b"]}"]').click()

    # Then: its params, metrics (with a sparkline) and tags are shown
    params = panel.locator(".jp-nbtrack-Params")
    params.wait_for()
    assert "C" in params.inner_text()
    assert "1.0" in params.inner_text()
    assert "lbfgs" in params.inner_text()
    metrics = panel.locator(".jp-nbtrack-Metrics")
    assert "accuracy" in metrics.inner_text()
    assert "0.93" in metrics.inner_text()
    metrics.locator("svg.jp-nbtrack-Sparkline polyline").wait_for()
    assert "churn" in panel.locator(".jp-nbtrack-Tags").inner_text()
    widen_left_sidebar(page, 160)
    save_screenshot(panel, "sidebar.png")

    # When: version 1 of the model is promoted to Production through the Models tab, with confirmation
    panel.get_by_role("tab", name="Models").click()
    panel.locator('.jp-nbtrack-ModelItem[data-model-name="SidebarModel"]').click()
    row = panel.locator('.jp-nbtrack-VersionRow[data-version="1"]')
    row.locator('.jp-nbtrack-Promote[data-stage="Production"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert "SidebarModel version 1" in dialog.inner_text()
    dialog.locator("button.jp-mod-accept").click()

    # Then: the store has it in Production and the sidebar shows it, with the event in the history
    client = nbtrack.TrackingClient(str(lab_server.store))
    wait_until(
        lambda: client.get_model_version("SidebarModel", "1").current_stage == "Production",
        30,
        "version 1 did not reach Production in the store",
    )
    assert client.get_model_version("SidebarModel", "2").current_stage == "None"
    row.locator(".jp-nbtrack-Stage", has_text="Production").wait_for()
    panel.locator(".jp-nbtrack-Events li", has_text="Production").first.wait_for()
    assert page_errors.dialogs == []


def test_sidebar_cancelled_promotion_changes_nothing(page: Any, lab_server: LabServer) -> None:
    # Given: a registered model with one version
    run_python(
        lab_server.store,
        textwrap.dedent(
            """
            import pathlib
            import nbtrack
            client = nbtrack.TrackingClient()
            source = pathlib.Path(nbtrack.get_tracking_uri()) / "model-src-2"
            source.mkdir(exist_ok=True)
            client.create_registered_model("CancelModel")
            client.create_model_version("CancelModel", str(source))
            """
        ),
    )
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    panel.get_by_role("tab", name="Models").click()
    panel.locator('.jp-nbtrack-ModelItem[data-model-name="CancelModel"]').click()

    # When: "→ Staging" is clicked and the dialog cancelled
    panel.locator('.jp-nbtrack-VersionRow[data-version="1"] .jp-nbtrack-Promote[data-stage="Staging"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    dialog.locator("button.jp-mod-reject").click()
    dialog.wait_for(state="detached")

    # Then: the version is still in stage None
    client = nbtrack.TrackingClient(str(lab_server.store))
    assert client.get_model_version("CancelModel", "1").current_stage == "None"
    assert panel.locator('.jp-nbtrack-VersionRow[data-version="1"] .jp-nbtrack-Stage').inner_text() == "None"


def test_insert_load_code_adds_a_cell_to_the_active_notebook(page: Any, lab_server: LabServer) -> None:
    # Given: a registered version in Staging and an open notebook
    run_python(
        lab_server.store,
        textwrap.dedent(
            """
            import pathlib
            import nbtrack
            client = nbtrack.TrackingClient()
            source = pathlib.Path(nbtrack.get_tracking_uri()) / "model-src-3"
            source.mkdir(exist_ok=True)
            client.create_registered_model("LoadModel")
            client.create_model_version("LoadModel", str(source))
            client.transition_model_version_stage("LoadModel", "1", "Staging")
            """
        ),
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab_server.root / "load.ipynb"))
    open_lab(page, lab_server, "load.ipynb")
    cells = notebook_cells(page)
    cells.first.wait_for()

    # When: "Insert load code" is clicked for that version in the sidebar
    panel = open_sidebar(page)
    panel.get_by_role("tab", name="Models").click()
    panel.locator('.jp-nbtrack-ModelItem[data-model-name="LoadModel"]').click()
    panel.locator('.jp-nbtrack-VersionRow[data-version="1"] .jp-nbtrack-InsertLoad').click()

    # Then: the notebook has a new cell loading the model by its stage
    wait_until(lambda: cells.count() == 2, 30, "no cell was inserted")
    assert 'nbtrack.sklearn.load_model("models:/LoadModel/Staging")' in cells.nth(1).inner_text()


def test_sidebar_explains_a_missing_server_extension(page: Any, lab_without_server_extension: LabServer) -> None:
    # Given: JupyterLab whose nbtrack server extension is disabled
    # When: the sidebar is opened
    open_lab(page, lab_without_server_extension)
    panel = open_sidebar(page)

    # Then: it says so and how to fix it, instead of an empty list
    banner = panel.locator(".jp-nbtrack-StatusBanner-error")
    banner.wait_for()
    assert "server extension is not enabled" in banner.inner_text()
    assert "jupyter server extension enable nbtrack" in banner.inner_text()


def test_sidebar_sets_and_removes_an_alias(page: Any, lab_server: LabServer, page_errors: PageErrors) -> None:
    # Given: a registered model with two versions
    run_python(
        lab_server.store,
        textwrap.dedent(
            """
            import pathlib
            import nbtrack
            client = nbtrack.TrackingClient()
            source = pathlib.Path(nbtrack.get_tracking_uri()) / "model-src-alias"
            source.mkdir(exist_ok=True)
            client.create_registered_model("AliasModel")
            client.create_model_version("AliasModel", str(source))
            client.create_model_version("AliasModel", str(source))
            """
        ),
    )
    client = nbtrack.TrackingClient(str(lab_server.store))
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    panel.get_by_role("tab", name="Models").click()
    panel.locator('.jp-nbtrack-ModelItem[data-model-name="AliasModel"]').click()
    row = panel.locator('.jp-nbtrack-VersionRow[data-version="2"]')
    form = panel.locator('.jp-nbtrack-AliasForm[data-version="2"]')
    dialog = page.locator(".jp-Dialog")

    # When: a reserved alias is submitted and confirmed
    form.locator(".jp-nbtrack-AliasInput").fill("v1")
    form.locator(".jp-nbtrack-SetAlias").click()
    dialog.locator("button.jp-mod-accept").click()

    # Then: the server's reason is shown in an error dialog and nothing is stored
    error = page.locator(".jp-Dialog", has_text="Cannot set the alias")
    error.wait_for()
    assert "reserved" in error.inner_text()
    error.get_by_role("button", name="Close").click()
    error.wait_for(state="detached")
    assert client.get_registered_model("AliasModel").aliases == {}

    # When: alias "champion" is set on version 2 through the sidebar, with confirmation
    form.locator(".jp-nbtrack-AliasInput").fill("champion")
    form.locator(".jp-nbtrack-SetAlias").click()
    dialog.wait_for()
    assert "@champion" in dialog.inner_text()
    assert "AliasModel" in dialog.inner_text()
    dialog.locator("button.jp-mod-accept").click()
    dialog.wait_for(state="detached")

    # Then: the store resolves the alias to version 2 and the row shows its chip
    wait_until(
        lambda: "champion" in client.get_registered_model("AliasModel").aliases,
        30,
        "alias champion was not stored",
    )
    assert client.get_model_version_by_alias("AliasModel", "champion").version == "2"
    chip = row.locator('.jp-nbtrack-Alias[data-alias="champion"]')
    chip.wait_for()
    assert form.locator(".jp-nbtrack-AliasInput").input_value() == ""

    # When: the chip's remove button is clicked and the removal confirmed
    chip.locator(".jp-nbtrack-RemoveAlias").click()
    dialog.wait_for()
    assert "@champion" in dialog.inner_text()
    dialog.locator("button.jp-mod-accept").click()

    # Then: the alias is gone from the store and from the row
    wait_until(
        lambda: "champion" not in client.get_registered_model("AliasModel").aliases,
        30,
        "alias champion was not removed",
    )
    with pytest.raises(nbtrack.errors.NotFound):
        client.get_model_version_by_alias("AliasModel", "champion")
    chip.wait_for(state="detached")
    assert page_errors.dialogs == []


def _rgb(css_color: str) -> tuple[int, ...]:
    """``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` → ``(r, g, b)``."""
    inside = css_color[css_color.index("(") + 1 : css_color.index(")")]
    return tuple(int(float(part)) for part in inside.split(",")[:3])


def _panel_colors(panel: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The panel's computed text and background colors."""
    text, background = panel.evaluate("node => [getComputedStyle(node).color, getComputedStyle(node).backgroundColor]")
    return _rgb(text), _rgb(background)


def _use_theme(page: Any, theme: str) -> None:
    """Pick ``theme`` in Settings → Theme (the ``apputils:change-theme`` command) and wait until it applies."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text(theme, exact=True).click()
    light = "false" if "Dark" in theme else "true"
    page.locator(f'body[data-jp-theme-name="{theme}"][data-jp-theme-light="{light}"]').wait_for(state="attached")


def test_sidebar_follows_the_dark_theme(page: Any, lab_server: LabServer) -> None:
    # Given: an experiment with runs, shown in the sidebar with the light theme
    run_python(
        lab_server.store,
        textwrap.dedent(
            """
            import nbtrack
            nbtrack.set_experiment("dark-demo")
            for name, final in [("baseline", 0.84), ("tuned", 0.91)]:
                with nbtrack.start_run(run_name=name):
                    nbtrack.log_params({"max_depth": 4 if name == "tuned" else 2})
                    for step in range(6):
                        nbtrack.log_metric("accuracy", final - 0.02 * (5 - step), step=step)
            """
        ),
    )
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    widen_left_sidebar(page, 160)
    _select_experiment(panel, "dark-demo")
    rows = panel.locator(".jp-nbtrack-RunRow")
    wait_until(lambda: rows.count() == 2, 30, f"expected 2 runs, saw {rows.count()}")
    light_text, light_background = _panel_colors(panel)

    try:
        # When: the JupyterLab Dark theme is chosen
        _use_theme(page, "JupyterLab Dark")

        # Then: the panel's colors come from the theme: a dark background, text that stands out from it
        wait_until(lambda: _panel_colors(panel)[1] != light_background, 30, "the panel kept its light background")
        text, background = _panel_colors(panel)
        assert text != background
        assert sum(background) < sum(light_background)
        assert sum(text) > sum(background)
        assert text != light_text
        # The screenshot waits for the run names to have taken the theme's text color too.
        name = panel.locator(".jp-nbtrack-RunName").first
        wait_until(
            lambda: _rgb(name.evaluate("node => getComputedStyle(node).color")) == text,
            30,
            "the run names did not take the theme's text color",
        )
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        save_screenshot(panel, "sidebar-dark.png")
    finally:
        # The theme is a saved user setting of the shared server: put the light theme back.
        _use_theme(page, "JupyterLab Light")


def test_models_view_fits_the_default_sidebar_width(page: Any, lab_server: LabServer) -> None:
    # Given: a registered model with a long name and a version carrying a long alias
    run_python(
        lab_server.store,
        textwrap.dedent(
            """
            import pathlib
            import nbtrack
            client = nbtrack.TrackingClient()
            source = pathlib.Path(nbtrack.get_tracking_uri()) / "model-src-narrow"
            source.mkdir(exist_ok=True)
            name = "NarrowSidebarModelWithAVeryLongRegisteredName"
            client.create_registered_model(name)
            client.create_model_version(name, str(source))
            client.create_model_version(name, str(source))
            client.set_registered_model_alias(name, "a_rather_long_alias_for_the_champion", "2")
            """
        ),
    )

    # When: the Models tab is opened at JupyterLab's default left-sidebar width (not widened)
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    panel.get_by_role("tab", name="Models").click()
    panel.locator('.jp-nbtrack-ModelItem[data-model-name="NarrowSidebarModelWithAVeryLongRegisteredName"]').click()
    row = panel.locator('.jp-nbtrack-VersionRow[data-version="2"]')
    row.locator('.jp-nbtrack-Alias[data-alias="a_rather_long_alias_for_the_champion"]').wait_for()
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")

    # Then: the sidebar was not widened to fit, the "→ Production" button lies fully inside the panel
    panel_box = panel.bounding_box()
    assert panel_box is not None
    assert panel_box["width"] < 300, f"the sidebar is {panel_box['width']}px wide: not the default width"
    button = row.locator('.jp-nbtrack-Promote[data-stage="Production"]')
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= panel_box["x"]
    assert box["y"] >= panel_box["y"]
    assert box["x"] + box["width"] <= panel_box["x"] + panel_box["width"]
    assert box["y"] + box["height"] <= panel_box["y"] + panel_box["height"]

    # And: the panel (its own scroll container) has nothing to scroll sideways
    scroll_width, client_width = panel.evaluate("node => [node.scrollWidth, node.clientWidth]")
    assert scroll_width <= client_width, f"horizontal overflow: scrollWidth {scroll_width} > clientWidth {client_width}"
