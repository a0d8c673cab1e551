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

import numpy as np
import orjson

from nbtrack._json import jsonable
from nbtrack.entities import LifecycleStage, RunStatus, ViewType
from nbtrack.errors import NotFound
from nbtrack.query import compile_run_filter, sort_runs
from nbtrack.store import paused_gc
from nbtrack.store.documents import run_from_doc
from nbtrack.store.listing import RunListing
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


class _Base:
    """Every run (any lifecycle stage) of a set of experiments at one store version.

    Held as the store's :class:`RunListing` (columns): a run's document is built when a page
    shows it, or for all runs when a filter or an order needs them (:meth:`docs`).
    """

    def __init__(self, version: tuple[int, ...], generation: int, listing: RunListing) -> None:
        self.version, self.generation, self.listing = version, generation, listing
        stages = listing.texts("lifecycle_stage")
        statuses = listing.texts("status")
        deleted = np.array([s == LifecycleStage.DELETED for s in stages], dtype=bool)
        self.active: np.ndarray = np.flatnonzero(~deleted)
        self.deleted: np.ndarray = np.flatnonzero(deleted)
        self.every: np.ndarray = np.arange(len(listing))
        self.seqs: np.ndarray = listing.changes()
        self.running: np.ndarray = np.flatnonzero(np.array([s == RunStatus.RUNNING for s in statuses], dtype=bool))
        ids = listing.run_ids
        #: RUNNING run id -> fingerprint when read (their journals change without the store's version)
        self.live: dict[str, bytes | None] = {
            ids[i]: orjson.dumps(jsonable(run_from_doc(listing.doc(i)).to_dict())) for i in self.running.tolist()
        }
        self._docs: list[dict[str, Any] | None] = [None] * len(listing)

    def doc(self, position: int) -> dict[str, Any]:
        """The document of the run at ``position`` (built once)."""
        doc = self._docs[position]
        if doc is None:
            doc = self._docs[position] = self.listing.doc(position)
        return doc

    def docs(self, positions: np.ndarray) -> list[dict[str, Any]]:
        """The documents of the runs at ``positions`` (those not built yet, built together)."""
        held = self._docs
        missing = [p for p in positions.tolist() if held[p] is None]
        if len(missing) > 1:
            for p, doc in zip(missing, self.listing.docs(np.array(missing)), strict=True):
                held[p] = doc
        return [self.doc(p) for p in positions.tolist()]


@dataclass
class _View:
    """The filtered, sorted runs of one query shape, derived from a :class:`_Base`: positions in its listing."""

    generation: int
    positions: np.ndarray
    max_seq: int
    running: list[int]
    others: list[tuple[int, str]] = field(default_factory=list)  # (_seq, run_id) of runs not in the view
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
        # the store's column index, copied: no run document is read or built for the listing itself
        listing = self.client.search_run_listing(list(experiment_ids), ViewType.ALL)
        self._generation += 1
        base = _Base(version, self._generation, listing)
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
            candidates = base.every
        chosen = candidates
        ids = base.listing.run_ids
        if predicate is not None:  # answered from the store's columns, as the listing was
            matched = set(self.client.search_run_listing(list(experiment_ids), view_type, filter_string).run_ids)
            chosen = candidates[np.array([ids[p] in matched for p in candidates.tolist()], dtype=bool)]
        if order_by:
            where = {run_id: i for i, run_id in enumerate(ids)}
            ordered = sort_runs(base.docs(chosen), list(order_by))
            chosen = np.array([where[d["run_id"]] for d in ordered], dtype=np.int64)
        # else: the store lists runs in the default order (newest first), which filtering keeps
        others: list[tuple[int, str]] = []
        if len(chosen) != len(base.every):
            outside = np.setdiff1d(base.every, chosen, assume_unique=True)
            ids = base.listing.run_ids
            others = [(seq, ids[i]) for seq, i in zip(base.seqs[outside].tolist(), outside.tolist(), strict=True)]
        running = np.flatnonzero(np.isin(chosen, base.running)).tolist()
        view = _View(
            generation=base.generation,
            positions=chosen,
            max_seq=int(base.seqs[chosen].max()) if len(chosen) else 0,
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
        positions = view.positions
        if since is not None:
            if since >= view.max_seq:
                positions = positions[view.running]
            else:
                changed = base.seqs[positions] > since
                changed[view.running] = True
                positions = positions[changed]
            if since < view.others_max_seq:
                removed = [run_id for seq, run_id in view.others if seq > since]
        page = positions[offset : offset + limit]
        end = offset + len(page)
        return RunPage(
            runs=[run_summary(d) for d in base.docs(page)],
            total=len(view.positions),
            cursor=int(base.version[0]) if base.version else 0,
            next_offset=end if end < len(positions) else None,
            removed=removed,
        )
