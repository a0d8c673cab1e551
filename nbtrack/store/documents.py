"""Conversions between the store's plain documents and entities.

A run document holds ``run_id, experiment_id, run_name, user_id, status,
start_time, end_time, artifact_uri, lifecycle_stage`` plus ``params`` and
``tags`` (str → str), ``metrics`` (key → latest value), ``metric_meta``
(key → ``[timestamp, step]``) and ``inputs`` (list of ``DatasetInput.to_dict()``).
JSON has no NaN or infinity, so non-finite metric values are stored as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (:mod:`nbtrack._json`); use :func:`metric_float`.

This module is the public face of the run-document format: backends produce these documents from
:meth:`~nbtrack.store.base.AbstractStore.search_run_docs`, and the query language, the DataFrame builder, the
widgets and the server read them.
"""

from __future__ import annotations

from typing import Any

from nbtrack._json import decode_float as metric_float
from nbtrack._json import encode_float
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
from nbtrack.store._snapshot import paused_gc

__all__ = [
    "dataset_input_from_dict",
    "encode_float",
    "experiment_from_doc",
    "metric_float",
    "paused_gc",
    "run_from_doc",
    "run_info_from_doc",
]


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
