"""Tracking: the explicit client (``MlflowClient``) and the fluent functions."""

from __future__ import annotations

from nbtrack.tracking.client import MlflowClient, TrackingClient

__all__ = ["MlflowClient", "TrackingClient"]
