"""nbtrack's store over an MLflow tracking server (``http(s)://`` and ``databricks`` URIs).

Needs MLflow's client library, the ``server`` extra: ``pip install "nbtrack[server]"``.
Importing this package does not import MLflow; opening a store does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbtrack.store.mlflow_server._outbox import SpoolWarning
from nbtrack.store.mlflow_server._transport import INSTALL_HINT, PermissionDenied, ServerUnavailable, require_mlflow

if TYPE_CHECKING:
    from nbtrack.store.mlflow_server.store import MlflowServerStore

__all__ = [
    "INSTALL_HINT",
    "PermissionDenied",
    "ServerUnavailable",
    "SpoolWarning",
    "is_server_uri",
    "open_store",
    "require_mlflow",
]


def is_server_uri(uri: str) -> bool:
    """Whether ``uri`` names a tracking server (``http(s)://...`` or ``databricks[://profile]``)."""
    return uri.startswith(("http://", "https://", "databricks://")) or uri == "databricks"


def open_store(uri: str) -> MlflowServerStore:
    """Open the store of a tracking server (imports MLflow's client library).

    Raises
    ------
    NbtrackError
        MLflow's client library is missing; the message names the ``pip install`` line.
    """
    require_mlflow()
    from nbtrack.store.mlflow_server.store import MlflowServerStore

    return MlflowServerStore(uri)
