"""Jupyter server extension: REST API under ``<base_url>/nbtrack/api/``."""

from __future__ import annotations

from typing import Any


def load_jupyter_server_extension(server_app: Any) -> None:
    """Register the route handlers."""
