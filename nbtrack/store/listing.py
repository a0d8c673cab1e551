"""``RunListing``: the runs of a listing in order, held as columns; a run's document is built only when asked.

A table of 100,000 runs shows one page of them, but sorts, counts and finds the best value of
every metric over all of them. Built from the store's column index, a listing answers those
with numpy (:meth:`RunListing.metric`, :meth:`RunListing.value_counts`) and makes Python
objects only for the runs shown (:meth:`RunListing.doc`, :meth:`RunListing.group`).

A listing is a snapshot: it copies the code and value arrays of its rows when made, so later
writes to the store do not change it (the next listing shows them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nbtrack._json import encode_float
from nbtrack.store._columns import LIVENESS, MISSING, RunColumns, Strings

__all__ = ["RunListing"]


class RunListing:
    """The runs of some experiments, newest first (MLflow's default order), as columns.

    Parameters
    ----------
    columns : RunColumns
        The columns to copy from.
    rows : numpy.ndarray
        Their row numbers, in listing order.
    docs : dict of int to dict, optional
        Documents to return as they are for some positions (a live run's, with its journal's points).
    """

    __slots__ = ("_docs", "_groups", "_lists", "_metrics", "_n", "_text", "ints")

    def __init__(self, columns: RunColumns, rows: np.ndarray, docs: dict[int, dict[str, Any]] | None = None) -> None:
        self._n = len(rows)
        self._text = {name: (column.codes[rows], column) for name, column in columns.text.items()}
        #: integer attributes (``start_time``, ``end_time``, ``_seq``) by position, ``MISSING`` where absent
        self.ints: dict[str, np.ndarray] = {name: array[rows] for name, array in columns.ints.items()}
        self._metrics = {key: (c.values[rows], c.present[rows]) for key, c in columns.fields["metrics"].items()}
        self._metrics = {key: pair for key, pair in self._metrics.items() if pair[1].any()}
        self._groups: dict[str, dict[str, tuple[np.ndarray, Strings]]] = {}
        for group in ("params", "tags"):
            picked = {key: (c.codes[rows], c) for key, c in columns.fields[group].items()}
            self._groups[group] = {key: pair for key, pair in picked.items() if (pair[0] >= 0).any()}
        self._docs = docs or {}
        self._lists: dict[str, list[Any]] = {}

    @classmethod
    def from_docs(cls, docs: Sequence[dict[str, Any]]) -> RunListing:
        """A listing of run documents (already in listing order), for stores without a column index."""
        columns = RunColumns()
        for i, doc in enumerate(docs):
            columns.put(f"{i}", doc)  # keyed by position: the same run twice stays two rows
        return cls(columns, np.arange(len(docs)), dict(enumerate(docs)))

    def __len__(self) -> int:
        return self._n

    # -- whole columns -------------------------------------------------------
    def texts(self, name: str) -> list[str | None]:
        """A text attribute (``run_id``, ``run_name``, ``status``...) of every run, ``None`` where absent."""
        cached = self._lists.get(name)
        if cached is None:
            codes, column = self._text[name]
            cached = self._lists[name] = column.objects()[codes].tolist()
        return cached

    @property
    def run_ids(self) -> list[str]:
        """The run ids, in listing order."""
        return self.texts("run_id")  # type: ignore[return-value]  # every run has one

    def numbers(self, name: str) -> list[int | None]:
        """An integer attribute (``start_time``, ``end_time``, ``_seq``) of every run, ``None`` where absent."""
        return [None if value == MISSING else value for value in self.ints[name].tolist()]

    def changes(self) -> np.ndarray:
        """The change number (``_seq``) of every run's document, 0 where unknown: what changed since a cursor."""
        seqs = self.ints["_seq"]
        out: np.ndarray = np.where(seqs == MISSING, 0, seqs)
        return out

    def tag_values(self, key: str) -> list[str | None]:
        """One tag of every run (``None`` where a run lacks it)."""
        pair = self._groups["tags"].get(key)
        if pair is None:
            return [None] * self._n
        codes, column = pair
        values: list[str | None] = column.objects()[codes].tolist()
        return values

    def metric(self, key: str) -> np.ndarray | None:
        """A metric of every run as float64 (NaN where a run lacks it), or ``None`` if no run has it."""
        pair = self._metrics.get(key)
        if pair is None:
            return None
        values, present = pair
        return np.where(present, values, np.nan)

    def metric_keys(self) -> list[str]:
        """The metrics some run of the listing has."""
        return list(self._metrics)

    def key_counts(self, group: str, positions: np.ndarray | None = None) -> dict[str, int]:
        """How many runs (of ``positions``, else all) have each key of ``group`` (``metrics``, ``params``, ``tags``)."""
        counts: dict[str, int] = {}
        if group == "metrics":
            for key, (_, present) in self._metrics.items():
                counts[key] = int(np.count_nonzero(present if positions is None else present[positions]))
        else:
            for key, (codes, _) in self._groups[group].items():
                counts[key] = int(np.count_nonzero((codes if positions is None else codes[positions]) >= 0))
        return {key: count for key, count in counts.items() if count}

    def value_counts(self, group: str, positions: np.ndarray | None = None) -> dict[str, tuple[int, set[str]]]:
        """For each key of ``params`` or ``tags``: how many runs have it and its distinct values."""
        out: dict[str, tuple[int, set[str]]] = {}
        for key, (codes, column) in self._groups[group].items():
            picked = codes if positions is None else codes[positions]
            present = picked[picked >= 0]
            if len(present):
                distinct = column.objects()[np.unique(present)].tolist()
                out[key] = (len(present), set(distinct))
        return out

    def docs(self, positions: np.ndarray) -> list[dict[str, Any]]:
        """The documents of many runs at once (as :meth:`doc`), built column by column."""
        positions = np.asarray(positions, dtype=np.int64)
        names = [name for name in (*self._text, *self.ints) if name not in LIVENESS]
        picked: list[list[Any]] = []
        for name in self._text:
            if name not in LIVENESS:
                codes, column = self._text[name]
                picked.append(column.objects()[codes[positions]].tolist())
        for name, array in self.ints.items():
            if name not in LIVENESS:
                picked.append([None if x == MISSING else x for x in array[positions].tolist()])
        out = [dict(zip(names, values, strict=True)) for values in zip(*picked, strict=True)]
        for group in ("metrics", "params", "tags"):
            for doc, values in zip(out, self._group_dicts(group, positions), strict=True):
                doc[group] = values
        for i, doc in enumerate(out):
            doc["metric_meta"], doc["inputs"] = {}, []
            given = self._docs.get(int(positions[i])) if self._docs else None
            if given is not None:
                out[i] = given
        return out

    def _group_dicts(self, group: str, positions: np.ndarray) -> list[dict[str, Any]]:
        # Keys most runs have are zipped run by run (one dict each); the rare ones are then set one
        # by one, so the cost follows the values present, not keys times runs.
        count = len(positions)
        wide: list[tuple[str, list[Any]]] = []
        rare: list[tuple[str, list[int], list[Any]]] = []
        for key, values, present in self._group_columns(group, positions):
            have = int(np.count_nonzero(present))
            if have * 2 < count:
                found = np.flatnonzero(present).tolist()
                rare.append((key, found, [values[i] for i in found]))
            else:
                wide.append((key, values))
        keys = [key for key, _ in wide]
        dicts = [
            {k: v for k, v in zip(keys, row, strict=True) if v is not None}
            for row in zip(*(values for _, values in wide), strict=True)
        ] if wide else [{} for _ in range(count)]  # fmt: skip
        for key, found, values in rare:
            for i, value in zip(found, values, strict=True):
                dicts[i][key] = value
        return dicts

    def _group_columns(self, group: str, positions: np.ndarray) -> list[tuple[str, list[Any], np.ndarray]]:
        # (key, value or None per position, presence mask) of each key some of ``positions`` have
        out: list[tuple[str, list[Any], np.ndarray]] = []
        if group == "metrics":
            for key, (values, present) in self._metrics.items():
                mask = present[positions]
                if mask.any():
                    picked = values[positions]
                    finite = bool(np.isfinite(picked[mask]).all())
                    texts = [
                        (x if finite else encode_float(x)) if p else None
                        for x, p in zip(picked.tolist(), mask.tolist(), strict=True)
                    ]
                    out.append((key, texts, mask))
            return out
        for key, (codes, column) in self._groups[group].items():
            picked_codes = codes[positions]
            mask = picked_codes >= 0
            if mask.any():
                out.append((key, column.objects()[picked_codes].tolist(), mask))
        return out

    # -- one run ---------------------------------------------------------------
    def group(self, position: int, group: str) -> dict[str, Any]:
        """The ``metrics``, ``params`` or ``tags`` of one run (metric values as documents hold them)."""
        doc = self._docs.get(position)
        if doc is not None:
            return dict(doc.get(group) or {})
        out: dict[str, Any] = {}
        if group == "metrics":
            for key, (values, present) in self._metrics.items():
                if present[position]:
                    out[key] = encode_float(float(values[position]))
            return out
        for key, (codes, column) in self._groups[group].items():
            code = int(codes[position])
            if code >= 0:
                out[key] = column.objects()[code]
        return out

    def doc(self, position: int) -> dict[str, Any]:
        """One run as a document of a listing (no liveness marks; ``metric_meta`` and ``inputs`` may be empty)."""
        return self.docs(np.array([position]))[0]
