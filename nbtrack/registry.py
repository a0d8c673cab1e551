"""The model registry: versions, stages, aliases and their audit trail (client methods)."""

from __future__ import annotations


class RegistryClientMixin:
    """Registry operations of :class:`~nbtrack.tracking.client.TrackingClient` (MLflow names)."""
