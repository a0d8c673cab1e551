"""``TrackingClient``: the explicit, stateless API (MLflow's ``MlflowClient`` names).

Widgets and the server extension use only this class; ``nbtrack.tracking.MlflowClient``
is the same class under MLflow's name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.registry import RegistryClientMixin
from nbtrack.store import get_store
from nbtrack.store.base import AbstractStore
from nbtrack.tracking import _artifacts
from nbtrack.tracking._context import current_user, random_run_name


class TrackingClient(RegistryClientMixin):
    """Read and write experiments, runs, artifacts and registered models by id.

    Parameters
    ----------
    tracking_uri : str, optional
        Store folder or ``memory:``; defaults to :func:`nbtrack.get_tracking_uri`.
    store : AbstractStore, optional
        Use this store instance instead (tests, server).
    """

    def __init__(
        self, tracking_uri: str | None = None, registry_uri: str | None = None, *, store: AbstractStore | None = None
    ) -> None:
        from nbtrack.config import get_tracking_uri

        self.tracking_uri = tracking_uri or get_tracking_uri()
        self._store = store if store is not None else get_store(self.tracking_uri)

    @property
    def store(self) -> AbstractStore:
        """The store this client reads and writes."""
        return self._store

    # -- experiments ------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment; return its id. ``AlreadyExists`` if the name is taken."""
        return self._store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id; ``NotFound`` if there is none."""
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name, or ``None``."""
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
    ) -> list[Experiment]:
        """List experiments (oldest first), optionally filtered by ``name`` / ``tags.*`` expressions."""
        from nbtrack._search import compile_experiment_filter

        experiments = self._store.search_experiments(view_type)
        predicate = compile_experiment_filter(filter_string)
        if predicate is not None:
            experiments = [e for e in experiments if predicate(e.to_dict())]
        if order_by:
            from nbtrack._search import sort_experiments

            experiments = sort_experiments(experiments, order_by)
        return experiments if max_results is None else experiments[:max_results]

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment (restore with :meth:`restore_experiment`)."""
        self._store.update_experiment(experiment_id, lifecycle_stage=LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment."""
        self._store.update_experiment(experiment_id, lifecycle_stage=LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment."""
        self._store.update_experiment(experiment_id, name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment."""
        self._store.update_experiment(experiment_id, tags={key: value})

    # -- runs -------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an experiment; a readable name is drawn when none is given."""
        tags = dict(tags or {})
        name = run_name or tags.get("mlflow.runName") or random_run_name()
        user = str(tags.get("mlflow.user") or current_user())
        return self._store.create_run(
            experiment_id=str(experiment_id),
            user_id=user,
            start_time=start_time or int(time.time() * 1000),
            tags=[RunTag(k, val) for k, val in tags.items()],
            run_name=str(name),
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its latest metrics, params, tags and inputs; ``NotFound`` if unknown."""
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """Return the parent of a nested run, or ``None``."""
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status or name."""
        self._store.update_run_info(run_id, status=status, run_name=name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> RunInfo:
        """End a run (FINISHED unless ``status`` says FAILED or KILLED); it is durable on return."""
        status = status or RunStatus.FINISHED
        if status not in RunStatus.TERMINATED:
            raise InvalidParameter(f"set_terminated needs one of {', '.join(RunStatus.TERMINATED)}, got {status!r}.")
        return self._store.update_run_info(run_id, status=status, end_time=end_time or int(time.time() * 1000))

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (it disappears from searches; :meth:`restore_run` brings it back)."""
        self._store.set_run_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._store.set_run_lifecycle(run_id, LifecycleStage.ACTIVE)

    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int | None = None
    ) -> None:
        """Log one metric point (step 0 and the current time by default); NaN and ±inf are kept."""
        ts = int(time.time() * 1000) if timestamp is None else v.validate_timestamp(timestamp)
        self._store.log_metric(run_id, Metric(key, value, ts, v.validate_step(step)))

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log a param (stringified); logging a different value for the same key raises."""
        self._store.log_param(run_id, Param(key, v.stringify(value)))
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set a tag (stringified) on a run."""
        self._store.set_tag(run_id, RunTag(key, v.stringify(value)))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log many metrics, params and tags in one write."""
        self._store.log_batch(
            run_id,
            metrics=list(metrics),
            params=[Param(p.key, v.stringify(p.value)) for p in params],
            tags=[RunTag(t.key, v.stringify(t.value)) for t in tags],
        )

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None) -> None:
        """Record datasets a run used."""
        self._store.log_inputs(run_id, list(datasets or ()))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of a metric, in logging order."""
        return self._store.get_metric_history(run_id, key)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
    ) -> list[Run]:
        """Search runs with MLflow's filter language (plus ``OR`` and parentheses).

        Parameters
        ----------
        experiment_ids : str or list of str
            Experiments to search.
        filter_string : str
            e.g. ``"metrics.accuracy > 0.9 and params.max_depth = '8'"``.
        run_view_type : int
            :class:`ViewType` value.
        max_results : int
            At most this many runs.
        order_by : list of str
            e.g. ``["metrics.accuracy DESC", "attributes.start_time"]``.

        Returns
        -------
        list of Run

        Raises
        ------
        InvalidParameter
            The filter does not parse; the message points at the offending token.
        """
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        return self._store.search_runs(ids, filter_string or None, run_view_type, max_results, order_by)

    # -- artifacts --------------------------------------------------------
    def _artifact_root(self, run_id: str) -> Any:
        return self._store.artifact_dir(run_id)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy a local file or folder into the run's artifacts (under ``artifact_path``)."""
        _artifacts.log_artifact(self._artifact_root(run_id), local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy a folder's contents into the run's artifacts."""
        _artifacts.log_artifacts(self._artifact_root(run_id), local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` to an artifact file."""
        if not isinstance(text, str):
            raise InvalidParameter(f"log_text takes a str, got {type(text).__name__}.")
        _artifacts.write_bytes(self._artifact_root(run_id), artifact_file, text.encode())

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Write a dict as JSON (or YAML for ``.yaml``/``.yml``) to an artifact file."""
        _artifacts.write_bytes(
            self._artifact_root(run_id), artifact_file, _artifacts.dict_bytes(dictionary, artifact_file)
        )

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure (PNG/SVG/PDF) or plotly figure (HTML) as an artifact."""
        _artifacts.write_bytes(
            self._artifact_root(run_id), artifact_file, _artifacts.figure_bytes(figure, artifact_file)
        )

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """List a run's artifacts directly under ``path``."""
        return _artifacts.list_artifacts(self._artifact_root(run_id), path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Return a local path of an artifact (copied to ``dst_path`` when given)."""
        src = _artifacts.safe_join(self._artifact_root(run_id), path)
        if not src.exists():
            raise NotFound(f"Run {run_id} has no artifact {path!r}.")
        if dst_path is None:
            return str(src)
        dest = Path(dst_path)
        dest.mkdir(parents=True, exist_ok=True)
        return str(dest / _artifacts.log_artifact(dest, src))


MlflowClient = TrackingClient
