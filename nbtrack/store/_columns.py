"""A columnar copy of the runs table, kept up to date write by write.

``search_runs`` builds its DataFrame from these columns (numpy arrays picked
by row number) instead of walking every run document, and a fresh process
loads them from the store's index file (see :mod:`nbtrack.store._index`)
instead of parsing every document. Text columns are dictionary-coded: an
``int32`` code per row into a list of distinct values (``-1`` where a run
lacks the key); metric columns are ``float64`` with a presence mask.

Each write touches one row: the cost depends on the number of distinct keys,
never on the number of runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

#: Text attributes of a run kept as columns (frame columns, filters, liveness checks).
TEXT = ("run_id", "experiment_id", "status", "artifact_uri", "lifecycle_stage", "run_name", "user_id", "host", "pstart")
#: Integer attributes (``MISSING`` where absent); ``_seq`` is the change number of the run's document.
INTS = ("start_time", "end_time", "pid", "_seq")
GROUPS = ("metrics", "params", "tags")
#: attributes that mark a live run's owner (process id, its start, its host): not listed
LIVENESS = frozenset({"pid", "pstart", "host"})
MISSING = np.iinfo(np.int64).min
_MIN_CAPACITY = 1024


def _padded(size: int) -> int:
    return (size + 7) & ~7


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (_padded(len(data)) - len(data))


#: text columns with more distinct values than this are stored as one blob (no Python string each until needed)
BLOB_MIN = 1024


class Strings:
    """A dictionary-coded text column.

    Loaded from an index file, a column of many distinct values (run ids, names) keeps
    them as one UTF-8 blob plus offsets: the frame takes them straight into pyarrow, and
    the Python strings are made only when something reads or writes them one by one. Such
    a column stops de-duplicating (``unique``): a new row appends its value.
    """

    __slots__ = ("_arrow", "_blob", "_lookup", "_objects", "_tail", "_values", "codes", "unique")

    def __init__(
        self,
        capacity: int,
        values: list[str] | None = None,
        codes: np.ndarray | None = None,
        blob: tuple[np.ndarray, Any] | None = None,
    ) -> None:
        self._values: list[str] | None = values if values is not None or blob is not None else []
        self._blob = blob
        self.codes: np.ndarray = codes if codes is not None else np.full(capacity, -1, dtype=np.int32)
        self._lookup: dict[str, int] | None = None
        self._objects: np.ndarray | None = None
        self._arrow: Any = None
        self.unique = False
        #: values appended after a blob's (a unique blob column takes new rows without decoding the blob)
        self._tail: list[str] = []

    @property
    def values(self) -> list[str]:
        """The distinct values, by code."""
        values = self._values
        if values is None:
            assert self._blob is not None
            offsets, data = self._blob
            text = bytes(data)
            bounds = offsets.tolist()
            values = [text[bounds[i] : bounds[i + 1]].decode() for i in range(len(bounds) - 1)]
            values += self._tail
            self._values, self._tail = values, []
        return values

    def _blob_count(self) -> int:
        return len(self._blob[0]) - 1 if self._values is None and self._blob is not None else -1

    def count(self) -> int:
        """How many values (without making their strings)."""
        blob = self._blob_count()
        if blob >= 0:
            return blob + len(self._tail)
        return len(self.values)

    def set(self, row: int, value: Any) -> None:
        """Store ``value`` (text, or ``None`` for missing) at ``row``."""
        if value is None:
            self.codes[row] = -1
            return
        if value.__class__ is not str:
            value = str(value)
        if self.unique:
            current = int(self.codes[row])
            if current < 0 or self.get(row) != value:
                self.codes[row] = self.count()
                if self._blob_count() >= 0:
                    self._tail.append(value)
                else:
                    self.values.append(value)
            return
        lookup = self._lookup
        if lookup is None:
            lookup = self._lookup = {v: i for i, v in enumerate(self.values)}
        code = lookup.get(value)
        if code is None:
            code = lookup[value] = len(self.values)
            self.values.append(value)
        self.codes[row] = code

    def get(self, row: int) -> str | None:
        code = int(self.codes[row])
        if code < 0:
            return None
        blob = self._blob_count()
        if blob >= 0:
            if code >= blob:
                return self._tail[code - blob]
            assert self._blob is not None
            offsets, data = self._blob
            return bytes(data[int(offsets[code]) : int(offsets[code + 1])]).decode()
        return self.values[code]

    def objects(self) -> np.ndarray:
        """The distinct values as an object array with ``None`` last (so code ``-1`` reads ``None``)."""
        objs = self._objects
        count = len(self.values)
        if objs is None or len(objs) != count + 1:
            old = 0 if objs is None else len(objs) - 1
            grown = np.empty(count + 1, dtype=object)
            if objs is not None:
                grown[:old] = objs[:old]
            grown[old:count] = self.values[old:]
            grown[-1] = None
            self._objects = objs = grown
        return objs

    def arrow(self, pa: Any) -> Any:
        """The distinct values as a pyarrow ``large_string`` array, or chunked array (extended as values grow)."""
        cached = self._arrow
        count = self.count()
        blob = self._blob_count()
        if cached is None and blob >= 0:
            assert self._blob is not None
            offsets, data = self._blob
            cached = pa.LargeStringArray.from_buffers(blob, pa.py_buffer(offsets), pa.py_buffer(data))
            self._arrow = cached
        if cached is None or len(cached) != count:
            old = 0 if cached is None else len(cached)
            rest = self._tail[old - blob :] if blob >= 0 else self.values[old:]
            tail = pa.array(rest, type=pa.large_string())
            # chunks, not one array: the blob's values are not copied each time runs are added
            chunks = [] if cached is None else cached.chunks if isinstance(cached, pa.ChunkedArray) else [cached]
            self._arrow = cached = tail if cached is None else pa.chunked_array([*chunks, tail])
        return cached

    def fixed_width(self) -> np.ndarray | None:
        """The blob's values as one ``S{width}`` array (a view, no copy) when all are as long; else ``None``.

        The blob stays usable after its values were made into strings (values added since follow it).
        """
        if self._blob is None:
            return None
        offsets, data = self._blob
        count = len(offsets) - 1
        width = int(offsets[1] - offsets[0]) if count else 0
        if width <= 0 or int(offsets[0]) != 0 or int(offsets[-1]) != width * count:
            return None
        if not np.array_equal(np.diff(offsets), np.full(count, width, dtype=offsets.dtype)):
            return None
        return np.frombuffer(data, dtype=f"S{width}", count=count)

    def sort_keys(self, rows: np.ndarray) -> np.ndarray:
        """Values at ``rows`` in an array that sorts as the strings do (UTF-8 bytes order as code points)."""
        codes = self.codes[rows]
        fixed = self.fixed_width()
        if fixed is None:
            keys: np.ndarray = self.objects()[codes].astype(str)
            return keys
        added = self._tail if self._values is None else self._values[len(fixed) :]
        extra = np.array([t.encode() for t in added] + [b""], dtype=np.bytes_)
        keys = np.concatenate([fixed, extra])[codes]
        return keys

    def encoded(self) -> tuple[np.ndarray, bytes]:
        """The values as offsets (int64, one more than values) and one UTF-8 blob."""
        if self._blob_count() >= 0 and not self._tail:
            assert self._blob is not None
            offsets, data = self._blob
            return offsets, bytes(data)
        parts = [v.encode() for v in self.values]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)), out=offsets[1:])
        return offsets, b"".join(parts)

    def grow(self, capacity: int) -> None:
        codes = np.full(capacity, -1, dtype=np.int32)
        codes[: len(self.codes)] = self.codes
        self.codes = codes


class Numbers:
    """A metric column: float64 values (NaN where missing) and a presence mask."""

    __slots__ = ("present", "values")

    def __init__(self, capacity: int, values: np.ndarray | None = None, present: np.ndarray | None = None) -> None:
        self.values: np.ndarray = values if values is not None else np.full(capacity, np.nan)
        self.present: np.ndarray = present if present is not None else np.zeros(capacity, dtype=bool)

    def set(self, row: int, value: Any) -> None:
        if value is None:
            self.values[row] = math.nan
            self.present[row] = False
            return
        self.values[row] = float(value)  # "NaN", "Infinity" and "-Infinity" parse as such
        self.present[row] = True

    def grow(self, capacity: int) -> None:
        values = np.full(capacity, np.nan)
        values[: len(self.values)] = self.values
        present = np.zeros(capacity, dtype=bool)
        present[: len(self.present)] = self.present
        self.values, self.present = values, present


class RowIndex:
    """Run id → row number, without a Python string per run for the rows an index file held.

    The loaded ids stay one fixed-width bytes array (row ``i`` holds row ``i``'s id), searched
    in sorted order (the order is made on the first lookup); ids added since are in a dict.
    """

    __slots__ = ("_ids", "_order", "added")

    def __init__(self, ids: np.ndarray | None = None, added: dict[str, int] | None = None) -> None:
        self._ids = ids
        self._order: np.ndarray | None = None
        self.added: dict[str, int] = added if added is not None else {}

    def get(self, key: object, default: int | None = None) -> int | None:
        if not isinstance(key, str):
            return default
        row = self.added.get(key)
        if row is not None:
            return row
        ids = self._ids
        if ids is None:
            return default
        raw = key.encode()
        if len(raw) != ids.dtype.itemsize or b"\0" in raw:
            return default
        order = self._order
        if order is None:
            order = self._order = np.argsort(ids)
        i = int(np.searchsorted(ids, raw, sorter=order))
        if i < len(order) and ids[order[i]] == raw:
            return int(order[i])
        return default

    def __setitem__(self, key: str, row: int) -> None:
        self.added[key] = row


class RunColumns:
    """Every run of a store as columns; rows are never moved, deleted runs are masked out."""

    def __init__(self) -> None:
        self.n = 0
        self.capacity = 0
        self._pos: RowIndex | None = RowIndex()
        self.alive = np.zeros(0, dtype=bool)
        self.text: dict[str, Strings] = {name: Strings(0) for name in TEXT}
        self.ints: dict[str, np.ndarray] = {name: np.zeros(0, dtype=np.int64) for name in INTS}
        self.fields: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
        #: where each run's document lies in the snapshot named by :attr:`spans_of`: byte offset and
        #: length (-1 for a run changed since, whose document is in the log), so a compaction can copy
        #: the unchanged documents' bytes instead of parsing them
        self.span_at = np.zeros(0, dtype=np.int64)
        self.span_size = np.zeros(0, dtype=np.int64)
        #: the CRC32 of each span's bytes (-1: unknown), so one document can be read alone and checked
        self.span_crc = np.zeros(0, dtype=np.int64)
        #: the snapshot's checksum record (``[crc, length]``) the spans point into, or ``None``
        self.spans_of: list[int] | None = None
        #: bumped on every change, so callers can cache what they derive
        self.version = 0

    @property
    def pos(self) -> RowIndex:
        """Run id → row number (built on first use after a load)."""
        pos = self._pos
        if pos is None:
            n = self.n
            ids = self.text["run_id"]
            codes = ids.codes[:n]
            in_order = ids.count() == n and np.array_equal(codes, np.arange(n, dtype=np.int32))
            fixed = ids.fixed_width() if in_order else None
            if fixed is not None and len(fixed) == n:
                pos = RowIndex(fixed)
            elif in_order:
                pos = RowIndex(None, dict(zip(ids.values, range(n), strict=True)))
            else:
                values = ids.values
                pos = RowIndex(None, {values[c]: row for row, c in enumerate(codes.tolist()) if c >= 0})
            self._pos = pos
        return pos

    # -- changes ---------------------------------------------------------
    def _grow(self, need: int) -> None:
        # a quarter more each time: still constant work per row, without doubling a big store's columns
        capacity = max(_MIN_CAPACITY, self.capacity + self.capacity // 4, need)
        alive = np.zeros(capacity, dtype=bool)
        alive[: self.n] = self.alive[: self.n]
        self.alive = alive
        for name in ("span_at", "span_size", "span_crc"):
            grown = np.full(capacity, -1, dtype=np.int64)
            grown[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, grown)
        for column in self.text.values():
            column.grow(capacity)
        for name, array in self.ints.items():
            grown = np.full(capacity, MISSING, dtype=np.int64)
            grown[: len(array)] = array
            self.ints[name] = grown
        for group in self.fields.values():
            for column in group.values():
                column.grow(capacity)
        self.capacity = capacity

    def _new_column(self, group: str) -> Any:
        return Numbers(self.capacity) if group == "metrics" else Strings(self.capacity)

    def put(self, key: str, doc: dict[str, Any]) -> None:
        """Insert or replace the row of run ``key``."""
        row = self.pos.get(key)
        fresh = row is None
        if row is None:
            if self.n >= self.capacity:
                self._grow(self.n + 1)
            row = self.pos[key] = self.n
            self.n += 1
        self.alive[row] = True
        self.span_at[row] = -1  # the snapshot holds an older document, or none
        get = doc.get
        for name, column in self.text.items():
            column.set(row, get(name))
        for name, array in self.ints.items():
            value = get(name)
            array[row] = MISSING if value is None else int(value)
        for group, columns in self.fields.items():
            values = get(group) or {}
            if not fresh:
                for k, old in columns.items():
                    if k not in values:
                        old.set(row, None)
            for k, value in values.items():
                field = columns.get(k)
                if field is None:
                    field = columns[k] = self._new_column(group)
                field.set(row, value)
        self.version += 1

    def delete(self, key: str) -> None:
        """Mask out the row of run ``key``."""
        row = self.pos.get(key)
        if row is not None:
            self.alive[row] = False
            self.span_at[row] = -1
            self.version += 1

    def set_span(self, key: str, at: int, size: int, crc: int) -> None:
        """Record where run ``key``'s document lies in the snapshot being written, and its bytes' CRC32."""
        row = self.pos.get(key)
        if row is not None:
            self.span_at[row], self.span_size[row], self.span_crc[row] = at, size, crc

    def reset_spans(self, spans_of: list[int] | None = None) -> None:
        """Forget every span (``spans_of=None``), or name the snapshot the spans just recorded point into."""
        if spans_of is None:
            self.span_at[:] = -1
        self.spans_of = spans_of

    def keys(self) -> list[str]:
        """The ids of the runs held (deleted ones excluded)."""
        ids = self.text["run_id"]
        return [ids.values[int(c)] for c in ids.codes[: self.n][self.alive[: self.n]]]

    def rows_where(self, name: str, value: str) -> np.ndarray:
        """Row numbers of live runs whose text attribute ``name`` equals ``value``."""
        column = self.text[name]
        try:
            code = column.values.index(value)
        except ValueError:
            return np.zeros(0, dtype=np.int64)
        n = self.n
        return np.flatnonzero((column.codes[:n] == code) & self.alive[:n])

    def row_doc(self, row: int) -> dict[str, Any]:
        """The attributes of a row (no params/metrics/tags), as a document would hold them."""
        doc: dict[str, Any] = {name: column.get(row) for name, column in self.text.items()}
        for name, array in self.ints.items():
            value = int(array[row])
            doc[name] = None if value == MISSING else value
        return doc

    def full_doc(self, row: int) -> dict[str, Any]:
        """A row as a run document (no ``metric_meta`` or ``inputs``: the columns do not hold them)."""
        doc = self.row_doc(row)
        for group, columns in self.fields.items():
            values: dict[str, Any] = {}
            for key, column in columns.items():
                if group == "metrics":
                    if column.present[row]:
                        values[key] = float(column.values[row])
                else:
                    value = column.get(row)
                    if value is not None:
                        values[key] = value
            doc[group] = values
        doc.update(metric_meta={}, inputs=[])
        return doc

    # -- (de)serialisation ---------------------------------------------------
    def dump(self) -> tuple[dict[str, Any], list[bytes]]:
        """A JSON-able header and the raw arrays it refers to (in order)."""
        n = self.n
        arrays: list[bytes] = [_pad(self.alive[:n].tobytes())]
        columns: list[list[Any]] = []

        def text(kind: str, name: str, column: Strings) -> None:
            arrays.append(_pad(column.codes[:n].tobytes()))
            if column.count() <= BLOB_MIN:
                columns.append([kind, name, column.values])
                return
            offsets, data = column.encoded()
            columns.append([kind, name, {"blob": len(offsets) - 1, "bytes": len(data)}])
            arrays.append(_pad(offsets.tobytes()))
            arrays.append(_pad(data))

        for name, column in self.text.items():
            text("text", name, column)
        for name, array in self.ints.items():
            columns.append(["int", name, None])
            arrays.append(_pad(array[:n].tobytes()))
        for group, cols in self.fields.items():
            for k, column in cols.items():
                if group == "metrics":
                    columns.append([group, k, None])
                    arrays.append(_pad(column.values[:n].tobytes()))
                    arrays.append(_pad(column.present[:n].tobytes()))
                else:
                    text(group, k, column)
        header: dict[str, Any] = {"n": n, "columns": columns}
        if self.spans_of is not None:
            header["spans_of"] = self.spans_of
            header["span_crc"] = True
            arrays.append(_pad(self.span_at[:n].tobytes()))
            arrays.append(_pad(self.span_size[:n].tobytes()))
            arrays.append(_pad(self.span_crc[:n].tobytes()))
        return header, arrays

    @classmethod
    def load(cls, header: dict[str, Any], read_into: Callable[[memoryview], None]) -> RunColumns:
        """Rebuild columns from :meth:`dump`'s header, reading each array through ``read_into``.

        ``read_into(buffer)`` fills ``buffer`` with the next array's bytes (and skips its
        padding). Each array is read straight into a column with room for a few more rows,
        so the runs a fresh process adds do not copy every column at once.
        """
        self = cls()
        n = self.n = int(header["n"])
        capacity = self.capacity = n + max(_MIN_CAPACITY, n // 32)

        def take(dtype: Any, fill: Any, count: int = n, room: int = capacity) -> np.ndarray:
            array = np.full(room, fill, dtype=dtype)
            if count:
                read_into(array[:count].view(np.uint8).data)
            return array

        def strings(values: Any) -> Strings:
            codes = take(np.int32, -1)
            if isinstance(values, list):
                return Strings(capacity, list(values), codes)
            count = int(values["blob"]) + 1
            offsets = take(np.int64, 0, count, count)
            data = bytearray(int(values["bytes"]))
            if data:
                read_into(memoryview(data))
            column = Strings(capacity, None, codes, (offsets, data))
            column.unique = column.count() > max(BLOB_MIN, n // 2)
            return column

        self.alive = take(np.bool_, False)
        for kind, name, values in header["columns"]:
            if kind == "text":
                self.text[name] = strings(values)
            elif kind == "int":
                self.ints[name] = take(np.int64, MISSING)
            elif kind == "metrics":
                self.fields[kind][name] = Numbers(capacity, take(np.float64, np.nan), take(np.bool_, False))
            else:
                self.fields[kind][name] = strings(values)
        self.span_at = np.full(capacity, -1, dtype=np.int64)
        self.span_size = np.full(capacity, -1, dtype=np.int64)
        self.span_crc = np.full(capacity, -1, dtype=np.int64)
        spans_of = header.get("spans_of")
        if isinstance(spans_of, list):
            self.span_at, self.span_size = take(np.int64, -1), take(np.int64, -1)
            if header.get("span_crc") is True:  # (an older index has none: its documents are read all at once)
                self.span_crc = take(np.int64, -1)
            self.spans_of = spans_of
        for name in TEXT:  # columns an older index lacks
            if len(self.text[name].codes) != capacity:
                self.text[name] = Strings(capacity)
        for name in INTS:
            if len(self.ints[name]) != capacity:
                self.ints[name] = np.full(capacity, MISSING, dtype=np.int64)
        self._pos = None
        return self
