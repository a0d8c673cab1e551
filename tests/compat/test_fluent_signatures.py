"""MLflow's fluent signatures and behaviours, as its docs describe them, under ``import nbtrack as mlflow``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import nbtrack as mlflow
from nbtrack.entities import PagedList, Param
from nbtrack.exceptions import MlflowException


def test_log_metric_with_run_id_outside_a_run_logs_into_that_run_without_starting_one() -> None:
    with mlflow.start_run() as run:
        pass
    mlflow.log_metric("m", 1.0, step=2, synchronous=True, timestamp=1_700_000_000_000, run_id=run.info.run_id)
    mlflow.log_metrics({"a": 1.0, "b": 2.0}, step=1, run_id=run.info.run_id)
    mlflow.log_params({"p": 3}, run_id=run.info.run_id)
    assert mlflow.active_run() is None
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics == {"m": 1.0, "a": 1.0, "b": 2.0}
    assert data.params == {"p": "3"}
    [point] = mlflow.get_metric_history(run.info.run_id, "m")
    assert (point.step, point.timestamp) == (2, 1_700_000_000_000)
    assert len(mlflow.search_runs(search_all_experiments=True)) == 1


def test_run_id_wins_over_the_active_run() -> None:
    with mlflow.start_run() as other:
        pass
    with mlflow.start_run() as active:
        mlflow.log_metric("m", 5.0, run_id=other.info.run_id)
    assert mlflow.get_run(other.info.run_id).data.metrics == {"m": 5.0}
    assert mlflow.get_run(active.info.run_id).data.metrics == {}


def test_mlflow_keyword_arguments_are_accepted(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "f.txt").write_text("x")
    with mlflow.start_run() as run:
        assert mlflow.log_param("k", 1, synchronous=False) == 1
        mlflow.set_tag("t", "v", synchronous=True)
        mlflow.set_tags({"u": 1}, synchronous=None)
        mlflow.log_metric("x", 0.5, 1, None, None, None, None, None)
    mlflow.log_text("hi", "notes.txt", run_id=run.info.run_id)
    mlflow.log_dict({"a": 1}, "d.json", run_id=run.info.run_id)
    mlflow.log_artifact(str(files / "f.txt"), run_id=run.info.run_id)
    mlflow.log_artifacts(str(files), "dir", run_id=run.info.run_id)
    names = {f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"notes.txt", "d.json", "f.txt", "dir"} <= names
    assert mlflow.get_run(run.info.run_id).data.tags["u"] == "1"


def test_get_parent_run() -> None:
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        pass
    found = mlflow.get_parent_run(child.info.run_id)
    assert found is not None and found.info.run_id == parent.info.run_id
    assert mlflow.get_parent_run(parent.info.run_id) is None


def test_set_experiment_tags_on_the_active_experiment() -> None:
    exp = mlflow.set_experiment("tagged")
    mlflow.set_experiment_tag("team", "ml")
    mlflow.set_experiment_tags({"stage": 1, "owner": "me"})
    assert mlflow.get_experiment(exp.experiment_id).tags == {"team": "ml", "stage": "1", "owner": "me"}


def test_resuming_a_run_keeps_its_tags_and_adds_new_ones() -> None:
    with mlflow.start_run(tags={"keep": "me"}) as run:
        mlflow.set_tag("later", "yes")
    with mlflow.start_run(run_id=run.info.run_id, tags={"extra": "1"}) as resumed:
        assert resumed.data.tags["keep"] == "me"
        assert resumed.data.tags["later"] == "yes"
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert {"keep", "later", "extra"} <= set(tags)


def test_starting_a_deleted_run_raises() -> None:
    with mlflow.start_run() as run:
        pass
    mlflow.delete_run(run.info.run_id)
    with pytest.raises(MlflowException, match="deleted state"):
        mlflow.start_run(run_id=run.info.run_id)
    assert mlflow.active_run() is None


def test_experiments_are_listed_newest_first_like_mlflow() -> None:
    mlflow.search_experiments()  # the store (and its Default experiment) exists before the others are created
    for name in ("a", "b", "c"):
        time.sleep(0.005)  # distinct creation times (equal ones are ordered by id)
        mlflow.create_experiment(name)
    assert [e.name for e in mlflow.search_experiments()] == ["c", "b", "a", "Default"]
    assert [e.name for e in mlflow.MlflowClient().search_experiments()] == ["c", "b", "a", "Default"]


def test_search_runs_with_only_unknown_experiment_names_is_empty() -> None:
    with mlflow.start_run():
        pass
    frame = mlflow.search_runs(experiment_names=["does-not-exist"])
    assert frame.empty
    assert list(frame.columns) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert mlflow.search_runs(experiment_names=["does-not-exist"], output_format="list") == []


def test_duplicate_param_keys_in_one_batch_raise_with_mlflows_message() -> None:
    with mlflow.start_run() as run:
        pass
    client = mlflow.MlflowClient()
    with pytest.raises(MlflowException, match=r"Duplicate parameter keys have been submitted: \['z'\]") as info:
        client.log_batch(run.info.run_id, params=[Param("z", "1"), Param("z", "2")])
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params == {}


def test_changing_a_param_raises_with_mlflows_words() -> None:
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
        with pytest.raises(MlflowException, match="Changing param values is not allowed") as info:
            mlflow.log_params({"a": 2})
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert mlflow.get_run(run.info.run_id).data.params == {"a": "1"}


def test_error_codes_are_spelled_as_in_mlflow() -> None:
    client = mlflow.MlflowClient()
    with pytest.raises(MlflowException) as missing:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert missing.value.get_http_status_code() == 404
    mlflow.create_experiment("dup")
    with pytest.raises(MlflowException) as taken:
        mlflow.create_experiment("dup")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    err = MlflowException("custom", error_code="INVALID_PARAMETER_VALUE")
    assert err.error_code == "INVALID_PARAMETER_VALUE" and err.message == "custom"
    assert mlflow.exceptions.MlflowException is mlflow.MlflowException


def test_entities_convert_to_dicts_and_lists_like_mlflow() -> None:
    exp = mlflow.set_experiment("dicts")
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
    info = dict(mlflow.get_run(run.info.run_id).info)
    assert info["run_id"] == run.info.run_id and info["status"] == "FINISHED"
    assert dict(mlflow.get_experiment(exp.experiment_id))["name"] == "dicts"
    assert dict(mlflow.get_run(run.info.run_id).data)["metrics"] == {"m": 1.0}
    assert isinstance(mlflow.get_run(run.info.run_id).inputs.dataset_inputs, list)


def test_client_searches_return_paged_lists_with_tokens() -> None:
    client = mlflow.MlflowClient()
    ids = []
    for _ in range(5):
        with mlflow.start_run() as run:
            ids.append(run.info.run_id)
    first = client.search_runs(["0"], max_results=2)
    assert isinstance(first, PagedList) and len(first) == 2 and first.token
    second = client.search_runs(["0"], max_results=2, page_token=first.token)
    third = client.search_runs(["0"], max_results=2, page_token=second.token)
    assert third.token is None
    paged = [r.info.run_id for r in [*first, *second, *third]]
    assert paged == [r.info.run_id for r in client.search_runs(["0"])]  # the pages cut one ordered result
    assert sorted(paged) == sorted(ids)
    for name in ("e1", "e2", "e3"):
        time.sleep(0.005)
        client.create_experiment(name)
    page = client.search_experiments(max_results=3)
    rest = client.search_experiments(max_results=3, page_token=page.token)
    assert [e.name for e in [*page, *rest]] == ["e3", "e2", "e1", "Default"] and rest.token is None
    with pytest.raises(MlflowException, match="page token"):
        client.search_runs(["0"], page_token="not-a-token")


def test_entities_are_importable_under_mlflows_names() -> None:
    from nbtrack.entities.model_registry import ModelVersion, RegisteredModel

    from nbtrack.entities import (  # noqa: F401
        Dataset,
        DatasetInput,
        Experiment,
        ExperimentTag,
        FileInfo,
        InputTag,
        LifecycleStage,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunStatus,
        RunTag,
        SourceType,
        ViewType,
    )

    assert ModelVersion is mlflow.entities.ModelVersion and RegisteredModel is mlflow.entities.RegisteredModel
    assert SourceType.NOTEBOOK == "NOTEBOOK" and ViewType.ALL == 3
