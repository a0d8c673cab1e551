"""The run filter and ordering language on hand-built run documents."""

from __future__ import annotations

from typing import Any

import pytest

from nbtrack.errors import InvalidParameter
from nbtrack.query.search import compile_run_filter, sort_runs


def _doc(run_id: str, start: int, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "run_id": run_id,
        "experiment_id": "0",
        "run_name": f"name-{run_id}",
        "user_id": "ada",
        "status": "FINISHED",
        "start_time": start,
        "end_time": start + 10,
        "artifact_uri": f"/store/artifacts/{run_id}",
        "lifecycle_stage": "active",
        "params": {},
        "tags": {"mlflow.runName": f"name-{run_id}"},
        "metrics": {},
        "metric_meta": {},
        "inputs": [],
    }
    doc.update(fields)
    return doc


def _input(name: str, digest: str, context: str) -> dict[str, Any]:
    return {
        "dataset": {"name": name, "digest": digest, "source_type": "code", "source": "", "schema": "", "profile": ""},
        "tags": {"mlflow.data.context": context},
    }


DOCS = [
    _doc(
        "a",
        100,
        metrics={"acc": 0.95, "loss": 0.1, "f1 score": 0.9},
        params={"model": "rf", "depth": "8"},
        tags={"mlflow.runName": "name-a", "team": "ML-Ops", "note": "it's"},
        inputs=[_input("X_train", "d1", "train"), _input("X_test", "d2", "eval")],
    ),
    _doc(
        "b",
        200,
        status="FAILED",
        metrics={"acc": 0.7, "loss": "NaN", "f1 score": 0.6},
        params={"model": "lr"},
        tags={"mlflow.runName": "name-b", "team": "research"},
        inputs=[_input("X_train", "d3", "train")],
    ),
    _doc(
        "c",
        300,
        status="RUNNING",
        end_time=None,
        run_name="special_run",
        metrics={"acc": -1.5e-3, "loss": "Infinity"},
        params={"model": "svm", "depth": "10"},
        tags={"mlflow.runName": "special_run"},
    ),
    _doc("d", 400, metrics={"loss": "-Infinity"}, params={"model": "rf"}, tags={}),
]


def _matches(filter_string: str) -> list[str]:
    predicate = compile_run_filter(filter_string)
    assert predicate is not None
    return [doc["run_id"] for doc in DOCS if predicate(doc)]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        # metrics compare numerically; a run without the metric never matches
        ("metrics.acc > 0.9", ["a"]),
        ("metrics.acc >= 0.7", ["a", "b"]),
        ("metrics.acc < 0", ["c"]),
        ("metrics.acc <= -0.0015", ["c"]),
        ("metrics.acc = 0.7", ["b"]),
        ("metrics.acc != 0.7", ["a", "c"]),
        ("metric.acc > 1e-1", ["a", "b"]),
        ("metrics.acc > -2E+0", ["a", "b", "c"]),
        ("metrics.acc > .5", ["a", "b"]),
        # NaN compares false except with !=; infinities compare as numbers
        ("metrics.loss > 0", ["a", "c"]),
        ("metrics.loss < 1", ["a", "d"]),
        ("metrics.loss = 0.1", ["a"]),
        ("metrics.loss != 0.1", ["b", "c", "d"]),
        ("metrics.loss > 1e308", ["c"]),
        # params and tags compare as strings
        ("params.model = 'rf'", ["a", "d"]),
        ('params.model = "rf"', ["a", "d"]),
        ("params.model != 'rf'", ["b", "c"]),
        ("params.depth = '8'", ["a"]),
        ("params.model LIKE 'r%'", ["a", "d"]),
        ("params.model LIKE '_f'", ["a", "d"]),
        ("params.model LIKE 'R%'", []),
        ("params.model ILIKE 'R%'", ["a", "d"]),
        ("params.model IN ('lr', 'svm')", ["b", "c"]),
        ("params.model NOT IN ('lr', 'svm')", ["a", "d"]),
        ("tags.team ILIKE '%ops'", ["a"]),
        ("tags.team LIKE '%ops'", []),
        ("tags.note = 'it''s'", ["a"]),
        ('tags.note = "it\'s"', ["a"]),
        ("tags.team LIKE '%.%'", []),
        # IS NULL / IS NOT NULL
        ("params.depth IS NULL", ["b", "d"]),
        ("params.depth IS NOT NULL", ["a", "c"]),
        ("metrics.acc IS NULL", ["d"]),
        ("tags.team is not null", ["a", "b"]),
        # quoted keys
        ("metrics.`f1 score` >= 0.6", ["a", "b"]),
        ('metrics."f1 score" > 0.8', ["a"]),
        ("tags.`mlflow.runName` = 'special_run'", ["c"]),
        ("tags.mlflow.runName = 'special_run'", ["c"]),
        # attributes, with or without prefix, and MLflow's aliases
        ("attributes.status = 'FAILED'", ["b"]),
        ("attribute.status != 'FINISHED'", ["b", "c"]),
        ("status IN ('FAILED', 'RUNNING')", ["b", "c"]),
        ("run_id IN ('a', 'd')", ["a", "d"]),
        ("attributes.run_id NOT IN ('a', 'd')", ["b", "c"]),
        ("attributes.run_name = 'special_run'", ["c"]),
        ("attributes.`run name` LIKE 'special%'", ["c"]),
        ("attributes.start_time >= 300", ["c", "d"]),
        ("created < 200", ["a"]),
        ("end_time > 0", ["a", "b", "d"]),
        ("user_id = 'ada'", ["a", "b", "c", "d"]),
        ("artifact_uri LIKE '%/b'", ["b"]),
        ("lifecycle_stage = 'active'", ["a", "b", "c", "d"]),
        # datasets: true when any dataset input matches
        ("datasets.name = 'X_test'", ["a"]),
        ("datasets.digest = 'd3'", ["b"]),
        ("datasets.digest IN ('d2', 'd3')", ["a", "b"]),
        ("datasets.context = 'eval'", ["a"]),
        ("datasets.context = 'train'", ["a", "b"]),
        ("datasets.name != 'X_train'", ["a"]),
        ("datasets.name LIKE 'X_%'", ["a", "b"]),
        ("dataset.digest ILIKE 'D%'", ["a", "b"]),
        # AND (any case), OR, parentheses; AND binds tighter than OR
        ("metrics.acc > 0.5 and params.model = 'lr'", ["b"]),
        ("metrics.acc > 0.5 AND params.model = 'lr' AnD status = 'FAILED'", ["b"]),
        ("params.model = 'svm' or params.model = 'lr'", ["b", "c"]),
        ("params.model = 'svm' OR metrics.acc > 0.9 OR status = 'FAILED'", ["a", "b", "c"]),
        ("params.model = 'rf' and metrics.acc > 0.9 or params.model = 'lr'", ["a", "b"]),
        ("params.model = 'lr' or params.model = 'rf' and metrics.acc > 0.9", ["a", "b"]),
        ("(params.model = 'lr' or params.model = 'rf') and metrics.loss < 1", ["a", "d"]),
        ("((params.model = 'lr'))", ["b"]),
        ("(params.model = 'rf' and (metrics.acc > 0.9 or metrics.loss < 0)) or run_id = 'c'", ["a", "c", "d"]),
        ("  metrics.acc>0.9  ", ["a"]),
        ("metrics.acc\n> 0.9\nand\tparams.model='rf'", ["a"]),
    ],
)
def test_run_filter_selects_expected_documents(filter_string: str, expected: list[str]) -> None:
    assert _matches(filter_string) == expected


@pytest.mark.parametrize("empty", [None, "", "   \n"])
def test_empty_filter_compiles_to_none(empty: str | None) -> None:
    assert compile_run_filter(empty) is None


def _holds(filter_string: str, doc: dict[str, Any]) -> bool:
    predicate = compile_run_filter(filter_string)
    assert predicate is not None
    return predicate(doc)


def test_metric_stored_as_int_and_running_document_without_end_time() -> None:
    doc = _doc("e", 1, metrics={"epochs": 3}, end_time=None)
    assert _holds("metrics.epochs = 3", doc)
    assert not _holds("end_time > 0", doc)


def test_run_name_tag_falls_back_to_run_name_attribute() -> None:
    doc = _doc("e", 1, run_name="from-attribute", tags={})
    assert _holds("tags.`mlflow.runName` = 'from-attribute'", doc)


def test_filter_string_of_wrong_type_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="must be a string"):
        compile_run_filter(42)  # type: ignore[arg-type]


def _order(order_by: list[str] | None) -> list[str]:
    return [doc["run_id"] for doc in sort_runs(list(DOCS), order_by)]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # no order_by: newest first
        (None, ["d", "c", "b", "a"]),
        ([], ["d", "c", "b", "a"]),
        (["metrics.acc"], ["c", "b", "a", "d"]),
        (["metrics.acc ASC"], ["c", "b", "a", "d"]),
        (["metrics.acc DESC"], ["a", "b", "c", "d"]),
        (["metrics.acc desc"], ["a", "b", "c", "d"]),
        # NaN ("b") sorts with the missing values, last in both directions; ±inf are numbers
        (["metrics.loss"], ["d", "a", "c", "b"]),
        (["metrics.loss DESC"], ["c", "a", "d", "b"]),
        (["metrics.`f1 score` DESC"], ["a", "b", "d", "c"]),
        # strings; ties go to start_time DESC, then run_id
        (["params.model"], ["b", "d", "a", "c"]),
        (["params.model DESC"], ["c", "d", "a", "b"]),
        (["params.depth"], ["c", "a", "d", "b"]),
        (["params.model", "metrics.acc DESC"], ["b", "a", "d", "c"]),
        (["tags.team DESC"], ["b", "a", "d", "c"]),
        (["attributes.start_time"], ["a", "b", "c", "d"]),
        (["start_time ASC"], ["a", "b", "c", "d"]),
        (["status"], ["b", "d", "a", "c"]),
        (["attributes.run_name DESC"], ["c", "d", "b", "a"]),
        (["end_time DESC"], ["d", "b", "a", "c"]),
        (["run_id DESC"], ["d", "c", "b", "a"]),
    ],
)
def test_sort_runs_follows_mlflow_semantics(order_by: list[str] | None, expected: list[str]) -> None:
    assert _order(order_by) == expected


def test_sort_ties_break_on_start_time_desc_then_run_id() -> None:
    docs = [_doc("y", 5), _doc("x", 5), _doc("z", 9)]
    assert [d["run_id"] for d in sort_runs(docs, ["params.missing"])] == ["z", "x", "y"]
    assert [d["run_id"] for d in sort_runs(docs, None)] == ["z", "x", "y"]


def test_sort_accepts_a_single_clause_string() -> None:
    assert _order("metrics.acc DESC") == ["a", "b", "c", "d"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        ("metrics.acc UP", "expected ASC, DESC or the end, got 'UP'"),
        ("bogus", "unknown attribute 'bogus'"),
        ("datasets.name", "datasets.name cannot be ordered by"),
        ("metricz.acc DESC", "unknown entity 'metricz'"),
        ("", "expected a key"),
    ],
)
def test_invalid_order_by_clause_is_named_in_the_error(clause: str, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        sort_runs(list(DOCS), [clause])
    assert f"order_by clause {clause!r}" in str(err.value)
    assert fragment in str(err.value)
