"""IPython syntax in a cell (``%magic``, ``%%cell_magic``, ``!shell``) turned into something :mod:`ast` can read.

IPython's own transformer (``TransformerManager``) is used when IPython is
importable; without it, magic and shell lines are dropped (an assignment from
one, ``files = !ls``, keeps its target: ``files = None``). Cell magics that run
their body as Python in the user's namespace (``%%track``, ``%%time``,
``%%capture``, ...) are read through to the body.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Cell magics whose body runs as Python code in the user's namespace.
BODY_CELL_MAGICS = frozenset({"track", "time", "capture", "prun", "debug", "timeit"})
# Cell magics whose body is not Python at all and changes nothing the slice could need.
INERT_CELL_MAGICS = frozenset(
    {"bash", "sh", "script", "html", "HTML", "javascript", "js", "markdown", "latex", "svg", "perl", "ruby"}
)
# Cell magics that change the world outside the namespace (a file a later cell imports or reads).
ENVIRONMENT_CELL_MAGICS = frozenset({"writefile", "file"})
# Line magics that change the process (working directory, environment variables, loaded extensions, ...).
ENVIRONMENT_LINE_MAGICS = frozenset(
    {
        "cd",
        "env",
        "set_env",
        "load_ext",
        "reload_ext",
        "matplotlib",
        "config",
        "autoreload",
        "aimport",
        "precision",
        "alias",
        "pushd",
        "popd",
    }
)
# Line magics that define names nobody can list in advance (like ``from m import *``).
STAR_LINE_MAGICS = frozenset({"run", "pylab", "load", "store"})
# Line magics whose argument is a Python statement run in the user's namespace.
CODE_LINE_MAGICS = frozenset({"time"})

_ASSIGN_FROM_SHELL = re.compile(r"^(\s*)([A-Za-z_][\w.,\s\[\]]*?)\s*=\s*[!%]")


@lru_cache(maxsize=1)
def _transformer() -> Any:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython is an optional dependency
        return None
    factory: Any = TransformerManager
    return factory()


def split_cell_magic(source: str) -> tuple[str, str, str] | None:
    """``(name, line, body)`` when ``source`` starts with a ``%%cell_magic`` line, else ``None``."""
    stripped = source.lstrip()
    if not stripped.startswith("%%"):
        return None
    first, _, body = stripped.partition("\n")
    name, _, line = first[2:].partition(" ")
    return name.strip(), line.strip(), body


def _strip_ipython(source: str) -> str:
    """Drop magic and shell lines, keeping the targets of ``x = !cmd`` / ``x = %magic``."""
    out = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or stripped.endswith("?"):
            out.append(line[: len(line) - len(stripped)] + "pass")
            continue
        match = _ASSIGN_FROM_SHELL.match(line)
        if match:
            out.append(f"{match.group(1)}{match.group(2)} = None")
            continue
        out.append(line)
    return "\n".join(out)


def to_python(source: str) -> str:
    """Python code equivalent to ``source`` for reading names (magic calls become ``get_ipython()`` calls)."""
    manager = _transformer()
    if manager is None:
        return _strip_ipython(source)
    try:
        return str(manager.transform_cell(source))
    except Exception:
        return _strip_ipython(source)
