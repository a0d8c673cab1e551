"""Conversions between the store's plain documents and entities.

A run document holds ``run_id, experiment_id, run_name, user_id, status,
start_time, end_time, artifact_uri, lifecycle_stage`` plus ``params`` and
``tags`` (str → str), ``metrics`` (key → latest value), ``metric_meta``
(key → ``[timestamp, step]``) and ``inputs`` (list of ``DatasetInput.to_dict()``).
JSON has no NaN or infinity, so non-finite metric values are stored as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``; use :func:`metric_float`.
"""

from __future__ import annotations

import math
from typing import Any

from nbtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Run,
    RunData,
    RunInfo,
    RunInputs,
)


def encode_float(value: float) -> float | str:
    """Return ``value`` as JSON can hold it."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def metric_float(value: float | str | int) -> float:
    """Decode a stored metric value."""
    if isinstance(value, str):
        return float(value)
    return float(value)


def run_info_from_doc(doc: dict[str, Any]) -> RunInfo:
    """Build a :class:`RunInfo` from a run document."""
    return RunInfo(
        run_id=doc["run_id"],
        experiment_id=doc["experiment_id"],
        run_name=doc.get("run_name", ""),
        user_id=doc.get("user_id", ""),
        status=doc["status"],
        start_time=doc["start_time"],
        end_time=doc.get("end_time"),
        artifact_uri=doc.get("artifact_uri", ""),
        lifecycle_stage=doc.get("lifecycle_stage", "active"),
    )


def dataset_input_from_dict(data: dict[str, Any]) -> DatasetInput:
    """Build a :class:`DatasetInput` from its dict form."""
    ds = data["dataset"]
    return DatasetInput(
        dataset=Dataset(
            name=ds.get("name", ""),
            digest=ds.get("digest", ""),
            source_type=ds.get("source_type", "code"),
            source=ds.get("source", ""),
            schema=ds.get("schema", ""),
            profile=ds.get("profile", ""),
        ),
        tags=tuple(InputTag(k, v) for k, v in data.get("tags", {}).items()),
    )


def run_from_doc(doc: dict[str, Any]) -> Run:
    """Build a :class:`Run` from a run document."""
    return Run(
        info=run_info_from_doc(doc),
        data=RunData(
            metrics={k: metric_float(v) for k, v in doc.get("metrics", {}).items()},
            params=dict(doc.get("params", {})),
            tags=dict(doc.get("tags", {})),
        ),
        inputs=RunInputs(tuple(dataset_input_from_dict(d) for d in doc.get("inputs", ()))),
    )


def experiment_from_doc(experiment_id: str, doc: dict[str, Any]) -> Experiment:
    """Build an :class:`Experiment` from its document."""
    return Experiment(
        experiment_id=experiment_id,
        name=doc["name"],
        artifact_location=doc.get("artifact_location", ""),
        lifecycle_stage=doc.get("lifecycle_stage", "active"),
        tags=dict(doc.get("tags", {})),
        creation_time=doc.get("creation_time"),
        last_update_time=doc.get("last_update_time"),
    )
