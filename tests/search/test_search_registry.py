"""Filters and orderings over experiments, registered models and model versions."""

from __future__ import annotations

import pytest

from nbtrack.entities import Experiment, ModelVersion, RegisteredModel
from nbtrack.errors import InvalidParameter
from nbtrack.query.search import (
    compile_experiment_filter,
    compile_model_version_filter,
    compile_registered_model_filter,
    sort_experiments,
    sort_model_versions,
    sort_registered_models,
)

VERSIONS = [
    ModelVersion("churn", "1", 10, 50, "Archived", source="runs:/r1/model", run_id="r1", tags={"ok": "yes"}),
    ModelVersion("churn", "2", 20, 40, "Production", source="runs:/r2/model", run_id="r2"),
    ModelVersion("churn", "10", 30, 30, "Staging", source="/tmp/model", run_id=None),
    ModelVersion("price", "1", 40, 20, "None", source="runs:/r4/model", run_id="r4", tags={"ok": "no"}),
]
MODELS = [
    RegisteredModel("churn", 10, 300, tags={"team": "ml"}),
    RegisteredModel("Churn-EU", 20, 100),
    RegisteredModel("price", 30, 200, tags={"team": "pricing"}),
]
EXPERIMENTS = [
    Experiment("0", "Default", "/a", creation_time=5, last_update_time=5),
    Experiment("2", "/Users/ada/churn", "/a", tags={"team": "ml"}, creation_time=30, last_update_time=31),
    Experiment("10", "pricing", "/a", creation_time=20, last_update_time=None),
]


def _versions(filter_string: str) -> list[str]:
    predicate = compile_model_version_filter(filter_string)
    assert predicate is not None
    return [f"{v.name}/{v.version}" for v in VERSIONS if predicate(v.to_dict())]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'churn'", ["churn/1", "churn/2", "churn/10"]),
        ("name LIKE 'pr%'", ["price/1"]),
        ("name ILIKE 'CHURN'", ["churn/1", "churn/2", "churn/10"]),
        # versions compare as numbers: 10 > 2
        ("name = 'churn' AND version > 2", ["churn/10"]),
        ("version_number >= 2", ["churn/2", "churn/10"]),
        ("version = 1", ["churn/1", "price/1"]),
        ("run_id IN ('r1', 'r4')", ["churn/1", "price/1"]),
        ("run_id = 'r2' or current_stage = 'Staging'", ["churn/2", "churn/10"]),
        ("current_stage != 'Archived' and name = 'churn'", ["churn/2", "churn/10"]),
        ("source LIKE 'runs:/%'", ["churn/1", "churn/2", "price/1"]),
        ("source_path = '/tmp/model'", ["churn/10"]),
        ("tags.ok = 'yes'", ["churn/1"]),
        ("tags.ok IS NULL", ["churn/2", "churn/10"]),
        ("(name = 'price' or tags.ok = 'yes') and version < 5", ["churn/1", "price/1"]),
    ],
)
def test_model_version_filter(filter_string: str, expected: list[str]) -> None:
    assert _versions(filter_string) == expected


def test_model_version_filter_errors_point_at_the_token() -> None:
    with pytest.raises(InvalidParameter, match=r"position 10: expected a number for attributes.version, got '2'"):
        compile_model_version_filter("version > '2'")
    with pytest.raises(InvalidParameter, match=r"position 0: unknown attribute 'stage'"):
        compile_model_version_filter("stage = 'Production'")
    with pytest.raises(InvalidParameter, match=r"unknown entity 'metrics'"):
        compile_model_version_filter("metrics.acc > 1")


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'churn'", ["churn"]),
        ("name != 'churn'", ["Churn-EU", "price"]),
        ("name LIKE 'churn%'", ["churn"]),
        ("name ILIKE 'churn%'", ["churn", "Churn-EU"]),
        ("tags.team = 'ml' or name LIKE '%EU'", ["churn", "Churn-EU"]),
        ("tags.team IS NOT NULL", ["churn", "price"]),
    ],
)
def test_registered_model_filter(filter_string: str, expected: list[str]) -> None:
    predicate = compile_registered_model_filter(filter_string)
    assert predicate is not None
    assert [m.name for m in MODELS if predicate(m.to_dict())] == expected


def test_registered_model_filter_rejects_ordering_on_name() -> None:
    with pytest.raises(InvalidParameter, match=r"position 5: attributes.name \(string\) does not support <"):
        compile_registered_model_filter("name < 'b'")
    assert compile_registered_model_filter("  ") is None


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'pricing'", ["pricing"]),
        ("name LIKE '/Users/%'", ["/Users/ada/churn"]),
        ("experiment_id IN ('0', '10')", ["Default", "pricing"]),
        ("creation_time > 10", ["/Users/ada/churn", "pricing"]),
        ("last_update_time < 10", ["Default"]),
        ("tags.team = 'ml' OR attributes.creation_time <= 5", ["Default", "/Users/ada/churn"]),
    ],
)
def test_experiment_filter(filter_string: str, expected: list[str]) -> None:
    predicate = compile_experiment_filter(filter_string)
    assert predicate is not None
    assert [e.name for e in EXPERIMENTS if predicate(e.to_dict())] == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["name"], ["/Users/ada/churn", "Default", "pricing"]),
        (["name DESC"], ["pricing", "Default", "/Users/ada/churn"]),
        # ids order as numbers: 10 after 2
        (["experiment_id"], ["Default", "/Users/ada/churn", "pricing"]),
        (["experiment_id DESC"], ["pricing", "/Users/ada/churn", "Default"]),
        (["creation_time DESC"], ["/Users/ada/churn", "pricing", "Default"]),
        # a missing last_update_time sorts last in either direction
        (["last_update_time"], ["Default", "/Users/ada/churn", "pricing"]),
        (["last_update_time DESC"], ["/Users/ada/churn", "Default", "pricing"]),
    ],
)
def test_sort_experiments(order_by: list[str], expected: list[str]) -> None:
    assert [e.name for e in sort_experiments(list(EXPERIMENTS), order_by)] == expected


def test_sort_experiments_rejects_unknown_key() -> None:
    with pytest.raises(InvalidParameter, match=r"order_by clause 'size DESC'.*unknown attribute 'size'"):
        sort_experiments(list(EXPERIMENTS), ["size DESC"])


def test_sort_registered_models_and_versions() -> None:
    assert [m.name for m in sort_registered_models(list(MODELS), None)] == ["Churn-EU", "churn", "price"]
    by_update = sort_registered_models(list(MODELS), ["last_updated_timestamp DESC"])
    assert [m.name for m in by_update] == ["churn", "price", "Churn-EU"]
    default = sort_model_versions(list(VERSIONS), None)
    assert [f"{v.name}/{v.version}" for v in default] == ["churn/10", "churn/2", "churn/1", "price/1"]
    by_version = sort_model_versions(list(VERSIONS), ["version"])
    assert [f"{v.name}/{v.version}" for v in by_version] == ["churn/1", "price/1", "churn/2", "churn/10"]
