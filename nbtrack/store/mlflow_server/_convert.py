"""MLflow REST JSON ↔ nbtrack documents and entities.

Run documents have the shape of the embedded store's (see ``nbtrack.store.documents``), so
search, the frame builder, widgets and routes read them alike. MLflow's SQL stores keep
±infinity as ±1.7976931348623157e308; those values are read back as infinities.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from nbtrack._json import encode_float
from nbtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    ModelVersion,
    RegisteredModel,
)

_MAX = sys.float_info.max


def number(value: Any) -> float:
    """A metric value from JSON (``"NaN"``/``"Infinity"`` strings, the SQL stores' stand-ins for inf)."""
    x = float(value)
    if x == _MAX:
        return math.inf
    if x == -_MAX:
        return -math.inf
    return x


def integer(value: Any, default: int | None = 0) -> int | None:
    """An int64 field (JSON numbers or strings)."""
    if value is None or value == "":
        return default
    return int(value)


def kv(items: list[dict[str, Any]] | None) -> dict[str, str]:
    """``[{key, value}]`` as a dict."""
    return {str(i["key"]): str(i.get("value", "")) for i in items or ()}


def metric_json(m: Metric) -> dict[str, Any]:
    """A metric point as the REST API takes it."""
    return {"key": m.key, "value": encode_float(float(m.value)), "timestamp": int(m.timestamp), "step": int(m.step)}


def metric_from_json(item: dict[str, Any]) -> Metric:
    """A metric point from the REST API."""
    return Metric(
        str(item["key"]),
        number(item.get("value", 0.0)),
        integer(item.get("timestamp")) or 0,
        integer(item.get("step")) or 0,
    )


def experiment_from_json(item: dict[str, Any]) -> Experiment:
    """An :class:`Experiment` from the REST API."""
    return Experiment(
        experiment_id=str(item["experiment_id"]),
        name=str(item["name"]),
        artifact_location=str(item.get("artifact_location", "")),
        lifecycle_stage=str(item.get("lifecycle_stage", "active")),
        tags=kv(item.get("tags")),
        creation_time=integer(item.get("creation_time"), None),
        last_update_time=integer(item.get("last_update_time"), None),
    )


def input_dict(item: dict[str, Any]) -> dict[str, Any]:
    """A dataset input from the REST API as ``DatasetInput.to_dict()`` shapes it."""
    ds = item.get("dataset", {})
    return {
        "dataset": {
            "name": ds.get("name", ""),
            "digest": ds.get("digest", ""),
            "source_type": ds.get("source_type", "code"),
            "source": ds.get("source", ""),
            "schema": ds.get("schema", ""),
            "profile": ds.get("profile", ""),
        },
        "tags": kv(item.get("tags")),
    }


def input_json(item: DatasetInput) -> dict[str, Any]:
    """A dataset input as the REST API takes it."""
    ds: Dataset = item.dataset
    dataset = {"name": ds.name, "digest": ds.digest, "source_type": ds.source_type, "source": ds.source}
    if ds.schema:
        dataset["schema"] = ds.schema
    if ds.profile:
        dataset["profile"] = ds.profile
    return {"tags": [{"key": t.key, "value": t.value} for t in item.tags], "dataset": dataset}


def run_doc(item: dict[str, Any]) -> dict[str, Any]:
    """A run from the REST API as a flat run document."""
    info = item.get("info", {})
    data = item.get("data", {})
    metrics: dict[str, Any] = {}
    meta: dict[str, list[int]] = {}
    for m in data.get("metrics") or ():
        key = str(m["key"])
        metrics[key] = encode_float(number(m.get("value", 0.0)))
        meta[key] = [integer(m.get("timestamp")) or 0, integer(m.get("step")) or 0]
    run_id = str(info.get("run_id") or info.get("run_uuid"))
    tags = kv(data.get("tags"))
    return {
        "run_id": run_id,
        "experiment_id": str(info.get("experiment_id", "0")),
        "run_name": str(info.get("run_name") or tags.get("mlflow.runName", "")),
        "user_id": str(info.get("user_id", "")),
        "status": str(info.get("status", "RUNNING")),
        "start_time": integer(info.get("start_time")),
        "end_time": integer(info.get("end_time"), None),
        "artifact_uri": str(info.get("artifact_uri", "")),
        "lifecycle_stage": str(info.get("lifecycle_stage", "active")),
        "params": kv(data.get("params")),
        "tags": tags,
        "metrics": metrics,
        "metric_meta": meta,
        "inputs": [input_dict(i) for i in (item.get("inputs") or {}).get("dataset_inputs") or ()],
    }


def dataset_input(data: dict[str, Any]) -> DatasetInput:
    """A :class:`DatasetInput` from its dict form."""
    ds = data["dataset"]
    return DatasetInput(
        Dataset(ds["name"], ds["digest"], ds["source_type"], ds["source"], ds["schema"], ds["profile"]),
        tuple(InputTag(k, v) for k, v in data["tags"].items()),
    )


def version_from_json(item: dict[str, Any], aliases: tuple[str, ...] | None = None) -> ModelVersion:
    """A :class:`ModelVersion` from the REST API."""
    return ModelVersion(
        name=str(item["name"]),
        version=str(item["version"]),
        creation_timestamp=integer(item.get("creation_timestamp")) or 0,
        last_updated_timestamp=integer(item.get("last_updated_timestamp")) or 0,
        current_stage=str(item.get("current_stage", "None")),
        description=str(item.get("description", "")),
        user_id=str(item.get("user_id", "")),
        source=str(item.get("source", "")),
        run_id=str(item["run_id"]) if item.get("run_id") else None,
        status=str(item.get("status", "READY")),
        tags={k: v for k, v in kv(item.get("tags")).items() if not k.startswith("nbtrack.audit")},
        aliases=tuple(sorted(item.get("aliases") or ())) if aliases is None else aliases,
    )


def model_from_json(item: dict[str, Any]) -> RegisteredModel:
    """A :class:`RegisteredModel` from the REST API (``latest_versions``: one per stage, by stage order)."""
    aliases = {str(a["alias"]): str(a["version"]) for a in item.get("aliases") or ()}
    by_version: dict[str, list[str]] = {}
    for alias, number_ in aliases.items():
        by_version.setdefault(number_, []).append(alias)
    order = {"None": 0, "Staging": 1, "Production": 2, "Archived": 3}
    latest = sorted(item.get("latest_versions") or (), key=lambda v: order.get(str(v.get("current_stage")), 9))
    return RegisteredModel(
        name=str(item["name"]),
        creation_timestamp=integer(item.get("creation_timestamp")) or 0,
        last_updated_timestamp=integer(item.get("last_updated_timestamp")) or 0,
        description=str(item.get("description", "")),
        latest_versions=tuple(
            version_from_json(v, tuple(sorted(by_version.get(str(v["version"]), ())))) for v in latest
        ),
        tags={k: v for k, v in kv(item.get("tags")).items() if not k.startswith("nbtrack.")},
        aliases=dict(sorted(aliases.items())),
    )
