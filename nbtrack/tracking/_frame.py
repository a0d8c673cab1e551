"""The ``search_runs`` DataFrame builder (it lives with the store's columns)."""

from __future__ import annotations

from nbtrack.store.frame import runs_frame

__all__ = ["runs_frame"]
