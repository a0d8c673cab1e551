"""The model registry routes of the REST API, through a real Jupyter server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import nbtrack

HTML_NAME = "<img src=x onerror=alert(1)> & \"co\" 'v2'"


def _model_run(tracking: nbtrack.TrackingClient) -> str:
    run_id = tracking.create_run("0").info.run_id
    tracking.log_text(run_id, "flavor: sklearn\n", "model/MLmodel")
    tracking.set_terminated(run_id)
    return run_id


@pytest.fixture
def churn(tracking: nbtrack.TrackingClient) -> str:
    """A registered model ``Churn`` with two versions."""
    tracking.create_registered_model("Churn")
    for _ in range(2):
        run_id = _model_run(tracking)
        tracking.create_model_version("Churn", f"runs:/{run_id}/model", run_id=run_id)
    return "Churn"


async def test_models_lists_registered_models(api: Any, churn: str, tracking: nbtrack.TrackingClient) -> None:
    # Given the Churn model and a model named with HTML characters
    tracking.create_registered_model(HTML_NAME)
    # When listing models
    body = await api("models")
    # Then both come back, names verbatim
    assert sorted(m["name"] for m in body["models"]) == sorted([churn, HTML_NAME])
    assert set(body["models"][0]) == set(tracking.get_registered_model(churn).to_dict())


async def test_versions_of_a_model(api: Any, churn: str, tracking: nbtrack.TrackingClient) -> None:
    # Given a second model whose versions must not leak into Churn's list
    tracking.create_registered_model("Other")
    tracking.create_model_version("Other", f"runs:/{_model_run(tracking)}/model")
    # When listing Churn's versions
    body = await api("models", churn, "versions")
    # Then its two versions come back oldest first with their stage and run
    assert [(v["name"], v["version"], v["current_stage"]) for v in body["versions"]] == [
        ("Churn", "1", "None"),
        ("Churn", "2", "None"),
    ]
    assert all(v["run_id"] for v in body["versions"])


async def test_stage_transition_changes_the_store(api: Any, churn: str, tracking: nbtrack.TrackingClient) -> None:
    # Given version 1 in Production
    tracking.transition_model_version_stage(churn, "1", "Production")
    # When promoting version 2 to production (any case) and archiving the others
    body = await api(
        "models",
        churn,
        "versions",
        "2",
        "stage",
        method="POST",
        body={"stage": "production", "archive_existing_versions": True},
    )
    # Then the answer is the moved version and the store agrees
    assert body["version"]["version"] == "2" and body["version"]["current_stage"] == "Production"
    assert tracking.get_model_version(churn, "2").current_stage == "Production"
    assert tracking.get_model_version(churn, "1").current_stage == "Archived"
    # And the event history records the transition
    events = (await api("models", churn, "events"))["events"]
    assert events == [e.to_dict() for e in tracking.get_model_version_events(churn)]
    assert any(e["version"] == "2" and e["to_value"] == "Production" for e in events)


async def test_aliases_set_and_delete(api: Any, churn: str, tracking: nbtrack.TrackingClient) -> None:
    # When pointing the alias "champion" at version 2
    body = await api("models", churn, "aliases", method="POST", body={"alias": "champion", "version": "2"})
    # Then the model answer and the store show it
    assert body["model"]["aliases"] == {"champion": "2"}
    assert tracking.get_model_version_by_alias(churn, "champion").version == "2"
    # When deleting it
    body = await api("models", churn, "aliases", "champion", method="DELETE")
    # Then it is gone
    assert body["model"]["aliases"] == {}
    assert tracking.get_registered_model(churn).aliases == {}


async def test_html_model_name_in_path_is_decoded(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a model named with HTML characters, spaces and quotes, with one version
    tracking.create_registered_model(HTML_NAME)
    tracking.create_model_version(HTML_NAME, f"runs:/{_model_run(tracking)}/model")
    # When listing its versions by the URL-encoded name
    body = await api("models", HTML_NAME, "versions")
    # Then the name round-trips exactly
    assert [v["name"] for v in body["versions"]] == [HTML_NAME]


@pytest.mark.parametrize("route", [("versions",), ("events",)])
async def test_unknown_model_is_404(api: Any, route: tuple[str, ...]) -> None:
    # When reading a model that does not exist
    with pytest.raises(HTTPClientError) as err:
        await api("models", "Nope", *route)
    # Then the answer is 404 with a JSON message naming it
    assert err.value.code == 404
    assert "Nope" in json.loads(err.value.response.body)["message"]


async def test_bad_stage_is_400_and_changes_nothing(api: Any, churn: str, tracking: nbtrack.TrackingClient) -> None:
    # When asking for a stage that does not exist
    with pytest.raises(HTTPClientError) as err:
        await api("models", churn, "versions", "1", "stage", method="POST", body={"stage": "Prod"})
    # Then the answer is 400 naming the valid stages, and the version did not move
    assert err.value.code == 400
    assert "Production" in json.loads(err.value.response.body)["message"]
    assert tracking.get_model_version(churn, "1").current_stage == "None"


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps(["a"]), json.dumps({"alias": "", "version": "1"}), json.dumps({"version": "1"})],
)
async def test_malformed_alias_body_is_400(jp_fetch: Any, churn: str, body: str) -> None:
    # When posting an alias with a malformed body
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nbtrack", "api", "models", churn, "aliases", method="POST", body=body)
    # Then the answer is a 400 JSON error
    assert err.value.code == 400
    assert set(json.loads(err.value.response.body)) == {"message", "reason"}


async def test_unknown_version_is_404(api: Any, churn: str) -> None:
    # When moving a version that does not exist
    with pytest.raises(HTTPClientError) as err:
        await api("models", churn, "versions", "9", "stage", method="POST", body={"stage": "Staging"})
    # Then the answer is 404
    assert err.value.code == 404
