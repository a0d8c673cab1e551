"""The statement-by-statement walk of one cell's code behind :func:`~nbtrack.lineage.analysis.analyze`."""

from __future__ import annotations

import ast
import re

from nbtrack.lineage import _magics
from nbtrack.lineage._rules import MUTATING_METHODS, Scope, base_name, mutation_targets
from nbtrack.lineage.facts import Facts

_OUTPUT_REF = re.compile(r"^_i{0,2}(\d+)$")
# Calls that change how every later cell behaves (working directory, environment, library-wide settings).
_ENVIRONMENT_CALLS = frozenset({"chdir", "putenv", "set_config", "autolog", "seterr", "set_option"})

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


class Cell:
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
                self.deferred[node.targets[0].id] = Scope(node.value).free
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
        scope = Scope(node)
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
            scope = Scope(stmt if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) else ast.Module([stmt], []))
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
                scope = Scope(node)
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
        for name in mutation_targets(node):
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
        tree = parse(source)
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


def parse(source: str) -> ast.Module | str:
    """The module of ``source`` (IPython syntax translated when plain parsing fails), or the syntax error."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        return ast.parse(_magics.to_python(source))
    except (SyntaxError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
