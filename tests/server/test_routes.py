"""The run and experiment routes of the REST API, through a real Jupyter server."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, Metric, Param
from nbtrack.errors import InvalidParameter
from nbtrack.query.search import compile_run_filter
from nbtrack.server._runs import RunIndex
from nbtrack.store.tinydb_store import TinyDBStore

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


def _finished_run(tracking: nbtrack.TrackingClient, exp_id: str, name: str, **metrics: float) -> str:
    run = tracking.create_run(exp_id, run_name=name)
    run_id = run.info.run_id
    for key, value in metrics.items():
        tracking.log_metric(run_id, key, value)
    tracking.set_terminated(run_id)
    return run_id


async def test_version_reports_package_version_and_store(api: Any, store_path: Path) -> None:
    # When the sidebar asks for the version
    body = await api("version")
    # Then it gets the package version and the store the server was configured with
    assert body == {"version": nbtrack.__version__, "store": str(store_path.resolve()), "read_only": False}


async def test_experiments_lists_active_experiments(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given two experiments besides Default, one of them deleted
    kept = tracking.create_experiment("churn")
    gone = tracking.create_experiment("old")
    tracking.delete_experiment(gone)
    # When listing experiments
    body = await api("experiments")
    # Then the active ones come back with their entity fields
    assert [(e["experiment_id"], e["name"]) for e in body["experiments"]] == [("0", "Default"), (kept, "churn")]
    assert set(body["experiments"][1]) == set(tracking.get_experiment(kept).to_dict())


async def test_runs_returns_summaries_with_non_finite_metrics_as_strings(
    api: Any, tracking: nbtrack.TrackingClient
) -> None:
    # Given a finished run with params, tags and a NaN, an inf and a finite metric
    exp = tracking.create_experiment("demo")
    run_id = tracking.create_run(exp, run_name="first").info.run_id
    tracking.log_param(run_id, "C", 0.5)
    tracking.set_tag(run_id, "team", "a")
    tracking.log_metric(run_id, "loss", float("nan"))
    tracking.log_metric(run_id, "ratio", float("inf"))
    tracking.log_metric(run_id, "acc", 0.75)
    tracking.set_terminated(run_id)
    # When listing the experiment's runs
    body = await api("runs", params={"experiment_id": exp})
    # Then the summary carries the contract's fields, NaN/inf as strings, and the paging fields
    assert body["total"] == 1 and body["next_page_token"] is None
    assert isinstance(body["cursor"], int) and body["cursor"] > 0
    (run,) = body["runs"]
    assert {k: run[k] for k in ("run_id", "run_name", "experiment_id", "status", "lifecycle_stage")} == {
        "run_id": run_id,
        "run_name": "first",
        "experiment_id": exp,
        "status": "FINISHED",
        "lifecycle_stage": "active",
    }
    assert run["start_time"] <= run["end_time"]
    assert run["metrics"] == {"loss": "NaN", "ratio": "Infinity", "acc": 0.75}
    assert run["params"] == {"C": "0.5"}
    assert run["tags"]["team"] == "a"


async def test_runs_without_experiment_id_lists_all_active_experiments(
    api: Any, tracking: nbtrack.TrackingClient
) -> None:
    # Given runs in Default and in another experiment
    a = _finished_run(tracking, "0", "in-default")
    b = _finished_run(tracking, tracking.create_experiment("other"), "in-other")
    # When listing runs with no experiment_id
    body = await api("runs")
    # Then both experiments' runs are listed
    assert {r["run_id"] for r in body["runs"]} == {a, b}


async def test_runs_pages_with_max_results_and_page_token(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given five runs
    exp = tracking.create_experiment("paging")
    ids = {_finished_run(tracking, exp, f"r{i}") for i in range(5)}
    # When walking pages of two
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"experiment_id": exp, "max_results": "2", **({"page_token": token} if token else {})}
        body = await api("runs", params=params)
        pages += 1
        assert body["total"] == 5
        seen.extend(r["run_id"] for r in body["runs"])
        token = body["next_page_token"]
        if token is None:
            break
    # Then three pages cover every run exactly once, newest first
    assert pages == 3
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    starts = [tracking.get_run(r).info.start_time for r in seen]
    assert starts == sorted(starts, reverse=True)


async def test_since_returns_only_changed_and_running_runs(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a finished run and a cursor taken after it
    exp = tracking.create_experiment("poll")
    old = _finished_run(tracking, exp, "old")
    first = await api("runs", params={"experiment_id": exp})
    cursor = first["cursor"]
    # When nothing changes
    idle = await api("runs", params={"experiment_id": exp, "since": str(cursor)})
    # Then the poll is empty and the cursor stays
    assert idle["runs"] == [] and idle["cursor"] == cursor and idle["total"] == 1
    # When a new run finishes and another one is live
    new = _finished_run(tracking, exp, "new")
    live = tracking.create_run(exp, run_name="live").info.run_id
    tracking.log_metric(live, "loss", 0.5)
    body = await api("runs", params={"experiment_id": exp, "since": str(cursor)})
    # Then only the new and the live run come back, the live one with its latest metric
    assert {r["run_id"] for r in body["runs"]} == {new, live}
    assert old not in {r["run_id"] for r in body["runs"]}
    assert body["cursor"] > cursor and body["total"] == 3
    # When the live run logs again without any other change
    tracking.log_metric(live, "loss", 0.25, step=1)
    again = await api("runs", params={"experiment_id": exp, "since": str(body["cursor"])})
    # Then the live run is still reported, with the newer value
    assert [(r["run_id"], r["metrics"]["loss"]) for r in again["runs"]] == [(live, 0.25)]
    tracking.set_terminated(live)


async def test_since_reports_deleted_runs_as_removed(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given two runs and a cursor
    exp = tracking.create_experiment("removal")
    keep = _finished_run(tracking, exp, "keep")
    drop = _finished_run(tracking, exp, "drop")
    cursor = (await api("runs", params={"experiment_id": exp}))["cursor"]
    # When one run is deleted elsewhere
    tracking.delete_run(drop)
    body = await api("runs", params={"experiment_id": exp, "since": str(cursor)})
    # Then the poll names it as removed and the total shrinks
    assert body["removed"] == [drop]
    assert body["runs"] == [] and body["total"] == 1
    assert [r["run_id"] for r in (await api("runs", params={"experiment_id": exp}))["runs"]] == [keep]


async def test_since_reports_runs_leaving_the_filter_as_removed(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given two tagged runs listed through a tag filter, and a cursor
    exp = tracking.create_experiment("filtered-poll")
    a, b = _finished_run(tracking, exp, "a"), _finished_run(tracking, exp, "b")
    for run_id in (a, b):
        tracking.set_tag(run_id, "keep", "yes")
    query = {"experiment_id": exp, "filter": "tags.keep = 'yes'"}
    first = await api("runs", params=query)
    assert first["total"] == 2
    # When one run's tag changes so that it no longer matches
    tracking.set_tag(b, "keep", "no")
    body = await api("runs", params={**query, "since": str(first["cursor"])})
    # Then the poll reports it as removed, not as a changed match
    assert body["removed"] == [b] and body["runs"] == [] and body["total"] == 1


async def test_runs_filter_and_order(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given runs with different accuracies and params
    exp = tracking.create_experiment("search")
    ids = {}
    for name, acc, depth in [("a", 0.7, "3"), ("b", 0.9, "5"), ("c", 0.8, "5"), ("d", 0.95, "8")]:
        run_id = tracking.create_run(exp, run_name=name).info.run_id
        tracking.log_metric(run_id, "acc", acc)
        tracking.log_param(run_id, "depth", depth)
        tracking.set_terminated(run_id)
        ids[name] = run_id
    # When filtering on a metric and a param, ordering by the metric
    body = await api(
        "runs",
        params={
            "experiment_id": exp,
            "filter": "metrics.acc > 0.75 and params.depth = '5'",
            "order_by": "metrics.acc DESC",
        },
    )
    # Then only the matching runs come back, best first, and total counts the matches
    assert [r["run_name"] for r in body["runs"]] == ["b", "c"]
    assert body["total"] == 2
    # When ordering by two comma-separated clauses
    body = await api("runs", params={"experiment_id": exp, "order_by": "params.depth DESC, metrics.acc ASC"})
    # Then the first clause wins and the second breaks ties
    assert [r["run_name"] for r in body["runs"]] == ["d", "c", "b", "a"]


async def test_bad_order_by_is_400_with_a_caret(api: Any) -> None:
    # When ordering by a clause that does not parse
    with pytest.raises(HTTPClientError) as err:
        await api("runs", params={"order_by": "metrics.acc SIDEWAYS"})
    # Then the answer is 400 and the message points at the offending word
    assert err.value.code == 400
    message = json.loads(err.value.response.body)["message"]
    assert "SIDEWAYS" in message and "^" in message


async def test_bad_filter_is_400_with_the_parser_message(api: Any) -> None:
    # Given a filter the parser rejects, and the parser's own message for it
    bad = "metrics.acc >>> 1"
    with pytest.raises(InvalidParameter) as expected:
        compile_run_filter(bad)
    # When listing runs with it
    with pytest.raises(HTTPClientError) as err:
        await api("runs", params={"filter": bad})
    # Then the answer is 400 with that message as JSON, caret under the offending token included
    assert err.value.code == 400
    body = json.loads(err.value.response.body)
    assert body["message"] == str(expected.value)
    assert "^" in body["message"] and body["reason"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"max_results": "many"}, "max_results"),
        ({"max_results": "0"}, "max_results"),
        ({"since": "-1"}, "since"),
        ({"page_token": "not-a-token"}, "page_token"),
        ({"experiment_id": "abc"}, "experiment id"),
    ],
)
async def test_bad_query_parameters_are_400(api: Any, params: dict[str, str], word: str) -> None:
    # When a query parameter is malformed
    with pytest.raises(HTTPClientError) as err:
        await api("runs", params=params)
    # Then the answer is a 400 JSON error naming it, without a traceback
    assert err.value.code == 400
    body = json.loads(err.value.response.body)
    assert word in body["message"] and set(body) == {"message", "reason"}


async def test_unknown_experiment_is_404(api: Any) -> None:
    # When listing runs of an experiment that does not exist
    with pytest.raises(HTTPClientError) as err:
        await api("runs", params={"experiment_id": "999"})
    # Then the answer is 404 with a JSON message
    assert err.value.code == 404
    assert "999" in json.loads(err.value.response.body)["message"]


async def test_run_detail_has_artifacts_cell_and_notebook(
    api: Any, tracking: nbtrack.TrackingClient, tmp_path: Path
) -> None:
    # Given a run as %%track records it: cell tags, a cell.py artifact, a nested artifact and a NaN metric
    run_id = tracking.create_run("0", run_name="cell run").info.run_id
    tracking.set_tag(run_id, "nbtrack.cell_source", "x = 1  # truncated")
    tracking.set_tag(run_id, "nbtrack.cell_id", "cell-42")
    tracking.set_tag(run_id, "nbtrack.notebook_path", "work/train.ipynb")
    tracking.log_text(run_id, "x = 1\ny = 2\n", "cell.py")
    tracking.log_text(run_id, "{}", "model/meta.json")
    tracking.log_metric(run_id, "loss", float("-inf"))
    tracking.set_terminated(run_id)
    # When fetching the run
    body = await api("runs", run_id)
    # Then it has the run entity, every artifact (flattened), the full cell source and the cell's location
    assert body["run"]["info"]["run_id"] == run_id
    assert body["run"]["data"]["metrics"] == {"loss": "-Infinity"}
    assert [(a["path"], a["is_dir"]) for a in body["artifacts"]] == [
        ("cell.py", False),
        ("model", True),
        ("model/meta.json", False),
    ]
    assert body["cell_source"] == "x = 1\ny = 2\n"
    assert body["notebook_path"] == "work/train.ipynb"
    assert body["cell_id"] == "cell-42"


async def test_run_detail_falls_back_to_the_cell_source_tag(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a run with the cell source tag but no cell.py
    run_id = tracking.create_run("0").info.run_id
    tracking.set_tag(run_id, "nbtrack.cell_source", "fit()")
    # When fetching it
    body = await api("runs", run_id)
    # Then the tag is the cell source, and missing cell location fields are null
    assert body["cell_source"] == "fit()"
    assert body["notebook_path"] is None and body["cell_id"] is None
    assert body["artifacts"] == []
    # And the polled list leaves the long cell text out of the run's tags
    (summary,) = (await api("runs"))["runs"]
    assert "nbtrack.cell_source" not in summary["tags"] and summary["tags"]["mlflow.runName"]
    tracking.set_terminated(run_id)


async def test_unknown_run_is_404_json(api: Any) -> None:
    # When fetching a run id that is not in the store
    with pytest.raises(HTTPClientError) as err:
        await api("runs", UNKNOWN_RUN)
    # Then the answer is 404 with a message naming it
    assert err.value.code == 404
    body = json.loads(err.value.response.body)
    assert UNKNOWN_RUN in body["message"] and body["reason"]


async def test_metric_histories(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a run with two metrics over steps, one point NaN
    run_id = tracking.create_run("0").info.run_id
    for step, value in enumerate([0.9, 0.5, float("nan")]):
        tracking.log_metric(run_id, "loss", value, step=step)
    tracking.log_metric(run_id, "acc", 0.8)
    tracking.set_terminated(run_id)
    # When fetching every history, then one key's
    every = await api("runs", run_id, "metrics")
    one = await api("runs", run_id, "metrics", "loss")
    # Then the points come in logging order, NaN as a string
    assert [p["value"] for p in every["metrics"]["loss"]] == [0.9, 0.5, "NaN"]
    assert [p["step"] for p in every["metrics"]["loss"]] == [0, 1, 2]
    assert [p["value"] for p in every["metrics"]["acc"]] == [0.8]
    assert one["history"] == every["metrics"]["loss"]
    # And an unknown key is a 404
    with pytest.raises(HTTPClientError) as err:
        await api("runs", run_id, "metrics", "nope")
    assert err.value.code == 404


async def test_delete_soft_deletes_the_run(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a finished run
    run_id = _finished_run(tracking, "0", "doomed", acc=1.0)
    # When deleting it through the API (token-authenticated, as JupyterLab's requests are)
    body = await api("runs", run_id, method="DELETE")
    # Then the store keeps it as deleted and the listing no longer shows it
    assert body == {"deleted": True}
    assert tracking.get_run(run_id).info.lifecycle_stage == "deleted"
    assert (await api("runs"))["runs"] == []


async def test_html_in_names_is_returned_verbatim(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given an experiment and a run named with HTML
    name = "<img src=x onerror=alert(1)>&\"'"
    exp = tracking.create_experiment(name)
    run_id = _finished_run(tracking, exp, name)
    # When listing them
    experiments = await api("experiments")
    runs = await api("runs", params={"experiment_id": exp})
    # Then JSON carries the exact characters (escaping is the renderer's job)
    assert name in [e["name"] for e in experiments["experiments"]]
    assert runs["runs"][0]["run_name"] == name and runs["runs"][0]["run_id"] == run_id


def test_jsonable_maps_non_finite_floats() -> None:
    from nbtrack.server._runs import jsonable

    # Given nested values with NaN and infinities
    value = {"a": [1.0, math.nan], "b": (math.inf, -math.inf), "c": "x"}
    # Then they become the JSON-safe strings, the rest unchanged
    assert jsonable(value) == {"a": [1.0, "NaN"], "b": ["Infinity", "-Infinity"], "c": "x"}


async def test_corrupt_store_is_a_json_500_without_traceback(api: Any, store_path: Path) -> None:
    # Given a store whose main file is truncated garbage
    store_path.mkdir(parents=True)
    (store_path / "nbtrack.json").write_text('{"runs": {"1": {"run_id"')
    # When the sidebar lists runs
    with pytest.raises(HTTPClientError) as err:
        await api("runs")
    # Then the answer is a 500 whose JSON message names the file, and no traceback is sent
    assert err.value.code == 500
    body = json.loads(err.value.response.body)
    assert set(body) == {"message", "reason"}
    assert "nbtrack.json" in body["message"] and "Traceback" not in body["message"]


async def test_runs_filter_on_datasets_reads_the_documents(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given two runs, one of which used a data set (the run listing's columns do not hold data sets)
    exp = tracking.create_experiment("data")
    used = tracking.create_run(exp, run_name="used").info.run_id
    tracking.log_inputs(used, [DatasetInput(Dataset("iris", "d1g35t"))])
    tracking.create_run(exp, run_name="other")
    # When the sidebar filters on the data set's name
    body = await api("runs", params={"experiment_id": exp, "filter": "datasets.name = 'iris'"})
    # Then only that run is listed
    assert [r["run_name"] for r in body["runs"]] == ["used"] and body["total"] == 1


def test_a_run_listing_page_builds_only_its_runs(tmp_path: Path) -> None:
    # Given a compacted store of 300 runs, opened by a new client (as a server starting up does)
    client = nbtrack.TrackingClient(str(tmp_path / "s"))
    for i in range(300):
        run_id = client.create_run("0", run_name=f"r{i}").info.run_id
        client.log_batch(run_id, metrics=[Metric("acc", i / 300, 0, 0)], params=[Param("depth", str(i % 3))])
        client.set_terminated(run_id)
    client.store.compact()
    fresh = nbtrack.TrackingClient(store=TinyDBStore(tmp_path / "s"))  # not the cached store object
    index = RunIndex(fresh)
    # When the first page is asked for, newest first
    page = index.query(["0"], limit=20)
    # Then it lists the newest runs, counts them all, and parsed no run document
    assert not fresh.store._b.runs.loaded
    newest = fresh.search_run_docs(["0"], max_results=20)
    assert [r["run_id"] for r in page.runs] == [d["run_id"] for d in newest]
    assert page.total == 300 and page.next_offset == 20
    # And a filtered, ordered page agrees with the store's own search
    page = index.query(["0"], filter_string="params.depth = '1'", order_by=["metrics.acc DESC"], limit=5)
    want = fresh.search_run_docs(["0"], "params.depth = '1'", order_by=["metrics.acc DESC"], max_results=5)
    assert [r["run_id"] for r in page.runs] == [d["run_id"] for d in want] and page.total == 100
