"""The model registry over MLflow's REST API, with nbtrack's audit trail kept on the server.

Models, versions, stages and aliases are MLflow's own (MLflow's UI shows and changes
them). nbtrack's audit events of a model are tags ``e.<timestamp>.<n>`` (one JSON event
each) of a run in the experiment ``nbtrack.registry-audit``, one run per model: they
survive renames and the model's deletion, and are readable back like the embedded store's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from nbtrack import _validation as v
from nbtrack.entities import ModelVersion, ModelVersionStage, RegisteredModel, RegistryEvent, RunTag
from nbtrack.errors import AlreadyExists, InvalidParameter, NotFound
from nbtrack.store import _registry_docs as d
from nbtrack.store.mlflow_server import _convert as c
from nbtrack.store.mlflow_server._outbox import Outbox

AUDIT_EXPERIMENT = "nbtrack.registry-audit"
_MODEL_TAG = "nbtrack.audit.model"
_RUN_TAG = "nbtrack.audit.run"
_count = itertools.count()


class ServerRegistryMixin:
    """Registry operations of :class:`~nbtrack.store.mlflow_server.store.MlflowServerStore`."""

    uri: str
    _outbox: Outbox
    _call: Callable[..., dict[str, Any]]
    _changed: Callable[[], None]

    # -- reads ------------------------------------------------------------
    def _model_json(self, name: str) -> dict[str, Any]:
        try:
            item: dict[str, Any] = self._call("registered-models/get", "GET", {"name": name})["registered_model"]
            return item
        except NotFound:
            names = [m.name for m in self.list_registered_models()]
            raise NotFound(
                f"Registered model {name!r} not found; registered models: {d.listing(names, 'none yet')}. "
                "Create it with create_registered_model or register_model."
            ) from None

    def _versions_json(self, name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        escaped = name.replace("'", "\\'")
        while True:
            body: dict[str, Any] = {"filter": f"name = '{escaped}'", "max_results": 10_000}
            if token:
                body["page_token"] = token
            answer = self._call("model-versions/search", "GET", body)
            out.extend(answer.get("model_versions", []))
            token = answer.get("next_page_token")
            if not token:
                return sorted(out, key=lambda x: int(x["version"]))

    def _version_json(self, name: str, number: int) -> dict[str, Any]:
        try:
            item: dict[str, Any] = self._call("model-versions/get", "GET", {"name": name, "version": str(number)})[
                "model_version"
            ]
            return item
        except NotFound:
            self._model_json(name)
            numbers = [int(x["version"]) for x in self._versions_json(name)]
            raise NotFound(
                f"Registered model {name!r} has no version {number}; versions: {d.listing(numbers, 'none yet')}."
            ) from None

    def _model(self, item: dict[str, Any]) -> RegisteredModel:
        model = c.model_from_json(item)
        versions = [c.version_from_json(x) for x in self._versions_json(model.name)]
        latest: dict[str, ModelVersion] = {}
        for mv in versions:
            latest[mv.current_stage] = mv
        aliases_of: dict[str, list[str]] = {}
        for alias, number in model.aliases.items():
            aliases_of.setdefault(number, []).append(alias)
        chosen = tuple(_with_aliases(latest[s], aliases_of) for s in ModelVersionStage.ALL if s in latest)
        return RegisteredModel(
            model.name,
            model.creation_timestamp,
            model.last_updated_timestamp,
            model.description,
            chosen,
            model.tags,
            model.aliases,
        )

    def _version(self, item: dict[str, Any]) -> ModelVersion:
        return c.version_from_json(item)

    # -- audit trail --------------------------------------------------------
    def _audit_experiment(self) -> str:
        exp_id = getattr(self, "_audit_exp_id", None)
        if exp_id is None:
            try:
                answer = self._call("experiments/get-by-name", "GET", {"experiment_name": AUDIT_EXPERIMENT})
                exp_id = str(answer["experiment"]["experiment_id"])
                if answer["experiment"].get("lifecycle_stage") == "deleted":
                    self._call("experiments/restore", "POST", {"experiment_id": exp_id})
            except NotFound:
                try:
                    exp_id = str(self._call("experiments/create", "POST", {"name": AUDIT_EXPERIMENT})["experiment_id"])
                except AlreadyExists:
                    answer = self._call("experiments/get-by-name", "GET", {"experiment_name": AUDIT_EXPERIMENT})
                    exp_id = str(answer["experiment"]["experiment_id"])
            self._audit_exp_id = exp_id
        return exp_id

    def _audit_run(self, model: dict[str, Any]) -> str:
        tags = c.kv(model.get("tags"))
        run_id = tags.get(_RUN_TAG)
        if run_id:
            return run_id
        body = {
            "experiment_id": self._audit_experiment(),
            "run_name": f"registry audit: {model['name']}",
            "start_time": int(time.time() * 1000),
            "tags": [{"key": _MODEL_TAG, "value": model["name"]}],
        }
        run_id = str(self._call("runs/create", "POST", body)["run"]["info"]["run_id"])
        self._call("runs/update", "POST", {"run_id": run_id, "status": "FINISHED", "end_time": body["start_time"]})
        self._call("registered-models/set-tag", "POST", {"name": model["name"], "key": _RUN_TAG, "value": run_id})
        model.setdefault("tags", []).append({"key": _RUN_TAG, "value": run_id})
        return run_id

    def _train_digest(self, run_id: str | None) -> str | None:
        if not run_id:
            return None
        cache: dict[str, str | None] = self.__dict__.setdefault("_digests", {})
        if run_id in cache:
            return cache[run_id]
        try:
            run = self._call("runs/get", "GET", {"run_id": run_id})["run"]
        except NotFound:
            return None
        digest = None
        for item in (run.get("inputs") or {}).get("dataset_inputs") or ():
            if c.kv(item.get("tags")).get("mlflow.data.context") == "train":
                digest = item.get("dataset", {}).get("digest") or digest
        cache[run_id] = digest
        return digest

    def _event(
        self,
        model: dict[str, Any],
        action: str,
        version: dict[str, Any] | None = None,
        from_value: str | None = None,
        to_value: str | None = None,
        alias: str | None = None,
    ) -> None:
        run_id = str(version["run_id"]) if version and version.get("run_id") else None
        ts = int(time.time() * 1000)
        doc = {
            "timestamp": ts,
            "user": d.os_user(),
            "action": action,
            "version": str(version["version"]) if version else None,
            "from_value": from_value,
            "to_value": to_value,
            "run_id": run_id,
            "data_digest": self._train_digest(run_id) if action in ("register", "transition") else None,
            "alias": alias,
        }
        key = f"e.{ts:013d}.{next(_count) % 1_000_000:06d}"
        self._outbox.add(self._audit_run(model), [], [], [RunTag(key, orjson.dumps(doc).decode())])

    def get_model_version_events(self, name: str) -> list[RegistryEvent]:
        """A model's audit trail, oldest first (kept across renames, readable after deletion)."""
        name = d.validate_model_name(name)
        try:
            run_ids = [c.kv(self._model_json(name).get("tags")).get(_RUN_TAG)]
        except NotFound:
            body = {
                "experiment_ids": [self._audit_experiment()],
                "filter": f"tags.`{_MODEL_TAG}` = '{name}'",
                "max_results": 1000,
            }
            run_ids = [r["info"]["run_id"] for r in self._call("runs/search", "POST", body).get("runs", [])]
            if not run_ids:
                raise
        events: list[tuple[str, dict[str, Any]]] = []
        for run_id in filter(None, run_ids):
            assert run_id is not None
            self._outbox.flush(run_id)
            run = self._call("runs/get", "GET", {"run_id": run_id})["run"]
            events.extend(
                (k, orjson.loads(val)) for k, val in c.kv(run["data"].get("tags")).items() if k.startswith("e.")
            )
        events.sort(key=lambda pair: pair[0])
        return [d.event_from_doc(doc, name) for _, doc in events]

    # -- registered models ------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create an empty registered model; ``AlreadyExists`` if the name is taken."""
        name = d.validate_model_name(name)
        clean = d.validate_tags(tags)
        text = d.validate_description(description)
        body = {"name": name, "tags": [{"key": k, "value": val} for k, val in clean.items()], "description": text}
        try:
            item = self._call("registered-models/create", "POST", body)["registered_model"]
        except AlreadyExists:
            raise AlreadyExists(
                f"Registered model {name!r} already exists; use register_model to add a version."
            ) from None
        self._event(item, "create_model")
        self._changed()
        return self._model(item)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its latest version per stage and its aliases."""
        return self._model(self._model_json(d.validate_model_name(name)))

    def list_registered_models(self) -> list[RegisteredModel]:
        """Every registered model, by name."""
        items: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {"max_results": 1000}
            if token:
                body["page_token"] = token
            answer = self._call("registered-models/search", "GET", body)
            items.extend(answer.get("registered_models", []))
            token = answer.get("next_page_token")
            if not token:
                break
        return sorted((self._model(i) for i in items), key=lambda m: m.name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model with its versions, aliases and audit trail."""
        name = d.validate_model_name(name)
        new_name = d.validate_model_name(new_name, "new registered model name")
        model = self._model_json(name)
        if new_name == name:
            return self._model(model)
        try:
            item = self._call("registered-models/rename", "POST", {"name": name, "new_name": new_name})
        except AlreadyExists:
            raise AlreadyExists(
                f"Cannot rename {name!r}: a registered model named {new_name!r} already exists."
            ) from None
        renamed = item["registered_model"]
        renamed.setdefault("tags", model.get("tags", []))
        run_id = self._audit_run(renamed)
        self._outbox.add(run_id, [], [], [RunTag(_MODEL_TAG, new_name)])
        self._event(renamed, "rename", from_value=name, to_value=new_name)
        self._changed()
        return self._model(self._model_json(new_name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        name = d.validate_model_name(name)
        text = d.validate_description(description)
        model = self._model_json(name)
        item = self._call("registered-models/update", "PATCH", {"name": name, "description": text})
        if text != model.get("description", ""):
            self._event(model, "update_description", from_value=model.get("description", ""), to_value=text)
        self._changed()
        return self._model(item.get("registered_model", model))

    def delete_registered_model(self, name: str) -> None:
        """Delete a model, its versions and aliases (its audit trail stays readable)."""
        name = d.validate_model_name(name)
        model = self._model_json(name)
        numbers = ", ".join(str(x["version"]) for x in self._versions_json(name))
        self._event(model, "delete_model", from_value=numbers or None)
        self._outbox.flush(self._audit_run(model))
        self._call("registered-models/delete", "DELETE", {"name": name})
        self._changed()

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model."""
        name = d.validate_model_name(name)
        tags = d.validate_tags({key: value})
        self._model_json(name)
        for k, val in tags.items():
            self._call("registered-models/set-tag", "POST", {"name": name, "key": k, "value": val})
        self._changed()

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model (no error if it has none of that key)."""
        name = d.validate_model_name(name)
        key = v.validate_key(key, "tag key")
        model = self._model_json(name)
        if key in c.kv(model.get("tags")):
            self._call("registered-models/delete-tag", "DELETE", {"name": name, "key": key})
            self._changed()

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
        """Add the next version of a model (created first when ``create_model`` is true)."""
        name = d.validate_model_name(name)
        if not isinstance(source, str) or not source.strip():
            raise InvalidParameter(f"Invalid model source {source!r}: give the model's folder or URI.")
        if run_id is not None:
            run_id = v.validate_run_id(run_id)
        clean = d.validate_tags(tags)
        text = d.validate_description(description)
        if run_id is not None:
            try:
                self._call("runs/get", "GET", {"run_id": run_id})
            except NotFound:
                raise NotFound(
                    f"Run {run_id!r} not found; a model version can only point at an existing run."
                ) from None
        try:
            model = self._model_json(name)
        except NotFound:
            if not create_model:
                raise
            try:
                model = self._call("registered-models/create", "POST", {"name": name})["registered_model"]
                self._event(model, "create_model")
            except AlreadyExists:
                model = self._model_json(name)
        source = self._server_source(source, run_id)
        body: dict[str, Any] = {
            "name": name,
            "source": source,
            "tags": [{"key": k, "value": val} for k, val in clean.items()],
            "description": text,
        }
        if run_id is not None:
            body["run_id"] = run_id
        item = self._call("model-versions/create", "POST", body)["model_version"]
        self._event(model, "register", item, to_value=source)
        self._changed()
        return self._version(item)

    def _server_source(self, source: str, run_id: str | None) -> str:
        """A source inside the run's local artifact copy becomes ``runs:/<run_id>/<path>`` (uploaded first)."""
        if run_id is None or source.startswith(("runs:", "models:", "mlflow-artifacts:", "http", "s3:", "gs:")):
            return source
        upload: Callable[[str | None], None] | None = getattr(self, "_upload_pending", None)
        if upload is not None:
            upload(run_id)
        from pathlib import Path

        cache = getattr(self, "cache", None)
        if cache is None:
            return source
        root = (Path(cache) / "artifacts" / run_id).resolve()
        try:
            rel = Path(source).resolve().relative_to(root).as_posix()
        except ValueError:
            return source
        return f"runs:/{run_id}/{'' if rel == '.' else rel}".rstrip("/")

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version; ``NotFound`` lists the versions that exist."""
        name = d.validate_model_name(name)
        return self._version(self._version_json(name, d.validate_version(version)))

    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or of all), by name then number."""
        if name is not None:
            name = d.validate_model_name(name)
            self._model_json(name)
            return [self._version(x) for x in self._versions_json(name)]
        out: list[ModelVersion] = []
        for model in self.list_registered_models():
            out.extend(self._version(x) for x in self._versions_json(model.name))
        return out

    def update_model_version(self, name: str, version: int | str, description: str | None) -> ModelVersion:
        """Set a version's description."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        text = d.validate_description(description)
        old = self._version_json(name, number)
        body = {"name": name, "version": str(number), "description": text}
        item = self._call("model-versions/update", "PATCH", body).get("model_version", old)
        if text != old.get("description", ""):
            self._event(self._model_json(name), "update_description", old, old.get("description", ""), text)
        self._changed()
        return self._version(self._version_json(name, number) if item is old else item)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version and the aliases pointing at it."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        item = self._version_json(name, number)
        model = self._model_json(name)
        for alias in sorted(a["alias"] for a in model.get("aliases") or () if str(a["version"]) == str(number)):
            self._event(model, "delete_alias", item, str(number), None, alias)
        self._call("model-versions/delete", "DELETE", {"name": name, "version": str(number)})
        self._event(model, "delete_version", item, from_value=item.get("current_stage"))
        self._changed()

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on a version."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        tags = d.validate_tags({key: value})
        self._version_json(name, number)
        for k, val in tags.items():
            body = {"name": name, "version": str(number), "key": k, "value": val}
            self._call("model-versions/set-tag", "POST", body)
        self._changed()

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a version (no error if it has none of that key)."""
        name = d.validate_model_name(name)
        number = d.validate_version(version)
        key = v.validate_key(key, "tag key")
        item = self._version_json(name, number)
        if key in c.kv(item.get("tags")):
            self._call("model-versions/delete-tag", "DELETE", {"name": name, "version": str(number), "key": key})
            self._changed()

    # -- stages -----------------------------------------------------------
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The latest version of each stage asked for (all stages when ``stages`` is empty)."""
        name = d.validate_model_name(name)
        if isinstance(stages, str):
            stages = [stages]
        wanted = [d.validate_stage(s) for s in stages] if stages else list(ModelVersionStage.ALL)
        self._model_json(name)
        latest: dict[str, dict[str, Any]] = {}
        for item in self._versions_json(name):
            latest[str(item.get("current_stage", "None"))] = item
        return [self._version(latest[s]) for s in dict.fromkeys(wanted) if s in latest]

    def get_latest_version_in_stage(self, name: str, stage: str) -> ModelVersion:
        """The latest version in ``stage``; ``NotFound`` lists the stages in use."""
        name = d.validate_model_name(name)
        stage = d.validate_stage(stage)
        self._model_json(name)
        versions = self._versions_json(name)
        chosen = [x for x in versions if x.get("current_stage") == stage]
        if not chosen:
            used: dict[str, list[str]] = {}
            for item in versions:
                used.setdefault(str(item.get("current_stage")), []).append(str(item["version"]))
            in_use = [f"{s} (versions {', '.join(n)})" for s, n in sorted(used.items())]
            raise NotFound(
                f"Registered model {name!r} has no version in stage {stage!r}; "
                f"stages in use: {d.listing(in_use, 'none (the model has no versions)')}."
            )
        return self._version(chosen[-1])

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; optionally archive the other versions in that stage."""
        name, number, stage = d.validate_transition(name, version, stage, archive_existing_versions)
        old = self._version_json(name, number)
        model = self._model_json(name)
        others = [
            x
            for x in (self._versions_json(name) if archive_existing_versions else ())
            if int(x["version"]) != number and x.get("current_stage") == stage
        ]
        body = {
            "name": name,
            "version": str(number),
            "stage": stage,
            "archive_existing_versions": archive_existing_versions,
        }
        item = self._call("model-versions/transition-stage", "POST", body)["model_version"]
        if old.get("current_stage") != stage:
            self._event(model, "transition", item, str(old.get("current_stage", "None")), stage)
        if archive_existing_versions:
            for other in others:
                self._event(model, "archive", other, stage, ModelVersionStage.ARCHIVED)
        self._changed()
        return self._version(item)

    # -- aliases ----------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        name = d.validate_model_name(name)
        alias = d.validate_alias(alias)
        number = d.validate_version(version)
        item = self._version_json(name, number)
        model = self._model_json(name)
        old = {str(a["alias"]): str(a["version"]) for a in model.get("aliases") or ()}.get(alias)
        if old == str(number):
            return
        self._call("registered-models/alias", "POST", {"name": name, "alias": alias, "version": str(number)})
        self._event(model, "set_alias", item, old, str(number), alias)
        self._changed()

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; ``NotFound`` lists the aliases that exist."""
        name = d.validate_model_name(name)
        if not isinstance(alias, str) or not alias:
            raise InvalidParameter(f"Invalid alias {alias!r}: it must be a non-empty string.")
        model = self._model_json(name)
        number = self._alias_target(model, alias)
        self._call("registered-models/alias", "DELETE", {"name": name, "alias": alias})
        item = self._version_json(name, int(number))
        self._event(model, "delete_alias", item, number, None, alias)
        self._changed()

    @staticmethod
    def _alias_target(model: dict[str, Any], alias: str) -> str:
        aliases = {str(a["alias"]): str(a["version"]) for a in model.get("aliases") or ()}
        if alias not in aliases:
            listed = [f"{a} (version {n})" for a, n in sorted(aliases.items())]
            raise NotFound(f"Registered model {model['name']!r} has no alias {alias!r}; aliases: {d.listing(listed)}.")
        return aliases[alias]

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        name = d.validate_model_name(name)
        if not isinstance(alias, str) or not alias:
            raise InvalidParameter(f"Invalid alias {alias!r}: it must be a non-empty string.")
        model = self._model_json(name)
        number = self._alias_target(model, alias)
        return self._version(self._version_json(name, int(number)))


def _with_aliases(mv: ModelVersion, aliases_of: dict[str, list[str]]) -> ModelVersion:
    from dataclasses import replace

    return replace(mv, aliases=tuple(sorted(aliases_of.get(mv.version, ()))))
