"""The store contract, run through the client on every backend (memory and TinyDB)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from nbtrack.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunStatus, RunTag, ViewType
from nbtrack.errors import AlreadyExists, InvalidParameter, InvalidState, NbtrackError, NotFound
from nbtrack.tracking.client import TrackingClient

RUN_ON_SERVER = True  # also against a real MLflow tracking server (tests/conftest.py)


def _new_run(client: TrackingClient, experiment_id: str = "0", **kwargs: object) -> str:
    return client.create_run(experiment_id, **kwargs).info.run_id  # type: ignore[arg-type]


# -- experiments -----------------------------------------------------------
def test_default_experiment_exists(client: TrackingClient) -> None:
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert client.get_experiment_by_name("Default") == default


def test_create_get_and_search_experiments_with_path_names(client: TrackingClient) -> None:
    # Given experiment names that are Databricks-style paths and free text
    first = client.create_experiment("/Users/me/churn", tags={"team": "ml"})
    second = client.create_experiment("churn: v2 (ünïcode)")
    # Then they get digit ids and come back by id and by name
    assert first.isdigit() and second.isdigit() and first != second
    assert client.get_experiment(first).name == "/Users/me/churn"
    assert client.get_experiment(first).tags == {"team": "ml"}
    by_name = client.get_experiment_by_name("churn: v2 (ünïcode)")
    assert by_name is not None and by_name.experiment_id == second
    assert client.get_experiment_by_name("nope") is None
    names = [e.name for e in client.search_experiments(order_by=["experiment_id"])]
    assert names == ["Default", "/Users/me/churn", "churn: v2 (ünïcode)"]


def test_duplicate_experiment_name_raises_already_exists(client: TrackingClient) -> None:
    client.create_experiment("dup")
    with pytest.raises(AlreadyExists, match="dup"):
        client.create_experiment("dup")
    assert len(client.search_experiments()) == 2


def test_unknown_experiment_raises_not_found(client: TrackingClient) -> None:
    with pytest.raises(NotFound, match="42"):
        client.get_experiment("42")
    with pytest.raises(NotFound):
        client.create_run("42")


def test_delete_restore_and_rename_experiment(client: TrackingClient) -> None:
    exp = client.create_experiment("old")
    client.delete_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "deleted"
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert [e.name for e in client.search_experiments(ViewType.DELETED_ONLY)] == ["old"]
    with pytest.raises(InvalidState, match="deleted"):
        client.create_run(exp)
    with pytest.raises(AlreadyExists, match="restore"):
        client.create_experiment("old")
    client.restore_experiment(exp)
    client.rename_experiment(exp, "/Shared/new")
    assert client.get_experiment(exp).name == "/Shared/new"
    assert client.get_experiment_by_name("old") is None
    client.set_experiment_tag(exp, "owner", "me")
    assert client.get_experiment(exp).tags == {"owner": "me"}


def test_default_experiment_cannot_be_deleted(client: TrackingClient) -> None:
    with pytest.raises(InvalidParameter):
        client.delete_experiment("0")


def test_invalid_experiment_names_and_ids_are_rejected(client: TrackingClient) -> None:
    for bad_name in ("", "   ", "x" * 501, 5):
        with pytest.raises(InvalidParameter):
            client.create_experiment(bad_name)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="experiment id"):
        client.get_experiment("churn")
    assert len(client.search_experiments()) == 1


# -- runs ------------------------------------------------------------------
def test_create_run_get_update_and_terminate(client: TrackingClient) -> None:
    before = int(time.time() * 1000)
    run = client.create_run("0", run_name="first", tags={"k": "v"})
    assert run.info.status == RunStatus.RUNNING
    assert run.info.start_time >= before
    assert run.info.end_time is None
    assert run.data.tags["mlflow.runName"] == "first"
    assert run.data.tags["k"] == "v"
    run_id = run.info.run_id
    client.update_run(run_id, name="renamed")
    assert client.get_run(run_id).info.run_name == "renamed"
    assert client.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    info = client.set_terminated(run_id, "FAILED")
    assert info.status == "FAILED"
    assert info.end_time is not None and info.end_time >= run.info.start_time
    assert client.get_run(run_id).info.status == "FAILED"


def test_run_without_name_gets_a_readable_random_name(client: TrackingClient) -> None:
    names = {client.create_run("0").info.run_name for _ in range(5)}
    for name in names:
        adjective, noun, number = name.split("-")
        assert adjective.isalpha() and noun.isalpha() and number.isdigit()
    assert len(names) > 1


def test_set_terminated_rejects_non_final_status(client: TrackingClient) -> None:
    run_id = _new_run(client)
    with pytest.raises(InvalidParameter):
        client.set_terminated(run_id, "RUNNING")
    with pytest.raises(InvalidParameter):
        client.update_run(run_id, status="DONE")
    assert client.get_run(run_id).info.status == "RUNNING"


def test_delete_and_restore_run_changes_what_search_shows(client: TrackingClient) -> None:
    keep, gone = _new_run(client), _new_run(client)
    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in client.search_runs("0")] == [keep]
    assert [r.info.run_id for r in client.search_runs("0", run_view_type=ViewType.DELETED_ONLY)] == [gone]
    assert len(client.search_runs("0", run_view_type=ViewType.ALL)) == 2
    with pytest.raises(InvalidState, match="restore_run"):
        client.log_param(gone, "p", 1)
    client.restore_run(gone)
    assert len(client.search_runs("0")) == 2


def test_parent_run_is_found_through_its_tag(client: TrackingClient) -> None:
    parent = _new_run(client)
    child = _new_run(client, tags={"mlflow.parentRunId": parent})
    found = client.get_parent_run(child)
    assert found is not None and found.info.run_id == parent
    assert client.get_parent_run(parent) is None


def test_unknown_and_malformed_run_ids(client: TrackingClient) -> None:
    with pytest.raises(NotFound):
        client.get_run("0" * 32)
    for bad in ("", "../etc", "a b", 5, None):
        with pytest.raises(InvalidParameter, match="run id"):
            client.get_run(bad)  # type: ignore[arg-type]


# -- params, metrics, tags -------------------------------------------------
def test_params_are_stringified_and_immutable(client: TrackingClient) -> None:
    run_id = _new_run(client)
    client.log_param(run_id, "lr", 0.1)
    client.log_batch(run_id, params=[Param("depth", 3), Param("name", None)])  # type: ignore[arg-type]
    client.log_param(run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(InvalidParameter, match="lr"):
        client.log_param(run_id, "lr", 0.2)
    with pytest.raises(InvalidParameter, match="dup"):
        client.log_batch(run_id, params=[Param("dup", "a"), Param("dup", "b")])
    assert client.get_run(run_id).data.params == {"lr": "0.1", "depth": "3", "name": "None"}
    client.set_terminated(run_id)
    with pytest.raises(InvalidParameter):
        client.log_param(run_id, "depth", 4)
    client.log_param(run_id, "late", True)
    assert client.get_run(run_id).data.params == {"lr": "0.1", "depth": "3", "name": "None", "late": "True"}


def test_metric_history_keeps_every_point_with_steps_and_timestamps(client: TrackingClient) -> None:
    run_id = _new_run(client)
    before = int(time.time() * 1000)
    client.log_metric(run_id, "loss", 0.9)
    client.log_metric(run_id, "loss", 0.5, step=1, timestamp=123)
    client.log_metric(run_id, "loss", 0.7, step=1, timestamp=124)
    history = client.get_metric_history(run_id, "loss")
    logged = [(0.9, 0), (0.5, 1), (0.7, 1)]
    # local stores keep logging order; MLflow's server returns a history by (timestamp, step)
    by_time = getattr(client.store, "history_order", "logged") == "timestamp"
    assert [(m.value, m.step) for m in history] == ([logged[1], logged[2], logged[0]] if by_time else logged)
    stamps = {m.value: m.timestamp for m in history}
    assert stamps[0.9] >= before
    assert (stamps[0.5], stamps[0.7]) == (123, 124)
    # the latest value is the one at the highest step, then the latest timestamp
    assert client.get_run(run_id).data.metrics["loss"] == 0.7
    assert client.get_metric_history(run_id, "missing") == []


def test_nan_and_infinities_are_kept(client: TrackingClient) -> None:
    run_id = _new_run(client)
    for step, value in enumerate([float("nan"), float("inf"), float("-inf")]):
        client.log_metric(run_id, "odd", value, step=step)
    client.log_metric(run_id, "nan_only", float("nan"))
    client.set_terminated(run_id)
    values = [m.value for m in client.get_metric_history(run_id, "odd")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]
    metrics = client.get_run(run_id).data.metrics
    assert metrics["odd"] == -math.inf
    assert math.isnan(metrics["nan_only"])


def test_numpy_scalars_are_accepted(client: TrackingClient) -> None:
    run_id = _new_run(client)
    client.log_metric(run_id, "f32", np.float32(0.5), step=np.int64(3))
    client.log_metric(run_id, "i64", np.int64(7))
    client.log_param(run_id, "np", np.float64(0.25))
    client.set_tag(run_id, "arr", np.array([1, 2]))
    run = client.get_run(run_id)
    assert run.data.metrics == {"f32": 0.5, "i64": 7.0}
    assert type(run.data.metrics["i64"]) is float
    assert client.get_metric_history(run_id, "f32")[0].step == 3
    assert run.data.params == {"np": "0.25"}
    assert run.data.tags["arr"] == "[1 2]"


def test_log_batch_writes_metrics_params_and_tags(client: TrackingClient) -> None:
    run_id = _new_run(client)
    client.log_batch(
        run_id,
        metrics=[Metric("a", 1.0, 1, 0), Metric("a", 2.0, 2, 1)],
        params=[Param("p", "x")],
        tags=[RunTag("t", "y")],
    )
    run = client.get_run(run_id)
    assert run.data.metrics == {"a": 2.0}
    assert run.data.params == {"p": "x"}
    assert run.data.tags["t"] == "y"


def test_set_and_delete_tags_before_and_after_the_run_ends(client: TrackingClient) -> None:
    run_id = _new_run(client)
    client.set_tag(run_id, "a", 1)
    client.set_tag(run_id, "b", "x")
    client.set_tag(run_id, "a", "2")  # tags may change
    client.delete_tag(run_id, "b")
    assert {k: v for k, v in client.get_run(run_id).data.tags.items() if not k.startswith("mlflow.")} == {"a": "2"}
    with pytest.raises(NotFound, match="b"):
        client.delete_tag(run_id, "b")
    client.set_terminated(run_id)
    client.delete_tag(run_id, "a")
    client.set_tag(run_id, "after", "end")
    tags = client.get_run(run_id).data.tags
    assert "a" not in tags and tags["after"] == "end"


def test_log_inputs_records_datasets_once(client: TrackingClient) -> None:
    run_id = _new_run(client)
    train = DatasetInput(Dataset("iris", "abc123", schema="{}"), (InputTag("mlflow.data.context", "train"),))
    client.log_inputs(run_id, [train])
    client.log_inputs(run_id, [train])  # the same dataset and context again: kept once
    client.set_terminated(run_id)
    inputs = client.get_run(run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.digest == "abc123"
    assert inputs[0].context == "train"
    with pytest.raises(InvalidParameter):
        client.log_inputs(run_id, [{"name": "x"}])  # type: ignore[list-item]


# -- validation leaves the store unchanged ---------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda c, r: c.log_param(r, "k" * 251, 1),
        lambda c, r: c.log_param(r, "bad!key", 1),
        lambda c, r: c.log_param(r, "/abs", 1),
        lambda c, r: c.log_param(r, "big", "x" * 6001),
        lambda c, r: c.log_metric(r, "m", "high"),
        lambda c, r: c.log_metric(r, "m", None),
        lambda c, r: c.log_metric(r, "m", 1j),
        lambda c, r: c.log_metric(r, "m", 1.0, step=1.5),
        lambda c, r: c.log_metric(r, "m", 1.0, timestamp="now"),
        lambda c, r: c.set_tag(r, "", "v"),
        lambda c, r: c.set_tag(r, "t", "x" * 8001),
        lambda c, r: c.log_batch(r, params=[Param("ok", "1")], metrics=[Metric("m", "nan?", 0, 0)]),  # type: ignore[arg-type]
        lambda c, r: c.log_batch(r, tags=[RunTag("ok", "1")], params=[Param("p" * 300, "1")]),
    ],
)
def test_invalid_input_raises_invalid_parameter_and_writes_nothing(client: TrackingClient, call: object) -> None:
    run_id = _new_run(client)
    client.log_param(run_id, "p", "1")
    before = client.get_run(run_id)
    with pytest.raises(InvalidParameter) as info:
        call(client, run_id)  # type: ignore[operator]
    assert isinstance(info.value, NbtrackError) and str(info.value)
    after = client.get_run(run_id)
    assert after.data == before.data
    assert client.get_metric_history(run_id, "m") == []


# -- search ----------------------------------------------------------------
def test_search_runs_newest_first_with_max_results_and_experiments(client: TrackingClient) -> None:
    exp = client.create_experiment("other")
    ids = [client.create_run("0", start_time=1000 + i).info.run_id for i in range(5)]
    elsewhere = client.create_run(exp).info.run_id
    assert [r.info.run_id for r in client.search_runs("0")] == ids[::-1]
    assert [r.info.run_id for r in client.search_runs(["0"], max_results=2)] == ids[:2:-1][:2]
    assert {r.info.run_id for r in client.search_runs(["0", exp])} == {*ids, elsewhere}
    with pytest.raises(InvalidParameter):
        client.search_runs("0", max_results=-1)


def test_default_order_breaks_start_time_ties_by_run_id(client: TrackingClient) -> None:
    # Runs started in the same millisecond, among others
    tied = [client.create_run("0", start_time=2000).info.run_id for _ in range(6)]
    older = client.create_run("0", start_time=1000).info.run_id
    newer = client.create_run("0", start_time=3000).info.run_id
    expected = [newer, *sorted(tied), older]
    assert [r.info.run_id for r in client.search_runs("0")] == expected
    assert [d["run_id"] for d in client.search_run_docs(["0"])] == expected


def test_filters_and_order_see_live_and_finished_runs(client: TrackingClient) -> None:
    # Given a finished run and a live one (its data still only in its journal)
    done = _new_run(client, run_name="done")
    client.log_param(done, "model", "rf")
    client.log_metric(done, "acc", 0.9)
    client.set_terminated(done)
    live = _new_run(client, run_name="live")
    client.log_param(live, "model", "lr")
    client.log_metric(live, "acc", 0.95)
    # When searching with a filter and an order
    by_acc = client.search_runs("0", order_by=["metrics.acc DESC"])
    live_only = client.search_runs("0", "params.model = 'lr' and attributes.status = 'RUNNING'")
    either = client.search_runs("0", "metrics.acc >= 0.9 and (params.model = 'rf' or params.model LIKE 'l%')")
    # Then the live run's journal data is searchable like a finished run's
    assert [r.info.run_id for r in by_acc] == [live, done]
    assert [r.info.run_id for r in live_only] == [live]
    assert {r.info.run_id for r in either} == {live, done}
    with pytest.raises(InvalidParameter, match=r"metrics\.acc >>"):
        client.search_runs("0", "metrics.acc >> 1")


def test_version_and_seq_cursor_move_on_every_change(client: TrackingClient) -> None:
    store = client.store
    start = store.version()
    run_id = _new_run(client)
    after_create = store.version()
    assert after_create != start
    client.set_terminated(run_id)
    after_end = store.version()
    assert after_end not in (start, after_create)
    assert store.version() == after_end  # reading changes nothing
    other = _new_run(client)
    docs = {d["run_id"]: d for d in store.search_run_docs(["0"])}
    assert docs[other]["_seq"] > docs[run_id]["_seq"] > 0


def test_all_metric_histories_of_a_run_in_one_call(client: TrackingClient) -> None:
    run_id = _new_run(client)
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.log_metric(run_id, "acc", float("nan"))
    histories = client.store.get_metric_histories(run_id)  # type: ignore[attr-defined]
    assert sorted(histories) == ["acc", "loss"]
    assert [m.step for m in histories["loss"]] == [0, 1, 2]
    assert math.isnan(histories["acc"][0].value)


def test_resumed_run_keeps_its_history_and_adds_to_it(client: TrackingClient) -> None:
    # Given a finished run with a param and two metric points
    run_id = _new_run(client)
    client.log_param(run_id, "p", 1)
    client.log_metric(run_id, "loss", 0.9, step=0)
    client.log_metric(run_id, "loss", 0.8, step=1)
    client.set_terminated(run_id)
    # When it is resumed, logged to and ended again
    client.update_run(run_id, status="RUNNING")
    client.log_metric(run_id, "loss", 0.5, step=2)
    with pytest.raises(InvalidParameter):
        client.log_param(run_id, "p", 2)
    assert client.get_run(run_id).data.metrics["loss"] == 0.5
    client.set_terminated(run_id)
    # Then everything from both lives is there
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"p": "1"}
    assert run.data.metrics == {"loss": 0.5}
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.9, 0.8, 0.5]
