"""``TrackingClient``: the explicit, stateless API (MLflow's ``MlflowClient`` names).

Widgets and the server extension use only this class; ``nbtrack.tracking.MlflowClient``
is the same class under MLflow's name.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbtrack import _validation as v
from nbtrack.config import get_tracking_uri
from nbtrack.entities import (
    DatasetInput,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    Tags,
    ViewType,
)
from nbtrack.errors import InvalidParameter
from nbtrack.store import get_store
from nbtrack.store.base import AbstractStore
from nbtrack.tracking._client_artifacts import ArtifactsClientMixin
from nbtrack.tracking._client_experiments import ExperimentsClientMixin
from nbtrack.tracking._context import current_user, random_run_name
from nbtrack.tracking._paging import offset_of, page
from nbtrack.tracking._registry_client import RegistryClientMixin


class TrackingClient(ExperimentsClientMixin, ArtifactsClientMixin, RegistryClientMixin):
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
        self.tracking_uri = tracking_uri or get_tracking_uri()
        self._store = store if store is not None else get_store(self.tracking_uri)

    @property
    def store(self) -> AbstractStore:
        """The store this client reads and writes (for store-level tools; the surfaces use the client's methods)."""
        return self._store

    # -- the store as the surfaces see it ----------------------------------
    @property
    def store_root(self) -> Path | None:
        """The local folder of the store, or ``None`` when it lives elsewhere (a tracking server)."""
        return self._store.root

    @property
    def read_only(self) -> bool:
        """Whether the store only reads (a read-only folder or mount): the surfaces hide their write actions."""
        return self._store.read_only

    def store_version(self) -> tuple[int, ...]:
        """A token that changes whenever anything in the store changes; cheap enough to poll.

        Returns
        -------
        tuple of int
        """
        return self._store.version()

    def search_run_docs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Search runs and return flat run documents (:mod:`nbtrack.store.documents`), the fast path of tables.

        Parameters
        ----------
        experiment_ids : list of str
            Experiments to search.
        filter_string : str, optional
            The filter language of :meth:`search_runs`.
        run_view_type : int
            :class:`ViewType` value.
        max_results : int, optional
            At most this many documents; all by default.
        order_by : list of str, optional
            As in :meth:`search_runs`; MLflow's default order (newest first) otherwise.

        Returns
        -------
        list of dict
            Documents with ``params``, ``tags``, ``metrics`` and ``metric_meta`` dicts (metric values encoded by
            :mod:`nbtrack._json`).
        """
        v.check_args(
            experiment_ids=experiment_ids, filter_string=filter_string, max_results=max_results, order_by=order_by
        )
        return self._store.search_run_docs(list(experiment_ids), filter_string, run_view_type, max_results, order_by)

    def search_run_listing(
        self,
        experiment_ids: Sequence[str],
        run_view_type: int = ViewType.ACTIVE_ONLY,
        filter_string: str | None = None,
    ) -> Any:
        """Every run of some experiments, newest first, as columns: what a table of many runs is built from.

        Over a big embedded store this reads no run document: the listing copies the store's
        column index, and builds a run's document only when asked (:meth:`RunListing.doc`).

        Parameters
        ----------
        experiment_ids : list of str
            Experiments to list.
        run_view_type : int
            :class:`ViewType` value.
        filter_string : str, optional
            Only the runs matching this filter (the language of :meth:`search_runs`).

        Returns
        -------
        nbtrack.store.listing.RunListing

        Raises
        ------
        InvalidParameter
            The filter does not parse.
        """
        v.check_args(experiment_ids=experiment_ids, filter_string=filter_string)
        return self._store.search_run_listing(list(experiment_ids), run_view_type, filter_string)

    def search_runs_frame(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> Any:
        """Search runs straight into MLflow's ``search_runs`` DataFrame (the store answers from its column index).

        Parameters
        ----------
        experiment_ids, filter_string, run_view_type, max_results, order_by
            As in :meth:`search_run_docs`.

        Returns
        -------
        pandas.DataFrame
        """
        return self._store.search_runs_frame(list(experiment_ids), filter_string, run_view_type, max_results, order_by)

    def artifact_dir(self, run_id: str) -> Path:
        """The local folder of a run's artifacts, created on demand.

        Parameters
        ----------
        run_id : str
            The run's id.

        Returns
        -------
        Path

        Raises
        ------
        NotFound
            No run has that id.
        """
        v.check_args(run_id=run_id)
        return self._store.artifact_dir(run_id)

    # -- runs -------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run.

        Parameters
        ----------
        experiment_id : str
            The experiment to create it in.
        start_time : int, optional
            Milliseconds since the epoch; now by default.
        tags : dict, optional
            Run tags; ``mlflow.runName`` and ``mlflow.user`` are honoured.
        run_name : str, optional
            A readable random name such as ``swift-otter-417`` by default.

        Returns
        -------
        Run

        Raises
        ------
        NotFound
            The experiment does not exist.
        InvalidState
            The experiment is deleted.
        """
        v.check_args(experiment_id=experiment_id)
        tags = v.validate_mapping(tags, "tags")
        run_name = v.validate_optional_text(run_name, "run_name")
        name = run_name or tags.get(Tags.RUN_NAME) or random_run_name()
        user = str(tags.get(Tags.USER) or current_user())
        return self._store.create_run(
            experiment_id=str(experiment_id),
            user_id=user,
            start_time=start_time or int(time.time() * 1000),
            tags=[RunTag(k, val) for k, val in tags.items()],
            run_name=str(name),
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its latest metrics, params, tags and inputs.

        Parameters
        ----------
        run_id : str
            The run's id.

        Returns
        -------
        Run
            A run whose process died while RUNNING is reported KILLED.

        Raises
        ------
        NotFound
            No run has that id.
        InvalidParameter
            The id is malformed.
        """
        v.check_args(run_id=run_id)
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """Return the parent of a nested run, or ``None``.

        Parameters
        ----------
        run_id : str
            The run's id.

        Returns
        -------
        Run or None
        """
        v.check_args(run_id=run_id)
        parent = self.get_run(run_id).data.tags.get(Tags.PARENT_RUN_ID)
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status or name.

        Parameters
        ----------
        run_id : str
            The run's id.
        status : str, optional
            A :class:`RunStatus` value.
        name : str, optional
            A new run name (also written to the ``mlflow.runName`` tag).
        """
        v.check_args(run_id=run_id)
        self._store.update_run_info(run_id, status=status, run_name=name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> RunInfo:
        """End a run; it is durable when this returns.

        Parameters
        ----------
        run_id : str
            The run's id.
        status : str, optional
            ``"FINISHED"`` (default), ``"FAILED"`` or ``"KILLED"``.
        end_time : int, optional
            Milliseconds since the epoch; now by default.

        Returns
        -------
        RunInfo

        Raises
        ------
        InvalidParameter
            ``status`` is not a final status.
        """
        v.check_args(run_id=run_id)
        if status is not None and not isinstance(status, str):
            raise InvalidParameter(f"status must be a string such as 'FINISHED', got {type(status).__name__}.")
        if end_time is not None:
            end_time = v.validate_timestamp(end_time)
        status = status or RunStatus.FINISHED
        if status not in RunStatus.TERMINATED:
            raise InvalidParameter(f"set_terminated needs one of {', '.join(RunStatus.TERMINATED)}, got {status!r}.")
        return self._store.update_run_info(run_id, status=status, end_time=end_time or int(time.time() * 1000))

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (it leaves searches; :meth:`restore_run` brings it back).

        Parameters
        ----------
        run_id : str
            The run's id.
        """
        v.check_args(run_id=run_id)
        self._store.set_run_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run.

        Parameters
        ----------
        run_id : str
            The run's id.
        """
        v.check_args(run_id=run_id)
        self._store.set_run_lifecycle(run_id, LifecycleStage.ACTIVE)

    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int | None = None
    ) -> None:
        """Log one metric point.

        Parameters
        ----------
        run_id : str
            The run's id.
        key : str
            Metric name: up to 250 of letters, digits, ``_ - . / :`` and spaces.
        value : float
            A real number (numpy scalars accepted); NaN and ±inf are kept.
        timestamp : int, optional
            Milliseconds since the epoch; now by default.
        step : int, optional
            0 by default.

        Raises
        ------
        InvalidParameter
            Bad key, a value that is not a number, or a bad step or timestamp; nothing is written.
        """
        v.check_args(run_id=run_id, key=key)
        ts = int(time.time() * 1000) if timestamp is None else v.validate_timestamp(timestamp)
        self._store.log_metric(run_id, Metric(key, value, ts, v.validate_step(step)))

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log a param; its value is stored as ``str(value)``.

        Parameters
        ----------
        run_id : str
            The run's id.
        key : str
            Param name (same rules as metric names).
        value : Any
            At most 6000 characters once stringified.

        Returns
        -------
        Any
            ``value``.

        Raises
        ------
        InvalidParameter
            Bad key or value, or the key already holds a different value.
        """
        v.check_args(run_id=run_id, key=key)
        self._store.log_param(run_id, Param(key, v.stringify(value)))
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set a tag on a run; its value is stored as ``str(value)``.

        Parameters
        ----------
        run_id : str
            The run's id.
        key : str
            Tag name (same rules as metric names).
        value : Any
            At most 8000 characters once stringified.
        """
        v.check_args(run_id=run_id, key=key)
        self._store.set_tag(run_id, RunTag(key, v.stringify(value)))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run.

        Parameters
        ----------
        run_id : str
            The run's id.
        key : str
            Tag name.

        Raises
        ------
        NotFound
            The run has no such tag.
        """
        v.check_args(run_id=run_id, key=key)
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log many metrics, params and tags in one write, all or nothing.

        Parameters
        ----------
        run_id : str
            The run's id.
        metrics : sequence of Metric
            Metric points.
        params : sequence of Param
            Params (values stringified).
        tags : sequence of RunTag
            Tags (values stringified).
        """
        v.check_args(run_id=run_id)
        v.validate_entities(metrics, Metric, "metrics")
        v.validate_entities(params, Param, "params")
        v.validate_entities(tags, RunTag, "tags")
        keys = [p.key for p in params]
        if len(set(keys)) != len(keys):
            seen: set[str] = set()
            dupes = [k for k in keys if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
            raise InvalidParameter(
                f"Duplicate parameter keys have been submitted: {dupes}. Please ensure the request contains only "
                "one param value per param key."
            )
        self._store.log_batch(
            run_id,
            metrics=list(metrics),
            params=[Param(p.key, v.stringify(p.value)) for p in params],
            tags=[RunTag(t.key, v.stringify(t.value)) for t in tags],
        )

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None) -> None:
        """Record datasets a run used (each dataset once per context).

        Parameters
        ----------
        run_id : str
            The run's id.
        datasets : sequence of DatasetInput, optional
            The datasets.
        """
        v.check_args(run_id=run_id)
        self._store.log_inputs(run_id, list(datasets or ()))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of a metric, in logging order.

        Parameters
        ----------
        run_id : str
            The run's id.
        key : str
            Metric name.

        Returns
        -------
        list of Metric
        """
        v.check_args(run_id=run_id, key=key)
        return self._store.get_metric_history(run_id, key)

    def get_metric_histories(self, run_id: str) -> dict[str, list[Metric]]:
        """Every metric's history of a run, in one call.

        Parameters
        ----------
        run_id : str
            The run's id.

        Returns
        -------
        dict of str to list of Metric
            Each metric key with its points in logging order.
        """
        v.check_args(run_id=run_id)
        return self._store.get_metric_histories(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
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
        page_token : str, optional
            The ``token`` of a previous page.

        Returns
        -------
        PagedList of Run
            A list; its ``token`` is set when more runs follow.

        Raises
        ------
        InvalidParameter
            The filter does not parse; the message points at the offending token.
        """
        v.check_args(
            experiment_ids=experiment_ids, filter_string=filter_string, max_results=max_results, order_by=order_by
        )
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        offset = offset_of(page_token)
        valid = isinstance(max_results, int) and not isinstance(max_results, bool) and max_results >= 0
        limit = offset + max_results + 1 if valid else max_results  # the store rejects an invalid one
        runs = self._store.search_runs(ids, filter_string or None, run_view_type, limit, order_by)
        return page(runs, max_results, offset)


MlflowClient = TrackingClient
