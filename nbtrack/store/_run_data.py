"""Params, metrics, tags and inputs of runs: journal appends while live, summary rewrites after."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from nbtrack import _validation as v
from nbtrack.entities import DatasetInput, LifecycleStage, Metric, Param, RunStatus, RunTag
from nbtrack.errors import InvalidParameter, InvalidState, NotFound, StoreCorrupted
from nbtrack.store._backend import Backend
from nbtrack.store._codec import JournalDamaged, journal_lines, journal_records, seal
from nbtrack.store._tx import HISTORY_IN_SUMMARY, Fold, Tx, summary_records
from nbtrack.store.documents import encode_float, metric_float


class RunDataMixin:
    """Logging to runs; mixed into :class:`~nbtrack.store.tinydb_store.TinyDBStore`."""

    _b: Backend
    _live: dict[str, Fold]
    _tx: Callable[[], AbstractContextManager[Tx]]
    _run_doc: Callable[[str], dict[str, Any]]
    _fold: Callable[[dict[str, Any]], Fold]
    _view: Callable[[dict[str, Any]], dict[str, Any]]

    def _writable(self, run_id: str) -> dict[str, Any]:
        doc = self._run_doc(run_id)
        if doc.get("lifecycle_stage") != LifecycleStage.ACTIVE:
            raise InvalidState(f"Run {run_id!r} is deleted; restore it with restore_run before logging to it.")
        return doc

    def _journal(self, doc: dict[str, Any], records: list[list[Any]]) -> None:
        """Append records to a run's journal; a finished run's summary is rewritten too."""
        run_id = doc["run_id"]
        payload = journal_lines(records)
        if doc["status"] != RunStatus.RUNNING:
            with self._tx() as tx:
                current = self._unfold(tx.get("runs", run_id) or doc)
                self._b.journal_append(run_id, payload)
                fold = Fold(current)
                for record in records:
                    fold.apply(record)
                self._b.journal_sync(run_id)
                tx.put("runs", run_id, {**fold.merged(current), "journal_bytes": self._b.journal_size(run_id)})
            return
        written = self._b.journal_append(run_id, payload)
        live = self._live.get(run_id)
        if live is not None:
            for record in records:
                live.apply(record)
            live.size += written

    def _unfold(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Before a folded run is logged to again: write its journal back from its document (lock held)."""
        if doc.get("history") != HISTORY_IN_SUMMARY:
            return doc
        run_id = doc["run_id"]
        self._b.journal_remove(run_id)  # a journal left by a kill before its removal: the document is newer
        self._b.journal_append(run_id, journal_lines(summary_records(doc)))
        new = {k: value for k, value in doc.items() if k != "history"}
        new["journal_bytes"] = self._b.journal_size(run_id)
        return new

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        doc = self._writable(run_id)
        records: list[list[Any]] = []
        if params:
            current = self._fold(doc).params if doc["status"] == RunStatus.RUNNING else doc["params"]
            seen: dict[str, str] = {}
            for p in params:
                key = v.validate_key(p.key, "param key")
                value = v.validate_param_value(key, p.value)
                old = current.get(key, seen.get(key))
                if old is not None and old != value:
                    raise InvalidParameter(
                        f"Changing param values is not allowed. Param with key={key!r} was already logged "
                        f"with value={old!r} for run ID={run_id!r}. Attempted logging new value {value!r}."
                    )
                if old is None:
                    seen[key] = value
                    records.append(["p", key, value])
        for t in tags:
            key = v.validate_key(t.key, "tag key")
            records.append(["t", key, v.validate_tag_value(key, t.value)])
        for m in metrics:
            key = v.validate_key(m.key, "metric key")
            number = v.validate_metric_value(key, m.value)
            records.append(["m", key, encode_float(number), int(m.timestamp), int(m.step)])
        if records:
            self._journal(doc, records)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        # The hot path of a training loop: one validation and one write(2).
        fold = self._live.get(run_id)
        if fold is None:
            self.log_batch(run_id, metrics=(metric,))
            return
        key = v.validate_key(metric.key, "metric key")
        value = v.validate_metric_value(key, metric.value)
        record = ["m", key, encode_float(value), int(metric.timestamp), int(metric.step)]
        fold.size += self._b.journal_append(run_id, seal(orjson.dumps(record)))
        fold.apply(record)

    def delete_tag(self, run_id: str, key: str) -> None:
        doc = self._writable(run_id)
        key = v.validate_key(key, "tag key")
        view = self._view(doc)
        if key not in view["tags"]:
            raise NotFound(f"No tag {key!r} on run {run_id!r}.")
        self._journal(doc, [["d", key]])

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        doc = self._writable(run_id)
        records: list[list[Any]] = []
        for item in datasets:
            if not isinstance(item, DatasetInput):
                raise InvalidParameter(f"log_inputs takes DatasetInput objects, got {type(item).__name__}.")
            records.append(["i", item.to_dict()])
        if records:
            self._journal(doc, records)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self._run_doc(run_id)
        key = v.validate_key(key, "metric key")
        out = []
        for record in self._records(run_id):
            if record[0] == "m" and record[1] == key:
                out.append(Metric(key, metric_float(record[2]), record[3], record[4]))
        return out

    def get_metric_histories(self, run_id: str) -> dict[str, list[Metric]]:
        """Every metric's history of a run in one journal read."""
        self._run_doc(run_id)
        out: dict[str, list[Metric]] = {}
        for record in self._records(run_id):
            if record[0] == "m":
                with contextlib.suppress(ValueError, TypeError):
                    _, key, value, ts, step = record
                    out.setdefault(key, []).append(Metric(key, metric_float(value), ts, step))
        return out

    def _records(self, run_id: str) -> list[list[Any]]:
        """A run's journal records; damage (a bad checksum, a cut) raises StoreCorrupted naming the file."""
        doc = self._run_doc(run_id)
        if doc.get("history") == HISTORY_IN_SUMMARY:
            return summary_records(doc)
        data = self._b.journal_read(run_id)
        if not data and doc["status"] == RunStatus.RUNNING:  # it may have ended (and been folded) meanwhile
            doc = self._run_doc(run_id)
            if doc.get("history") == HISTORY_IN_SUMMARY:
                return summary_records(doc)
        expected = doc.get("journal_bytes")
        if isinstance(expected, int) and len(data) < expected:
            raise journal_damage(self._journal_file(run_id), len(data), f"it is cut: {expected} bytes were written")
        try:
            return journal_records(data)
        except JournalDamaged as exc:
            raise journal_damage(self._journal_file(run_id), exc.offset, exc.why) from None

    def _journal_file(self, run_id: str) -> str:
        path = getattr(self._b, "_journal_path", None)
        return str(path(run_id)) if path is not None else f"the journal of run {run_id}"


def journal_damage(path: str, offset: int, why: str) -> StoreCorrupted:
    """The error for a damaged run journal."""
    root = path.split("/runs/")[0] if "/runs/" in path else "<store>"
    return StoreCorrupted(
        f"The run journal {path} is damaged at byte {offset} ({why}); its metric history cannot be read "
        f"whole. The run's summary (params, tags, final metrics) is intact. Run `nbtrack doctor {root}` to see "
        f"what is recoverable, and `nbtrack doctor {root} --repair` to keep every record before that byte."
    )
