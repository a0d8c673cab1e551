"""Experiment operations of :class:`~nbtrack.tracking.client.TrackingClient`."""

from __future__ import annotations

from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import Experiment, LifecycleStage, PagedList, ViewType
from nbtrack.store.base import AbstractStore
from nbtrack.tracking._paging import offset_of, page

# MLflow's order of experiments when none is asked for: newest first.
DEFAULT_EXPERIMENT_ORDER = ("creation_time DESC", "experiment_id ASC")


class ExperimentsClientMixin:
    """Create, find, search, rename, tag, delete and restore experiments."""

    _store: AbstractStore

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment.

        Parameters
        ----------
        name : str
            Free text, unique in the store (e.g. ``"/Users/me/churn"``).
        artifact_location : str, optional
            Where its runs' artifacts go; the store's ``artifacts/`` folder by default.
        tags : dict, optional
            Experiment tags (values stringified).

        Returns
        -------
        str
            The new experiment's id.

        Raises
        ------
        AlreadyExists
            The name is taken.
        InvalidParameter
            The name is empty or too long, or a tag is invalid.
        """
        v.check_args(name=name, artifact_location=artifact_location, tags=tags)
        return self._store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id.

        Parameters
        ----------
        experiment_id : str
            The experiment's id (a string of digits).

        Returns
        -------
        Experiment

        Raises
        ------
        NotFound
            No experiment has that id.
        """
        v.check_args(experiment_id=experiment_id)
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name (active or deleted), or ``None``.

        Parameters
        ----------
        name : str
            The experiment's name.

        Returns
        -------
        Experiment or None
        """
        v.check_args(name=name)
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """List experiments, newest first (MLflow's order: ``creation_time DESC, experiment_id ASC``).

        Parameters
        ----------
        view_type : int
            ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
        max_results : int, optional
            At most this many.
        filter_string : str, optional
            Over ``name`` and ``tags.*``, e.g. ``"name LIKE '%churn%'"``.
        order_by : list of str, optional
            e.g. ``["name DESC"]``.
        page_token : str, optional
            The ``token`` of a previous page.

        Returns
        -------
        PagedList of Experiment
            A list; its ``token`` is set when more experiments follow.
        """
        v.check_args(max_results=max_results, filter_string=filter_string, order_by=order_by)
        from nbtrack.query.search import compile_experiment_filter, sort_experiments

        offset = offset_of(page_token)
        experiments = self._store.search_experiments(view_type)
        predicate = compile_experiment_filter(filter_string)
        if predicate is not None:
            experiments = [e for e in experiments if predicate(e.to_dict())]
        experiments = sort_experiments(experiments, order_by or list(DEFAULT_EXPERIMENT_ORDER))
        return page(experiments, max_results, offset)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment (restore with :meth:`restore_experiment`).

        Parameters
        ----------
        experiment_id : str
            The experiment's id (a string of digits).

        Raises
        ------
        InvalidParameter
            It is the Default experiment (id ``"0"``).
        """
        v.check_args(experiment_id=experiment_id)
        self._store.update_experiment(experiment_id, lifecycle_stage=LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment.

        Parameters
        ----------
        experiment_id : str
            The experiment's id (a string of digits).
        """
        v.check_args(experiment_id=experiment_id)
        self._store.update_experiment(experiment_id, lifecycle_stage=LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment.

        Parameters
        ----------
        experiment_id : str
            The experiment's id (a string of digits).
        new_name : str
            The new name; must not be taken.
        """
        v.check_args(experiment_id=experiment_id, new_name=new_name)
        self._store.update_experiment(experiment_id, name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment.

        Parameters
        ----------
        experiment_id : str
            The experiment's id (a string of digits).
        key : str
            Tag name.
        value : Any
            Tag value (stringified).
        """
        v.check_args(experiment_id=experiment_id, key=key)
        self._store.update_experiment(experiment_id, tags={key: value})
