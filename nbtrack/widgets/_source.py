"""Where the widgets get runs from: one cached read of the store per change, shared by every panel.

``RunSource`` keeps a :class:`RunRow` per run and rebuilds only the rows whose document
changed (documents carry the store-wide change number ``_seq``), so a refresh after one new
run costs one small store read plus one row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack.entities import Experiment, Metric, RunStatus, Tags
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.store import paused_gc
from nbtrack.store.listing import RunListing
from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import RunColors

PARENT_TAG = Tags.PARENT_RUN_ID
# The rows last read per (store, experiments): a second dashboard in the same kernel starts from
# them, so it builds only the rows whose document changed (none, while the store's token is the same).
_ROWS: dict[tuple[Any, ...] | None, tuple[Any, dict[str, RunRow]]] = {}
_ROWS_SIZE = 4


def is_read_only(client: TrackingClient) -> bool:
    """Whether the store refuses writes (``client.read_only``): the widgets then offer no changes."""
    return bool(client.read_only)


def _metric_float(value: Any) -> float:
    return float(value)  # stored NaN/inf are strings that float() reads


class RunRow:
    """What the widgets show of one run (built once per document change).

    A row made from a :class:`~nbtrack.store.listing.RunListing` holds its attributes and builds
    its ``metrics``, ``params`` and ``tags`` dicts only when they are first read (a table over
    100,000 runs shows one page of them); :attr:`listing` and :attr:`position` say where it
    reads them, and where the table's column-wide work (order, best values, counts) finds it.
    """

    __slots__ = (
        "_metrics", "_params", "_tags", "end_time", "experiment_id", "listing", "name", "parent_id", "position",
        "run_id", "seq", "start_time", "status",
    )  # fmt: skip

    def __init__(
        self,
        run_id: str,
        name: str,
        experiment_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        metrics: dict[str, float] | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        parent_id: str | None = None,
        seq: Any = None,
        listing: RunListing | None = None,
        position: int = -1,
    ) -> None:
        self.run_id, self.name, self.experiment_id, self.status = run_id, name, experiment_id, status
        self.start_time, self.end_time, self.parent_id, self.seq = start_time, end_time, parent_id, seq
        self._metrics, self._params, self._tags = metrics, params, tags
        self.listing, self.position = listing, position

    def __repr__(self) -> str:
        return f"RunRow({self.run_id!r}, {self.name!r}, {self.status})"

    @property
    def metrics(self) -> dict[str, float]:
        """Latest value of each metric (NaN and infinities as floats)."""
        if self._metrics is None:
            self._metrics = {k: _metric_float(v) for k, v in self._read("metrics").items()}
        return self._metrics

    @property
    def params(self) -> dict[str, str]:
        """The run's params."""
        if self._params is None:
            self._params = self._read("params")
        return self._params

    @property
    def tags(self) -> dict[str, str]:
        """The run's tags."""
        if self._tags is None:
            self._tags = self._read("tags")
        return self._tags

    def _read(self, group: str) -> dict[str, Any]:
        assert self.listing is not None  # a row made without its dicts comes from a listing
        return self.listing.group(self.position, group)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (to now while running)."""
        end = self.end_time
        if end is None:
            if self.status != RunStatus.RUNNING:
                return None
            end = int(time.time() * 1000)
        return max(0.0, (end - self.start_time) / 1000)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RunRow:
        """Build a row from a run document of the store."""
        tags = doc.get("tags") or {}
        return cls(
            run_id=doc["run_id"],
            name=doc.get("run_name") or doc["run_id"][:8],
            experiment_id=doc["experiment_id"],
            status=doc["status"],
            start_time=doc["start_time"],
            end_time=doc.get("end_time"),
            metrics={k: _metric_float(v) for k, v in (doc.get("metrics") or {}).items()},
            params=dict(doc.get("params") or {}),
            tags=dict(tags),
            parent_id=tags.get(PARENT_TAG) or None,
            seq=doc.get("_seq"),
        )

    def rebind(self, listing: RunListing, position: int) -> None:
        """Point an unchanged row at a newer listing (where it now is)."""
        self.listing, self.position = listing, position


def rows_of(listing: RunListing, keep: Callable[[str, Any], RunRow | None]) -> list[RunRow]:
    """A row per run of ``listing``, in its order: ``keep(run_id, seq)`` gives an unchanged row to reuse, or ``None``."""
    ids = listing.run_ids
    names = listing.texts("run_name")
    experiments = listing.texts("experiment_id")
    statuses = listing.texts("status")
    starts = listing.numbers("start_time")
    ends = listing.numbers("end_time")
    seqs = listing.numbers("_seq")
    parents = listing.tag_values(PARENT_TAG)
    out: list[RunRow] = []
    append = out.append
    for i, run_id in enumerate(ids):
        row = keep(run_id, seqs[i])
        if row is not None:
            row.rebind(listing, i)
        else:
            row = RunRow(
                run_id,
                names[i] or run_id[:8],
                experiments[i],  # type: ignore[arg-type]  # every run has these
                statuses[i],  # type: ignore[arg-type]
                starts[i],  # type: ignore[arg-type]
                ends[i],
                None,
                None,
                None,
                parents[i] or None,
                seqs[i],
                listing,
                i,
            )
        append(row)
    return out


@dataclass
class Delta:
    """What a :meth:`RunSource.reload` found: ids of new, changed and removed runs."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def only_added(self) -> bool:
        """Whether runs were only added (the table can insert them instead of rebuilding)."""
        return not self.changed and not self.removed


def resolve_experiments(client: TrackingClient, experiment: Any) -> list[str] | None:
    """Turn ``experiment`` (id, name, Experiment or a list of them) into experiment ids.

    ``None`` stays ``None``: every active experiment, including ones created later.

    Raises
    ------
    NotFound
        A name or id that no experiment has.
    InvalidParameter
        A value of an unsupported type.
    """
    if experiment is None:
        return None
    items: Sequence[Any] = experiment if isinstance(experiment, list | tuple) else [experiment]
    ids: list[str] = []
    for item in items:
        if isinstance(item, Experiment):
            ids.append(item.experiment_id)
        elif isinstance(item, str):
            found = client.get_experiment_by_name(item)
            if found is not None:
                ids.append(found.experiment_id)
            elif item.isdigit():
                ids.append(client.get_experiment(item).experiment_id)
            else:
                raise NotFound(f"No experiment named {item!r}; nbtrack.search_experiments() lists them.")
        else:
            raise InvalidParameter(f"experiment must be a name, an id or an Experiment, got {type(item).__name__}.")
    return ids


class RunSource:
    """The runs of some experiments, cached and refreshed incrementally.

    Parameters
    ----------
    client : TrackingClient
        Where to read.
    experiment_ids : list of str
        Experiments to show; ``None`` means all active ones (re-read at each refresh).
    """

    def __init__(self, client: TrackingClient, experiment_ids: list[str] | None = None) -> None:
        self.client = client
        self._fixed_ids = experiment_ids
        self._rows: dict[str, RunRow] = {}
        self._order: list[RunRow] = []
        self._version: Any = None
        self._running: list[str] = []
        self._histories: dict[tuple[str, Any], dict[str, list[Metric]]] = {}
        self.colors = RunColors()
        self._shown_ids: list[str] | None = None
        self._shown_rows: list[RunRow] | None = None
        self.reload()

    def show_experiments(self, experiment_ids: list[str] | None) -> None:
        """List only the runs of these experiments among those read (``None``: all of them); no store read."""
        self._shown_ids = None if experiment_ids is None else [str(i) for i in experiment_ids]
        self._shown_rows = None

    @property
    def fixed_ids(self) -> list[str] | None:
        """The experiments this source was made for, or ``None`` for every active one."""
        return None if self._fixed_ids is None else list(self._fixed_ids)

    @property
    def shown_experiment_ids(self) -> list[str] | None:
        """The experiments :meth:`rows` is narrowed to, or ``None`` for every one read."""
        return None if self._shown_ids is None else list(self._shown_ids)

    def newest_experiment_id(self) -> str | None:
        """The experiment of the newest run read, or ``None`` without runs."""
        return self._order[0].experiment_id if self._order else None

    @property
    def experiment_ids(self) -> list[str]:
        """The experiments whose runs are listed."""
        if self._fixed_ids is not None:
            return list(self._fixed_ids)
        return [e.experiment_id for e in self.client.search_experiments()]

    def version(self) -> Any:
        """A change token: the store's, plus the journal sizes of the runs still running.

        Metric points of a live run are appended to its journal (``runs/<first two hex digits>/<id>.jsonl``) without
        touching the store's token, so the journals of shown RUNNING runs are watched too
        (one ``stat`` each) and a run training in another kernel updates live.
        """
        return self._token(self.client.store_version())

    @property
    def loaded_version(self) -> Any:
        """The token of what the last :meth:`reload` read."""
        return self._version

    def _token(self, token: Any) -> Any:
        if not self._running:
            return token
        root = self.client.store_root
        if root is None:
            return token
        sizes = []
        for run_id in self._running:
            try:
                sizes.append(os.stat(os.path.join(str(root), "runs", run_id[:2], f"{run_id}.jsonl")).st_size)
            except OSError:
                sizes.append(-1)
        return (token, tuple(sizes))

    def changed(self) -> bool:
        """Whether the store changed since the last :meth:`reload`."""
        return bool(self.version() != self._version)

    def reload(self) -> Delta:
        """Re-read the runs; rows of unchanged documents are kept, the others rebuilt."""
        with paused_gc():  # a row per run: the collector would rescan the growing heap every few hundred
            return self._reload()

    def _reload(self) -> Delta:
        store_token = self.client.store_version()  # before reading: a change meanwhile shows up next poll
        experiment_ids = self.experiment_ids
        root = self.client.store_root  # a store without a folder (in memory, a server) is not cached
        cache_key = (str(root), tuple(experiment_ids)) if root is not None else None
        old_rows = self._rows
        if not old_rows and cache_key in _ROWS:
            cached_token, old_rows = _ROWS[cache_key]
            if cached_token == store_token and all(r.status != RunStatus.RUNNING for r in old_rows.values()):
                self._rows = dict(old_rows)
                self._set_order(store_token)
                return Delta(added=list(self._rows))
        listing = self.client.search_run_listing(experiment_ids)
        delta = Delta()

        def keep(run_id: str, seq: Any) -> RunRow | None:
            # rows of unchanged documents are kept (a live run's are always rebuilt)
            old = old_rows.get(run_id)
            if old is not None and seq is not None and old.seq == seq and old.status != RunStatus.RUNNING:
                return old
            (delta.added if old is None else delta.changed).append(run_id)
            return None

        rows = {row.run_id: row for row in rows_of(listing, keep)}
        if len(rows) - len(delta.added) != len(old_rows):
            delta.removed = [r for r in old_rows if r not in rows]
        self._rows = rows
        if cache_key is not None:
            if len(_ROWS) >= _ROWS_SIZE and cache_key not in _ROWS:
                _ROWS.pop(next(iter(_ROWS)))
            _ROWS[cache_key] = (store_token, rows)
        self._set_order(store_token)
        return delta

    def _set_order(self, store_token: Any) -> None:
        self._order = list(self._rows.values())
        self._shown_rows = None
        self._running = [r.run_id for r in self._order if r.status == RunStatus.RUNNING]
        self._version = self._token(store_token)

    def rows(self) -> list[RunRow]:
        """Every run of the shown experiments, newest first."""
        if self._shown_ids is None:
            return self._order
        if self._shown_rows is None:
            wanted = set(self._shown_ids)
            self._shown_rows = [r for r in self._order if r.experiment_id in wanted]
        return self._shown_rows

    def get(self, run_id: str) -> RunRow | None:
        """The row of a run, or ``None``."""
        return self._rows.get(run_id)

    def search_ids(self, filter_string: str) -> set[str]:
        """Ids of the runs matching a ``search_runs`` filter; raises ``InvalidParameter`` if it doesn't parse."""
        ids = self._shown_ids if self._shown_ids is not None else self.experiment_ids
        return set(self.client.search_run_listing(ids, filter_string=filter_string or None).run_ids)

    def histories(self, run_id: str) -> dict[str, list[Metric]]:
        """Every metric history of a run (cached until the run changes)."""
        row = self._rows.get(run_id)
        key = (run_id, None if row is None or row.status == RunStatus.RUNNING else row.seq)
        cached = self._histories.get(key)
        if cached is None or key[1] is None:
            cached = self.client.get_metric_histories(run_id)
            self._histories[key] = cached
        return cached
