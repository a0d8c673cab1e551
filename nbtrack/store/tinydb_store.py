"""The embedded store: TinyDB-format tables, a write-ahead log and per-run journals.

Layout of a store folder (default ``./.nbtrack/``)::

    nbtrack.json        TinyDB file: experiments, runs (summaries), registry tables
    nbtrack.json.bak.gz the last good copy: the snapshot as last written, compressed
    wal.jsonl           whole-document puts since the snapshot (see ``_backend``)
    runs/<run_id>.jsonl append-only journal of a run: params, tags, metric points, inputs
    artifacts/<run_id>/ the run's files

While a run is live its params, tags and metric points go to its journal only
(one unbuffered ``write`` each, so a ``kill -9`` loses nothing that was logged);
its summary document is written once more when the run ends, after which the
run is durable (journal and log both fsynced). A RUNNING run whose process has
died (same host, pid gone or reused) is shown as KILLED, and the next store to
open marks it KILLED for good, keeping every point its journal holds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import AlreadyExists, InvalidParameter, InvalidState, NotFound
from nbtrack.query import compile_run_filter, sort_runs
from nbtrack.store import _column_search, _process
from nbtrack.store._backend import Backend, FileBackend, Tables, paused_gc
from nbtrack.store._codec import JournalDamaged
from nbtrack.store._columns import LIVENESS
from nbtrack.store._fileio import remove_leftovers, store_error
from nbtrack.store._fork import forked_stores
from nbtrack.store._registry_store import RegistryStoreMixin
from nbtrack.store._run_data import RunDataMixin, journal_damage
from nbtrack.store._tx import HISTORY_IN_SUMMARY, Fold, Tx
from nbtrack.store.base import AbstractRegistryStore, AbstractStore, now_ms
from nbtrack.store.documents import (
    dataset_input_from_dict,
    experiment_from_doc,
    run_from_doc,
    run_info_from_doc,
)
from nbtrack.store.listing import RunListing

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "TinyDBStore", "Tx"]

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
_forked = forked_stores()


class TinyDBStore(RunDataMixin, RegistryStoreMixin, AbstractStore, AbstractRegistryStore):
    """The durable, multi-process store in a folder.

    Parameters
    ----------
    root : str or Path
        The store folder; created if missing.
    """

    root: Path

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        backend: Backend | None = None,
        read_only: bool | None = None,
    ) -> None:
        if backend is None:
            if root is None:
                raise InvalidParameter("TinyDBStore needs a folder.")
            self.root = Path(root).expanduser().resolve()
            backend = FileBackend(self.root, read_only)
        elif root is not None:
            self.root = Path(root)
        else:  # artifacts of a memory store: a temporary folder, made on first use and removed with the store
            self.root = Path(tempfile.gettempdir()) / f"nbtrack-mem-{uuid.uuid4().hex}"
            weakref.finalize(self, shutil.rmtree, self.root, True)
        self._b = backend
        self._live: dict[str, Fold] = {}
        self._folds: dict[str, Fold] = {}
        self._ready = False
        _forked.add(self)

    @property
    def read_only(self) -> bool:
        """Whether this process can only read the store (its folder is not writable)."""
        return self._b.read_only

    def close(self) -> None:
        """Flush and release the files this store holds open (it reopens them if used again)."""
        self._b.close()

    def _after_fork(self) -> None:
        self._b.after_fork()
        self._folds.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    # -- plumbing ---------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[Tx]:
        """Run a read-modify-write under the store lock; nothing is written if the block raises."""
        self._ensure_ready()
        with self._b.locked():
            self._b.refresh()
            tx = Tx(self._b.tables)
            yield tx
            if tx.ops:
                self._b.commit(tx.ops, tx.durable)
                self._drop_folded(tx)

    def _drop_folded(self, tx: Tx) -> None:
        """Remove the journals a committed write folded into their run documents.

        A process killed before this leaves a journal the document no longer
        needs: reads ignore it, and logging to the run again replaces it.
        """
        for run_id in tx.folded:
            with contextlib.suppress(OSError):
                self._b.journal_remove(run_id)

    def _tables(self) -> Tables:
        self._ensure_ready()
        return self._b.read()

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        self._b.read()  # opening (the index, the log's tail) takes no store lock: other writers go on
        if not self._b.read_only:
            with self._b.locked():
                self._b.refresh()
                self._open_for_writing()
        self._ready = True

    def _open_for_writing(self) -> None:
        """First open by a writer: tidy up, migrate older layouts, mark dead runs KILLED (lock held)."""
        b = self._b
        if isinstance(b, FileBackend):
            remove_leftovers(b.root)
            b.migrate_journals()
        tx = Tx(b.tables)
        if tx.get("experiments", DEFAULT_EXPERIMENT_ID) is None:
            tx.put("experiments", DEFAULT_EXPERIMENT_ID, self._new_experiment_doc(DEFAULT_EXPERIMENT_NAME, None))
        columns = b.runs.columns
        for row in columns.rows_where("status", RunStatus.RUNNING).tolist():
            info = columns.row_doc(row)
            if self._is_stale(info):
                doc = tx.get("runs", info["run_id"])
                if doc is not None and doc["status"] == RunStatus.RUNNING:
                    tx.put("runs", info["run_id"], self._finalized(tx, doc, RunStatus.KILLED, None))
        if tx.ops:
            b.commit(tx.ops)
            self._drop_folded(tx)
        if isinstance(b, FileBackend):
            if b.legacy:
                b.compact()  # an older store: rewrite it once in this version's format (checksummed)
            elif not b.has_index():
                b.write_index()

    def compact(self) -> None:
        """Fold the write-ahead log into a fresh ``nbtrack.json`` now (and its compressed last good copy)."""
        self._ensure_ready()
        with self._b.locked():
            self._b.refresh()
            self._b.compact()

    def version(self) -> tuple[int, ...]:
        """A token that changes whenever a document changes (cheap: two ``stat`` calls)."""
        return self._b.version()

    @staticmethod
    def _is_stale(doc: dict[str, Any]) -> bool:
        if doc.get("host") != _process.HOST or not doc.get("pid"):
            return False
        return not _process.process_alive(int(doc["pid"]), doc.get("pstart", ""))

    def _new_experiment_doc(
        self, name: str, artifact_location: str | None, tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        ts = now_ms()
        return {
            "name": name,
            "artifact_location": artifact_location or str(self.root / "artifacts"),
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "tags": dict(tags or {}),
            "creation_time": ts,
            "last_update_time": ts,
        }

    # -- experiments ------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        name = v.validate_experiment_name(name)
        clean_tags = v.validate_tag_dict(tags)
        with self._tx() as tx:
            rows = tx.rows("experiments")
            for exp_id, doc in rows.items():
                if doc["name"] == name:
                    state = (
                        " (deleted: restore it with restore_experiment)" if doc["lifecycle_stage"] == "deleted" else ""
                    )
                    raise AlreadyExists(f"Experiment {name!r} already exists with id {exp_id}{state}.")
            new_id = str(max((int(k) for k in rows), default=-1) + 1)
            tx.put("experiments", new_id, self._new_experiment_doc(name, artifact_location, clean_tags))
        return new_id

    def _experiment_doc(self, experiment_id: str, tables: Tables | None = None) -> dict[str, Any]:
        experiment_id = v.validate_experiment_id(experiment_id)
        doc = (tables or self._tables())["experiments"].get(experiment_id)
        if doc is None:
            raise NotFound(f"No experiment with id {experiment_id!r}. Use search_experiments() to list them.")
        return doc

    def get_experiment(self, experiment_id: str) -> Experiment:
        experiment_id = v.validate_experiment_id(experiment_id)
        return experiment_from_doc(experiment_id, self._experiment_doc(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        v.validate_experiment_name(name)
        for exp_id, doc in self._tables()["experiments"].items():
            if doc["name"] == name:
                return experiment_from_doc(exp_id, doc)
        return None

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        rows = self._tables()["experiments"]
        found = [
            experiment_from_doc(k, d) for k, d in rows.items() if ViewType.matches(view_type, d["lifecycle_stage"])
        ]
        return sorted(found, key=lambda e: int(e.experiment_id))

    def update_experiment(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        lifecycle_stage: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> Experiment:
        experiment_id = v.validate_experiment_id(experiment_id)
        if name is not None:
            name = v.validate_experiment_name(name)
        clean_tags = v.validate_tag_dict(tags)
        with self._tx() as tx:
            doc = tx.get("experiments", experiment_id)
            if doc is None:
                raise NotFound(f"No experiment with id {experiment_id!r}.")
            new = {**doc, "tags": {**doc["tags"], **clean_tags}, "last_update_time": now_ms()}
            if name is not None and name != doc["name"]:
                if any(d["name"] == name for d in tx.rows("experiments").values()):
                    raise AlreadyExists(f"Experiment {name!r} already exists.")
                new["name"] = name
            if lifecycle_stage is not None:
                if experiment_id == DEFAULT_EXPERIMENT_ID and lifecycle_stage == LifecycleStage.DELETED:
                    raise InvalidParameter("The Default experiment (id 0) cannot be deleted.")
                new["lifecycle_stage"] = lifecycle_stage
            tx.put("experiments", experiment_id, new)
        return experiment_from_doc(experiment_id, new)

    # -- runs -------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag],
        run_name: str,
    ) -> Run:
        experiment_id = v.validate_experiment_id(experiment_id)
        run_name = v.validate_run_name(run_name)
        clean_tags = {v.validate_key(t.key, "tag key"): v.validate_tag_value(t.key, t.value) for t in tags}
        run_id = uuid.uuid4().hex
        doc = {
            "run_id": run_id,
            "experiment_id": experiment_id,
            "run_name": run_name,
            "user_id": user_id,
            "status": RunStatus.RUNNING,
            "start_time": start_time,
            "end_time": None,
            "artifact_uri": str(self.root / "artifacts" / run_id),
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "pid": os.getpid(),
            "pstart": _process.own_start_marker(),
            "host": _process.HOST,
            "params": {},
            "tags": {**clean_tags, "mlflow.runName": run_name},
            "metrics": {},
            "metric_meta": {},
            "inputs": [],
        }
        with self._tx() as tx:
            exp = tx.get("experiments", experiment_id)
            if exp is None:
                raise NotFound(f"No experiment with id {experiment_id!r}; create it with create_experiment.")
            if exp["lifecycle_stage"] != LifecycleStage.ACTIVE:
                raise InvalidState(f"Experiment {exp['name']!r} is deleted; restore it before starting runs in it.")
            tx.put("runs", run_id, doc)
            tx.durable = False  # a run is durable once it ends; its start needs no disk flush
        self._live[run_id] = Fold(doc)
        return run_from_doc(doc)

    def _run_doc(self, run_id: str) -> dict[str, Any]:
        run_id = v.validate_run_id(run_id)
        doc = self._tables()["runs"].get(run_id)
        if doc is None:
            raise NotFound(f"Run {run_id!r} not found in store {self.root}.")
        return doc

    def _fold(self, doc: dict[str, Any]) -> Fold:
        """The fold of a live run, from this process's cache or its journal."""
        run_id = doc["run_id"]
        fold = self._live.get(run_id)
        if fold is not None:
            return fold
        size = self._b.journal_size(run_id)
        fold = self._folds.get(run_id)
        if fold is None or fold.size != size:
            fold = Fold(doc)
            self._load_journal(fold, run_id)
            self._folds[run_id] = fold
        return fold

    def _view(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A run document with live data merged and a dead owner shown as KILLED."""
        if doc["status"] != RunStatus.RUNNING:
            return doc
        fold = self._fold(doc)
        if fold.size == 0 and doc["run_id"] not in self._live:  # it may have ended (journal folded) meanwhile
            fresh = self._tables()["runs"].get(doc["run_id"])
            if fresh is not None and fresh["status"] != RunStatus.RUNNING:
                return fresh
        view = fold.merged(doc)
        if self._is_stale(doc):
            view["status"] = RunStatus.KILLED
        return view

    def _finalized(self, tx: Tx, doc: dict[str, Any], status: str, end_time: int | None) -> dict[str, Any]:
        """The document of a run as it ends; a journal the document can stand for is folded into it."""
        run_id = doc["run_id"]
        fold = self._live.pop(run_id, None)
        if fold is None or fold.size != self._b.journal_size(run_id):  # another process logged to it too
            fold = Fold(doc)
            self._load_journal(fold, run_id)
        if end_time is None:
            mtime = self._b.journal_mtime(run_id)
            end_time = int(mtime * 1000) if mtime else now_ms()
        self._folds.pop(run_id, None)
        # (the owner's pid, start marker and host only tell a live run from a dead one)
        new = {k: value for k, value in fold.merged(doc).items() if k not in LIVENESS}
        new.update(status=status, end_time=end_time)
        if fold.repeated:
            self._b.journal_sync(run_id)
            new["journal_bytes"] = self._b.journal_size(run_id)
        else:  # the document holds every point: no journal flush, and the journal goes once this is written
            new.pop("journal_bytes", None)
            new["history"] = HISTORY_IN_SUMMARY
            tx.folded.append(run_id)
        return new

    def _load_journal(self, fold: Fold, run_id: str) -> None:
        try:
            fold.load(self._b.journal_read(run_id))
        except JournalDamaged as exc:
            raise journal_damage(self._journal_file(run_id), exc.offset, exc.why) from None

    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        run_id = v.validate_run_id(run_id)
        if status is not None and status not in RunStatus.ALL:
            raise InvalidParameter(f"Unknown run status {status!r}; use one of {', '.join(RunStatus.ALL)}.")
        if run_name is not None:
            run_name = v.validate_run_name(run_name)
        with self._tx() as tx:
            doc = tx.get("runs", run_id)
            if doc is None:
                raise NotFound(f"Run {run_id!r} not found in store {self.root}.")
            if status is not None and RunStatus.is_terminated(status):
                new = self._finalized(tx, doc, status, end_time or now_ms())
            else:
                new = self._unfold(doc) if status == RunStatus.RUNNING else {**doc}
                if status is not None:
                    new["status"] = status
                if status == RunStatus.RUNNING:  # resumed here: this process owns it now
                    new.update(pid=os.getpid(), pstart=_process.own_start_marker(), host=_process.HOST, end_time=None)
            if run_name is not None:
                new["run_name"] = run_name
                new["tags"] = {**new["tags"], "mlflow.runName": run_name}
                if run_id in self._live:
                    self._live[run_id].tags["mlflow.runName"] = run_name
            tx.put("runs", run_id, new)
        if status == RunStatus.RUNNING and run_id not in self._live:
            fold = Fold(new)  # resumed: log to it on the fast path, like a run started here
            self._load_journal(fold, run_id)
            self._live[run_id] = fold
        return run_info_from_doc(new)

    def get_run(self, run_id: str) -> Run:
        return run_from_doc(self._view(self._run_doc(run_id)))

    def set_run_lifecycle(self, run_id: str, lifecycle_stage: str) -> None:
        run_id = v.validate_run_id(run_id)
        with self._tx() as tx:
            doc = tx.get("runs", run_id)
            if doc is None:
                raise NotFound(f"Run {run_id!r} not found in store {self.root}.")
            tx.put("runs", run_id, {**doc, "lifecycle_stage": lifecycle_stage, "deleted_time": now_ms()})

    def search_run_docs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        wanted = {v.validate_experiment_id(e) for e in experiment_ids}
        predicate = compile_run_filter(filter_string)
        if max_results is not None and (not isinstance(max_results, int) or max_results < 0):
            raise InvalidParameter(f"max_results must be a non-negative integer, got {max_results!r}.")
        stages = {s for s in (LifecycleStage.ACTIVE, LifecycleStage.DELETED) if ViewType.matches(run_view_type, s)}
        running = RunStatus.RUNNING
        docs = []
        with paused_gc():
            for doc in self._tables()["runs"].values():
                if doc["experiment_id"] not in wanted or doc["lifecycle_stage"] not in stages:
                    continue
                view = doc if doc["status"] != running else self._view(doc)
                if predicate is None or predicate(view):
                    docs.append(view)
            if order_by:
                docs = sort_runs(docs, order_by)
            else:  # MLflow's default order, newest first then by id, with C-level sorts
                start_time = itemgetter("start_time")
                docs.sort(key=start_time, reverse=True)
                if len(set(map(start_time, docs))) != len(docs):  # ties: by id among equal start times
                    docs.sort(key=itemgetter("run_id"))
                    docs.sort(key=start_time, reverse=True)
        return docs if max_results is None else docs[:max_results]

    def search_runs_frame(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> Any:
        """``search_runs`` as a DataFrame, built from the runs table's columns (no document is read).

        Filters and orderings the columns cannot answer go through :meth:`search_run_docs`.
        """
        return _column_search.search_frame(self, experiment_ids, filter_string, run_view_type, max_results, order_by)

    def search_run_listing(
        self,
        experiment_ids: Sequence[str],
        run_view_type: int = ViewType.ACTIVE_ONLY,
        filter_string: str | None = None,
    ) -> RunListing:
        """The runs of a listing, copied from the runs table's columns (no run document is parsed).

        See :meth:`AbstractStore.search_run_listing`.
        """
        return _column_search.listing(self, experiment_ids, run_view_type, filter_string)

    def artifact_dir(self, run_id: str) -> Path:
        self._run_doc(run_id)
        path = self.root / "artifacts" / run_id
        if path.is_dir():
            return path
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise store_error(exc, path, "creating the run's artifact folder") from None
        return path

    def dataset_inputs(self, run_id: str) -> list[DatasetInput]:
        """The datasets recorded on a run."""
        return [dataset_input_from_dict(d) for d in self._view(self._run_doc(run_id))["inputs"]]
