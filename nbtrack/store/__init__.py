"""Stores: ``get_store(uri)`` maps a tracking URI to a (cached) store instance.

URIs: a folder path or ``file:`` URI → :class:`TinyDBStore`; ``memory:`` or
``memory://name`` → :class:`MemoryStore`; ``http(s)://host:port`` or
``databricks[://profile]`` → the MLflow tracking server store (``nbtrack[server]``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import InvalidParameter
from nbtrack.store._snapshot import paused_gc
from nbtrack.store.mlflow_server import is_server_uri

__all__ = ["clear_cache", "flush", "get_store", "is_server_uri", "paused_gc", "resolve_uri"]

if TYPE_CHECKING:
    from nbtrack.store.base import AbstractStore

_stores: dict[str, AbstractStore] = {}
_lock = threading.Lock()

_UNSERVED = {
    "sqlite": "an MLflow SQL database",
    "postgresql": "an MLflow SQL database",
    "mysql": "an MLflow SQL database",
    "mssql": "an MLflow SQL database",
    "s3": "a bucket",
    "gs": "a bucket",
    "wasbs": "a bucket",
    "uc": "Unity Catalog",
    "databricks-uc": "Unity Catalog",
}


def resolve_uri(uri: str) -> str:
    """Normalise a tracking URI: folders become absolute paths, server URLs lose a trailing ``/``.

    Raises
    ------
    InvalidParameter
        The URI is empty, or of a kind nbtrack does not track to (``sqlite:``, ``s3:``...):
        the message says what to use instead.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidParameter(f"Invalid tracking URI {uri!r}: give a folder path, 'memory:' or a server URL.")
    uri = uri.strip()
    if uri.startswith("memory:"):
        return uri
    if is_server_uri(uri):
        return uri.rstrip("/") if not uri.startswith("databricks") else uri
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    base = scheme.split("+", 1)[0]
    if base in _UNSERVED or (len(scheme) > 1 and "://" in uri and scheme != "file"):
        what = _UNSERVED.get(base, f"a {scheme}: store")
        raise InvalidParameter(
            f"Tracking URI {uri!r} names {what}, which nbtrack does not write to directly. Use a folder "
            "(e.g. './.nbtrack'), 'memory:', or an MLflow tracking server in front of it "
            "('mlflow server --backend-store-uri ...', then 'http://host:5000'). To bring MLflow runs from it "
            f"into nbtrack, use: nbtrack sync {uri} ./.nbtrack"
        )
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    elif uri.startswith("file:"):
        uri = uri[len("file:") :]
    return str(Path(uri).expanduser().resolve())


def get_store(uri: str) -> AbstractStore:
    """Return the store for a tracking URI, one instance per URI and process.

    Raises
    ------
    NbtrackError
        A server URI without MLflow's client library installed (the message names the install line).
    """
    key = resolve_uri(uri)
    with _lock:
        store = _stores.get(key)
        if store is None:
            if key.startswith("memory:"):
                from nbtrack.store.memory_store import MemoryStore

                store = MemoryStore()
            elif is_server_uri(key):
                from nbtrack.store.mlflow_server import open_store

                store = open_store(key)
            else:
                from nbtrack.store.tinydb_store import TinyDBStore

                store = TinyDBStore(key)
            _stores[key] = store
        return store


def flush() -> bool:
    """Send every store's buffered writes now (server stores); False if a server did not answer.

    Returns
    -------
    bool
        True when everything reached its server; otherwise the data is spooled locally
        and sent later (a warning said so).
    """
    ok = True
    with _lock:
        stores = list(_stores.values())
    for store in stores:
        send = getattr(store, "flush", None)
        if callable(send):
            ok = bool(send()) and ok
    return ok


def clear_cache() -> None:
    """Forget cached store instances (tests); server stores send what they buffer first."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        close = getattr(store, "close", None)
        if callable(close) and is_server_uri(getattr(store, "uri", "") or ""):
            close()
