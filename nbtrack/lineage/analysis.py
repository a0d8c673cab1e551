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

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from nbtrack.lineage import _magics

# Methods that change the object they are called on.
MUTATING_METHODS = frozenset(
    {
        # list, dict, set, deque, bytearray
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "clear",
        "sort",
        "reverse",
        "update",
        "setdefault",
        "popitem",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "appendleft",
        "extendleft",
        "popleft",
        "rotate",
        # estimators and models
        "fit",
        "partial_fit",
        "fit_transform",
        "fit_predict",
        "fit_resample",
        "set_params",
        "set_output",
        "load_state_dict",
        "train",
        "step",
        "zero_grad",
        # random generators (each draw advances their state)
        "seed",
        "manual_seed",
        "shuffle",
        "rand",
        "randn",
        "randint",
        "random",
        "random_sample",
        "normal",
        "uniform",
        "choice",
        "permutation",
        "integers",
        "standard_normal",
        "binomial",
        "poisson",
        "exponential",
        "beta",
        "gamma",
        "multinomial",
    }
)
# Functions that change their first argument.
MUTATING_FUNCTIONS = frozenset({"shuffle", "copyto", "fill_diagonal", "put", "place"})

_OUTPUT_REF = re.compile(r"^_i{0,2}(\d+)$")
# Calls that change how every later cell behaves (working directory, environment, library-wide settings).
_ENVIRONMENT_CALLS = frozenset({"chdir", "putenv", "set_config", "autolog", "seterr", "set_option"})


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


def base_name(node: ast.expr) -> str | None:
    """The variable at the root of ``a.b[0].c`` (``a``), if it is a plain name."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _mutation_targets(call: ast.Call, methods: Iterable[str] = MUTATING_METHODS) -> list[str]:
    """Names a call mutates: its receiver (mutating method, ``inplace=True``) and ``shuffle``'s argument."""
    out: list[str] = []
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if isinstance(func, ast.Attribute):
        receiver = base_name(func.value)
        if receiver and (
            (name is not None and name in methods)
            or any(k.arg == "inplace" and _is_true(k.value) for k in call.keywords)
        ):
            out.append(receiver)
    if name in MUTATING_FUNCTIONS and call.args:
        target = base_name(call.args[0])
        if target:
            out.append(target)
    return out


class _Scope:
    """Free names, global writes and mutated parameters of a function, lambda, comprehension or class body."""

    def __init__(self, node: ast.AST) -> None:
        self.loads: set[str] = set()
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.stores: set[str] = set()
        self.mutated: set[str] = set()
        params: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            params = [p.arg for p in (*a.posonlyargs, *a.args)]
            extra = [p.arg for p in a.kwonlyargs] + [p.arg for p in (a.vararg, a.kwarg) if p is not None]
            self.bound.update(params, extra)
            body: list[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            body = [node]
        else:
            body = list(getattr(node, "body", []))
        self.params = params
        for child in body:
            self._walk(child)

    def _walk(self, root: ast.AST) -> None:
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self.loads.add(node.id)
                else:
                    self.stores.add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                self.globals.update(node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.stores.add(node.name)
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, ast.alias):
                self.stores.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.stores.add(node.name)
            elif isinstance(node, ast.Call):
                self.mutated.update(_mutation_targets(node))
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    if isinstance(target, (ast.Attribute, ast.Subscript)) or isinstance(node, ast.AugAssign):
                        found = base_name(target)
                        if found:
                            self.mutated.add(found)
            stack.extend(ast.iter_child_nodes(node))

    @property
    def free(self) -> frozenset[str]:
        """Names read that the scope does not bind itself (``global`` names stay free)."""
        local = (self.bound | self.stores) - self.globals
        return frozenset(self.loads - local)

    @property
    def global_writes(self) -> frozenset[str]:
        """Globals the scope assigns or mutates."""
        local = (self.bound | self.stores) - self.globals
        return frozenset((self.stores & self.globals) | (self.mutated - local))

    @property
    def mutated_params(self) -> frozenset[int]:
        """Positions of the parameters whose objects the scope mutates."""
        return frozenset(i for i, p in enumerate(self.params) if p in self.mutated)


_MAGIC_CALLS = frozenset({"run_line_magic", "run_cell_magic"})


def _constant(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _pattern_names(pattern: ast.pattern) -> tuple[list[str], list[ast.expr]]:
    """Names a ``case`` pattern binds, and the expressions it evaluates."""
    names: list[str] = []
    exprs: list[ast.expr] = []
    for node in ast.walk(pattern):
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.append(node.name)
        elif isinstance(node, ast.MatchMapping):
            if node.rest:
                names.append(node.rest)
            exprs.extend(node.keys)
        elif isinstance(node, ast.MatchValue):
            exprs.append(node.value)
        elif isinstance(node, ast.MatchClass):
            exprs.append(node.cls)
    return names, exprs


class _Cell:
    """Walks a cell's statements in order, keeping which names are bound for certain at each point."""

    def __init__(self) -> None:
        self.defs: set[str] = set()
        self.uses: set[str] = set()
        self.definite: set[str] = set()
        self.deferred: dict[str, frozenset[str]] = {}
        self.global_writes: dict[str, frozenset[str]] = {}
        self.param_mutations: dict[str, frozenset[int]] = {}
        self.calls: list[tuple[str, tuple[str | None, ...]]] = []
        self.method_calls: set[tuple[str, str]] = set()
        self.self_mutating: set[str] = set()
        self.signatures: dict[str, str] = {}
        self.star = False
        self.environment = False
        self.output_refs: set[int] = set()

    # -- names -----------------------------------------------------------
    def load(self, name: str) -> None:
        if name not in self.definite:
            self.uses.add(name)
            ref = _OUTPUT_REF.match(name)
            if ref:
                self.output_refs.add(int(ref.group(1)))
        for free in self.deferred.get(name, ()):  # a function of this cell, called here
            if free not in self.definite:
                self.uses.add(free)

    def bind(self, name: str) -> None:
        self.defs.add(name)
        self.definite.add(name)
        self.deferred.pop(name, None)
        self.global_writes.pop(name, None)
        self.param_mutations.pop(name, None)
        self.signatures.pop(name, None)

    def mutate(self, name: str) -> None:
        self.load(name)
        self.defs.add(name)

    # -- statements ------------------------------------------------------
    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def branch(self, bodies: list[list[ast.stmt]], keep_before: bool) -> None:
        """Run alternative bodies from the same state; afterwards only names bound in all of them are certain."""
        before = set(self.definite)
        results = [before] if keep_before else []
        for body in bodies:
            self.definite = set(before)
            self.block(body)
            results.append(self.definite)
        self.definite = set.intersection(*results) if results else before

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node)
        elif isinstance(node, ast.ClassDef):
            self.klass(node)
        elif isinstance(node, ast.Assign):
            self.expr(node.value)
            lam = isinstance(node.value, ast.Lambda) and len(node.targets) == 1
            for target in node.targets:
                self.target(target)
            if lam and isinstance(node.targets[0], ast.Name):
                self.deferred[node.targets[0].id] = _Scope(node.value).free
        elif isinstance(node, ast.AugAssign):
            self.expr(node.value)
            if isinstance(node.target, ast.Name):
                self.load(node.target.id)
            self.target(node.target)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value)
                self.target(node.target)
            else:
                self.expr(node.annotation)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            before = set(self.definite)
            self.target(node.target)
            self.block(node.body)
            self.block(node.orelse)
            self.definite = before
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self.branch([node.body + node.orelse], keep_before=True)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.branch([node.body, node.orelse], keep_before=False)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.block(node.body)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.try_(node)
        elif isinstance(node, ast.Match):
            self.match(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                self.bind(bound)
                self.signatures[bound] = "import " + (alias.name if alias.asname else bound)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    self.star = True
                    continue
                bound = alias.asname or alias.name
                self.bind(bound)
                self.signatures[bound] = f"from {module} import {alias.name}"
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.defs.add(target.id)
                    self.definite.discard(target.id)
                else:
                    self.target(target)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        a = node.args
        for expr in [*node.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d is not None)]:
            self.expr(expr)
        scope = _Scope(node)
        self.bind(node.name)
        self.deferred[node.name] = scope.free
        if scope.global_writes:
            self.global_writes[node.name] = scope.global_writes
        if scope.mutated_params:
            self.param_mutations[node.name] = scope.mutated_params

    def klass(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.expr(expr)
        deferred: set[str] = set()
        for stmt in node.body:
            scope = _Scope(
                stmt if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) else ast.Module([stmt], [])
            )
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                deferred.update(scope.free)
                if 0 in scope.mutated_params:
                    self.self_mutating.add(stmt.name)
            else:
                for name in scope.free:  # the class body runs now
                    self.load(name)
        self.bind(node.name)
        self.deferred[node.name] = frozenset(deferred)

    def try_(self, node: ast.stmt) -> None:
        before = set(self.definite)
        self.block(node.body)  # type: ignore[attr-defined]
        self.block(node.orelse)  # type: ignore[attr-defined]
        results = [self.definite]
        for handler in node.handlers:  # type: ignore[attr-defined]
            self.definite = set(before)
            if handler.type is not None:
                self.expr(handler.type)
            if handler.name:
                self.bind(handler.name)
            self.block(handler.body)
            results.append(self.definite)
        self.definite = set.intersection(*results)
        self.block(node.finalbody)  # type: ignore[attr-defined]

    def match(self, node: ast.Match) -> None:
        self.expr(node.subject)
        before = set(self.definite)
        results = [before]
        for case in node.cases:
            self.definite = set(before)
            names, exprs = _pattern_names(case.pattern)
            for expr in exprs:
                self.expr(expr)
            for name in names:
                self.bind(name)
            if case.guard is not None:
                self.expr(case.guard)
            self.block(case.body)
            results.append(self.definite)
        self.definite = set.intersection(*results)

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.target(elt)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            self.expr(node.value)
            if isinstance(node, ast.Subscript):
                self.expr(node.slice)
            found = base_name(node)
            if found:
                self.mutate(found)

    # -- expressions -----------------------------------------------------
    def expr(self, root: ast.expr) -> None:
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self.load(node.id)
                continue
            if isinstance(node, ast.NamedExpr):
                self.expr(node.value)
                self.target(node.target)
                continue
            if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                scope = _Scope(node)
                for name in scope.free:
                    self.load(name)
                for name in scope.global_writes:
                    self.defs.add(name)
                if isinstance(node, ast.Lambda):
                    stack.extend(node.args.defaults)
                continue
            if isinstance(node, ast.Call):
                self.call(node)
            stack.extend(ast.iter_child_nodes(node))

    def call(self, node: ast.Call) -> None:
        for name in _mutation_targets(node):
            self.mutate(name)
        func = node.func
        if isinstance(func, ast.Name):
            self.calls.append((func.id, tuple(a.id if isinstance(a, ast.Name) else None for a in node.args)))
            return
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in _ENVIRONMENT_CALLS:
            self.environment = True
        receiver = func.value
        if func.attr in _MAGIC_CALLS and isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name):
            if receiver.func.id == "get_ipython" and node.args:
                self.magic(func.attr, node.args)
            return
        found = base_name(receiver)
        if found and func.attr not in MUTATING_METHODS:
            self.method_calls.add((found, func.attr))

    def magic(self, kind: str, args: list[ast.expr]) -> None:
        name = _constant(args[0]) or ""
        line = _constant(args[1]) if len(args) > 1 else None
        if kind == "run_cell_magic":
            body = _constant(args[2]) if len(args) > 2 else None
            if name in _magics.ENVIRONMENT_CELL_MAGICS:
                self.environment = True
            elif name in _magics.BODY_CELL_MAGICS and body is not None:
                self.code(body)
            return
        if name in _magics.ENVIRONMENT_LINE_MAGICS:
            self.environment = True
        elif name in _magics.STAR_LINE_MAGICS:
            self.star = True
        elif name in _magics.CODE_LINE_MAGICS and line:
            self.code(line)

    def code(self, source: str) -> None:
        """Read the Python code a magic runs (``%time x = f()``) as part of this cell."""
        tree = _parse(source)
        if isinstance(tree, ast.Module):
            self.block(tree.body)

    def facts(self) -> Facts:
        return Facts(
            defs=frozenset(self.defs),
            uses=frozenset(self.uses),
            deferred=self.deferred,
            global_writes=self.global_writes,
            param_mutations=self.param_mutations,
            calls=tuple(self.calls),
            method_calls=frozenset(self.method_calls),
            self_mutating_methods=frozenset(self.self_mutating),
            signatures=self.signatures,
            star=self.star,
            environment=self.environment,
            output_refs=frozenset(self.output_refs),
        )


def _parse(source: str) -> ast.Module | str:
    """The module of ``source`` (IPython syntax translated when plain parsing fails), or the syntax error."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        return ast.parse(_magics.to_python(source))
    except (SyntaxError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


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
    tree = _parse(source)
    if isinstance(tree, str):
        return Facts(error=tree)
    cell = _Cell()
    cell.block(tree.body)
    return cell.facts()
