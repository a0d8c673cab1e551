"""The store contracts: small, MLflow-shaped, so another backend is a drop-in.

:class:`AbstractStore` holds experiments and runs; :class:`AbstractRegistryStore` adds the model registry. Both
speak entities (:mod:`nbtrack.entities`) and, for searches, the run documents of :mod:`nbtrack.store.documents`.
The client (:class:`nbtrack.tracking.client.TrackingClient`) is written against these two classes only.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbtrack.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    RegistryEvent,
    Run,
    RunInfo,
    RunTag,
    ViewType,
)

#: The store folder, relative to the working directory, when neither ``set_tracking_uri`` nor an environment
#: variable chose one.
DEFAULT_STORE = ".nbtrack"


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


class AbstractStore(ABC):
    """What every store provides. Ids are strings; missing objects raise ``NotFound``."""

    #: The local folder holding the store, or ``None`` for a store that lives elsewhere (a tracking server).
    root: Path | None = None

    # -- experiments ------------------------------------------------------
    @abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; ``AlreadyExists`` if the name is taken."""

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id."""

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment of that name (active or deleted), or ``None``."""

    @abstractmethod
    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        """Return experiments, oldest first."""

    @abstractmethod
    def update_experiment(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        lifecycle_stage: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> Experiment:
        """Rename, delete/restore (lifecycle stage) or tag an experiment."""

    # -- runs -------------------------------------------------------------
    @abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag],
        run_name: str,
    ) -> Run:
        """Create a RUNNING run."""

    @abstractmethod
    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change a run's status, end time or name; a final status makes the run durable."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Return a run; ``NotFound`` if the id is unknown."""

    @abstractmethod
    def set_run_lifecycle(self, run_id: str, lifecycle_stage: str) -> None:
        """Soft-delete or restore a run."""

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Record metrics, params and tags of a run at once."""

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run; ``NotFound`` if it has none of that key."""

    @abstractmethod
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets a run used."""

    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point logged for a metric, in logging order."""

    @abstractmethod
    def search_run_docs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Search runs and return flat documents (see :func:`run_from_doc`)."""

    @abstractmethod
    def artifact_dir(self, run_id: str) -> Path:
        """The folder holding a run's artifacts (created on demand)."""

    @abstractmethod
    def version(self) -> tuple[int, ...]:
        """A token that changes whenever anything in the store changes."""

    # -- conveniences ----------------------------------------------------
    @property
    def read_only(self) -> bool:
        """Whether this store only reads (a read-only folder or mount); writes raise."""
        return False

    def search_runs_frame(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> Any:
        """Search runs and return MLflow's ``search_runs`` pandas DataFrame.

        Parameters
        ----------
        experiment_ids, filter_string, run_view_type, max_results, order_by
            As for :meth:`search_run_docs`.

        Returns
        -------
        pandas.DataFrame
            ``run_id, experiment_id, status, artifact_uri, start_time, end_time``,
            then ``metrics.*``, ``params.*`` and ``tags.*`` columns.
        """
        from nbtrack.store.frame import runs_frame

        return runs_frame(self.search_run_docs(experiment_ids, filter_string, run_view_type, max_results, order_by))

    def search_run_listing(
        self,
        experiment_ids: Sequence[str],
        run_view_type: int = ViewType.ACTIVE_ONLY,
        filter_string: str | None = None,
    ) -> Any:
        """Every run of some experiments, newest first, as a :class:`~nbtrack.store.listing.RunListing`.

        What a table of runs needs: attributes and values as columns (sorting, counting and best
        values without a Python object per run), a run's document built when it is shown.

        Parameters
        ----------
        experiment_ids : list of str
            Experiments to list.
        run_view_type : int
            :class:`ViewType` value.
        filter_string : str, optional
            Only the runs matching this filter (the language of :meth:`search_run_docs`).

        Returns
        -------
        RunListing
            RUNNING runs with their live data.
        """
        from nbtrack.store.listing import RunListing

        return RunListing.from_docs(self.search_run_docs(experiment_ids, filter_string, run_view_type))

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Record one metric point."""
        self.log_batch(run_id, metrics=(metric,))

    def log_param(self, run_id: str, param: Param) -> None:
        """Record one param."""
        self.log_batch(run_id, params=(param,))

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Record one tag."""
        self.log_batch(run_id, tags=(tag,))

    def get_metric_histories(self, run_id: str) -> dict[str, list[Metric]]:
        """Every metric's history of a run, by key (backends may read them in one go)."""
        return {key: self.get_metric_history(run_id, key) for key in self.get_run(run_id).data.metrics}

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[Run]:
        """Search runs and return :class:`Run` entities."""
        from nbtrack.store.documents import run_from_doc

        docs = self.search_run_docs(experiment_ids, filter_string, run_view_type, max_results, order_by)
        return [run_from_doc(doc) for doc in docs]

    # -- artifacts (local folder by default; a server store uploads) ------
    def artifacts_folder(self) -> Path | None:
        """The local folder holding each run's artifact folder as ``<folder>/<run_id>/`` (``None``: none here)."""
        return None if self.root is None else self.root / "artifacts"

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Copy a local file or folder into the run's artifacts; return its artifact path.

        Raises
        ------
        InvalidParameter
            ``artifact_path`` is absolute or leaves the run's folder.
        NotFound
            ``local_path`` does not exist.
        """
        from nbtrack.store.artifacts import copy_in

        return copy_in(self.artifact_dir(run_id), local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Copy a folder's contents into the run's artifacts; return the folder's artifact path."""
        from nbtrack.store.artifacts import copy_tree_in

        return copy_tree_in(self.artifact_dir(run_id), local_dir, artifact_path)

    def write_artifact(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Write bytes to an artifact file of the run (replacing it)."""
        from nbtrack.store.artifacts import write_file

        write_file(self.artifact_dir(run_id), artifact_file, data)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The run's files and folders directly under ``path``."""
        from nbtrack.store.artifacts import list_dir

        return list_dir(self.artifact_dir(run_id), path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """A local path of an artifact (a copy under ``dst_path`` when given).

        Raises
        ------
        NotFound
            The run has no such artifact.
        """
        from nbtrack.store.artifacts import copy_out

        return copy_out(self.artifact_dir(run_id), path, dst_path, f"Run {run_id}")


class AbstractRegistryStore(ABC):
    """The model registry of a store: registered models, versions, stages, aliases and their audit trail.

    Names are validated by the store; a missing model or version raises ``NotFound``. Every change writes an
    audit event (:class:`~nbtrack.entities.RegistryEvent`) in the same transaction.
    """

    # -- registered models ------------------------------------------------
    @abstractmethod
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create an empty registered model; ``AlreadyExists`` if the name is taken."""

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model with its latest version per stage and its aliases."""

    @abstractmethod
    def list_registered_models(self) -> list[RegisteredModel]:
        """Every registered model, by name."""

    @abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model with its versions, aliases and audit trail."""

    @abstractmethod
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Change a model's description."""

    @abstractmethod
    def delete_registered_model(self, name: str) -> None:
        """Delete a model and all its versions."""

    @abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a model."""

    @abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a model."""

    # -- versions ---------------------------------------------------------
    @abstractmethod
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        create_model: bool = False,
    ) -> ModelVersion:
        """Add the next version of a model (created first when ``create_model``); numbers are never shared."""

    @abstractmethod
    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Return one version."""

    @abstractmethod
    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or of all), by model name then number."""

    @abstractmethod
    def update_model_version(self, name: str, version: int | str, description: str | None) -> ModelVersion:
        """Change a version's description."""

    @abstractmethod
    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete one version (its aliases go with it)."""

    @abstractmethod
    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on a version."""

    @abstractmethod
    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a version."""

    # -- stages and aliases -----------------------------------------------
    @abstractmethod
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage (or in the given stages)."""

    @abstractmethod
    def get_latest_version_in_stage(self, name: str, stage: str) -> ModelVersion:
        """The newest version in one stage; ``NotFound`` if the stage is empty."""

    @abstractmethod
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; optionally archive the other versions in that stage."""

    @abstractmethod
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point an alias at a version (moving it if it pointed elsewhere)."""

    @abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""

    @abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""

    @abstractmethod
    def get_model_version_events(self, name: str) -> list[RegistryEvent]:
        """A model's audit trail, oldest first."""
