"""ModelRegistryPanel: versions, two-step promote buttons, aliases, audit trail, load code, escaping."""

from __future__ import annotations

import pytest

import nbtrack
from nbtrack.widgets import ModelRegistryPanel

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def model_run(accuracy: float) -> str:
    """A finished run with a model folder in its artifacts."""
    with nbtrack.start_run(run_name=f"train-{accuracy}") as run:
        nbtrack.log_metric("accuracy", accuracy)
        nbtrack.log_text("flavor: sklearn\n", "model/MLmodel")
    return run.info.run_id


@pytest.fixture
def churn() -> nbtrack.TrackingClient:
    """Model 'churn' with versions 1 (Production) and 2 (None)."""
    client = nbtrack.TrackingClient()
    nbtrack.register_model(f"runs:/{model_run(0.8)}/model", "churn")
    nbtrack.register_model(f"runs:/{model_run(0.9)}/model", "churn")
    client.transition_model_version_stage("churn", "1", "Production")
    return client


def test_lists_versions_with_stage_source_run_and_metrics(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    assert panel.model.value == "churn"
    assert [v for _, v in panel.version.options] == ["2", "1"]
    html = panel.versions_html.value
    assert "Production" in html and "train-0.9" in html and "accuracy=0.9" in html


def test_promote_to_production_needs_confirm_and_archives_current(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    events_before = len(churn.get_model_version_events("churn"))
    panel.version.value = "2"
    panel.archive_current.value = True
    panel.to_production.click()
    assert panel.confirm_box.layout.display == "flex"
    assert churn.get_model_version("churn", "2").current_stage == "None"  # nothing yet
    panel.confirm.click()
    assert churn.get_model_version("churn", "2").current_stage == "Production"
    assert churn.get_model_version("churn", "1").current_stage == "Archived"
    assert len(churn.get_model_version_events("churn")) > events_before
    assert panel.events_html.value.count("<tr>") == len(churn.get_model_version_events("churn")) + 1
    assert panel.confirm_box.layout.display == "none" and "Done" in panel.status.value


def test_cancel_changes_nothing(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    panel.version.value = "2"
    panel.to_staging.click()
    panel.cancel.click()
    panel.confirm.click()  # nothing pending any more
    assert churn.get_model_version("churn", "2").current_stage == "None"


def test_staging_and_archive_buttons(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    panel.version.value = "2"
    panel.to_staging.click()
    panel.confirm.click()
    assert churn.get_model_version("churn", "2").current_stage == "Staging"
    panel.version.value = "1"
    panel.archive.click()
    panel.confirm.click()
    assert churn.get_model_version("churn", "1").current_stage == "Archived"


def test_set_alias_and_copy_load_code(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    panel.version.value = "2"
    panel.copy_code.click()
    assert 'nbtrack.sklearn.load_model("models:/churn/2")' in panel.code.value
    panel.version.value = "1"
    assert "models:/churn/Production" in panel.code.value
    panel.version.value = "2"
    panel.alias.value = "champion"
    panel.set_alias.click()
    assert churn.get_registered_model("churn").aliases == {}
    panel.confirm.click()
    assert churn.get_model_version_by_alias("churn", "champion").version == "2"
    panel.copy_code.click()
    assert "models:/churn@champion" in panel.code.value
    assert "alias" in panel.events_html.value.lower()


def test_registry_error_is_shown_not_raised(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    panel.alias.value = "latest"  # reserved
    panel.set_alias.click()
    panel.confirm.click()
    assert "Not done" in panel.status.value
    panel.alias.value = ""
    panel.set_alias.click()
    assert any("Type an alias" in str(o) for o in panel.out.outputs)


def test_model_names_escaped_and_refresh_sees_new_model(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel(live=False)
    churn.create_registered_model(XSS)
    nbtrack.register_model(f"runs:/{model_run(0.7)}/model", XSS)
    assert panel.poller.poll() is True
    assert XSS in panel.model.options
    panel.model.value = XSS
    html = panel.to_html()
    assert XSS_ESCAPED in html and XSS not in html
    assert panel.code.value.endswith(f'load_model("models:/{XSS}/1")')


def test_promote_confirmation_compares_with_current_production(churn: nbtrack.TrackingClient) -> None:
    worse = model_run(0.5)
    nbtrack.register_model(f"runs:/{worse}/model", "churn")  # v3 scores below the Production v1
    panel = ModelRegistryPanel("churn", live=False)
    assert panel.archive_current.value is True  # the same default as the sidebar
    panel.version.value = "3"
    panel.to_production.click()
    question = panel.confirm_text.value
    assert "archive v1" in question
    assert "scores worse than the current Production v1" in question
    assert "0.5" in question and "0.8" in question
    panel.cancel.click()
    panel.version.value = "2"  # v2 scores better: no warning
    panel.to_production.click()
    assert "scores worse" not in panel.confirm_text.value and "0.9" in panel.confirm_text.value


def test_no_promote_button_for_the_stage_a_version_is_in(churn: nbtrack.TrackingClient) -> None:
    panel = ModelRegistryPanel("churn", live=False)
    panel.version.value = "1"  # already in Production
    assert panel.to_production.disabled and panel.to_production.button_style == ""
    assert not panel.to_staging.disabled
    panel.version.value = "2"
    assert not panel.to_production.disabled and panel.to_production.button_style == "warning"


def test_audit_trail_names_the_alias_and_fits_one_line(churn: nbtrack.TrackingClient) -> None:
    churn.set_registered_model_alias("churn", "champion", "2")
    panel = ModelRegistryPanel("churn", live=False)
    html = panel.events_html.value
    assert "alias @champion → v2" in html
    assert "v1 None → Production" in html
    assert "white-space:nowrap" in html


def test_static_html_lists_every_model(churn: nbtrack.TrackingClient) -> None:
    nbtrack.register_model(f"runs:/{model_run(0.7)}/model", "fraud")
    panel = ModelRegistryPanel("churn", live=False)
    html = panel._repr_mimebundle_()["text/html"]
    assert "churn" in html and "fraud" in html


def test_opens_on_the_model_registered_last(churn: nbtrack.TrackingClient) -> None:
    nbtrack.register_model(f"runs:/{model_run(0.7)}/model", "aaa-first-alphabetically")
    panel = ModelRegistryPanel(live=False)
    assert panel.model.value == "aaa-first-alphabetically"
    nbtrack.register_model(f"runs:/{model_run(0.7)}/model", "zzz-newer")
    panel.refresh()
    assert panel.model.value == "zzz-newer"  # a model registered meanwhile is opened
