"""What one executed cell defines and uses, read from its code with :mod:`ast`.

A *definition* is any binding at the notebook's top level (assignment, ``for``
target, ``with ... as``, ``import``, ``def``, ``class``, ``del``) and any
mutation of an existing object through a name: attribute or subscript
assignment (``df["y"] = ...``, ``model.C = 2``), augmented assignment, a call
with ``inplace=True`` (``df.dropna(inplace=True)``), a method known to change
its receiver (``list.append``, ``dict.update``, ``estimator.fit``, the draws of
a random generator, ...) and ``shuffle(x)``. A *use* is a name the cell reads
before binding it itself. Names read inside functions and classes are recorded
per function (*deferred*), because they are looked up when the function is
called, possibly from another cell.
"""

from __future__ import annotations

from functools import lru_cache

from nbtrack.lineage import _magics
from nbtrack.lineage._rules import MUTATING_FUNCTIONS, MUTATING_METHODS, base_name
from nbtrack.lineage._walker import Cell, parse
from nbtrack.lineage.facts import Facts

__all__ = ["MUTATING_FUNCTIONS", "MUTATING_METHODS", "Facts", "analyze", "base_name"]


@lru_cache(maxsize=1024)
def analyze(source: str) -> Facts:
    """Read what a cell's code defines and uses.

    Parameters
    ----------
    source : str
        The cell as typed: Python with IPython's ``%magic``, ``%%cell_magic`` and ``!shell`` syntax.

    Returns
    -------
    Facts
        The cell's definitions and uses; ``error`` is set (and nothing defined) when it is not valid code.
    """
    split = _magics.split_cell_magic(source)
    if split is not None:
        name, line, body = split
        if name in _magics.BODY_CELL_MAGICS:
            facts = analyze(body)
            words = [w for w in line.split() if not w.startswith("-")]
            if name == "capture" and words:
                return Facts(**{**facts.__dict__, "defs": facts.defs | {words[0]}})
            return facts
        return Facts(environment=name in _magics.ENVIRONMENT_CELL_MAGICS)
    tree = parse(source)
    if isinstance(tree, str):
        return Facts(error=tree)
    cell = Cell()
    cell.block(tree.body)
    return cell.facts()
