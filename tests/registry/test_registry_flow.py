"""Register → transition → resolve, stages, aliases and the audit trail, on both store backends."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

import nbtrack
from nbtrack.entities import ModelVersion
from nbtrack.errors import NotFound
from nbtrack.registry import register_model
from nbtrack.tracking.model_uri import resolve_model_uri

RUN_ON_SERVER = True  # also against a real MLflow tracking server (tests/conftest.py)

MakeRun = Callable[..., str]  # the make_model_run fixture (tests/registry/conftest.py)


def _register(client: nbtrack.TrackingClient, run_id: str, name: str = "Churn", path: str = "model") -> ModelVersion:
    return register_model(f"runs:/{run_id}/{path}", name, client=client)


def test_canonical_register_transition_resolve_flow(client: nbtrack.TrackingClient, make_model_run: MakeRun) -> None:
    # Given a run with a model folder in its artifacts
    run_id = make_model_run()
    # When it is registered and promoted to Production
    mv = _register(client, run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.transition_model_version_stage(name="Churn", version=mv.version, stage="Production")
    # Then the version is 1, points at the run's folder, and models:/Churn/Production resolves to it
    assert mv.version == "1"
    assert mv.run_id == run_id
    folder = client.artifact_dir(run_id) / "model"
    assert mv.source == f"runs:/{run_id}/model"  # as MLflow records it
    resolved = resolve_model_uri("models:/Churn/Production", client)
    assert resolved.run_id == run_id
    assert resolved.artifact_path == "model"
    assert resolved.local_path == folder
    assert (resolved.local_path / "MLmodel").read_text() == "flavor: sklearn\n"
    assert resolved.model_version is not None
    assert resolved.model_version.version == "1"
    assert resolved.model_version.current_stage == "Production"


def test_versions_start_at_one_and_increase_and_are_never_reused(
    client: nbtrack.TrackingClient, make_model_run: MakeRun
) -> None:
    run_id = make_model_run()
    versions = [_register(client, run_id).version for _ in range(3)]
    assert versions == ["1", "2", "3"]
    client.delete_model_version("Churn", 3)
    assert _register(client, run_id).version == "4"
    assert [mv.version for mv in client.search_model_versions("name = 'Churn'")] == ["4", "2", "1"]


def test_every_uri_form_resolves_to_the_right_version(client: nbtrack.TrackingClient, make_model_run: MakeRun) -> None:
    # Given three versions from three runs: v1 Production, v2 Staging (alias champion), v3 in no stage
    runs = [make_model_run(text=f"model {i}\n") for i in range(3)]
    for run_id in runs:
        _register(client, run_id)
    client.transition_model_version_stage("Churn", 1, "production")
    client.transition_model_version_stage("Churn", "2", "STAGING")
    client.set_registered_model_alias("Churn", "champion", 2)
    expected = {
        "models:/Churn/1": ("1", runs[0]),
        "models:/Churn/2": ("2", runs[1]),
        "models:/Churn/Production": ("1", runs[0]),
        "models:/Churn/production": ("1", runs[0]),
        "models:/Churn/Staging": ("2", runs[1]),
        "models:/Churn/None": ("3", runs[2]),
        "models:/Churn/latest": ("3", runs[2]),
        "models:/Churn@champion": ("2", runs[1]),
    }
    for uri, (version, run_id) in expected.items():
        resolved = resolve_model_uri(uri, client)
        assert resolved.model_version is not None, uri
        assert (resolved.model_version.version, resolved.run_id) == (version, run_id), uri
        assert resolved.local_path == client.artifact_dir(run_id) / "model", uri
        assert (resolved.local_path / "MLmodel").read_text() == f"model {runs.index(run_id)}\n", uri
    # runs:/ and plain folder forms
    by_run = resolve_model_uri(f"runs:/{runs[1]}/model", client)
    assert (by_run.run_id, by_run.artifact_path, by_run.model_version) == (runs[1], "model", None)
    folder = resolve_model_uri(str(client.artifact_dir(runs[2]) / "model"), client)
    assert (folder.run_id, folder.artifact_path) == (runs[2], "model")


def test_nested_artifact_path_and_file_uri(client: nbtrack.TrackingClient, make_model_run: MakeRun, tmp_path) -> None:
    run_id = make_model_run(path="models/forest")
    mv = _register(client, run_id, path="models/forest")
    resolved = resolve_model_uri(f"models:/Churn/{mv.version}", client)
    assert resolved.artifact_path == "models/forest"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    plain = resolve_model_uri(f"file://{outside}", client)
    assert (plain.run_id, plain.artifact_path, plain.local_path) == (None, "", outside.resolve())


def test_archive_existing_versions_archives_old_production_and_logs_both_transitions(
    client: nbtrack.TrackingClient, make_model_run: MakeRun
) -> None:
    run_id = make_model_run()
    _register(client, run_id)
    _register(client, run_id)
    client.transition_model_version_stage("Churn", 1, "Production")
    # When version 2 is promoted with archive_existing_versions
    promoted = client.transition_model_version_stage("Churn", 2, "Production", archive_existing_versions=True)
    # Then version 1 is Archived, version 2 Production, and the log shows both transitions
    assert promoted.current_stage == "Production"
    assert client.get_model_version("Churn", 1).current_stage == "Archived"
    assert resolve_model_uri("models:/Churn/Production", client).local_path.parent.name == run_id
    assert [mv.version for mv in client.get_latest_versions("Churn", ["production"])] == ["2"]
    moves = [
        (e.action, e.version, e.from_value, e.to_value)
        for e in client.get_model_version_events("Churn")
        if e.action in ("transition", "archive")
    ]
    assert moves == [
        ("transition", "1", "None", "Production"),
        ("transition", "2", "None", "Production"),
        ("archive", "1", "Production", "Archived"),
    ]


def test_get_latest_versions_gives_latest_per_stage(client: nbtrack.TrackingClient, make_model_run: MakeRun) -> None:
    run_id = make_model_run()
    for _ in range(4):
        _register(client, run_id)
    client.transition_model_version_stage("Churn", 1, "Staging")
    client.transition_model_version_stage("Churn", 2, "Staging")
    client.transition_model_version_stage("Churn", 3, "Production")
    latest = {mv.current_stage: mv.version for mv in client.get_latest_versions("Churn")}
    assert latest == {"None": "4", "Staging": "2", "Production": "3"}
    assert [mv.version for mv in client.get_latest_versions("Churn", stages=["staging"])] == ["2"]
    model = client.get_registered_model("Churn")
    assert {mv.current_stage: mv.version for mv in model.latest_versions} == latest


def test_aliases_set_move_delete_and_follow_version_deletion(
    client: nbtrack.TrackingClient, make_model_run: MakeRun
) -> None:
    run_id = make_model_run()
    for _ in range(2):
        _register(client, run_id)
    client.set_registered_model_alias("Churn", "champion", 1)
    client.set_registered_model_alias("Churn", "champion", "2")
    client.set_registered_model_alias("Churn", "challenger", 1)
    assert client.get_model_version_by_alias("Churn", "champion").version == "2"
    assert client.get_model_version("Churn", 2).aliases == ["champion"]
    assert client.get_registered_model("Churn").aliases == {"challenger": "1", "champion": "2"}
    client.delete_registered_model_alias("Churn", "challenger")
    client.delete_model_version("Churn", 2)
    assert client.get_registered_model("Churn").aliases == {}
    with pytest.raises(NotFound, match="no alias 'champion'; aliases: \\(none\\)"):
        client.get_model_version_by_alias("Churn", "champion")
    alias_events = [
        (e.action, e.alias, e.from_value, e.to_value)
        for e in client.get_model_version_events("Churn")
        if "alias" in e.action
    ]
    assert alias_events == [
        ("set_alias", "champion", None, "1"),
        ("set_alias", "champion", "1", "2"),
        ("set_alias", "challenger", None, "1"),
        ("delete_alias", "challenger", "1", None),
        ("delete_alias", "champion", "2", None),
    ]


def test_events_carry_user_run_and_training_data_fingerprint(
    client: nbtrack.TrackingClient, make_model_run: MakeRun
) -> None:
    import getpass

    with_data = make_model_run(train_digest="d1g3st")
    without_data = make_model_run()
    _register(client, with_data)
    _register(client, without_data)
    client.transition_model_version_stage("Churn", 1, "Production")
    events = client.get_model_version_events("Churn")
    assert [e.action for e in events] == ["create_model", "register", "register", "transition"]
    assert {e.user for e in events} == {getpass.getuser()}
    assert all(e.timestamp > 1_600_000_000_000 for e in events)
    register_1, register_2, transition = events[1:]
    assert (register_1.run_id, register_1.data_digest) == (with_data, "d1g3st")
    assert (register_2.run_id, register_2.data_digest) == (without_data, None)
    assert (transition.version, transition.run_id, transition.data_digest) == ("1", with_data, "d1g3st")


def test_rename_keeps_versions_aliases_and_events(client: nbtrack.TrackingClient, make_model_run: MakeRun) -> None:
    run_id = make_model_run()
    _register(client, run_id)
    client.set_registered_model_alias("Churn", "champion", 1)
    client.update_registered_model("Churn", description="first model")
    client.rename_registered_model("Churn", "Attrition")
    assert client.get_model_version("Attrition", 1).aliases == ["champion"]
    assert resolve_model_uri("models:/Attrition@champion", client).run_id == run_id
    events = client.get_model_version_events("Attrition")
    assert [e.action for e in events] == ["create_model", "register", "set_alias", "update_description", "rename"]
    assert {e.name for e in events} == {"Attrition"}
    assert (events[-1].from_value, events[-1].to_value) == ("Churn", "Attrition")
    assert (events[3].from_value, events[3].to_value) == ("", "first model")
    with pytest.raises(NotFound, match="registered models: Attrition"):
        client.get_registered_model("Churn")


def test_delete_registered_model_removes_versions_but_keeps_its_trail(
    client: nbtrack.TrackingClient, make_model_run: MakeRun
) -> None:
    run_id = make_model_run()
    _register(client, run_id)
    _register(client, run_id, name="Other")
    client.delete_registered_model("Churn")
    assert [m.name for m in client.search_registered_models()] == ["Other"]
    assert [mv.name for mv in client.search_model_versions()] == ["Other"]
    assert [e.action for e in client.get_model_version_events("Churn")][-1] == "delete_model"
    # A new model of the same name starts over at version 1 with its own trail
    assert _register(client, run_id).version == "1"
    assert [e.action for e in client.get_model_version_events("Churn")] == ["create_model", "register"]


def test_tags_descriptions_and_search(client: nbtrack.TrackingClient, make_model_run: MakeRun) -> None:
    run_a, run_b = make_model_run(), make_model_run()
    client.create_registered_model("Churn", tags={"team": "ml"}, description="churn model")
    client.create_model_version("Churn", f"runs:/{run_a}/model", run_id=run_a, tags={"k": "v"})
    client.create_model_version("Churn", f"runs:/{run_b}/model")
    register_model(f"runs:/{run_b}/model", "Fraud", {"owner": "ana"}, client=client)
    client.set_registered_model_tag("Fraud", "team", "risk")
    client.set_model_version_tag("Churn", 2, "validated", True)
    client.delete_model_version_tag("Churn", 1, "k")
    client.update_model_version("Churn", 2, description="retrained")
    assert client.get_model_version("Churn", 2).tags == {"validated": "True"}
    assert client.get_model_version("Churn", 1).tags == {}
    assert client.get_model_version("Churn", 2).description == "retrained"
    assert client.get_model_version("Churn", 2).run_id == run_b  # taken from the runs:/ source
    assert client.get_model_version("Fraud", 1).tags == {"owner": "ana"}
    assert client.get_registered_model("Churn").tags == {"team": "ml"}
    assert [m.name for m in client.search_registered_models("name = 'Fraud'")] == ["Fraud"]
    assert [m.name for m in client.search_registered_models(order_by=["name DESC"])] == ["Fraud", "Churn"]
    assert [m.name for m in client.search_registered_models(max_results=1)] == ["Churn"]
    found = client.search_model_versions(f"run_id = '{run_b}'")
    assert sorted((mv.name, mv.version) for mv in found) == [("Churn", "2"), ("Fraud", "1")]
    assert [mv.version for mv in client.search_model_versions("name = 'Churn'", order_by=["version_number"])] == [
        "1",
        "2",
    ]
    assert client.get_model_version_download_uri("Churn", 1) == str(client.artifact_dir(run_a) / "model")
    client.transition_model_version_stage("Churn", 2, "Production")
    richer = client.search_model_versions("(name = 'Churn' and version > 1) or tags.owner = 'ana'")
    assert [(mv.name, mv.version) for mv in richer] == [("Churn", "2"), ("Fraud", "1")]
    assert [mv.version for mv in client.search_model_versions("current_stage = 'Production'")] == ["2"]


def test_mlflow_tutorial_code_runs_unchanged() -> None:
    import nbtrack as mlflow
    from nbtrack.tracking import MlflowClient

    with mlflow.start_run() as run:
        mlflow.log_text("flavor: sklearn\n", "model/MLmodel")
    result = mlflow.register_model(model_uri=f"runs:/{run.info.run_id}/model", name="sk-learn-random-forest-reg")
    client = MlflowClient()
    client.transition_model_version_stage(name="sk-learn-random-forest-reg", version=result.version, stage="Production")
    client.transition_model_version_stage(name="sk-learn-random-forest-reg", version=1, stage="Staging")
    mv = client.get_latest_versions("sk-learn-random-forest-reg", stages=["Staging"])[0]
    assert (mv.version, mv.current_stage, mv.run_id) == ("1", "Staging", run.info.run_id)
    client.set_registered_model_alias("sk-learn-random-forest-reg", "champion", result.version)
    assert mlflow.tracking.MlflowClient is MlflowClient
    assert resolve_model_uri("models:/sk-learn-random-forest-reg@champion", client).run_id == run.info.run_id


def test_registering_inside_a_live_run_records_its_training_data() -> None:
    import nbtrack as mlflow
    from nbtrack.entities import Dataset, DatasetInput, InputTag

    train = DatasetInput(Dataset(name="X_train", digest="feedbeef"), (InputTag("mlflow.data.context", "train"),))
    with mlflow.start_run() as run:
        mlflow.log_inputs([train])
        mlflow.log_text("flavor: sklearn\n", "model/MLmodel")
        mlflow.register_model(f"runs:/{run.info.run_id}/model", "Live")
    client = mlflow.MlflowClient()
    register = [e for e in client.get_model_version_events("Live") if e.action == "register"]
    assert [(e.run_id, e.data_digest) for e in register] == [(run.info.run_id, "feedbeef")]


def test_fluent_search_functions_find_registered_models() -> None:
    import nbtrack as mlflow

    with mlflow.start_run() as run:
        mlflow.log_text("flavor: sklearn\n", "model/MLmodel")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "Churn")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "Fraud")
    assert [m.name for m in mlflow.search_registered_models(filter_string="name = 'Fraud'")] == ["Fraud"]
    assert [(mv.name, mv.version) for mv in mlflow.search_model_versions(f"run_id = '{run.info.run_id}'")] == [
        ("Churn", "1"),
        ("Fraud", "1"),
    ]
