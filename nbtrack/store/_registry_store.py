"""Registry tables of the embedded store: registered models, versions, aliases, events.

Every change is one ``_tx()`` (one read-modify-write under the inter-process lock),
and its audit event is written in that same transaction, so a change and its event
land together or not at all. Version numbers are drawn inside the transaction, so
two processes registering at once get distinct numbers.
"""

from __future__ import annotations

from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import ModelVersion, ModelVersionStage, RegisteredModel
from nbtrack.errors import AlreadyExists, InvalidParameter, NotFound
from nbtrack.store import _registry_docs as d
from nbtrack.store._registry_docs import (
    MODELS,
    VERSIONS,
    model_doc,
    os_user,
    touch,
    version_doc,
    versions_of,
)
from nbtrack.store._registry_stages import StagesAliasesMixin
from nbtrack.store.base import now_ms


class RegistryStoreMixin(StagesAliasesMixin):
    """Registry operations of :class:`~nbtrack.store.tinydb_store.TinyDBStore` (built on its ``_tx``)."""

    # -- registered models ------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create an empty registered model; ``AlreadyExists`` if the name is taken."""
        name = d.validate_model_name(name)
        clean_tags = d.validate_tags(tags)
        text = d.validate_description(description)
        with self._tx() as tx:
            if tx.get(MODELS, name) is not None:
                raise AlreadyExists(f"Registered model {name!r} already exists; use register_model to add a version.")
            doc = self._new_model(tx, name, now_ms(), clean_tags, text)
        return d.model_from_doc(doc, ())

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model with its latest version per stage and its aliases."""
        name = d.validate_model_name(name)
        reader = self._reader()
        return d.model_from_doc(model_doc(reader, name), versions_of(reader, name))

    def list_registered_models(self) -> list[RegisteredModel]:
        """Every registered model, by name."""
        reader = self._reader()
        grouped = d.versions_by_model(reader)
        return [d.model_from_doc(doc, grouped.get(n, [])) for n, doc in sorted(reader.rows(MODELS).items())]

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model with its versions, aliases and audit trail."""
        name = d.validate_model_name(name)
        new_name = d.validate_model_name(new_name, "new registered model name")
        with self._tx() as tx:
            doc = model_doc(tx, name)
            if new_name == name:
                return d.model_from_doc(doc, versions_of(tx, name))
            if tx.get(MODELS, new_name) is not None:
                raise AlreadyExists(f"Cannot rename {name!r}: a registered model named {new_name!r} already exists.")
            ts = now_ms()
            moved = []
            for version in versions_of(tx, name):
                tx.delete(VERSIONS, d.version_key(name, version["version"]))
                moved.append({**version, "name": new_name})
            for version in moved:
                tx.put(VERSIONS, d.version_key(new_name, version["version"]), version)
            tx.delete(MODELS, name)
            new = touch(doc, ts, name=new_name)
            tx.put(MODELS, new_name, new)
            self._event(tx, new, "rename", ts, from_value=name, to_value=new_name)
        return d.model_from_doc(new, moved)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        name = d.validate_model_name(name)
        text = d.validate_description(description)
        with self._tx() as tx:
            doc = model_doc(tx, name)
            ts = now_ms()
            new = touch(doc, ts, description=text)
            tx.put(MODELS, name, new)
            if text != doc.get("description", ""):
                self._event(tx, new, "update_description", ts, from_value=doc.get("description", ""), to_value=text)
            versions = versions_of(tx, name)
        return d.model_from_doc(new, versions)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model, its versions and aliases (its audit trail stays readable)."""
        name = d.validate_model_name(name)
        with self._tx() as tx:
            doc = model_doc(tx, name)
            versions = versions_of(tx, name)
            for version in versions:
                tx.delete(VERSIONS, d.version_key(name, version["version"]))
            tx.delete(MODELS, name)
            numbers = ", ".join(str(x["version"]) for x in versions)
            self._event(tx, doc, "delete_model", now_ms(), from_value=numbers or None)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model."""
        name = d.validate_model_name(name)
        tags = d.validate_tags({key: value})
        with self._tx() as tx:
            doc = model_doc(tx, name)
            tx.put(MODELS, name, touch(doc, now_ms(), tags={**doc.get("tags", {}), **tags}))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model (no error if it has none of that key, as in MLflow)."""
        name = d.validate_model_name(name)
        key = v.validate_key(key, "tag key")
        with self._tx() as tx:
            doc = model_doc(tx, name)
            if key in doc.get("tags", {}):
                tags = {k: val for k, val in doc["tags"].items() if k != key}
                tx.put(MODELS, name, touch(doc, now_ms(), tags=tags))

    # -- versions ---------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        create_model: bool = False,
    ) -> ModelVersion:
        """Add the next version of a model (created first when ``create_model`` is true).

        The number is drawn inside the transaction: concurrent writers never share one.
        """
        name = d.validate_model_name(name)
        if not isinstance(source, str) or not source.strip():
            raise InvalidParameter(f"Invalid model source {source!r}: give the model's folder or URI.")
        if run_id is not None:
            run_id = v.validate_run_id(run_id)
        clean_tags = d.validate_tags(tags)
        text = d.validate_description(description)
        with self._tx() as tx:
            ts = now_ms()
            model = tx.get(MODELS, name)
            if model is None:
                if not create_model:
                    model_doc(tx, name)  # raises NotFound listing the models
                model = self._new_model(tx, name, ts, {}, "")
            if run_id is not None and tx.get("runs", run_id) is None:
                raise NotFound(f"Run {run_id!r} not found; a model version can only point at an existing run.")
            existing = [x["version"] for x in versions_of(tx, name)]
            number = max([int(model.get("next_version", 1)), *(n + 1 for n in existing)])
            doc = {
                "name": name,
                "version": number,
                "creation_timestamp": ts,
                "last_updated_timestamp": ts,
                "current_stage": ModelVersionStage.NONE,
                "description": text,
                "user_id": os_user(),
                "source": source,
                "run_id": run_id,
                "status": "READY",
                "tags": clean_tags,
                "data_digest": self._train_digest(tx, run_id),
            }
            tx.put(VERSIONS, d.version_key(name, number), doc)
            model = touch(model, ts, next_version=number + 1)
            tx.put(MODELS, name, model)
            self._event(tx, model, "register", ts, doc, to_value=source)
        return d.version_from_doc(doc, model.get("aliases", {}))

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Return one version; ``NotFound`` lists the versions that exist."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        reader = self._reader()
        doc = version_doc(reader, name, number)
        return d.version_from_doc(doc, model_doc(reader, name).get("aliases", {}))

    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or of all), by name then number."""
        reader = self._reader()
        if name is not None:
            name = d.validate_model_name(name)
            model_doc(reader, name)
            grouped = {name: versions_of(reader, name)}
        else:
            grouped = d.versions_by_model(reader)
        out: list[ModelVersion] = []
        for model_name, model in sorted(reader.rows(MODELS).items()):
            aliases = model.get("aliases", {})
            out.extend(d.version_from_doc(doc, aliases) for doc in grouped.get(model_name, []))
        return out

    def update_model_version(self, name: str, version: int | str, description: str | None) -> ModelVersion:
        """Set a version's description."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        text = d.validate_description(description)
        with self._tx() as tx:
            doc = version_doc(tx, name, number)
            model = model_doc(tx, name)
            ts = now_ms()
            new = touch(doc, ts, description=text)
            tx.put(VERSIONS, d.version_key(name, number), new)
            if text != doc.get("description", ""):
                self._event(tx, model, "update_description", ts, new, doc.get("description", ""), text)
        return d.version_from_doc(new, model.get("aliases", {}))

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version and the aliases pointing at it; its number is never reused."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        with self._tx() as tx:
            doc = version_doc(tx, name, number)
            model = model_doc(tx, name)
            ts = now_ms()
            aliases = dict(model.get("aliases", {}))
            for alias in sorted(a for a, n in aliases.items() if n == number):
                del aliases[alias]
                self._event(tx, model, "delete_alias", ts, doc, str(number), None, alias)
            tx.delete(VERSIONS, d.version_key(name, number))
            model = touch(model, ts, aliases=aliases)
            tx.put(MODELS, name, model)
            self._event(tx, model, "delete_version", ts, doc, from_value=doc.get("current_stage"))

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on a version."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        tags = d.validate_tags({key: value})
        with self._tx() as tx:
            doc = version_doc(tx, name, number)
            tx.put(VERSIONS, d.version_key(name, number), touch(doc, now_ms(), tags={**doc["tags"], **tags}))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a version (no error if it has none of that key, as in MLflow)."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        key = v.validate_key(key, "tag key")
        with self._tx() as tx:
            doc = version_doc(tx, name, number)
            if key in doc.get("tags", {}):
                tags = {k: val for k, val in doc["tags"].items() if k != key}
                tx.put(VERSIONS, d.version_key(name, number), touch(doc, now_ms(), tags=tags))
