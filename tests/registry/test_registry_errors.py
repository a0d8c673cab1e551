"""Bad names, versions, stages, aliases and URIs: clear errors, and the store left as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import nbtrack
from nbtrack.errors import AlreadyExists, InvalidParameter, NbtrackError, NotFound
from nbtrack.registry import register_model
from nbtrack.tracking.model_uri import resolve_model_uri

RUN_ON_SERVER = True  # also against a real MLflow tracking server (tests/conftest.py)

MakeRun = Callable[..., str]  # the make_model_run fixture (tests/registry/conftest.py)


@pytest.fixture
def churn(client: nbtrack.TrackingClient, make_model_run: MakeRun) -> str:
    """Model 'Churn' with versions 1 (Production, alias champion), 2 (Staging) and 3 (None)."""
    run_id = make_model_run()
    for _ in range(3):
        register_model(f"runs:/{run_id}/model", "Churn", client=client)
    client.transition_model_version_stage("Churn", 1, "Production")
    client.transition_model_version_stage("Churn", 2, "Staging")
    client.set_registered_model_alias("Churn", "champion", 1)
    return run_id


def _state(client: nbtrack.TrackingClient) -> tuple[Any, ...]:
    return (
        client.store_version(),
        [m.to_dict() for m in client.search_registered_models()],
        [mv.to_dict() for mv in client.search_model_versions()],
        [e.to_dict() for e in client.get_model_version_events("Churn")],
    )


CASES: list[tuple[str, Callable[[nbtrack.TrackingClient, str], object], type[NbtrackError], str]] = [
    ("unknown model", lambda c, r: c.get_registered_model("Nope"), NotFound, "registered models: Churn"),
    ("unknown version", lambda c, r: c.get_model_version("Churn", 7), NotFound, "no version 7; versions: 1, 2, 3"),
    ("version zero", lambda c, r: c.get_model_version("Churn", 0), InvalidParameter, "start at 1"),
    ("version text", lambda c, r: c.get_model_version("Churn", "two"), InvalidParameter, "positive integers"),
    ("version bool", lambda c, r: c.get_model_version("Churn", True), InvalidParameter, "positive integers"),
    (
        "bad stage",
        lambda c, r: c.transition_model_version_stage("Churn", 3, "Prod"),
        InvalidParameter,
        "None, Staging, Production, Archived",
    ),
    (
        "archive into Archived",
        lambda c, r: c.transition_model_version_stage("Churn", 3, "Archived", archive_existing_versions=True),
        InvalidParameter,
        "Staging, Production",
    ),
    (
        "transition unknown version",
        lambda c, r: c.transition_model_version_stage("Churn", 9, "Production"),
        NotFound,
        "versions: 1, 2, 3",
    ),
    ("alias v1", lambda c, r: c.set_registered_model_alias("Churn", "v1", 2), InvalidParameter, "reserved"),
    ("alias V12", lambda c, r: c.set_registered_model_alias("Churn", "V12", 2), InvalidParameter, "reserved"),
    ("alias latest", lambda c, r: c.set_registered_model_alias("Churn", "latest", 2), InvalidParameter, "reserved"),
    ("alias spaces", lambda c, r: c.set_registered_model_alias("Churn", "my alias", 2), InvalidParameter, "letters"),
    (
        "alias to unknown version",
        lambda c, r: c.set_registered_model_alias("Churn", "champion", 8),
        NotFound,
        "no version 8",
    ),
    (
        "unknown alias",
        lambda c, r: c.get_model_version_by_alias("Churn", "champ"),
        NotFound,
        "no alias 'champ'; aliases: champion \\(version 1\\)",
    ),
    ("delete unknown alias", lambda c, r: c.delete_registered_model_alias("Churn", "x"), NotFound, "aliases: champion"),
    ("name with slash", lambda c, r: c.create_registered_model("a/b"), InvalidParameter, "may not contain '/'"),
    ("name with at", lambda c, r: c.create_registered_model("a@b"), InvalidParameter, "'@'"),
    ("empty name", lambda c, r: c.create_registered_model("  "), InvalidParameter, "non-empty"),
    ("name not str", lambda c, r: c.create_registered_model(3), InvalidParameter, "non-empty string"),
    ("duplicate model", lambda c, r: c.create_registered_model("Churn"), AlreadyExists, "already exists"),
    ("rename onto itself", lambda c, r: c.rename_registered_model("Churn", "Churn"), None, ""),
    (
        "version of unknown model",
        lambda c, r: c.create_model_version("Nope", f"runs:/{r}/model", r),
        NotFound,
        "Create it with create_registered_model",
    ),
    (
        "new model with unknown run, rolled back",
        lambda c, r: c.store.create_model_version("New", "/x", run_id="deadbeef", create_model=True),
        NotFound,
        "deadbeef",
    ),
    ("bad tag key", lambda c, r: c.set_model_version_tag("Churn", 1, "../x", "v"), InvalidParameter, "tag key"),
    ("bad description", lambda c, r: c.update_registered_model("Churn", 5), InvalidParameter, "must be a string"),
    ("stage not in use", lambda c, r: resolve_model_uri("models:/Churn/Archived", c), NotFound, "stages in use: None"),
    ("uri unknown version", lambda c, r: resolve_model_uri("models:/Churn/12", c), NotFound, "versions: 1, 2, 3"),
    ("uri unknown alias", lambda c, r: resolve_model_uri("models:/Churn@best", c), NotFound, "aliases: champion"),
    ("uri unknown model", lambda c, r: resolve_model_uri("models:/Fraud/1", c), NotFound, "registered models: Churn"),
    ("uri bad selector", lambda c, r: resolve_model_uri("models:/Churn/prod", c), InvalidParameter, "Accepted forms"),
    ("uri no selector", lambda c, r: resolve_model_uri("models:/Churn", c), InvalidParameter, "Accepted forms"),
    ("uri too deep", lambda c, r: resolve_model_uri("models:/Churn/1/x", c), InvalidParameter, "Accepted forms"),
    ("uri scheme", lambda c, r: resolve_model_uri("s3://bucket/model", c), InvalidParameter, "unknown scheme"),
    ("uri empty", lambda c, r: resolve_model_uri("", c), InvalidParameter, "Accepted forms"),
    ("uri bad run id", lambda c, r: resolve_model_uri("runs:/not a run/model", c), InvalidParameter, "run id"),
    ("uri unknown run", lambda c, r: resolve_model_uri("runs:/abc123/model", c), NotFound, "abc123"),
    ("uri missing path", lambda c, r: resolve_model_uri(f"runs:/{r}/other", c), NotFound, "its artifacts: model"),
    ("uri escaping path", lambda c, r: resolve_model_uri(f"runs:/{r}/../x", c), InvalidParameter, "inside"),
    ("uri missing folder", lambda c, r: resolve_model_uri("/no/such/folder", c), NotFound, "No model folder"),
    (
        "register missing path",
        lambda c, r: register_model(f"runs:/{r}/nothing", "New", client=c),
        NotFound,
        "no artifact 'nothing'",
    ),
    ("register bad name", lambda c, r: register_model(f"runs:/{r}/model", "a/b", client=c), InvalidParameter, "'/'"),
    ("bad max_results", lambda c, r: c.search_model_versions(max_results=-1), InvalidParameter, "non-negative"),
    (
        "bad order_by",
        lambda c, r: c.search_registered_models(order_by=["size"]),
        InvalidParameter,
        "unknown attribute .size.",
    ),
    ("bad filter", lambda c, r: c.search_model_versions("name ~ 'x'"), InvalidParameter, "filter"),
    ("bad latest stages", lambda c, r: c.get_latest_versions("Churn", ["Live"]), InvalidParameter, "Staging"),
]


@pytest.mark.parametrize(("call", "error", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_clear_error_and_changes_nothing(
    client: nbtrack.TrackingClient,
    churn: str,
    call: Callable[[nbtrack.TrackingClient, str], object],
    error: type[NbtrackError] | None,
    message: str,
) -> None:
    before = _state(client)
    if error is None:  # allowed, and a no-op
        call(client, churn)
        assert _state(client) == before
        return
    with pytest.raises(error, match=message):
        call(client, churn)
    assert _state(client) == before


def test_stage_input_is_case_insensitive_and_stored_canonical(client: nbtrack.TrackingClient, churn: str) -> None:
    for given, stored in [("pRoDuCtIoN", "Production"), ("archived", "Archived"), ("none", "None")]:
        assert client.transition_model_version_stage("Churn", 3, given).current_stage == stored
        assert client.get_model_version("Churn", "3").current_stage == stored


def test_deleted_version_is_gone_everywhere(client: nbtrack.TrackingClient, churn: str) -> None:
    client.delete_model_version("Churn", 1)
    with pytest.raises(NotFound, match="versions: 2, 3"):
        resolve_model_uri("models:/Churn/1", client)
    with pytest.raises(NotFound, match="stages in use: None \\(versions 3\\), Staging \\(versions 2\\)"):
        resolve_model_uri("models:/Churn/Production", client)
    with pytest.raises(NotFound, match="aliases: \\(none\\)"):
        resolve_model_uri("models:/Churn@champion", client)


def test_rename_onto_another_model_is_refused(client: nbtrack.TrackingClient, churn: str) -> None:
    client.create_registered_model("Other")
    before = _state(client)
    with pytest.raises(AlreadyExists, match="named 'Other' already exists"):
        client.rename_registered_model("Churn", "Other")
    assert _state(client) == before
