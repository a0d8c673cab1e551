"""The executions of one kernel session and the minimal slice of any of them.

Each execution is read once, when it is recorded (:func:`~nbtrack.lineage.analysis.analyze`,
cached by source). A slice is then a walk back through an index ``name -> the
executions that defined it``: for every name the target execution used, the
latest definition *before the point where it was needed* wins, and that
execution's own uses are needed at its own point, transitively. Functions and
classes carry the names their bodies read; those are needed where the function
is used, and again at the target (a call may happen there).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass

from nbtrack.lineage.analysis import Facts, analyze


@dataclass(frozen=True)
class Execution:
    """One executed cell.

    Attributes
    ----------
    index : int
        Position in the session (0 for the first execution recorded).
    count : int or None
        IPython's execution count (``In[count]``).
    cell_id : str or None
        The notebook cell's id, when the front end sent it.
    source : str
        The code exactly as it ran.
    facts : Facts
        What the code defines and uses.
    defs : frozenset of str
        ``facts.defs`` plus what its calls changed (functions of earlier cells that mutate
        their arguments or globals, methods of user classes that change ``self``).
    failed : bool
        The cell raised.
    ended : float
        When it finished (seconds since the epoch).
    """

    index: int
    count: int | None
    cell_id: str | None
    source: str
    facts: Facts
    defs: frozenset[str]
    failed: bool = False
    ended: float = 0.0

    @property
    def label(self) -> str:
        """``[4]`` for execution count 4 (``[?]`` when unknown)."""
        return f"[{self.count}]" if self.count is not None else "[?]"


@dataclass(frozen=True)
class Slice:
    """The executions a target execution depends on, itself included, in execution order.

    Attributes
    ----------
    target : Execution
        The execution whose result the slice recomputes.
    executions : tuple of Execution
        The slice, in execution order; the target is last.
    needed : tuple of (str, int)
        Each name the slice needed and the index of the execution whose definition was used.
    """

    target: Execution
    executions: tuple[Execution, ...]
    needed: tuple[tuple[str, int], ...]


class Session:
    """Executions of one kernel, in order, indexed by the names they define."""

    def __init__(self) -> None:
        self.executions: list[Execution] = []
        self._defs: dict[str, list[int]] = {}
        self._star: list[int] = []
        self._environment: list[int] = []
        self._by_count: dict[int, int] = {}
        self._mutating_methods: set[str] = set()

    def __len__(self) -> int:
        return len(self.executions)

    @property
    def last_count(self) -> int | None:
        """The execution count of the latest execution recorded with one."""
        for execution in reversed(self.executions):
            if execution.count is not None:
                return execution.count
        return None

    def latest(self, name: str, point: int) -> int | None:
        """Index of the latest execution before ``point`` that defined ``name``."""
        found = self._defs.get(name)
        if not found:
            return None
        at = bisect.bisect_left(found, point)
        return found[at - 1] if at else None

    def by_count(self, count: int) -> Execution | None:
        """The execution ``In[count]``, if recorded."""
        index = self._by_count.get(count)
        return self.executions[index] if index is not None else None

    def effects(self, facts: Facts, point: int) -> frozenset[str]:
        """``facts.defs`` plus the names changed by the calls the code makes (see :class:`Execution`)."""
        extra: set[str] = set()
        for name, args in facts.calls:
            if name in facts.deferred:
                owner: Facts | None = facts
            else:
                index = self.latest(name, point)
                owner = self.executions[index].facts if index is not None else None
            if owner is None:
                continue
            extra.update(owner.global_writes.get(name, ()))
            for position in owner.param_mutations.get(name, ()):
                if position < len(args) and args[position]:
                    extra.add(args[position])  # type: ignore[arg-type]
        methods = self._mutating_methods | facts.self_mutating_methods
        extra.update(base for base, method in facts.method_calls if method in methods)
        return facts.defs | extra if extra else facts.defs

    def record(
        self,
        source: str,
        count: int | None = None,
        cell_id: str | None = None,
        failed: bool = False,
        ended: float | None = None,
    ) -> Execution:
        """Add an executed cell at the end of the session.

        Parameters
        ----------
        source : str
            The code as it ran (IPython syntax allowed).
        count : int, optional
            Its execution count.
        cell_id : str, optional
            Its notebook cell id.
        failed : bool
            Whether it raised.
        ended : float, optional
            When it finished; now by default.

        Returns
        -------
        Execution
            The recorded execution.
        """
        facts = analyze(source)
        index = len(self.executions)
        defs = self.effects(facts, index)
        execution = Execution(
            index, count, cell_id, source, facts, defs, failed, time.time() if ended is None else ended
        )
        self.executions.append(execution)
        for name in defs:
            self._defs.setdefault(name, []).append(index)
        if facts.star:
            self._star.append(index)
        if facts.environment:
            self._environment.append(index)
        if count is not None:
            self._by_count[count] = index
        self._mutating_methods.update(facts.self_mutating_methods)
        return execution

    def pending(self, source: str, count: int | None = None, cell_id: str | None = None) -> Execution:
        """The execution ``source`` would be if it ran next (not recorded), to slice a cell before it runs."""
        facts = analyze(source)
        index = len(self.executions)
        return Execution(index, count, cell_id, source, facts, self.effects(facts, index), False, time.time())

    def slice(self, target: Execution | int) -> Slice:
        """The minimal slice of ``target`` (an execution, or its index).

        Parameters
        ----------
        target : Execution or int
            A recorded execution, its index, or a :meth:`pending` one.

        Returns
        -------
        Slice
            The executions whose definitions ``target`` used, transitively, in execution order.
        """
        if isinstance(target, int):
            target = self.executions[target]
        top = target.index
        included: set[int] = {top}
        needed: set[tuple[str, int]] = set()
        todo: list[tuple[str, int]] = []
        seen: set[tuple[str, int]] = set()

        def get(index: int) -> Execution:
            return target if index == top else self.executions[index]

        def include(index: int) -> None:
            if index in included and index != top:
                return
            included.add(index)
            execution = get(index)
            todo.extend((name, index) for name in execution.facts.uses)
            for count in execution.facts.output_refs:
                ref = self._by_count.get(count)
                if ref is not None and ref < index:
                    include(ref)

        include(top)
        for index in self._environment:
            if index < top:
                include(index)
        while todo:
            item = todo.pop()
            if item in seen:
                continue
            seen.add(item)
            name, point = item
            found = self.latest(name, point)
            if found is None:
                at = bisect.bisect_left(self._star, point)
                if at:
                    include(self._star[at - 1])
                continue
            needed.add((name, found))
            include(found)
            for free in self.executions[found].facts.deferred.get(name, ()):
                todo.append((free, point))
                todo.append((free, top))
        ordered = tuple(get(i) for i in sorted(included))
        return Slice(target, ordered, tuple(sorted(needed, key=lambda p: (p[1], p[0]))))


def slice_source(executions: Iterable[Execution], header: str = "") -> str:
    """The slice as a Python file in the ``# %%`` cell format, one cell per execution, headed by its count and id."""
    parts = [header] if header else []
    for execution in executions:
        marker = f"# %% In{execution.label}"
        if execution.cell_id:
            marker += f" cell {execution.cell_id}"
        parts.append(f"{marker}\n{execution.source.rstrip()}\n")
    return "\n".join(parts)
