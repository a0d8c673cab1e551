"""Shared plumbing of the registry mixins: reads, audit events, training-data fingerprints."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from nbtrack.store._registry_docs import (
    EVENTS,
    MODELS,
    Reader,
    View,
    os_user,
)

if TYPE_CHECKING:
    from nbtrack.store._backend import Tables
    from nbtrack.store._tx import Tx


class RegistryBase:
    """What the registry mixins need from the store, plus helpers shared by them."""

    _tx: Callable[[], AbstractContextManager[Tx]]
    _tables: Callable[[], Tables]
    _view: Callable[[dict[str, Any]], dict[str, Any]]

    # -- helpers ----------------------------------------------------------
    def _reader(self) -> Reader:
        return Reader(self._tables())

    def _train_digest(self, tx: View, run_id: str | None) -> str | None:
        """The digest of the run's training data (its last dataset input with context ``train``)."""
        if not run_id:
            return None
        doc = tx.get("runs", run_id)
        if doc is None:
            return None
        digest = None
        for item in self._view(doc).get("inputs", []):
            if item.get("tags", {}).get("mlflow.data.context") == "train":
                digest = item.get("dataset", {}).get("digest") or digest
        return digest

    def _event(
        self,
        tx: Tx,
        model: dict[str, Any],
        action: str,
        ts: int,
        version: dict[str, Any] | None = None,
        from_value: str | None = None,
        to_value: str | None = None,
        alias: str | None = None,
    ) -> None:
        run_id = version.get("run_id") if version else None
        doc = {
            "model_id": model["id"],
            "name": model["name"],
            "timestamp": ts,
            "user": os_user(),
            "action": action,
            "version": version["version"] if version else None,
            "from_value": from_value,
            "to_value": to_value,
            "run_id": run_id,
            "data_digest": self._train_digest(tx, run_id),
            "alias": alias,
        }
        tx.put(EVENTS, uuid.uuid4().hex, doc)

    def _new_model(self, tx: Tx, name: str, ts: int, tags: dict[str, str], description: str) -> dict[str, Any]:
        doc = {
            "id": uuid.uuid4().hex,
            "name": name,
            "creation_timestamp": ts,
            "last_updated_timestamp": ts,
            "description": description,
            "tags": tags,
            "aliases": {},
            "next_version": 1,
        }
        tx.put(MODELS, name, doc)
        self._event(tx, doc, "create_model", ts)
        return doc
