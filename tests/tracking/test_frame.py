"""The ``search_runs`` DataFrame builder against a plain cell-by-cell reference."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.tracking._frame import runs_frame

_INFO = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def _reference(docs: list[dict[str, Any]]) -> pd.DataFrame:
    """The frame built the obvious way: one ``dict.get`` per cell."""
    data: dict[str, Any] = {name: [d.get(name) for d in docs] for name in _INFO}
    for name in ("start_time", "end_time"):
        data[name] = pd.to_datetime(data[name], unit="ms", utc=True)
    for field in ("metrics", "params", "tags"):
        dicts = [d.get(field) or {} for d in docs]
        keys: set[str] = set().union(*dicts) if dicts else set()
        for key in sorted(keys):
            values = [d.get(key) for d in dicts]
            data[f"{field}.{key}"] = np.array(values, dtype=np.float64) if field == "metrics" else values
    return pd.DataFrame(data, index=pd.RangeIndex(len(docs)))


def _doc(i: int, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "run_id": f"{i:032x}",
        "experiment_id": "0",
        "status": "FINISHED",
        "artifact_uri": f"/a/{i}",
        "start_time": 1_700_000_000_000 + i,
        "end_time": 1_700_000_000_500 + i,
        "lifecycle_stage": "active",
        "params": {"lr": str(i), "depth": "3"},
        "metrics": {"acc": i / 10, "loss": "NaN"},
        "tags": {"mlflow.runName": f"r{i}", "team": "a"},
    }
    doc.update(overrides)
    return doc


def _assert_same(docs: list[dict[str, Any]]) -> pd.DataFrame:
    got, want = runs_frame(docs), _reference(docs)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes.astype(str)) == list(want.dtypes.astype(str))
    for column in got.columns:  # missing cells are the same kind of missing (None vs NaN)
        for a, b in zip(got[column].tolist(), want[column].tolist(), strict=True):
            assert type(a) is type(b), (column, a, b)
    return got


def test_uniform_runs_match_reference() -> None:
    got = _assert_same([_doc(i) for i in range(50)])
    assert str(got["start_time"].dt.tz) == "UTC"
    assert got["metrics.loss"].isna().all() and got["metrics.acc"].dtype == np.float64


def test_mixed_keys_missing_values_and_running_runs_match_reference() -> None:
    rng = random.Random(7)
    docs = []
    for i in range(200):
        doc = _doc(i)
        # different key sets and key orders; some runs lack whole fields
        doc["params"] = {k: str(rng.random()) for k in rng.sample(["a", "b", "c", "d"], rng.randint(0, 4))}
        doc["tags"] = {k: "v" for k in rng.sample(["x", "y", "z"], rng.randint(0, 3))}
        doc["metrics"] = {
            k: rng.choice([1.5, "NaN", "Infinity", "-Infinity", 0, 2])
            for k in rng.sample(["m", "n"], rng.randint(0, 2))
        }
        if i % 17 == 0:
            doc["status"], doc["end_time"] = "RUNNING", None
        if i % 23 == 0:
            del doc["metrics"]
        if i % 29 == 0:
            doc["tags"] = None
        docs.append(doc)
    got = _assert_same(docs)
    assert got["end_time"].isna().sum() == len([d for d in docs if d["end_time"] is None])
    assert math.isinf(got["metrics.m"].max()) or got["metrics.m"].notna().any()


def test_doc_missing_an_info_key_and_all_missing_columns_match_reference() -> None:
    docs = [_doc(0), _doc(1, params={"only": "here"})]
    del docs[0]["artifact_uri"]
    docs[1]["tags"] = {}
    _assert_same(docs)
    _assert_same([_doc(0, params={}, tags={}, metrics={})])


def test_empty_matches_reference() -> None:
    got = _assert_same([])
    assert list(got.columns) == list(_INFO)


@pytest.mark.parametrize("count", [1, 3])
def test_search_runs_frame_matches_reference_on_store_docs(count: int) -> None:
    for i in range(count):
        with nbtrack.start_run():
            nbtrack.log_param("i", i)
            nbtrack.log_metric("acc", float("nan") if i == 1 else i / 10)
            if i == 0:
                nbtrack.set_tag("first", "yes")
    with nbtrack.start_run() as live:  # still running while searched
        nbtrack.log_metric("acc", 0.5)
        store = nbtrack.TrackingClient().store
        docs = store.search_run_docs(["0"])
        _assert_same(docs)
        df = nbtrack.search_runs()
        # (by its id: runs started in the same millisecond tie on the newest-first order)
        row = df[df["run_id"] == live.info.run_id].iloc[0]
        assert row["status"] == "RUNNING" and pd.isna(row["end_time"])
