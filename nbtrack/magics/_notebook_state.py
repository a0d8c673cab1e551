"""What the kernel knows about the notebook: executed cells, their ids, and the saved notebook.

Notebook-state warnings (tag ``nbtrack.state``):

* **out of order**: the cell being run was executed before as ``In[k]`` and other
  cells ran after ``In[k]``. With cell ids (JupyterLab, Notebook 7, VS Code) this is
  decided by id; without them, by an identical source in the kernel's history.
  Such a cell ends up with a higher execution count than cells below it, so the
  notebook no longer reads top to bottom as it ran.
* **deleted cells**: cells that ran in this kernel (known by id) are missing from
  the notebook file on disk although the file was saved after they ran. Checked
  only when the notebook's path is known and its file can be read.
"""

from __future__ import annotations

import bisect
import os
import sys
import time
from pathlib import Path
from typing import Any

import orjson

UNKNOWN = "unknown"

# File systems stamp mtimes from a coarse clock (one scheduler tick, up to 10 ms behind time.time()).
_MTIME_SLACK = 0.02


def notebook_path(shell: Any) -> str:
    """The notebook this kernel serves (``JPY_SESSION_NAME``, VS Code's ``__vsc_ipynb_file__``) or ``"unknown"``."""
    name = os.environ.get("JPY_SESSION_NAME")
    if name:
        return name
    vsc = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    if vsc is None:
        vsc = getattr(sys.modules.get("__main__"), "__vsc_ipynb_file__", None)
    return vsc if isinstance(vsc, str) and vsc else UNKNOWN


class NotebookState:
    """Execution history of one shell, fed by IPython's ``pre_run_cell`` / ``post_run_cell`` events."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.current: Any = None  # ExecutionInfo of the cell being run
        self.executions: list[tuple[int, str | None, float]] = []  # (count, cell id, end time)
        self._by_id: dict[str, int] = {}
        self._nb_cache: tuple[str, int, int, frozenset[str]] | None = None
        # Incremental views of the (append-only) input history, so each cell costs O(new cells).
        self._indexed = 0
        self._counts: list[int] = []  # execution counts of non-empty history entries
        self._last_by_source: dict[str, int] = {}
        self._text_parts: list[str] = []

    # -- IPython events --------------------------------------------------
    def register(self) -> None:
        """Start listening to the shell's cell events."""
        events = self.shell.events
        events.register("pre_run_cell", self.pre_run_cell)
        events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        """Stop listening."""
        events = self.shell.events
        for name, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                events.unregister(name, callback)
            except ValueError:
                pass

    def pre_run_cell(self, info: Any) -> None:
        """Remember the cell about to run (its id arrives here from the front end)."""
        if getattr(info, "store_history", False):
            self.current = info

    def post_run_cell(self, result: Any) -> None:
        """Record a finished cell with its execution count and id."""
        info = getattr(result, "info", None)
        count = getattr(result, "execution_count", None)
        if info is None or count is None or not info.store_history:
            return
        cell_id = getattr(info, "cell_id", None) or None
        self.executions.append((count, cell_id, time.time()))
        if cell_id:
            self._by_id[cell_id] = count
        if self.current is info:
            self.current = None

    # -- history ---------------------------------------------------------
    def _index(self, upto: int) -> None:
        """Bring the incremental views up to ``In[upto]``."""
        manager = getattr(self.shell, "history_manager", None)
        raw = getattr(manager, "input_hist_raw", None) or self.shell.user_ns.get("In") or []
        upto = min(upto, len(raw) - 1)
        if len(raw) - 1 < self._indexed:  # history was reset (%reset): start over
            self._indexed, self._counts, self._last_by_source, self._text_parts = 0, [], {}, []
        if upto <= self._indexed:
            return
        for count in range(self._indexed + 1, upto + 1):
            source = raw[count]
            if not source.strip():
                continue
            self._counts.append(count)
            self._last_by_source[source.strip()] = count
            self._text_parts.append(f"\n# In[{count}]\n{source.rstrip()}\n")
        self._indexed = upto

    def history_text(self, upto: int) -> str:
        """The session history as a Python file, each cell headed by its execution count."""
        self._index(upto)
        end = bisect.bisect_right(self._counts, upto)
        return f"# Cells run in this session, in order, up to In[{upto}].\n" + "".join(self._text_parts[:end])

    # -- warnings --------------------------------------------------------
    def out_of_order(self, count: int, cell_id: str | None, raw: str) -> str | None:
        """A warning if this cell re-runs an earlier cell after later ones ran (see module docstring)."""
        if cell_id:
            previous = self._by_id.get(cell_id)
            if previous is None or previous >= count:
                return None
            later = [c for c, cid, _ in self.executions if previous < c < count and cid != cell_id]
        else:
            # Index up to the previous cell only: this cell's own entry must not match itself.
            self._index(count - 1)
            found = self._last_by_source.get(raw.strip())
            if found is None or found >= count:
                return None
            previous = found
            # Every non-empty cell after the last identical one has a different source.
            start = bisect.bisect_right(self._counts, previous)
            later = [c for c in self._counts[start:] if c < count]
        if not later:
            return None
        span = f"In[{later[0]}]" if len(later) == 1 else f"In[{later[0]}]..In[{later[-1]}]"
        return (
            f"out of order: this cell ran before as In[{previous}] and {len(later)} other cell(s) ran since "
            f"({span}); the notebook no longer reads top to bottom as it ran"
        )

    def _notebook_cell_ids(self, path: str) -> tuple[float, frozenset[str]] | None:
        candidates = [Path(path)]
        if not Path(path).is_absolute():
            candidates.append(Path.cwd() / Path(path).name)
        for candidate in candidates:
            try:
                stat = candidate.stat()
            except OSError:
                continue
            key = str(candidate)
            cache = self._nb_cache
            if cache is None or cache[:3] != (key, stat.st_mtime_ns, stat.st_size):
                try:
                    nb = orjson.loads(candidate.read_bytes())
                    ids = frozenset(str(c["id"]) for c in nb.get("cells", []) if isinstance(c, dict) and "id" in c)
                except (OSError, orjson.JSONDecodeError, TypeError, AttributeError):
                    return None
                cache = self._nb_cache = (key, stat.st_mtime_ns, stat.st_size, ids)
            return cache[1] / 1e9, cache[3]
        return None

    def deleted_cells(self, path: str) -> str | None:
        """A warning naming executed cells that the saved notebook no longer contains."""
        if path == UNKNOWN or not self._by_id:
            return None
        found = self._notebook_cell_ids(path)
        if found is None:
            return None
        saved_at, ids = found
        if not ids:  # a notebook without cell ids (nbformat < 4.5) tells nothing
            return None
        gone = sorted(
            count
            for count, cell_id, ended in self.executions
            if cell_id and cell_id not in ids and ended < saved_at + _MTIME_SLACK and self._by_id.get(cell_id) == count
        )
        if not gone:
            return None
        names = ", ".join(f"In[{c}]" for c in gone[:10]) + (" ..." if len(gone) > 10 else "")
        return f"deleted cells: {names} ran in this kernel but are no longer in the notebook"

    def warnings(self, count: int, cell_id: str | None, raw: str, path: str) -> list[str]:
        """Every notebook-state warning for the cell being run."""
        found = [self.out_of_order(count, cell_id, raw), self.deleted_cells(path)]
        return [w for w in found if w]
