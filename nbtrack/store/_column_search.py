"""``search_runs`` answered from the runs table's columns: selection and ordering with numpy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nbtrack.store._columns import MISSING, RunColumns

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


def _run_ids(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
    column = columns.text["run_id"]
    ids: np.ndarray = column.objects()[column.codes[rows]].astype(str)
    return ids


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
            perm = np.lexsort([_run_ids(columns, rows), *keys])
    return rows[perm]
