"""``search_runs`` answered from the runs table's columns: selection and ordering with numpy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from nbtrack import _validation as v
from nbtrack.entities import LifecycleStage, RunStatus, ViewType
from nbtrack.errors import InvalidParameter
from nbtrack.query import compile_run_filter
from nbtrack.store._column_filter import compile_mask
from nbtrack.store._columns import MISSING, RunColumns
from nbtrack.store.base import AbstractStore
from nbtrack.store.frame import columns_frame
from nbtrack.store.listing import RunListing

_CLAUSE = re.compile(
    r"^\s*(?:(?P<metric>metrics?\.(?P<key>[A-Za-z0-9_.\-/:]+))|(?:attributes?\.|attr\.)?(?P<attr>start_time|end_time))"
    r"(?:\s+(?P<dir>ASC|DESC))?\s*$",
    re.IGNORECASE,
)


def select(columns: RunColumns, experiment_ids: Iterable[str], stages: Iterable[str]) -> np.ndarray:
    """Row numbers of live runs in ``experiment_ids`` whose lifecycle stage is one of ``stages``."""
    n = columns.n
    mask = columns.alive[:n].copy()
    for name, wanted in (("experiment_id", experiment_ids), ("lifecycle_stage", stages)):
        column = columns.text[name]
        codes = [i for i, value in enumerate(column.values) if value in set(wanted)]
        mask &= np.isin(column.codes[:n], np.array(codes, dtype=np.int32))
    rows: np.ndarray = np.flatnonzero(mask)
    return rows


def parse_order(order_by: Sequence[str] | None) -> list[tuple[str, str, bool]] | None:
    """``[(kind, key, ascending)]`` for clauses the columns can order by, or ``None`` for any other."""
    if not order_by:
        return []
    if isinstance(order_by, str) or len(order_by) != 1 or not isinstance(order_by[0], str):
        return None
    match = _CLAUSE.match(order_by[0])
    if match is None:
        return None
    ascending = (match.group("dir") or "ASC").upper() == "ASC"
    if match.group("metric"):
        return [("metrics", match.group("key"), ascending)]
    return [("attr", match.group("attr").lower(), ascending)]


def order(columns: RunColumns, rows: np.ndarray, clauses: list[tuple[str, str, bool]]) -> np.ndarray:
    """``rows`` in MLflow's order: the clauses (missing and NaN last), then ``start_time DESC``, ``run_id``."""
    start = columns.ints["start_time"][rows]
    keys: list[Any] = [-start]  # lexsort: the last key is the primary one
    for kind, key, ascending in reversed(clauses):
        if kind == "metrics":
            column = columns.fields["metrics"].get(key)
            if column is None:
                continue
            values = column.values[rows]
        else:
            raw = columns.ints[key][rows]
            values = np.where(raw == MISSING, np.nan, raw.astype(np.float64))
        missing = np.isnan(values)
        keys.append(np.where(missing, 0.0, values if ascending else -values))
        keys.append(missing)
    perm = np.lexsort(keys)
    if len(perm) > 1:
        sorted_keys = [k[perm] for k in keys]
        tied = np.ones(len(perm) - 1, dtype=bool)
        for k in sorted_keys:
            tied &= k[1:] == k[:-1]
        if tied.any():  # equal on every key: by run id
            perm = np.lexsort([columns.text["run_id"].sort_keys(rows), *keys])
    return rows[perm]


def search_frame(
    store: Any,
    experiment_ids: Sequence[str],
    filter_string: str | None,
    run_view_type: int,
    max_results: int | None,
    order_by: Sequence[str] | None,
) -> Any:
    """:meth:`TinyDBStore.search_runs_frame`: select, filter and order rows of the columns, then build the frame."""
    clauses = parse_order(order_by)
    answerable, mask = _column_filter(filter_string)
    if clauses is None or not answerable:
        return AbstractStore.search_runs_frame(
            store, experiment_ids, filter_string, run_view_type, max_results, order_by
        )
    if max_results is not None and (not isinstance(max_results, int) or max_results < 0):
        raise InvalidParameter(f"max_results must be a non-negative integer, got {max_results!r}.")
    with _chosen(store, experiment_ids, run_view_type, mask, clauses) as (columns, rows, _):
        return columns_frame(columns, rows if max_results is None else rows[:max_results])


def listing(
    store: Any, experiment_ids: Sequence[str], run_view_type: int, filter_string: str | None = None
) -> RunListing:
    """:meth:`TinyDBStore.search_run_listing`: rows picked, filtered and ordered from the columns, copied into a listing.

    A filter the columns cannot answer (on data sets) goes through :meth:`search_run_docs`.
    """
    answerable, mask = _column_filter(filter_string)
    if not answerable:
        return RunListing.from_docs(store.search_run_docs(experiment_ids, filter_string, run_view_type))
    with _chosen(store, experiment_ids, run_view_type, mask, []) as (columns, rows, live):
        docs = {i: live[row] for i, row in enumerate(rows.tolist()) if row in live} if live else None
        return RunListing(columns, rows, docs)


def _column_filter(filter_string: str | None) -> tuple[bool, Any]:
    """``(answerable, mask)``: whether the columns can answer the filter, and its mask (``None``: no filter).

    Raises :class:`InvalidParameter` on a filter that does not parse.
    """
    if compile_run_filter(filter_string) is None:
        return True, None
    mask = compile_mask(str(filter_string))
    return mask is not None, mask


@contextmanager
def _chosen(
    store: Any, experiment_ids: Sequence[str], run_view_type: int, mask: Any, clauses: list[tuple[str, str, bool]]
) -> Iterator[tuple[RunColumns, np.ndarray, dict[int, dict[str, Any]]]]:
    """The columns and the rows a search picks, in order, with the live views of its RUNNING runs.

    The store's lock is held inside: writers of this process wait, other processes' writes show next time.
    """
    wanted = {v.validate_experiment_id(e) for e in experiment_ids}
    stages = {s for s in (LifecycleStage.ACTIVE, LifecycleStage.DELETED) if ViewType.matches(run_view_type, s)}
    store._tables()
    with store._b._lock:
        columns = store._b.runs.columns
        rows = select(columns, wanted, stages)
        with _live_rows(store, rows) as live:
            if mask is not None:
                rows = rows[mask(columns, rows)]
            yield columns, order(columns, rows, clauses), live


@contextmanager
def _live_rows(store: Any, rows: np.ndarray) -> Iterator[dict[int, dict[str, Any]]]:
    """Put the live view of the RUNNING runs among ``rows`` into the columns for a while (lock held).

    A live run's journal holds points its document does not; yields row → that view, and puts
    the documents back on the way out.
    """
    runs = store._b.runs
    columns = runs.columns
    status = columns.text["status"]
    restore = []
    live: dict[int, dict[str, Any]] = {}
    try:
        for row in rows[status.codes[rows] == _code(status.values, RunStatus.RUNNING)].tolist():
            run_id = columns.text["run_id"].get(row)
            if run_id is None:
                continue
            doc = runs.peek(run_id) or columns.full_doc(row)  # a live run's journal holds the rest
            # (its document's place in the snapshot too: a put forgets it, and compactions copy by it)
            restore.append((run_id, doc, row, columns.span_at[row], columns.span_size[row], columns.span_crc[row]))
            live[row] = view = store._view(doc)
            columns.put(run_id, view)  # live data and liveness, for this answer only
        yield live
    finally:
        for run_id, doc, row, at, size, crc in restore:
            columns.put(run_id, doc)
            columns.span_at[row], columns.span_size[row], columns.span_crc[row] = at, size, crc


def _code(values: list[str], value: str) -> int:
    try:
        return values.index(value)
    except ValueError:
        return -2  # matches no row
