"""The store contract: small, MLflow-shaped, so another backend is a drop-in."""

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
    Param,
    Run,
    RunInfo,
    RunTag,
    ViewType,
)


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


class AbstractStore(ABC):
    """What every store provides. Ids are strings; missing objects raise ``NotFound``."""

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
    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Record one metric point."""
        self.log_batch(run_id, metrics=(metric,))

    def log_param(self, run_id: str, param: Param) -> None:
        """Record one param."""
        self.log_batch(run_id, params=(param,))

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Record one tag."""
        self.log_batch(run_id, tags=(tag,))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[Run]:
        """Search runs and return :class:`Run` entities."""
        from nbtrack.store._docs import run_from_doc

        docs = self.search_run_docs(experiment_ids, filter_string, run_view_type, max_results, order_by)
        return [run_from_doc(doc) for doc in docs]

    # -- artifacts (local folder by default; a server store uploads) ------
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
