"""What a sync reads: an nbtrack store (any URI), or MLflow's own ``mlruns/`` folder or SQL database.

Both kinds answer the same few questions (experiments, runs as documents, full metric
histories, a run's files, registered models and versions), so the copier does not care
where the data comes from.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from nbtrack.entities import Experiment, Metric, ModelVersion, RegisteredModel, ViewType
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking.client import TrackingClient


class Source(Protocol):
    """A store a sync copies from."""

    label: str

    def experiments(self) -> list[Experiment]: ...

    def runs(self, experiment_id: str) -> list[dict[str, Any]]: ...

    def histories(self, run_id: str, doc: dict[str, Any]) -> dict[str, list[Metric]]: ...

    def artifacts(self, run_id: str) -> AbstractContextManager[Path | None]: ...

    def models(self) -> list[RegisteredModel]: ...

    def versions(self, name: str) -> list[ModelVersion]: ...


class StoreSource:
    """An nbtrack store: a folder, ``memory:`` or a tracking server."""

    def __init__(self, client: TrackingClient) -> None:
        self.client = client
        self.label = client.tracking_uri

    def experiments(self) -> list[Experiment]:
        return self.client.search_experiments(view_type=ViewType.ALL)

    def runs(self, experiment_id: str) -> list[dict[str, Any]]:
        docs = self.client.search_run_docs([experiment_id], None, ViewType.ALL, None, None)
        return sorted(docs, key=lambda d: (d["start_time"], d["run_id"]))

    def histories(self, run_id: str, doc: dict[str, Any]) -> dict[str, list[Metric]]:
        if not doc.get("metrics"):
            return {}
        return self.client.get_metric_histories(run_id)

    @contextmanager
    def artifacts(self, run_id: str) -> Iterator[Path | None]:
        if self.client.store_root is not None:
            folder = self.client.artifact_dir(run_id)
            yield folder if any(folder.iterdir()) else None
            return
        if not self.client.list_artifacts(run_id):
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="nbtrack-sync-") as tmp:
            self.client.download_artifacts(run_id, "", tmp)
            yield _only_child(Path(tmp))

    def models(self) -> list[RegisteredModel]:
        return sorted(self.client.search_registered_models(), key=lambda m: m.name)

    def versions(self, name: str) -> list[ModelVersion]:
        escaped = name.replace("'", "\\'")
        return sorted(self.client.search_model_versions(f"name = '{escaped}'"), key=lambda mv: int(mv.version))


def _only_child(folder: Path) -> Path:
    """``download_artifacts`` may nest the files in a folder named after the root: return the files' folder."""
    children = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(children) == 1 and children[0].is_dir() and children[0].name in ("artifacts", ""):
        return children[0]
    return folder


class MlflowSource:
    """MLflow's own local stores, read with MLflow's client: an ``mlruns/`` folder or a ``sqlite:///`` database."""

    def __init__(self, uri: str) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise NbtrackError(
                f"Reading MLflow's store {uri!r} needs MLflow's client library: pip install \"nbtrack[server]\"."
            ) from exc
        self.label = uri
        if uri.startswith("file:"):
            # MLflow 3 keeps its folder store for reading old data only behind this switch: reading is all we do.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self._c = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def experiments(self) -> list[Experiment]:
        from mlflow.entities import ViewType as MlflowViewType

        out = []
        for e in self._c.search_experiments(view_type=MlflowViewType.ALL, max_results=50_000):
            out.append(
                Experiment(
                    e.experiment_id,
                    e.name,
                    e.artifact_location,
                    e.lifecycle_stage,
                    dict(e.tags),
                    e.creation_time,
                    e.last_update_time,
                )
            )
        return sorted(out, key=lambda e: (len(e.experiment_id), e.experiment_id))

    def runs(self, experiment_id: str) -> list[dict[str, Any]]:
        from mlflow.entities import ViewType as MlflowViewType

        docs: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._c.search_runs(
                [experiment_id], run_view_type=MlflowViewType.ALL, max_results=50_000, page_token=token
            )
            docs.extend(_doc_of(r) for r in page)
            token = page.token
            if not token:
                break
        return sorted(docs, key=lambda d: (d["start_time"], d["run_id"]))

    def histories(self, run_id: str, doc: dict[str, Any]) -> dict[str, list[Metric]]:
        return {
            key: [
                Metric(m.key, float(m.value), int(m.timestamp), int(m.step))
                for m in self._c.get_metric_history(run_id, key)
            ]
            for key in doc.get("metrics", {})
        }

    @contextmanager
    def artifacts(self, run_id: str) -> Iterator[Path | None]:
        if not self._c.list_artifacts(run_id):
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="nbtrack-sync-") as tmp:
            self._c.download_artifacts(run_id, "", tmp)
            yield _only_child(Path(tmp))

    def models(self) -> list[RegisteredModel]:
        out = []
        for m in self._c.search_registered_models(max_results=1000):
            out.append(
                RegisteredModel(
                    m.name,
                    m.creation_timestamp or 0,
                    m.last_updated_timestamp or 0,
                    m.description or "",
                    (),
                    dict(m.tags),
                    {str(a): str(v) for a, v in (m.aliases or {}).items()},
                )
            )
        return sorted(out, key=lambda m: m.name)

    def versions(self, name: str) -> list[ModelVersion]:
        escaped = name.replace("'", "\\'")
        out = []
        for mv in self._c.search_model_versions(f"name = '{escaped}'"):
            out.append(
                ModelVersion(
                    mv.name,
                    str(mv.version),
                    mv.creation_timestamp or 0,
                    mv.last_updated_timestamp or 0,
                    mv.current_stage or "None",
                    mv.description or "",
                    mv.user_id or "",
                    mv.source or "",
                    mv.run_id or None,
                    mv.status or "READY",
                    dict(mv.tags),
                    tuple(sorted(mv.aliases or ())),
                )
            )
        return sorted(out, key=lambda mv: int(mv.version))


def _doc_of(run: Any) -> dict[str, Any]:
    """An MLflow ``Run`` as an nbtrack run document."""
    from nbtrack._json import encode_float

    info, data = run.info, run.data
    inputs = []
    for item in getattr(run.inputs, "dataset_inputs", None) or ():
        ds = item.dataset
        inputs.append(
            {
                "dataset": {
                    "name": ds.name,
                    "digest": ds.digest,
                    "source_type": ds.source_type,
                    "source": ds.source,
                    "schema": ds.schema or "",
                    "profile": ds.profile or "",
                },
                "tags": {t.key: t.value for t in item.tags},
            }
        )
    return {
        "run_id": info.run_id,
        "experiment_id": str(info.experiment_id),
        "run_name": info.run_name or "",
        "user_id": info.user_id or "",
        "status": info.status,
        "start_time": int(info.start_time or 0),
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
        "params": dict(data.params),
        "tags": dict(data.tags),
        "metrics": {k: encode_float(float(v)) for k, v in data.metrics.items()},
        "inputs": inputs,
    }


def is_mlflow_folder(path: Path) -> bool:
    """Whether ``path`` is an MLflow ``mlruns/`` folder (experiments as ``<id>/meta.yaml``)."""
    if not path.is_dir() or (path / "nbtrack.json").exists():
        return False
    return any(child.is_dir() and (child / "meta.yaml").is_file() for child in path.iterdir())


def open_source(uri: str) -> Source:
    """The :class:`Source` for a sync's SRC argument.

    Raises
    ------
    InvalidParameter
        ``uri`` is neither an nbtrack store nor an MLflow ``mlruns/`` folder or SQL database.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidParameter(f"Invalid sync source {uri!r}: give a store folder, a server URL or an mlruns/ folder.")
    if uri.startswith(("sqlite:", "postgresql:", "mysql:", "mssql:")):
        return MlflowSource(uri)
    local = Path(uri[len("file://") :] if uri.startswith("file://") else uri).expanduser()
    if not uri.startswith(("http://", "https://", "databricks", "memory:")):
        if not local.exists():
            raise InvalidParameter(f"Sync source {uri!r} does not exist.")
        if is_mlflow_folder(local):
            return MlflowSource(local.resolve().as_uri())
    return StoreSource(TrackingClient(uri))
