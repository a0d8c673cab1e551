"""Where the store lives: ``set_tracking_uri()`` → ``NBTRACK_STORE`` → ``MLFLOW_TRACKING_URI`` → ``./.nbtrack``."""

from __future__ import annotations

import os

from nbtrack.store import resolve_uri
from nbtrack.store.base import DEFAULT_STORE

__all__ = ["DEFAULT_STORE", "get_tracking_uri", "is_tracking_uri_set", "reset", "set_tracking_uri"]

ENV_VARS = ("NBTRACK_STORE", "MLFLOW_TRACKING_URI")
_tracking_uri: str | None = None
_resolved: tuple[str, str, str] | None = None  # (environment value or default, cwd, resolved URI)


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Point nbtrack at a store.

    Parameters
    ----------
    uri : str or path-like
        A folder (created on first write), a ``file:`` URI, ``memory:`` for a store
        that lives as long as the process, or an MLflow tracking server:
        ``http(s)://host:port`` or ``databricks[://profile]`` (needs ``nbtrack[server]``).

    Raises
    ------
    InvalidParameter
        The URI is empty or of a kind nbtrack does not track to (``sqlite:``, ``s3:``...);
        the message says what to use.
    """
    global _tracking_uri
    _tracking_uri = resolve_uri(os.fspath(uri))
    # As MLflow does: processes started from here (spawn and forkserver pools, subprocesses) inherit the choice.
    os.environ["NBTRACK_STORE"] = _tracking_uri


def _from_environment() -> str:
    for name in ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return DEFAULT_STORE


def get_tracking_uri() -> str:
    """Return the store in use, as an absolute path, a ``memory:`` URI or a server URL.

    Returns
    -------
    str
        ``set_tracking_uri``'s value, else ``$NBTRACK_STORE``, else ``$MLFLOW_TRACKING_URI``,
        else ``./.nbtrack`` resolved against the current directory.
    """
    global _resolved
    if _tracking_uri is not None:
        return _tracking_uri
    # Called on every logging call: resolve the path only when its inputs change.
    raw = _from_environment()
    cwd = os.getcwd()
    if _resolved is None or _resolved[0] != raw or _resolved[1] != cwd:
        _resolved = (raw, cwd, resolve_uri(raw))
    return _resolved[2]


def is_tracking_uri_set() -> bool:
    """Return whether a store was chosen explicitly (call or environment)."""
    return _tracking_uri is not None or any(os.environ.get(name) for name in ENV_VARS)


def reset() -> None:
    """Forget ``set_tracking_uri`` (tests)."""
    global _tracking_uri
    _tracking_uri = None
