"""Frozen entities that every layer above the store sees (never store documents).

Field names mirror MLflow's entities, so code written against ``mlflow.entities``
reads the same attributes here, and they are the JSON keys of the REST API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")


class _Entity:
    """Iterating an entity yields ``(field, value)`` pairs, so ``dict(run.info)`` works as in MLflow."""

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for f in fields(self):  # type: ignore[arg-type]
            yield f.name, getattr(self, f.name)

    def _listify(self, *names: str) -> None:
        # Sequences MLflow returns as lists are lists here too (stores may pass tuples).
        for name in names:
            object.__setattr__(self, name, list(getattr(self, name)))


class PagedList(list[_T], Generic[_T]):
    """One page of search results: a list, plus the ``token`` of the next page (``None`` on the last page).

    Parameters
    ----------
    items : iterable
        The page's items.
    token : str or None
        Pass it as ``page_token=`` to get the next page.
    """

    def __init__(self, items: Sequence[_T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[_T]:
        """The page's items as a plain list."""
        return list(self)


class SourceType:
    """Where a run's code came from (``mlflow.source.type`` tag values), as in MLflow."""

    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    UNKNOWN = "UNKNOWN"


class RunStatus:
    """The states of a run, as in MLflow."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)

    @staticmethod
    def is_terminated(status: str) -> bool:
        """Return whether ``status`` is a final state."""
        return status in RunStatus.TERMINATED


class LifecycleStage:
    """Whether an experiment or run is active or soft-deleted."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which lifecycle stages a search returns, as in MLflow."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def matches(view_type: int, lifecycle_stage: str) -> bool:
        """Return whether an object in ``lifecycle_stage`` is shown by ``view_type``."""
        if view_type == ViewType.ALL:
            return True
        if view_type == ViewType.DELETED_ONLY:
            return lifecycle_stage == LifecycleStage.DELETED
        return lifecycle_stage == LifecycleStage.ACTIVE


class Tags:
    """Every run tag key nbtrack writes or reads: MLflow's own (``mlflow.*``) and nbtrack's (``nbtrack.*``).

    Code refers to keys through these names so that the magics, the server, the widgets and the sidebar's
    ``tokens.ts`` agree on one spelling.
    """

    RUN_NAME = "mlflow.runName"
    """The run's name (MLflow)."""
    USER = "mlflow.user"
    """Who ran it (MLflow)."""
    PARENT_RUN_ID = "mlflow.parentRunId"
    """The parent of a nested run (MLflow)."""
    NOTE = "mlflow.note.content"
    """The run's description (MLflow)."""
    SOURCE_NAME = "mlflow.source.name"
    """The notebook or script (MLflow)."""
    SOURCE_TYPE = "mlflow.source.type"
    """NOTEBOOK or LOCAL (MLflow)."""
    GIT_COMMIT = "mlflow.source.git.commit"
    """The git commit of the working tree (MLflow)."""
    AUTOLOGGING = "mlflow.autologging"
    """The flavor that logged the run (MLflow)."""
    DATASET_CONTEXT = "mlflow.data.context"
    """A dataset input's role: train, eval... (MLflow input tag)."""
    LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
    """JSON list of the tables logged by ``log_table`` (MLflow)."""
    LOGGED_IMAGES = "mlflow.loggedImages"
    """``True`` once ``log_image`` logged an image over steps (MLflow)."""
    PYTHON = "nbtrack.python"
    """The Python version."""
    VERSION = "nbtrack.version"
    """Nbtrack's version."""
    PACKAGES = "nbtrack.packages"
    """Versions of the ML packages loaded."""
    CELL_SOURCE = "nbtrack.cell_source"
    """The tracked cell's code."""
    EXECUTION_COUNT = "nbtrack.execution_count"
    """The cell's execution count."""
    NOTEBOOK_PATH = "nbtrack.notebook_path"
    """The notebook's path."""
    CELL_ID = "nbtrack.cell_id"
    """The cell's id in the notebook."""
    NOTEBOOK_STATE = "nbtrack.state"
    """Warnings about the notebook's state (out-of-order cells...)."""
    WALL_TIME = "nbtrack.wall_time_s"
    """The cell's wall time in seconds."""
    CELL_OUTPUTS = "nbtrack.cell_outputs"
    """What the cell displayed."""
    STDOUT_BYTES = "nbtrack.stdout_bytes"
    """Bytes the cell printed."""
    STDERR_BYTES = "nbtrack.stderr_bytes"
    """Bytes the cell wrote to stderr."""
    EXCEPTION_TYPE = "nbtrack.exception_type"
    """The exception a failed cell raised."""
    EXCEPTION_MESSAGE = "nbtrack.exception_message"
    """Its message."""
    MODEL_DIGEST_PREFIX = "nbtrack.model_sha256."
    """+ artifact path: the SHA-256 of a logged model file."""
    SLICE_CELLS = "nbtrack.slice_cells"
    """The cells of the run's minimal code slice (JSON list)."""
    STALE = "nbtrack.stale"
    """'true' when the slice's code changed since the run."""
    STALE_REASON = "nbtrack.stale_reason"
    """What changed, in a sentence."""
    REPRODUCED_FROM = "nbtrack.reproduced_from"
    """The run a reproduction re-ran."""


@dataclass(frozen=True)
class Experiment(_Entity):
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with snake_case keys."""
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "tags": dict(self.tags),
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
        }


@dataclass(frozen=True)
class Metric(_Entity):
    """One point of a metric's history."""

    key: str
    value: float
    timestamp: int
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"key": self.key, "value": self.value, "timestamp": self.timestamp, "step": self.step}


@dataclass(frozen=True)
class Param(_Entity):
    """A run parameter; values are strings, as in MLflow."""

    key: str
    value: str


@dataclass(frozen=True)
class RunTag(_Entity):
    """A run tag; values are strings."""

    key: str
    value: str


@dataclass(frozen=True)
class ExperimentTag(_Entity):
    """An experiment tag; values are strings."""

    key: str
    value: str


@dataclass(frozen=True)
class Dataset(_Entity):
    """The fingerprint of a data set a run used (never its values)."""

    name: str
    digest: str
    source_type: str = "code"
    source: str = ""
    schema: str = ""
    profile: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }


@dataclass(frozen=True)
class InputTag(_Entity):
    """A tag on a dataset input, e.g. ``mlflow.data.context = train``."""

    key: str
    value: str


@dataclass(frozen=True)
class DatasetInput(_Entity):
    """A dataset used by a run, with its context (``train``, ``eval``...)."""

    dataset: Dataset
    tags: Sequence[InputTag] = ()

    def __post_init__(self) -> None:
        self._listify("tags")

    @property
    def context(self) -> str | None:
        """The ``mlflow.data.context`` tag, if any."""
        for tag in self.tags:
            if tag.key == "mlflow.data.context":
                return tag.value
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "dataset": self.dataset.to_dict(),
            "tags": {t.key: t.value for t in self.tags},
        }


@dataclass(frozen=True)
class RunInputs(_Entity):
    """The inputs of a run."""

    dataset_inputs: Sequence[DatasetInput] = ()

    def __post_init__(self) -> None:
        self._listify("dataset_inputs")


@dataclass(frozen=True)
class RunInfo(_Entity):
    """Metadata of a run."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:
        """MLflow's older name of :attr:`run_id`."""
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "run_name": self.run_name,
            "user_id": self.user_id,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "artifact_uri": self.artifact_uri,
            "lifecycle_stage": self.lifecycle_stage,
        }


@dataclass(frozen=True)
class RunData(_Entity):
    """Latest metric values, params and tags of a run, as plain dicts (MLflow shape)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run(_Entity):
    """A run: its :class:`RunInfo`, :class:`RunData` and :class:`RunInputs`."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``info``, ``data``, ``inputs``)."""
        return {
            "info": self.info.to_dict(),
            "data": {
                "metrics": dict(self.data.metrics),
                "params": dict(self.data.params),
                "tags": dict(self.data.tags),
            },
            "inputs": {"dataset_inputs": [d.to_dict() for d in self.inputs.dataset_inputs]},
        }

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's name of :meth:`to_dict`."""
        return self.to_dict()


class ModelVersionStage:
    """The registry's stages; input is matched case-insensitively."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"
    ALL = (NONE, STAGING, PRODUCTION, ARCHIVED)
    ACTIVE = (STAGING, PRODUCTION)

    @staticmethod
    def canonical(stage: str) -> str | None:
        """Return the canonical spelling of ``stage`` (any case), or ``None`` if it is not a stage."""
        if not isinstance(stage, str):
            return None
        return {s.lower(): s for s in ModelVersionStage.ALL}.get(stage.strip().lower())


@dataclass(frozen=True)
class ModelVersion(_Entity):
    """One version of a registered model."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str = ModelVersionStage.NONE
    description: str = ""
    user_id: str = ""
    source: str = ""
    run_id: str | None = None
    status: str = "READY"
    tags: dict[str, str] = field(default_factory=dict)
    aliases: Sequence[str] = ()

    def __post_init__(self) -> None:
        self._listify("aliases")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "version": self.version,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "current_stage": self.current_stage,
            "description": self.description,
            "user_id": self.user_id,
            "source": self.source,
            "run_id": self.run_id,
            "status": self.status,
            "tags": dict(self.tags),
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class RegisteredModel(_Entity):
    """A named model with versions."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    latest_versions: Sequence[ModelVersion] = ()
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._listify("latest_versions")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "latest_versions": [v.to_dict() for v in self.latest_versions],
            "tags": dict(self.tags),
            "aliases": dict(self.aliases),
        }


@dataclass(frozen=True)
class RegistryEvent(_Entity):
    """One entry of a registered model's audit trail.

    ``action`` is one of ``create_model``, ``register``, ``transition``, ``archive``
    (caused by ``archive_existing_versions``), ``set_alias``, ``delete_alias``,
    ``delete_version``, ``delete_model``, ``rename`` and ``update_description``;
    ``from_value`` / ``to_value`` hold the stage, alias target, name or description
    before and after. ``data_digest`` is the digest of the training data of the
    version's run (its dataset input with context ``train``), if any.
    """

    timestamp: int
    user: str
    action: str
    name: str
    version: str | None = None
    from_value: str | None = None
    to_value: str | None = None
    run_id: str | None = None
    data_digest: str | None = None
    alias: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "timestamp": self.timestamp,
            "user": self.user,
            "action": self.action,
            "name": self.name,
            "version": self.version,
            "from_value": self.from_value,
            "to_value": self.to_value,
            "run_id": self.run_id,
            "data_digest": self.data_digest,
            "alias": self.alias,
        }


@dataclass(frozen=True)
class FileInfo(_Entity):
    """An artifact: its path relative to the run's artifact root, and size."""

    path: str
    is_dir: bool
    file_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"path": self.path, "is_dir": self.is_dir, "file_size": self.file_size}


def _model_registry_module() -> None:
    """``nbtrack.entities.model_registry``, MLflow's home of the registry entities (``from mlflow.entities.model_registry
    import ModelVersion``): a module object registered under that name, holding the same classes."""
    import sys
    import types

    name = f"{__name__}.model_registry"
    if name in sys.modules:
        return
    module = types.ModuleType(name, "The registry entities under MLflow's module path.")
    for cls in (ModelVersion, RegisteredModel, ModelVersionStage, RegistryEvent):
        setattr(module, cls.__name__, cls)
    module.ModelVersionTag = RunTag  # type: ignore[attr-defined]
    module.RegisteredModelTag = RunTag  # type: ignore[attr-defined]
    sys.modules[name] = module
    globals()["model_registry"] = module


_model_registry_module()
