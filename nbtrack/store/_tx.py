"""A write transaction of the store, and the fold of a run's journal."""

from __future__ import annotations

import contextlib
from typing import Any

from nbtrack.store._codec import journal_records
from nbtrack.store._snapshot import Op, Tables


class Tx:
    """Pending changes of one write; applied only if the ``with`` block succeeds."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._pending: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.ops: list[Op] = []
        #: ``False`` skips the fsync of this commit (it still survives a killed process).
        self.durable = True
        #: runs whose journals are folded into their documents by this write: removed once it is on disk
        self.folded: list[str] = []

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """Return a document as this transaction sees it (treat it as read-only)."""
        if (table, key) in self._pending:
            return self._pending[(table, key)]
        return self._tables.get(table, {}).get(key)

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        """Return the whole table as this transaction sees it (not for ``runs``: that reads every run)."""
        rows = dict(self._tables.get(table, {}))
        for (t, key), doc in self._pending.items():
            if t != table:
                continue
            if doc is None:
                rows.pop(key, None)
            else:
                rows[key] = doc
        return rows

    def put(self, table: str, key: str, doc: dict[str, Any]) -> None:
        """Insert or replace a document."""
        self._pending[(table, key)] = doc
        self.ops.append((table, key, "put", doc))

    def delete(self, table: str, key: str) -> None:
        """Remove a document."""
        self._pending[(table, key)] = None
        self.ops.append((table, key, "del", None))


#: ``doc["history"]`` of a finished run whose journal was folded into its document (one point per metric)
HISTORY_IN_SUMMARY = "summary"


def summary_records(doc: dict[str, Any]) -> list[list[Any]]:
    """The journal records a folded run's document stands for: params, tags, inputs, one point per metric."""
    records: list[list[Any]] = [["p", k, value] for k, value in doc.get("params", {}).items()]
    records += [["t", k, value] for k, value in doc.get("tags", {}).items()]
    records += [["i", item] for item in doc.get("inputs", [])]
    meta = doc.get("metric_meta", {})
    for key, value in doc.get("metrics", {}).items():
        ts, step = meta.get(key, (doc.get("end_time") or 0, 0))
        records.append(["m", key, value, ts, step])
    return records


class Fold:
    """Params, tags, latest metrics and inputs of a run, folded from its journal.

    ``repeated`` says whether some metric has more than one point in the journal: a
    run without (the common case of a scikit-learn fit) needs no journal once it ends,
    since its document holds every point.
    """

    __slots__ = ("inputs", "metric_meta", "metrics", "params", "points", "repeated", "size", "tags")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.params: dict[str, str] = dict(doc.get("params", {}))
        self.tags: dict[str, str] = dict(doc.get("tags", {}))
        self.metrics: dict[str, float | str] = dict(doc.get("metrics", {}))
        self.metric_meta: dict[str, list[int]] = dict(doc.get("metric_meta", {}))
        self.inputs: list[dict[str, Any]] = list(doc.get("inputs", []))
        self.size = 0
        self.points: set[str] = set()
        self.repeated = False

    def apply(self, record: list[Any]) -> None:
        kind = record[0]
        if kind == "m":
            _, key, value, ts, step = record
            if key in self.points:
                self.repeated = True
            else:
                self.points.add(key)
            meta = self.metric_meta.get(key)
            if meta is None or (step, ts) >= (meta[1], meta[0]):
                self.metrics[key] = value
                self.metric_meta[key] = [ts, step]
        elif kind == "p":
            self.params[record[1]] = record[2]
        elif kind == "t":
            self.tags[record[1]] = record[2]
        elif kind == "d":
            self.tags.pop(record[1], None)
        elif kind == "i":
            digest = record[1]["dataset"].get("digest")
            context = record[1].get("tags", {}).get("mlflow.data.context")
            for existing in self.inputs:
                if (
                    existing["dataset"].get("digest") == digest
                    and existing.get("tags", {}).get("mlflow.data.context") == context
                ):
                    break
            else:
                self.inputs.append(record[1])

    def load(self, data: bytes) -> None:
        """Fold a journal's bytes in; :class:`JournalDamaged` if a checksummed line is bad."""
        for record in journal_records(data):
            with contextlib.suppress(ValueError, IndexError, KeyError, TypeError, AttributeError):
                self.apply(record)
        self.size = len(data)

    def merged(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            **doc,
            "params": self.params,
            "tags": self.tags,
            "metrics": self.metrics,
            "metric_meta": self.metric_meta,
            "inputs": self.inputs,
        }
