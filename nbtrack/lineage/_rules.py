"""Which calls mutate what, and the free names of functions, lambdas, comprehensions and class bodies."""

from __future__ import annotations

import ast
from collections.abc import Iterable

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


def base_name(node: ast.expr) -> str | None:
    """The variable at the root of ``a.b[0].c`` (``a``), if it is a plain name."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def mutation_targets(call: ast.Call, methods: Iterable[str] = MUTATING_METHODS) -> list[str]:
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


class Scope:
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
                self.mutated.update(mutation_targets(node))
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
