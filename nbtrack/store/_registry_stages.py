"""Registry stages, aliases and the audit trail (part of the store's registry operations)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nbtrack.entities import ModelVersion, ModelVersionStage, RegistryEvent
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.store import _registry_docs as d
from nbtrack.store._registry_base import RegistryBase
from nbtrack.store._registry_docs import (
    EVENTS,
    MODELS,
    VERSIONS,
    model_doc,
    touch,
    version_doc,
    versions_of,
)
from nbtrack.store.base import now_ms


class StagesAliasesMixin(RegistryBase):
    """Stage transitions, aliases and the audit trail of registered models."""

    # -- stages -----------------------------------------------------------
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The latest version of each stage asked for (all stages when ``stages`` is empty)."""
        name = d.validate_model_name(name)
        if isinstance(stages, str):
            stages = [stages]
        wanted = [d.validate_stage(s) for s in stages] if stages else list(ModelVersionStage.ALL)
        reader = self._reader()
        aliases = model_doc(reader, name).get("aliases", {})
        latest = d.latest_per_stage(versions_of(reader, name))
        return [d.version_from_doc(latest[s], aliases) for s in dict.fromkeys(wanted) if s in latest]

    def get_latest_version_in_stage(self, name: str, stage: str) -> ModelVersion:
        """The latest version in ``stage``; ``NotFound`` lists the stages in use."""
        name = d.validate_model_name(name)
        stage = d.validate_stage(stage)
        reader = self._reader()
        model = model_doc(reader, name)
        versions = versions_of(reader, name)
        latest = d.latest_per_stage(versions)
        if stage not in latest:
            used: dict[str, list[str]] = {}
            for doc in versions:
                used.setdefault(doc["current_stage"], []).append(str(doc["version"]))
            in_use = [f"{s} (versions {', '.join(n)})" for s, n in sorted(used.items())]
            raise NotFound(
                f"Registered model {name!r} has no version in stage {stage!r}; "
                f"stages in use: {d.listing(in_use, 'none (the model has no versions)')}."
            )
        return d.version_from_doc(latest[stage], model.get("aliases", {}))

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; optionally archive the other versions in that stage."""
        name, number, stage = d.validate_transition(name, version, stage, archive_existing_versions)
        with self._tx() as tx:
            doc = version_doc(tx, name, number)
            model = model_doc(tx, name)
            ts = now_ms()
            old = doc.get("current_stage", ModelVersionStage.NONE)
            new = touch(doc, ts, current_stage=stage)
            tx.put(VERSIONS, d.version_key(name, number), new)
            if old != stage:
                self._event(tx, model, "transition", ts, new, old, stage)
            if archive_existing_versions:
                for other in versions_of(tx, name):
                    if other["version"] != number and other.get("current_stage") == stage:
                        archived = touch(other, ts, current_stage=ModelVersionStage.ARCHIVED)
                        tx.put(VERSIONS, d.version_key(name, other["version"]), archived)
                        self._event(tx, model, "archive", ts, archived, stage, ModelVersionStage.ARCHIVED)
            tx.put(MODELS, name, touch(model, ts))
        return d.version_from_doc(new, model.get("aliases", {}))

    # -- aliases ----------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        name = d.validate_model_name(name)
        alias = d.validate_alias(alias)
        number = d.validate_version(version)
        with self._tx() as tx:
            doc = version_doc(tx, name, number)
            model = model_doc(tx, name)
            old = model.get("aliases", {}).get(alias)
            if old == number:
                return
            ts = now_ms()
            model = touch(model, ts, aliases={**model.get("aliases", {}), alias: number})
            tx.put(MODELS, name, model)
            self._event(tx, model, "set_alias", ts, doc, None if old is None else str(old), str(number), alias)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; ``NotFound`` lists the aliases that exist."""
        name = d.validate_model_name(name)
        if not isinstance(alias, str) or not alias:
            raise InvalidParameter(f"Invalid alias {alias!r}: it must be a non-empty string.")
        with self._tx() as tx:
            model = model_doc(tx, name)
            aliases = dict(model.get("aliases", {}))
            number = self._alias_target(model, alias)
            del aliases[alias]
            ts = now_ms()
            version = tx.get(VERSIONS, d.version_key(name, number))
            model = touch(model, ts, aliases=aliases)
            tx.put(MODELS, name, model)
            self._event(tx, model, "delete_alias", ts, version, str(number), None, alias)

    @staticmethod
    def _alias_target(model: dict[str, Any], alias: str) -> int:
        aliases: dict[str, int] = model.get("aliases", {})
        if alias not in aliases:
            listed = [f"{a} (version {n})" for a, n in sorted(aliases.items())]
            raise NotFound(f"Registered model {model['name']!r} has no alias {alias!r}; aliases: {d.listing(listed)}.")
        return aliases[alias]

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        name = d.validate_model_name(name)
        if not isinstance(alias, str) or not alias:
            raise InvalidParameter(f"Invalid alias {alias!r}: it must be a non-empty string.")
        reader = self._reader()
        model = model_doc(reader, name)
        number = self._alias_target(model, alias)
        return d.version_from_doc(version_doc(reader, name, number), model.get("aliases", {}))

    # -- audit trail ------------------------------------------------------
    def get_model_version_events(self, name: str) -> list[RegistryEvent]:
        """A model's audit trail, oldest first (kept across renames, readable after deletion)."""
        name = d.validate_model_name(name)
        reader = self._reader()
        model = reader.get(MODELS, name)
        events = reader.rows(EVENTS).values()
        if model is not None:
            mine: Iterable[dict[str, Any]] = [e for e in events if e.get("model_id") == model["id"]]
        else:
            gone = {e.get("model_id") for e in events if e.get("action") == "delete_model" and e.get("name") == name}
            mine = [e for e in events if e.get("model_id") in gone]
            if not mine:
                model_doc(reader, name)  # raises NotFound listing the models
        return [d.event_from_doc(e, name) for e in sorted(mine, key=lambda e: e.get("_seq", 0))]
