"""The fluent registry functions: ``nbtrack.register_model``, ``search_registered_models``, ``search_model_versions``.

They sit above the client; the registry methods themselves (``MlflowClient().transition_model_version_stage`` and
the rest) are :class:`nbtrack.tracking.client.TrackingClient`'s, defined in its registry mixin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.tracking.client import TrackingClient


def register_model(
    model_uri: str,
    name: str,
    tags: dict[str, Any] | None = None,
    *,
    await_registration_for: int | None = None,
    client: TrackingClient | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as the next version of ``name``.

    Parameters
    ----------
    model_uri : str
        ``runs:/<run_id>/<path>``, ``models:/...`` or a local model folder.
    name : str
        The registered model; created if it does not exist.
    tags : dict, optional
        Tags of the new version. (MLflow's positional ``await_registration_for`` integer is
        accepted in this place too, and ignored.)
    await_registration_for : int, optional
        Accepted for MLflow compatibility; registration is immediate.
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.

    Returns
    -------
    ModelVersion
        Versions start at 1; concurrent registrations get distinct numbers.

    Raises
    ------
    InvalidParameter
        Malformed URI or name.
    NotFound
        The URI points at nothing.
    """
    if isinstance(tags, int) and not isinstance(tags, bool):
        tags = None  # MLflow's third positional argument is await_registration_for
    if client is None:
        client = TrackingClient()
    return client.register_model_version(name, model_uri, tags)


def search_registered_models(
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
) -> list[RegisteredModel]:
    """Search registered models of the current tracking URI (see ``MlflowClient.search_registered_models``)."""
    return TrackingClient().search_registered_models(filter_string, max_results, order_by)


def search_model_versions(
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
) -> list[ModelVersion]:
    """Search model versions of the current tracking URI (see ``MlflowClient.search_model_versions``)."""
    return TrackingClient().search_model_versions(filter_string, max_results, order_by)
