"""Whether a run's slice still describes the notebook: the staleness verdict.

A run is *stale* when, after its cell ran,

1. a cell of its slice was re-executed with different code,
2. a variable its slice needed was redefined by other code (re-running the very
   same code, or re-importing the same module, does not count), or
3. the saved notebook no longer contains a cell of its slice.

A slice can also be stale from the start, when one of its cells had been edited
and re-run (without redefining what the run used) before the run. The verdict
names the cell and what changed, e.g. ``cell [4] `X_train = ...` changed after
this run (re-run as [9])``.

:class:`Monitor` keeps one :class:`Watch` per run, indexed by cell id and by
needed name, so checking a new execution costs a few dictionary lookups.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass, field

from nbtrack.lineage import _magics
from nbtrack.lineage.session import Execution, Slice

_SNIPPET = 40
# File systems stamp mtimes from a coarse clock.
_MTIME_SLACK = 0.02


def _defines(stmt: ast.stmt, name: str) -> bool:
    from nbtrack.lineage.analysis import analyze

    return name in analyze(ast.unparse(stmt)).defs


def _target(node: ast.expr) -> str:
    if isinstance(node, ast.Tuple):
        return ", ".join(ast.unparse(e) for e in node.elts)
    return ast.unparse(node)


def snippet(source: str, name: str | None = None) -> str:
    """A short quote of the statement of ``source`` that defines ``name`` (``X_train = ...``), else its first line."""
    split = _magics.split_cell_magic(source)
    body = split[2] if split is not None and split[0] in _magics.BODY_CELL_MAGICS else source
    try:
        statements = ast.parse(body).body
    except SyntaxError:
        statements = []
    chosen = next((s for s in statements if name is not None and _defines(s, name)), None)
    if chosen is None and statements:
        chosen = statements[0]
    if isinstance(chosen, ast.Assign):
        text = " = ".join(_target(t) for t in chosen.targets) + " = ..."
    elif isinstance(chosen, ast.AugAssign):
        text = ast.unparse(ast.AugAssign(target=chosen.target, op=chosen.op, value=ast.Name("...")))
    elif isinstance(chosen, ast.AnnAssign) and chosen.value is not None:
        text = ast.unparse(chosen.target) + " = ..."
    elif chosen is not None:
        text = ast.unparse(chosen).split("\n", 1)[0]
    else:
        text = body.strip().split("\n", 1)[0]
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 4].rstrip() + " ..."


def describe(execution: Execution, name: str | None = None) -> str:
    """``cell [4] `X_train = ...```."""
    return f"cell {execution.label} `{snippet(execution.source, name)}`"


@dataclass
class Watch:
    """What a run's verdict depends on, and the verdict so far."""

    run_id: str
    slice: Slice
    names: dict[str, Execution] = field(default_factory=dict)  # needed name -> the execution that defined it
    cells: dict[str, Execution] = field(default_factory=dict)  # cell id -> its execution in the slice
    stale: bool = False
    reason: str | None = None

    @classmethod
    def of(cls, run_id: str, found: Slice) -> Watch:
        """The watch of a run with slice ``found``."""
        by_index = {e.index: e for e in found.executions}
        names: dict[str, Execution] = {}
        for name, index in found.needed:
            current = names.get(name)
            if current is None or current.index < index:
                names[name] = by_index[index]
        cells = {e.cell_id: e for e in found.executions if e.cell_id}
        return cls(run_id, found, names, cells)

    def _name_for(self, execution: Execution) -> str | None:
        return next((n for n, e in sorted(self.names.items()) if e.index == execution.index), None)

    def check(self, later: Execution, when: str = "after this run") -> str | None:
        """The reason ``later`` (an execution after the run) makes the run stale, or ``None``."""
        if later.cell_id and later.cell_id in self.cells:
            before = self.cells[later.cell_id]
            if later.source.strip() != before.source.strip():
                return f"{describe(before, self._name_for(before))} changed {when} (re-run as {later.label})"
        for name in sorted(later.defs & self.names.keys()):
            before = self.names[name]
            if later.source.strip() == before.source.strip():
                continue
            signature = before.facts.signatures.get(name)
            if signature is not None and later.facts.signatures.get(name) == signature:
                continue
            return f"`{name}` (from {describe(before, name)}) was redefined by {describe(later, name)} {when}"
        return None

    def deleted(self, saved_ids: Collection[str], saved_at: float) -> str | None:
        """The reason the saved notebook (its cell ids, saved at ``saved_at``) makes the run stale, or ``None``."""
        if not saved_ids:
            return None  # a notebook without cell ids tells nothing
        for execution in self.slice.executions:
            if execution.cell_id and execution.cell_id not in saved_ids and execution.ended < saved_at + _MTIME_SLACK:
                name = self._name_for(execution)
                return f"{describe(execution, name)} is no longer in the saved notebook"
        return None


def initial_verdict(found: Slice, executions: list[Execution]) -> str | None:
    """Whether the slice was stale already when its run started (a slice cell edited and re-run before it)."""
    watch = Watch.of("", found)
    members = {e.index for e in found.executions}
    first = found.executions[0].index if found.executions else found.target.index
    for execution in executions[first : found.target.index]:
        if execution.index in members or not execution.cell_id or execution.cell_id not in watch.cells:
            continue
        before = watch.cells[execution.cell_id]
        if execution.index > before.index and execution.source.strip() != before.source.strip():
            return f"{describe(before, watch._name_for(before))} changed before this run (re-run as {execution.label})"
    return None


class Monitor:
    """The watches of every run of a session; finds the runs a new execution or a save makes stale."""

    def __init__(self) -> None:
        self.watches: dict[str, Watch] = {}
        self._by_cell: dict[str, list[Watch]] = {}
        self._by_name: dict[str, list[Watch]] = {}

    def add(self, watch: Watch) -> None:
        """Start watching a run (already stale ones are kept for the record, not checked)."""
        self.watches[watch.run_id] = watch
        if watch.stale:
            return
        for cell_id in watch.cells:
            self._by_cell.setdefault(cell_id, []).append(watch)
        for name in watch.names:
            self._by_name.setdefault(name, []).append(watch)

    def _mark(self, watch: Watch, reason: str) -> None:
        watch.stale, watch.reason = True, reason
        for cell_id in watch.cells:
            self._by_cell[cell_id] = [w for w in self._by_cell.get(cell_id, []) if w is not watch]
        for name in watch.names:
            self._by_name[name] = [w for w in self._by_name.get(name, []) if w is not watch]

    def on_execution(self, execution: Execution) -> list[Watch]:
        """Check the runs this new execution may affect; return those it made stale."""
        candidates: dict[str, Watch] = {}
        if execution.cell_id:
            for watch in self._by_cell.get(execution.cell_id, ()):
                candidates[watch.run_id] = watch
        for name in execution.defs:
            for watch in self._by_name.get(name, ()):
                candidates[watch.run_id] = watch
        changed = []
        for watch in candidates.values():
            if watch.stale or execution.index <= watch.slice.target.index:
                continue
            reason = watch.check(execution)
            if reason is not None:
                self._mark(watch, reason)
                changed.append(watch)
        return changed

    def on_saved(self, saved_ids: Collection[str], saved_at: float) -> list[Watch]:
        """Check every open run against the saved notebook; return those now stale."""
        changed = []
        for watch in list(self.watches.values()):
            if watch.stale:
                continue
            reason = watch.deleted(saved_ids, saved_at)
            if reason is not None:
                self._mark(watch, reason)
                changed.append(watch)
        return changed
