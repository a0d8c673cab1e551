"""What one executed cell defines and uses: the :class:`Facts` that :func:`~nbtrack.lineage.analysis.analyze` returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Facts:
    """Names one execution defined and used (see the module docstring).

    Attributes
    ----------
    defs : frozenset of str
        Names bound or mutated at top level.
    uses : frozenset of str
        Names read before the cell bound them (looked up in earlier executions).
    deferred : dict
        For each function or class defined here, the global names its body reads when called.
    global_writes : dict
        For each function defined here, the globals it assigns (``global x``) when called.
    param_mutations : dict
        For each function defined here, the positions of the parameters it mutates.
    calls : tuple
        Top-level calls of plain names: ``(function, (argument name or None, ...))``.
    method_calls : frozenset
        Top-level ``receiver.method(...)`` calls of methods not known to mutate.
    self_mutating_methods : frozenset of str
        Methods of classes defined here that change ``self``.
    signatures : dict
        What an import binds (``numpy`` for ``import numpy as np``), to tell a re-import from a redefinition.
    star : bool
        Defines names nobody can list (``from m import *``, ``%run``).
    environment : bool
        Changes the process or files (``%cd``, ``%env``, ``os.chdir``, ``%%writefile``).
    output_refs : frozenset of int
        Execution counts whose output this cell reads (``_4``).
    error : str or None
        Why the code could not be read (a syntax error); the execution then defines nothing.
    """

    defs: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()
    deferred: dict[str, frozenset[str]] = field(default_factory=dict)
    global_writes: dict[str, frozenset[str]] = field(default_factory=dict)
    param_mutations: dict[str, frozenset[int]] = field(default_factory=dict)
    calls: tuple[tuple[str, tuple[str | None, ...]], ...] = ()
    method_calls: frozenset[tuple[str, str]] = frozenset()
    self_mutating_methods: frozenset[str] = frozenset()
    signatures: dict[str, str] = field(default_factory=dict)
    star: bool = False
    environment: bool = False
    output_refs: frozenset[int] = frozenset()
    error: str | None = None
