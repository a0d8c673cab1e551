"""Registry tables of the embedded store: registered models, versions, aliases, events."""

from __future__ import annotations


class RegistryStoreMixin:
    """Registry operations of :class:`~nbtrack.store.tinydb_store.TinyDBStore` (built on its ``_tx``)."""
