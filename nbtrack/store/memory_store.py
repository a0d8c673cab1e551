"""The same store contract in memory (tests, demos); artifacts go to a temporary folder."""

from __future__ import annotations

from nbtrack.store._backend import Backend
from nbtrack.store.tinydb_store import TinyDBStore


class MemoryStore(TinyDBStore):
    """A store that lives as long as the process; nothing touches the store folder."""

    def __init__(self) -> None:
        super().__init__(root=None, backend=Backend())
