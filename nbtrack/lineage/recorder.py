"""Recording a kernel's executions as they happen, and the lineage of the runs they make.

:class:`Recorder` listens to IPython's ``pre_run_cell`` / ``post_run_cell``
events. After every cell it records the execution (its definitions and uses,
read once), checks whether it makes an earlier run stale (a few dictionary
lookups; a store write only when a verdict changes) and, when the notebook file
changed on disk, whether it still holds every slice cell. Runs get their slice
in two ways:

* ``%%track`` asks for it before running the cell (:meth:`Recorder.prepare`,
  then :meth:`Recorder.attach` once the run exists), so the tags go into the
  run's creation and no extra store write is needed;
* a cell without ``%%track`` that started runs (an autologged ``fit``, a
  ``with nbtrack.start_run():`` block) gets them tagged after it ran.

Cells run before the recorder was installed are read from IPython's input
history (without cell ids).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from nbtrack.entities import RunTag, Tags
from nbtrack.lineage import record as rec
from nbtrack.lineage.session import Execution, Session, Slice
from nbtrack.lineage.staleness import Monitor, Watch, initial_verdict
from nbtrack.tracking import state
from nbtrack.tracking.client import TrackingClient

logger = logging.getLogger("nbtrack")


def notebook_path(shell: Any) -> str | None:
    """The notebook a kernel serves (``JPY_SESSION_NAME``, VS Code's ``__vsc_ipynb_file__``), if known."""
    name = os.environ.get("JPY_SESSION_NAME")
    if name:
        return name
    vsc = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    if vsc is None:
        vsc = getattr(sys.modules.get("__main__"), "__vsc_ipynb_file__", None)
    return vsc if isinstance(vsc, str) and vsc else None


def _last_run_id() -> str | None:
    """The id of the run the fluent API started or ended last (cheap: no store access)."""
    return state.last_run_id()


def _fluent_client() -> TrackingClient:
    return state.get_client()


def _own_errors(what: str, exc: Exception) -> None:
    if os.environ.get("NBTRACK_TESTING", "").lower() == "true":
        raise exc
    logger.warning("nbtrack lineage could not %s: %s: %s", what, type(exc).__name__, exc)


@dataclass(frozen=True)
class Pending:
    """The slice of a ``%%track`` cell about to run: its tags go into the new run."""

    target: Execution
    slice: Slice
    record: rec.SliceRecord
    reason: str | None

    @property
    def tags(self) -> dict[str, str]:
        """The run's lineage tags."""
        return rec.slice_tags(self.record, self.reason)


class Recorder:
    """Executions of one shell, their slices and the staleness of the runs they made (module docstring)."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.session = Session()
        self.monitor = Monitor()
        self._clients: dict[str, TrackingClient] = {}
        self._info: Any = None
        # Installed in the middle of a cell: only runs started from now on belong to that cell.
        self._started_ms = int(time.time() * 1000)
        self._last_before: str | None = _last_run_id()
        self._tracked_count: int | None = None
        self._saved_key: tuple[str, int, int] | None = None
        self._saved: tuple[frozenset[str], float] | None = None

    # -- IPython events --------------------------------------------------
    def register(self) -> None:
        """Start listening to the shell's cell events."""
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        """Stop listening."""
        for name, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(name, callback)
            except ValueError:
                pass

    def pre_run_cell(self, info: Any) -> None:
        """Remember when the cell started and which run was the last one."""
        if not getattr(info, "store_history", False):
            return
        self._info = info
        self._started_ms = int(time.time() * 1000)
        self._last_before = _last_run_id()

    def post_run_cell(self, result: Any) -> None:
        """Record the finished cell; update verdicts; give runs the cell started their slice."""
        info = getattr(result, "info", None)
        count = getattr(result, "execution_count", None)
        if info is None or count is None or not getattr(info, "store_history", False):
            return
        try:
            last = self.session.last_count
            if last is not None and count < last:  # the shell started a new session (execution counts restart)
                self.session, self.monitor = Session(), Monitor()
            elif last is not None and count == last:
                return
            self._catch_up(count)
            execution = self.session.record(
                info.raw_cell or "", count, getattr(info, "cell_id", None) or None, not result.success
            )
            for watch in self.monitor.on_execution(execution):
                self._write_stale(watch)
            self._check_saved()
            tracked, self._tracked_count = self._tracked_count == count, None
            if not tracked and _last_run_id() != self._last_before:
                self._tag_started_runs(execution)
        except Exception as exc:
            _own_errors("record the cell", exc)

    # -- %%track ---------------------------------------------------------
    def prepare(self, raw_cell: str, count: int, cell_id: str | None) -> Pending:
        """The slice of the ``%%track`` cell about to run as ``In[count]``.

        Parameters
        ----------
        raw_cell : str
            The cell as typed, ``%%track`` line included.
        count : int
            Its execution count.
        cell_id : str, optional
            Its notebook cell id.

        Returns
        -------
        Pending
            Pass its ``tags`` to the new run, then call :meth:`attach`.
        """
        self._catch_up(count)
        self._tracked_count = count
        target = self.session.pending(raw_cell, count, cell_id)
        found = self.session.slice(target)
        reason = self._initial_reason(found)
        record = rec.SliceRecord.of(found, target.index + 1, 0, notebook_path(self.shell))
        return Pending(target, found, record, reason)

    def attach(self, client: TrackingClient, run_id: str, pending: Pending) -> None:
        """Store the slice of a ``%%track`` run (``slice.py``, ``slice.json``) and watch its verdict."""
        rec.save(client, run_id, pending.record)
        self._watch(client, run_id, pending.slice, pending.reason)

    # -- internals -------------------------------------------------------
    def _catch_up(self, upto: int) -> None:
        """Record the cells ``In[k]``, ``k < upto``, that ran without this recorder seeing them."""
        last = self.session.last_count or 0
        if last >= upto - 1:
            return
        manager = getattr(self.shell, "history_manager", None)
        raw = getattr(manager, "input_hist_raw", None) or self.shell.user_ns.get("In") or []
        for count in range(last + 1, min(upto, len(raw))):
            source = raw[count]
            if source.strip():
                self.session.record(source, count, None, ended=0.0)

    def _initial_reason(self, found: Slice) -> str | None:
        reason = initial_verdict(found, self.session.executions)
        if reason is None:
            self._check_saved()
            if self._saved is not None:
                reason = Watch.of("", found).deleted(*self._saved)
        return reason

    def _watch(self, client: TrackingClient, run_id: str, found: Slice, reason: str | None) -> None:
        watch = Watch.of(run_id, found)
        watch.stale, watch.reason = reason is not None, reason
        self._clients[run_id] = client
        self.monitor.add(watch)

    def _write_stale(self, watch: Watch) -> None:
        client = self._clients.get(watch.run_id)
        if client is None or watch.reason is None:
            return
        try:
            rec.mark_stale(client, watch.run_id, watch.reason)
        except Exception as exc:
            _own_errors(f"mark run {watch.run_id} stale", exc)

    def _check_saved(self) -> None:
        """Re-read the notebook's cell ids when its file changed; mark runs whose slice cells are gone."""
        path = notebook_path(self.shell)
        if not path:
            return
        candidates = [Path(path)]
        if not candidates[0].is_absolute():
            candidates.append(Path.cwd() / candidates[0].name)
        for candidate in candidates:
            try:
                stat = candidate.stat()
            except OSError:
                continue
            key = (str(candidate), stat.st_mtime_ns, stat.st_size)
            if key == self._saved_key:
                return
            self._saved_key = key
            try:
                nb = orjson.loads(candidate.read_bytes())
                ids = frozenset(str(c["id"]) for c in nb.get("cells", []) if isinstance(c, dict) and "id" in c)
            except (OSError, orjson.JSONDecodeError, TypeError, AttributeError):
                return
            self._saved = (ids, stat.st_mtime_ns / 1e9)
            for watch in self.monitor.on_saved(*self._saved):
                self._write_stale(watch)
            return

    def _tag_started_runs(self, execution: Execution) -> None:
        """Give the top-level runs this cell started (autologged fits, ``start_run`` blocks) their slice."""
        client = _fluent_client()
        experiments = [e.experiment_id for e in client.search_experiments()]
        if not experiments:
            return
        found = client.search_runs(experiments, filter_string=f"attributes.start_time >= {self._started_ms}")
        source = os.environ.get("JPY_SESSION_NAME")
        runs = [
            r
            for r in found
            if Tags.PARENT_RUN_ID not in r.data.tags
            and rec.SLICE_CELLS not in r.data.tags
            and (source is None or r.data.tags.get(Tags.SOURCE_NAME) == source)
        ]
        runs.sort(key=lambda r: (r.info.start_time, r.info.run_id))
        if not runs:
            return
        found_slice = self.session.slice(execution)
        reason = self._initial_reason(found_slice)
        path = notebook_path(self.shell)
        for ordinal, run in enumerate(runs):
            record = rec.SliceRecord.of(found_slice, execution.index + 1, ordinal, path)
            tags = rec.slice_tags(record, reason)
            tags[Tags.EXECUTION_COUNT] = str(execution.count)
            if execution.cell_id:
                tags[Tags.CELL_ID] = execution.cell_id
            if path:
                tags[Tags.NOTEBOOK_PATH] = path
            tags = {k: v for k, v in tags.items() if k not in run.data.tags or k in rec.LINEAGE_TAGS}
            client.log_batch(run.info.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
            rec.save(client, run.info.run_id, record)
            self._watch(client, run.info.run_id, found_slice, reason)


_RECORDERS: dict[int, Recorder] = {}


def install(shell: Any = None) -> Recorder:
    """The recorder of ``shell`` (the running IPython shell by default), created and registered on first call.

    Parameters
    ----------
    shell : InteractiveShell, optional
        The shell; ``get_ipython()`` by default.

    Returns
    -------
    Recorder
        The same object on every call for the same shell.
    """
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("nbtrack lineage records cells of an IPython shell; none is running.")
    found = _RECORDERS.get(id(shell))
    if found is None or found.shell is not shell:
        found = _RECORDERS[id(shell)] = Recorder(shell)
        found.register()
    return found


def uninstall(shell: Any) -> None:
    """Stop recording ``shell``'s cells."""
    found = _RECORDERS.pop(id(shell), None)
    if found is not None:
        found.unregister()
