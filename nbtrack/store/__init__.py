"""Stores: ``get_store(uri)`` maps a tracking URI to a (cached) store instance.

URIs: a folder path or ``file:`` URI → :class:`TinyDBStore`; ``memory:`` or
``memory://name`` → :class:`MemoryStore`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import InvalidParameter

if TYPE_CHECKING:
    from nbtrack.store.base import AbstractStore

_stores: dict[str, AbstractStore] = {}
_lock = threading.Lock()


def resolve_uri(uri: str) -> str:
    """Normalise a tracking URI: folders become absolute paths."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidParameter(f"Invalid tracking URI {uri!r}: give a folder path or 'memory:'.")
    if uri.startswith("memory:"):
        return uri
    if uri.startswith(("http://", "https://", "databricks")):
        raise InvalidParameter(
            f"Tracking URI {uri!r}: remote tracking servers are not supported by this version; "
            "give a folder path (e.g. './.nbtrack') or 'memory:'."
        )
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    elif uri.startswith("file:"):
        uri = uri[len("file:") :]
    return str(Path(uri).expanduser().resolve())


def get_store(uri: str) -> AbstractStore:
    """Return the store for a tracking URI, one instance per URI and process."""
    key = resolve_uri(uri)
    with _lock:
        store = _stores.get(key)
        if store is None:
            if key.startswith("memory:"):
                from nbtrack.store.memory_store import MemoryStore

                store = MemoryStore()
            else:
                from nbtrack.store.tinydb_store import TinyDBStore

                store = TinyDBStore(key)
            _stores[key] = store
        return store


def clear_cache() -> None:
    """Forget cached store instances (tests)."""
    with _lock:
        _stores.clear()
