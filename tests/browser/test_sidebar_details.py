"""End-to-end: the sidebar's nested child runs, artifact preview and download, run links, tags and history."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from tests.browser.helpers import (
    LabServer,
    PageErrors,
    open_lab,
    open_sidebar,
    run_python,
    save_screenshot,
    wait_until,
    widen_left_sidebar,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

SEARCH = textwrap.dedent(
    """
    import json, pathlib
    import nbtrack

    nbtrack.set_experiment("sidebar-search")
    with nbtrack.start_run(run_name="grid-search") as parent:
        nbtrack.set_tag("mlflow.source.git.commit", "0123456789abcdef0123456789abcdef01234567")
        nbtrack.log_text("C,accuracy\\n0.1,0.80\\n1.0,0.90\\n", "cv_results.csv")
        nbtrack.log_dict({"best_C": 1.0, "folds": 5}, "best.json")
        nbtrack.log_text("fitted in 1.2 s\\n", "notes/log.txt")
        children = []
        for c in (0.1, 1.0, 10.0):
            with nbtrack.start_run(run_name=f"C={c}", nested=True) as child:
                nbtrack.log_param("C", c)
                nbtrack.log_metric("accuracy", 0.8 + c / 100)
                children.append(child.info.run_id)
    client = nbtrack.TrackingClient()
    source = pathlib.Path(nbtrack.get_tracking_uri()) / "search-model"
    source.mkdir(exist_ok=True)
    client.create_registered_model("SearchModel")
    client.create_model_version("SearchModel", str(source), run_id=parent.info.run_id)
    client.set_registered_model_alias("SearchModel", "champion", "1")
    print(json.dumps({"parent": parent.info.run_id, "children": children}))
    """
)


def test_children_nested_artifacts_previewed_and_run_links(
    page: Any, lab_server: LabServer, page_errors: PageErrors
) -> None:
    # Given: a search run with three child runs, artifacts, a long tag key and a registered version
    ids = json.loads(run_python(lab_server.store, SEARCH).strip().splitlines()[-1])

    # When: the sidebar opens (it follows the experiment of the newest run by itself)
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    widen_left_sidebar(page, 120)
    wait_until(
        lambda: (
            panel.get_by_label("Experiment").input_value()
            == nbtrack.TrackingClient(str(lab_server.store)).get_experiment_by_name("sidebar-search").experiment_id
        ),
        30,
        "the sidebar did not follow the experiment of the newest run",
    )

    # Then: the children are listed under their parent, indented, and fold with the toggle
    rows = panel.locator(".jp-nbtrack-RunRow")
    wait_until(lambda: rows.count() == 4, 20, f"expected 4 rows, saw {rows.count()}")
    assert rows.first.get_attribute("data-run-id") == ids["parent"]
    assert [rows.nth(i).get_attribute("data-depth") for i in range(4)] == ["0", "1", "1", "1"]
    panel.get_by_role("button", name="Hide the 3 child runs").click()
    wait_until(lambda: rows.count() == 1, 10, "the children did not fold")
    panel.get_by_role("button", name="Show the 3 child runs").click()
    wait_until(lambda: rows.count() == 4, 10, "the children did not unfold")

    # When: the parent is opened
    rows.first.click()
    panel.locator(".jp-nbtrack-RunTitle", has_text="grid-search").wait_for()

    # Then: the tag key is shown whole, the children are links, and artifacts preview as table, JSON and text
    tag = panel.locator(".jp-nbtrack-Tag dt", has_text="mlflow.source.git.commit")
    assert tag.inner_text() == "mlflow.source.git.commit"
    assert panel.locator(".jp-nbtrack-Children .jp-nbtrack-RunLink").count() == 3
    artifacts = panel.locator(".jp-nbtrack-Artifacts")
    artifacts.get_by_role("button", name="▸ cv_results.csv").click()
    table = artifacts.locator(".jp-nbtrack-ArtifactTable table")
    table.wait_for()
    assert table.locator("th").all_inner_texts() == ["C", "accuracy"]
    assert table.locator("tbody tr").count() == 2
    artifacts.get_by_role("button", name="▸ best.json").click()
    artifacts.locator(".jp-nbtrack-ArtifactText", has_text='"best_C": 1').wait_for()
    artifacts.get_by_role("button", name="▸ notes/log.txt").click()
    artifacts.locator(".jp-nbtrack-ArtifactText", has_text="fitted in 1.2 s").wait_for()
    save_screenshot(panel, "sidebar-artifacts.png")

    # When: an artifact is downloaded
    with page.expect_download() as download:
        artifacts.get_by_role("button", name="Download best.json").click()
    path = download.value.path()
    assert download.value.suggested_filename == "best.json"
    assert json.loads(Path(path).read_text(encoding="utf-8")) == {"best_C": 1.0, "folds": 5}

    # When: a child's link is followed, then the Models tab's run link back to the parent
    panel.locator(".jp-nbtrack-Children .jp-nbtrack-RunLink", has_text="C=1.0").click()
    panel.locator(".jp-nbtrack-RunTitle", has_text="C=1.0").wait_for()
    panel.locator(".jp-nbtrack-Tag dd .jp-nbtrack-RunLink").click()  # its mlflow.parentRunId
    panel.locator(".jp-nbtrack-RunTitle", has_text="grid-search").wait_for()
    panel.get_by_role("tab", name="Models").click()
    version = panel.locator('.jp-nbtrack-VersionRow[data-version="1"]')
    version.wait_for()  # the model registered last is opened by itself

    # Then: the history names the alias on one line each, and the version's run id is a link
    event = panel.locator(".jp-nbtrack-Event", has_text="alias @champion → v1")
    event.wait_for()
    time_box = event.locator(".jp-nbtrack-EventTime").bounding_box()
    assert time_box is not None and time_box["height"] < 24  # one line, not three
    version.locator(".jp-nbtrack-RunLink").click()
    panel.locator(".jp-nbtrack-RunTitle", has_text="grid-search").wait_for()
    assert page_errors.dialogs == [] and page_errors.errors == []


def test_promotion_compares_with_production_and_archives_it_by_default(page: Any, lab_server: LabServer) -> None:
    # Given: v1 in Production with accuracy 0.9 and a candidate v2 with 0.7
    run_python(
        lab_server.store,
        textwrap.dedent(
            """
            import pathlib, nbtrack
            nbtrack.set_experiment("promote-compare")
            client = nbtrack.TrackingClient()
            source = pathlib.Path(nbtrack.get_tracking_uri()) / "cmp-model"
            source.mkdir(exist_ok=True)
            client.create_registered_model("CompareModel")
            for acc in (0.9, 0.7):
                with nbtrack.start_run(run_name=f"acc-{acc}") as run:
                    nbtrack.log_metric("accuracy", acc)
                client.create_model_version("CompareModel", str(source), run_id=run.info.run_id)
            client.transition_model_version_stage("CompareModel", "1", "Production")
            """
        ),
    )
    open_lab(page, lab_server)
    panel = open_sidebar(page)
    panel.get_by_role("tab", name="Models").click()
    panel.locator('.jp-nbtrack-ModelItem[data-model-name="CompareModel"]').click()

    # Then: the version already in Production offers no "→ Production"
    current = panel.locator('.jp-nbtrack-VersionRow[data-version="1"]')
    current.locator(".jp-nbtrack-Stage", has_text="Production").wait_for()
    assert current.locator('.jp-nbtrack-Promote[data-stage="Production"]').count() == 0

    # When: v2 is promoted
    panel.locator('.jp-nbtrack-VersionRow[data-version="2"] .jp-nbtrack-Promote[data-stage="Production"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()

    # Then: the dialog warns that v2 scores worse than v1, and archiving v1 is ticked
    dialog.locator(
        ".jp-nbtrack-PromoteWarning", has_text="scores worse than the current Production version v1"
    ).wait_for()
    assert dialog.locator("tr.jp-nbtrack-worse", has_text="accuracy").count() == 1
    assert dialog.locator("input.jp-nbtrack-ArchiveExisting").is_checked()
    save_screenshot(dialog.locator(".jp-Dialog-content"), "promote-compare.png")
    dialog.locator("button.jp-mod-accept").click()
    client = nbtrack.TrackingClient(str(lab_server.store))
    wait_until(
        lambda: client.get_model_version("CompareModel", "2").current_stage == "Production",
        30,
        "v2 did not reach Production",
    )
    assert client.get_model_version("CompareModel", "1").current_stage == "Archived"  # one Production version
