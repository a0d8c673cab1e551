"""The runs listing behind ``GET nbtrack/api/runs``: cached, filtered, sorted, paged.

A list of 10,000 runs is filtered and sorted once per store change, not per request:
results are cached per experiment set keyed by :meth:`AbstractStore.version`, and per
filter and order on top of that. Live (RUNNING) runs log to journals without changing
the store version, so each request re-reads just those runs and rebuilds the cache
when one of them changed. Runs are served as the store's plain documents; no
entities are built for the list.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from nbtrack._json import jsonable
from nbtrack.entities import LifecycleStage, RunStatus, ViewType
from nbtrack.errors import NotFound
from nbtrack.query import compile_run_filter, sort_runs
from nbtrack.store import paused_gc
from nbtrack.store.documents import run_from_doc
from nbtrack.tracking.client import TrackingClient

SUMMARY_KEYS = (
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
)
SUMMARY_OMITTED_TAGS = frozenset({"nbtrack.cell_source"})
_MAX_VIEWS = 32
_MAX_BASES = 8


def run_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """Return the list form of a run document (metric values already JSON-safe).

    Tags that hold whole texts (the cell source, up to 8,000 characters) are left
    out of summaries, which a sidebar polls; the run detail route serves them.
    """
    out = {key: doc.get(key) for key in SUMMARY_KEYS}
    out["metrics"] = doc.get("metrics", {})
    out["params"] = doc.get("params", {})
    tags = doc.get("tags", {})
    if any(key in tags for key in SUMMARY_OMITTED_TAGS):
        tags = {k: v for k, v in tags.items() if k not in SUMMARY_OMITTED_TAGS}
    out["tags"] = tags
    return out


def _fingerprint(client: TrackingClient, run_id: str) -> bytes | None:
    try:
        run = client.get_run(run_id)
    except NotFound:
        return None
    return orjson.dumps(jsonable(run.to_dict()))


@dataclass
class _Base:
    """Every run (any lifecycle stage) of a set of experiments at one store version."""

    version: tuple[int, ...]
    generation: int
    docs: list[dict[str, Any]]
    active: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    live: dict[str, bytes | None]  # RUNNING run id -> fingerprint when read


@dataclass
class _View:
    """The filtered, sorted runs of one query shape, derived from a :class:`_Base`."""

    generation: int
    docs: list[dict[str, Any]]
    max_seq: int
    running: list[int]
    others: list[tuple[int, str]] = field(default_factory=list)  # (_seq, run_id) of runs not in docs
    others_max_seq: int = 0


@dataclass
class RunPage:
    """One answer of :meth:`RunIndex.query`."""

    runs: list[dict[str, Any]]
    total: int
    cursor: int
    next_offset: int | None
    removed: list[str]


class RunIndex:
    """Answer run listings from cached, pre-sorted documents.

    Parameters
    ----------
    client : TrackingClient
        The client whose store is listed.
    """

    def __init__(self, client: TrackingClient) -> None:
        self.client = client
        self._bases: dict[tuple[str, ...], _Base] = {}
        self._views: dict[tuple[Any, ...], _View] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def _live_unchanged(self, base: _Base) -> bool:
        return all(_fingerprint(self.client, run_id) == fp for run_id, fp in base.live.items())

    def _base(self, experiment_ids: tuple[str, ...]) -> _Base:
        with paused_gc():  # lists of every run: the collector would rescan the growing heap meanwhile
            return self._read_base(experiment_ids)

    def _read_base(self, experiment_ids: tuple[str, ...]) -> _Base:
        version = self.client.store_version()
        base = self._bases.get(experiment_ids)
        if base is not None and base.version == version and self._live_unchanged(base):
            return base
        docs = self.client.search_run_docs(list(experiment_ids), None, ViewType.ALL, None, None)
        active: list[dict[str, Any]] = []
        deleted: list[dict[str, Any]] = []
        live: dict[str, bytes | None] = {}
        for d in docs:  # one pass: this runs on every store change over every run
            (deleted if d.get("lifecycle_stage") == LifecycleStage.DELETED else active).append(d)
            if d["status"] == RunStatus.RUNNING:
                live[d["run_id"]] = orjson.dumps(jsonable(run_from_doc(d).to_dict()))
        self._generation += 1
        base = _Base(version, self._generation, docs, active, deleted, live)
        if experiment_ids not in self._bases and len(self._bases) >= _MAX_BASES:
            self._bases.pop(next(iter(self._bases)))
        self._bases[experiment_ids] = base
        return base

    def _view(
        self,
        base: _Base,
        experiment_ids: tuple[str, ...],
        view_type: int,
        filter_string: str | None,
        order_by: tuple[str, ...],
    ) -> _View:
        key = (experiment_ids, view_type, filter_string, order_by)
        view = self._views.get(key)
        if view is not None and view.generation == base.generation:
            return view
        predicate = compile_run_filter(filter_string)
        if view_type == ViewType.ACTIVE_ONLY:
            candidates = base.active
        elif view_type == ViewType.DELETED_ONLY:
            candidates = base.deleted
        else:
            candidates = base.docs
        chosen = candidates if predicate is None else [d for d in candidates if predicate(d)]
        if order_by:
            chosen = sort_runs(chosen, list(order_by))
        # else: the store lists runs in the default order (newest first), which filtering keeps
        others: list[tuple[int, str]] = []
        if len(chosen) == len(base.active) and chosen is base.active:
            others = [(int(d.get("_seq", 0)), d["run_id"]) for d in base.deleted]
        elif len(chosen) != len(base.docs):
            chosen_ids = {d["run_id"] for d in chosen}
            others = [(int(d.get("_seq", 0)), d["run_id"]) for d in base.docs if d["run_id"] not in chosen_ids]
        max_seq = 0
        running: list[int] = []
        for i, d in enumerate(chosen):
            seq = d.get("_seq", 0)
            if seq > max_seq:
                max_seq = seq
            if d["status"] == RunStatus.RUNNING:
                running.append(i)
        view = _View(
            generation=base.generation,
            docs=chosen,
            max_seq=int(max_seq),
            running=running,
            others=others,
            others_max_seq=max((seq for seq, _ in others), default=0),
        )
        if len(self._views) >= _MAX_VIEWS:
            self._views.pop(next(iter(self._views)))
        self._views[key] = view
        return view

    def query(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str | None = None,
        order_by: Sequence[str] = (),
        view_type: int = ViewType.ACTIVE_ONLY,
        since: int | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> RunPage:
        """List runs of some experiments.

        Parameters
        ----------
        experiment_ids : sequence of str
            Experiments to list (validated by the caller).
        filter_string : str, optional
            The search filter language of :meth:`TrackingClient.search_runs`.
        order_by : sequence of str
            Order clauses, e.g. ``["metrics.accuracy DESC"]``; default newest first.
        view_type : int
            :class:`ViewType` value.
        since : int, optional
            A ``cursor`` from an earlier answer: list only runs whose document changed
            after it, plus every RUNNING run; runs that left the listing since then
            (deleted, or no longer matching the filter) come back as ``removed`` ids.
        offset, limit : int
            The page.

        Returns
        -------
        RunPage

        Raises
        ------
        InvalidParameter
            The filter or order does not parse.
        """
        exp_key = tuple(sorted(set(experiment_ids), key=lambda e: (len(e), e)))
        with self._lock:
            base = self._base(exp_key)
            view = self._view(base, exp_key, view_type, filter_string or None, tuple(order_by))
        removed: list[str] = []
        if since is None:
            selected = view.docs
        else:
            if since >= view.max_seq:
                selected = [view.docs[i] for i in view.running]
            else:
                selected = [d for d in view.docs if int(d.get("_seq", 0)) > since or d["status"] == RunStatus.RUNNING]
            if since < view.others_max_seq:
                removed = [run_id for seq, run_id in view.others if seq > since]
        page = selected[offset : offset + limit]
        end = offset + len(page)
        return RunPage(
            runs=[run_summary(d) for d in page],
            total=len(view.docs),
            cursor=int(base.version[0]) if base.version else 0,
            next_offset=end if end < len(selected) else None,
            removed=removed,
        )
