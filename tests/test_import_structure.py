"""The package's import graph, read from the source with ``ast``: no circles, no reaches into other packages' privates,
and every arrow pointing down the layers of ``help(nbtrack)``'s map.

Imports inside functions count: a circle closed by a late import is still a circle. Imports under
``if TYPE_CHECKING:`` are names for annotations only (never executed), so they count for the private-name and layer
rules but not as circle edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nbtrack"

# Floors, lowest first: a module may import from its own floor or a lower one, never a higher one.
LAYERS: dict[str, int] = {
    "nbtrack.entities": 0,
    "nbtrack.errors": 0,
    "nbtrack._validation": 0,
    "nbtrack._json": 0,
    "nbtrack.version": 0,
    "nbtrack.query": 1,
    "nbtrack.store": 2,
    "nbtrack.config": 3,
    "nbtrack.tracking": 4,
    "nbtrack.registry": 5,
    "nbtrack.data": 5,
    "nbtrack.models": 5,
    "nbtrack.artifacts": 5,
    "nbtrack.sync": 5,
    "nbtrack.autolog": 6,
    "nbtrack.pyfunc": 7,
    "nbtrack.sklearn": 7,
    "nbtrack.lineage": 7,
    "nbtrack.widgets": 8,
    "nbtrack.server": 8,
    "nbtrack.magics": 9,
    "nbtrack.cli": 9,
    "nbtrack.exceptions": 0,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "labextension" not in p.relative_to(PACKAGE).parts and p.name != "_version.py"
    }


MODULES = _sources()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _type_only_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str, path: Path, runtime_only: bool = False) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every nbtrack import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only_lines(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "nbtrack":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, path.name == "__init__.py", node)
            if target.split(".")[0] != "nbtrack":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path, runtime_only=True):
            if target != name and target in MODULES:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _owner(module: str) -> str:
    """The sub-package (``nbtrack.store``) or top-level module (``nbtrack.config``) a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _floor(module: str) -> int | None:
    return LAYERS.get(_owner(module))


def test_the_package_has_no_import_circle() -> None:
    # Given the import graph of every module, late imports included
    cycles = _cycles(_graph())
    # Then no set of modules imports each other round in a circle
    assert cycles == []


def test_no_module_imports_another_packages_private_parts() -> None:
    # Given every import that crosses from one sub-package into another
    reaches = []
    for name, path in MODULES.items():
        for target, imported, line in _imports(name, path):
            if _owner(target) == _owner(name) or target == "nbtrack":
                continue
            private_module = any(part.startswith("_") for part in target.split(".")[2:])
            private_name = imported is not None and imported.startswith("_") and imported != "__version__"
            if private_module or private_name:
                reaches.append(f"{name}:{line} -> {target}{'.' + imported if imported else ''}")
    # Then none of them names a private module or a private name
    assert reaches == []


def test_imports_point_down_the_layers() -> None:
    # Given every sub-package's floor
    unplaced = sorted({_owner(m) for m in MODULES if m != "nbtrack" and _floor(m) is None})
    assert unplaced == [], "give these a floor in LAYERS"
    # When reading every import between sub-packages
    upward = []
    for name, path in MODULES.items():
        if name == "nbtrack":
            continue
        for target, imported, line in _imports(name, path):
            if target == "nbtrack":
                upward.append(f"{name}:{line} imports the top-level package ({imported})")
                continue
            low, high = _floor(target), _floor(name)
            if low is not None and high is not None and low > high:
                upward.append(f"{name}:{line} -> {target}")
    # Then none of them points up
    assert upward == []


def test_the_analysis_sees_circles_and_late_imports(tmp_path: Path) -> None:
    # Given two modules that import each other, one of them inside a function
    graph = {"nbtrack.a": {"nbtrack.b"}, "nbtrack.b": {"nbtrack.a"}, "nbtrack.c": {"nbtrack.a"}}
    # Then the circle is found, and the module that only imports them is not part of it
    assert _cycles(graph) == [["nbtrack.a", "nbtrack.b"]]
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from nbtrack.store import _backend\n")
    found = list(_imports("nbtrack.widgets.m", source))
    assert found == [("nbtrack.store._backend", None, 2)]
