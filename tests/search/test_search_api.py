"""Filters and orderings through the public API, on the TinyDB and memory stores."""

from __future__ import annotations

import math

import pytest

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import InvalidParameter

RUN_ON_SERVER = True  # also against a real MLflow tracking server (tests/conftest.py)


def _log_run(name: str, model: str, acc: float) -> str:
    with nbtrack.start_run(run_name=name) as run:
        nbtrack.log_param("model", model)
        nbtrack.log_metric("acc", acc)
        nbtrack.set_tag("team", "ml" if model != "svm" else "research")
    return run.info.run_id


@pytest.fixture
def runs() -> dict[str, str]:
    nbtrack.set_experiment("search-api")
    return {
        "rf": _log_run("forest", "rf", 0.91),
        "lr": _log_run("logistic", "lr", 0.82),
        "svm": _log_run("vector", "svm", float("nan")),
    }


def _ids(filter_string: str = "", order_by: list[str] | None = None) -> list[str]:
    found = nbtrack.search_runs(filter_string=filter_string, order_by=order_by, output_format="list")
    return [run.info.run_id for run in found]


def test_search_runs_dataframe_with_or_and_parentheses(runs: dict[str, str]) -> None:
    # When searching with OR and parentheses on the default (TinyDB) store
    frame = nbtrack.search_runs(filter_string="(params.model = 'rf' OR params.model = 'svm') and tags.team = 'ml'")
    # Then only the matching run comes back, with MLflow's columns
    assert list(frame["run_id"]) == [runs["rf"]]
    assert frame.loc[0, "params.model"] == "rf"
    assert frame.loc[0, "metrics.acc"] == pytest.approx(0.91)


def test_search_runs_filters_metrics_numerically_and_skips_nan(runs: dict[str, str]) -> None:
    assert set(_ids("metrics.acc > 0.8")) == {runs["rf"], runs["lr"]}
    assert set(_ids("metrics.acc != 0.91")) == {runs["lr"], runs["svm"]}
    assert set(_ids("metrics.acc < 0.85 or attributes.run_name = 'vector'")) == {runs["svm"], runs["lr"]}
    frame = nbtrack.search_runs(filter_string="metrics.acc != 0")
    assert math.isnan(frame.set_index("run_id").loc[runs["svm"], "metrics.acc"])


def test_search_runs_order_by_metric_puts_nan_last(runs: dict[str, str]) -> None:
    assert _ids(order_by=["metrics.acc DESC"]) == [runs["rf"], runs["lr"], runs["svm"]]
    assert _ids(order_by=["metrics.acc"]) == [runs["lr"], runs["rf"], runs["svm"]]
    assert _ids(order_by=["params.model DESC"]) == [runs["svm"], runs["rf"], runs["lr"]]


def test_search_runs_default_order_is_newest_first() -> None:
    client = nbtrack.TrackingClient(nbtrack.get_tracking_uri())
    ids = [client.create_run("0", start_time=t).info.run_id for t in (1000, 3000, 2000)]
    found = client.search_runs(["0"])
    assert [r.info.run_id for r in found] == [ids[1], ids[2], ids[0]]


def test_search_runs_by_run_name_and_status_attributes(runs: dict[str, str]) -> None:
    assert _ids("attributes.run_name LIKE 'log%'") == [runs["lr"]]
    assert _ids("tags.`mlflow.runName` = 'forest'") == [runs["rf"]]
    assert _ids(f"run_id IN ('{runs['rf']}', '{runs['svm']}')", ["run_name"]) == [runs["rf"], runs["svm"]]
    assert len(_ids("attributes.status = 'FINISHED'")) == 3


def test_search_runs_sees_metrics_of_a_live_run() -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.25)
        assert _ids("metrics.loss < 0.5 and status = 'RUNNING'") == [run.info.run_id]
    assert _ids("metrics.loss < 0.5 and status = 'FINISHED'") == [run.info.run_id]


def test_bad_filter_through_api_raises_invalid_parameter(runs: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter, match=r"position 12: expected a comparator"):
        nbtrack.search_runs(filter_string="metrics.acc foo 3")
    with pytest.raises(InvalidParameter, match=r"order_by clause 'metrics.acc sideways'"):
        nbtrack.search_runs(order_by=["metrics.acc sideways"])


def test_datasets_filters_match_any_input(client: nbtrack.TrackingClient) -> None:
    # Given two runs, one trained on X_train and evaluated on X_test, one trained on other data
    exp = client.create_experiment("datasets")
    first = client.create_run(exp).info.run_id
    second = client.create_run(exp).info.run_id
    train = InputTag("mlflow.data.context", "train")
    client.log_inputs(
        first,
        [
            DatasetInput(Dataset(name="X_train", digest="aa11"), (train,)),
            DatasetInput(Dataset(name="X_test", digest="bb22"), (InputTag("mlflow.data.context", "eval"),)),
        ],
    )
    client.log_inputs(second, [DatasetInput(Dataset(name="frame", digest="cc33"), (train,))])

    def ids(filter_string: str) -> set[str]:
        return {r.info.run_id for r in client.search_runs([exp], filter_string)}

    # Then a run matches when any of its dataset inputs matches
    assert ids("datasets.digest = 'bb22'") == {first}
    assert ids("datasets.name = 'frame'") == {second}
    assert ids("datasets.context = 'train'") == {first, second}
    assert ids("datasets.context = 'eval' OR datasets.digest = 'cc33'") == {first, second}
    assert ids("datasets.name LIKE 'X\\_%' and datasets.context = 'train'") == set()
    assert ids("datasets.name LIKE 'X_%' and datasets.context = 'train'") == {first}
    assert ids("datasets.digest IN ('aa11', 'zz')") == {first}
    # and a run without datasets never matches
    third = client.create_run(exp).info.run_id
    assert third not in ids("datasets.name != 'nothing'")


def test_both_stores_filter_and_order_alike(client: nbtrack.TrackingClient) -> None:
    exp = client.create_experiment("stores")
    ids = []
    for i, (model, acc) in enumerate([("rf", 0.9), ("lr", 0.7), ("rf", 0.8)]):
        run_id = client.create_run(exp, start_time=1000 + i).info.run_id
        client.log_param(run_id, "model", model)
        client.log_metric(run_id, "acc", acc)
        client.set_terminated(run_id)
        ids.append(run_id)
    found = client.search_runs([exp], "params.model = 'rf' or metrics.acc < 0.75", order_by=["metrics.acc"])
    assert [r.info.run_id for r in found] == [ids[1], ids[2], ids[0]]
    found = client.search_runs([exp], "params.model = 'rf'", order_by=["params.model", "start_time ASC"])
    assert [r.info.run_id for r in found] == [ids[0], ids[2]]


def test_search_experiments_filter_and_order(client: nbtrack.TrackingClient) -> None:
    client.create_experiment("/Users/ada/churn", tags={"team": "ml"})
    client.create_experiment("/Users/bob/churn-v2", tags={"team": "research"})
    client.create_experiment("pricing")

    def names(filter_string: str | None = None, order_by: list[str] | None = None) -> list[str]:
        return [e.name for e in client.search_experiments(filter_string=filter_string, order_by=order_by)]

    assert names("name LIKE '%churn%'", ["name DESC"]) == ["/Users/bob/churn-v2", "/Users/ada/churn"]
    assert names("tags.team = 'ml' or name = 'pricing'", ["name"]) == ["/Users/ada/churn", "pricing"]
    assert names("attributes.name ILIKE 'PRICING'") == ["pricing"]
    assert names("tags.team IS NULL", ["experiment_id DESC"]) == ["pricing", "Default"]
    newest_first = client.search_experiments(order_by=["creation_time DESC", "name"])
    assert newest_first == sorted(newest_first, key=lambda e: (-(e.creation_time or 0), e.name))
    with pytest.raises(InvalidParameter, match="unknown attribute 'colour'"):
        names("colour = 'red'")
