"""Registry methods of the client: registered models, versions, stages, aliases and their audit trail.

:class:`RegistryClientMixin` gives :class:`~nbtrack.tracking.client.TrackingClient` (``MlflowClient``) MLflow's
registry methods over any :class:`~nbtrack.store.base.AbstractRegistryStore`. Stages and aliases both work, with
no deprecation warning. Versions are returned as :class:`~nbtrack.entities.ModelVersion` whose ``version`` is a
string, as in MLflow's entity; every method accepts versions as int or str.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import ModelVersion, PagedList, RegisteredModel, RegistryEvent
from nbtrack.errors import InvalidParameter, InvalidState
from nbtrack.query import (
    compile_model_version_filter,
    compile_registered_model_filter,
    sort_model_versions,
    sort_registered_models,
)
from nbtrack.store.base import AbstractRegistryStore, AbstractStore
from nbtrack.tracking._paging import offset_of, page
from nbtrack.tracking.model_uri import resolve_model_uri, resolve_version_source


def _max_results(max_results: Any) -> int | None:
    if max_results is None:
        return None
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0:
        raise InvalidParameter(f"max_results must be a non-negative integer, got {max_results!r}.")
    return max_results


class RegistryClientMixin:
    """Registry operations of :class:`~nbtrack.tracking.client.TrackingClient` (MLflow names)."""

    _store: AbstractStore

    @property
    def _registry(self) -> AbstractRegistryStore:
        store = self._store
        if not isinstance(store, AbstractRegistryStore):
            raise InvalidState(f"The store {store!r} has no model registry.")
        return store

    # -- registered models ------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create an empty registered model.

        Parameters
        ----------
        name : str
            Model name (no ``/`` or ``@``).
        tags : dict, optional
            Tags of the model.
        description : str, optional
            Free text.

        Returns
        -------
        RegisteredModel

        Raises
        ------
        AlreadyExists
            A model of that name exists.
        """
        v.check_args(name=name, tags=tags, description=description)
        return self._registry.create_registered_model(name, tags, description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a model with its latest version per stage and its aliases; ``NotFound`` lists the models."""
        v.check_args(name=name)
        return self._registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, aliases and audit trail follow."""
        v.check_args(name=name, new_name=new_name)
        return self._registry.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a model's description."""
        v.check_args(name=name, description=description)
        return self._registry.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions and aliases (its audit trail stays readable)."""
        v.check_args(name=name)
        self._registry.delete_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a model (value stringified)."""
        v.check_args(name=name, key=key)
        self._registry.set_registered_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a model."""
        v.check_args(name=name, key=key)
        self._registry.delete_registered_model_tag(name, key)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Search registered models.

        Parameters
        ----------
        filter_string : str, optional
            e.g. ``"name = 'Churn'"`` or ``"name LIKE 'churn%'"``.
        max_results : int, optional
            At most this many models.
        order_by : list of str, optional
            e.g. ``["last_updated_timestamp DESC"]``; then by name.
        page_token : str, optional
            The ``token`` of a previous page.

        Returns
        -------
        PagedList of RegisteredModel
            A list; its ``token`` is set when more models follow.
        """
        v.check_args(filter_string=filter_string, max_results=max_results, order_by=order_by)
        limit = _max_results(max_results)
        predicate = compile_registered_model_filter(filter_string)
        models = self._registry.list_registered_models()
        if predicate is not None:
            models = [m for m in models if predicate(m.to_dict())]
        models = sort_registered_models(models, order_by)
        return page(models, limit, offset_of(page_token))

    # -- versions ---------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int | None = None,
    ) -> ModelVersion:
        """Add the next version of an existing registered model.

        Parameters
        ----------
        name : str
            The registered model (``NotFound`` if it does not exist).
        source : str
            The model folder, or a ``runs:/`` / ``models:/`` URI (resolved to its folder).
        run_id : str, optional
            The run that produced the model (taken from a ``runs:/`` source when omitted).
        tags : dict, optional
            Tags of the version.
        run_link, await_creation_for
            Accepted for MLflow compatibility; unused.
        description : str, optional
            Free text.

        Returns
        -------
        ModelVersion
        """
        v.check_args(name=name, source=source, run_id=run_id, tags=tags, description=description)
        source, run_id = self._source_of(source, run_id)
        return self._registry.create_model_version(name, source, run_id, tags, description)

    def register_model_version(self, name: str, model_uri: str, tags: dict[str, Any] | None = None) -> ModelVersion:
        """Add a version of ``name`` from a model URI, creating the registered model first if needed.

        This is what :func:`nbtrack.register_model` does; the model's number is drawn inside the store's
        transaction, so concurrent registrations never share one.

        Parameters
        ----------
        name : str
            The registered model.
        model_uri : str
            ``runs:/<run_id>/<path>``, ``models:/...`` or a local model folder.
        tags : dict, optional
            Tags of the new version.

        Returns
        -------
        ModelVersion
        """
        v.check_args(name=name, model_uri=model_uri, tags=tags)
        source, run_id = self._source_of(model_uri, None)
        return self._registry.create_model_version(name, source, run_id, tags, create_model=True)

    def _source_of(self, source: str, run_id: str | None) -> tuple[str, str | None]:
        """The version's ``source`` as MLflow records it: the ``runs:/`` URI it was registered from, or the
        ``models:/<name>/<version>`` it copies (pinned to the number, so a moved stage or alias does not move it);
        a local folder stays a path."""
        if isinstance(source, str) and source.startswith(("runs:", "models:")):
            resolved = resolve_model_uri(source, self)  # type: ignore[arg-type]
            if source.startswith("runs:") and resolved.run_id:
                pinned = f"runs:/{resolved.run_id}/{resolved.artifact_path}".rstrip("/")
            elif resolved.model_version is not None:
                pinned = f"models:/{resolved.model_version.name}/{resolved.model_version.version}"
            else:
                pinned = str(resolved.local_path)
            return pinned, run_id or resolved.run_id
        if not isinstance(source, str) or not source.strip():
            raise InvalidParameter(f"model_uri must be a non-empty string, got {source!r}.")
        resolved = resolve_model_uri(source, self)  # type: ignore[arg-type]
        return str(resolved.local_path), run_id or resolved.run_id

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Return one version; ``NotFound`` lists the versions that exist."""
        v.check_args(name=name, version=version)
        return self._registry.get_model_version(name, version)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """The folder holding a version's model files."""
        v.check_args(name=name, version=version)
        mv = self._registry.get_model_version(name, version)
        return str(resolve_version_source(mv, self).local_path)  # type: ignore[arg-type]

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        """Set a version's description."""
        v.check_args(name=name, version=version, description=description)
        return self._registry.update_model_version(name, version, description)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version and the aliases pointing at it (its number is not reused)."""
        v.check_args(name=name, version=version)
        self._registry.delete_model_version(name, version)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on a version (value stringified)."""
        v.check_args(name=name, version=version, key=key)
        self._registry.set_model_version_tag(name, version, key, value)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a version."""
        v.check_args(name=name, version=version, key=key)
        self._registry.delete_model_version_tag(name, version, key)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Search versions of all models.

        Parameters
        ----------
        filter_string : str, optional
            e.g. ``"name = 'Churn'"`` or ``"run_id = '<id>'"``.
        max_results : int, optional
            At most this many versions.
        order_by : list of str, optional
            e.g. ``["version_number DESC"]``; then by name and newest version first.
        page_token : str, optional
            The ``token`` of a previous page.

        Returns
        -------
        PagedList of ModelVersion
            A list; its ``token`` is set when more versions follow.
        """
        v.check_args(filter_string=filter_string, max_results=max_results, order_by=order_by)
        limit = _max_results(max_results)
        predicate = compile_model_version_filter(filter_string)
        versions = self._registry.list_model_versions()
        if predicate is not None:
            versions = [mv for mv in versions if predicate(mv.to_dict())]
        versions = sort_model_versions(versions, order_by)
        return page(versions, limit, offset_of(page_token))

    # -- stages -----------------------------------------------------------
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The latest version in each of ``stages`` (every stage when omitted); stages in any case."""
        v.check_args(name=name, stages=stages)
        return self._registry.get_latest_versions(name, stages)

    def get_latest_version_in_stage(self, name: str, stage: str) -> ModelVersion:
        """The latest version in one stage; ``NotFound`` lists the stages in use."""
        v.check_args(name=name, stage=stage)
        return self._registry.get_latest_version_in_stage(name, stage)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage.

        Parameters
        ----------
        name : str
            The registered model.
        version : int or str
            The version number.
        stage : str
            ``None``, ``Staging``, ``Production`` or ``Archived``, any case.
        archive_existing_versions : bool
            Move the other versions in ``stage`` to ``Archived`` (Staging and Production only).

        Returns
        -------
        ModelVersion
            The version in its new stage.

        Raises
        ------
        InvalidParameter
            Unknown stage (the message lists the valid ones), bad version, or archiving into a non-active stage.
        NotFound
            Unknown model or version.
        """
        v.check_args(name=name, version=version, stage=stage, archive_existing_versions=archive_existing_versions)
        return self._registry.transition_model_version_stage(name, version, stage, archive_existing_versions)

    # -- aliases ----------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point an alias (e.g. ``champion``) at a version; ``latest`` and ``v<number>`` are reserved."""
        v.check_args(name=name, alias=alias, version=version)
        self._registry.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; ``NotFound`` lists the aliases that exist."""
        v.check_args(name=name, alias=alias)
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; ``NotFound`` lists the aliases that exist."""
        v.check_args(name=name, alias=alias)
        return self._registry.get_model_version_by_alias(name, alias)

    # -- audit trail ------------------------------------------------------
    def get_model_version_events(self, name: str) -> list[RegistryEvent]:
        """A model's audit trail, oldest first: registrations, transitions, aliases, deletions, renames.

        Events recorded before a rename are listed under the new name; a deleted model's trail
        stays readable under its last name.
        """
        v.check_args(name=name)
        return self._registry.get_model_version_events(name)
