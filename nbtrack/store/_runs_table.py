"""The runs table: documents parsed on demand, columns always at hand.

A fresh process opens a store from its index (the columns of every run plus the
small tables) and parses the write-ahead log's tail; run documents themselves
are read only when something needs one that the tail did not hold: one alone by
:attr:`fetch` (``get_run`` of an old run, a write to it) where it can, else all at
once by :attr:`loader`.
Writes go through :meth:`RunsTable.__setitem__` and :meth:`RunsTable.pop`, which
keep the columns in step, one row per write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from nbtrack.store._columns import RunColumns

Doc = dict[str, Any]
_GONE: Doc = {}


class RunsTable:
    """A mapping of run id → document, backed by :class:`RunColumns`.

    Parameters
    ----------
    columns : RunColumns
        The columns of every run (kept up to date here).
    docs : dict or None
        Every document, or ``None`` when only ``overlay`` documents are parsed.
    loader : callable, optional
        ``loader(table)`` returns every document (``dict``); called once when one is needed.
    fetch : callable, optional
        ``fetch(table, key)`` returns the document of one run read alone, or ``None``
        when it cannot (the loader is called then).
    """

    __slots__ = ("_docs", "_overlay", "columns", "fetch", "loader")

    def __init__(
        self,
        columns: RunColumns | None = None,
        docs: dict[str, Doc] | None = None,
        loader: Callable[[RunsTable], dict[str, Doc]] | None = None,
        fetch: Callable[[RunsTable, str], Doc | None] | None = None,
    ) -> None:
        self.columns = columns if columns is not None else RunColumns()
        self._docs = docs
        self._overlay: dict[str, Doc] = {}
        self.loader = loader
        self.fetch = fetch

    @classmethod
    def from_docs(cls, docs: dict[str, Doc]) -> RunsTable:
        """A table holding ``docs``, with columns built from them."""
        columns = RunColumns()
        for key, doc in docs.items():
            columns.put(key, doc)
        return cls(columns, docs)

    @property
    def loaded(self) -> bool:
        """Whether every document is parsed."""
        return self._docs is not None

    def _all(self) -> dict[str, Doc]:
        docs = self._docs
        if docs is None:
            if self.loader is None:
                raise RuntimeError("run documents are not loaded and no loader is set")
            docs = self.loader(self)
            self._docs, self._overlay = docs, {}
        return docs

    def set_loaded(self, docs: dict[str, Doc]) -> None:
        """Install every document (the loader's result), dropping the overlay."""
        self._docs, self._overlay = docs, {}

    # -- reads ------------------------------------------------------------
    def get(self, key: str, default: Doc | None = None) -> Doc | None:
        docs = self._docs
        if docs is not None:
            return docs.get(key, default)
        doc = self._overlay.get(key)
        if doc is not None:
            return default if doc is _GONE else doc
        row = self.columns.pos.get(key)
        if row is None or not self.columns.alive[row]:
            return default
        if self.fetch is not None:
            doc = self.fetch(self, key)
            if doc is not None:
                self._overlay[key] = doc  # (kept: a later write replaces it, as any document of the overlay)
                return doc
        return self._all().get(key, default)

    def peek(self, key: str) -> Doc | None:
        """The document of ``key`` if it is parsed already (``None`` otherwise: nothing is read)."""
        docs = self._docs
        if docs is not None:
            return docs.get(key)
        doc = self._overlay.get(key)
        return None if doc is None or doc is _GONE else doc

    def __getitem__(self, key: str) -> Doc:
        doc = self.get(key)
        if doc is None:
            raise KeyError(key)
        return doc

    def __contains__(self, key: object) -> bool:
        if self._docs is not None:
            return key in self._docs
        doc = self._overlay.get(key)  # type: ignore[call-overload]
        if doc is not None:
            return doc is not _GONE
        row = self.columns.pos.get(key)
        return row is not None and bool(self.columns.alive[row])

    def __len__(self) -> int:
        if self._docs is not None:
            return len(self._docs)
        return int(self.columns.alive[: self.columns.n].sum())

    def keys(self) -> list[str]:
        if self._docs is not None:
            return list(self._docs)
        return self.columns.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def values(self) -> list[Doc]:
        """A list (a snapshot: writers in other threads may go on)."""
        return list(self._all().values())

    def items(self) -> list[tuple[str, Doc]]:
        return list(self._all().items())

    def copy(self) -> dict[str, Doc]:
        return dict(self._all())

    # -- writes -----------------------------------------------------------
    def __setitem__(self, key: str, doc: Doc) -> None:
        if self._docs is not None:
            self._docs[key] = doc
        else:
            self._overlay[key] = doc
        self.columns.put(key, doc)

    def pop(self, key: str, default: Doc | None = None) -> Doc | None:
        if self._docs is not None:
            old = self._docs.pop(key, default)
        else:
            old = self._overlay.get(key, default)
            self._overlay[key] = _GONE
        self.columns.delete(key)
        return None if old is _GONE else old
