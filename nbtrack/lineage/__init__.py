"""Code lineage of tracked runs: the minimal slice of executed cells, a staleness verdict, reproduce.

Each run of a ``%%track`` cell (and of a fit in a notebook where nbtrack is
loaded) stores the *minimal slice*: the executed cells, in execution order,
whose definitions the run's cell used, transitively (``slice.py``, tag
``nbtrack.slice_cells``). Its *verdict* (tag ``nbtrack.stale``, with
``nbtrack.stale_reason``) turns ``'true'`` when a later execution changes a cell
of the slice or redefines a variable it needed, or when the saved notebook
drops one of its cells.

``reproduce(run_id)``
    Runs the slice in a fresh kernel as a new run and compares params and metrics.
``slice_notebook(run_id)``
    Writes a notebook of just the slice.
``install()``
    Starts recording the running IPython shell's cells (``%load_ext nbtrack`` does it).
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "reproduce": "nbtrack.lineage.reproduce",
    "ReproduceResult": "nbtrack.lineage.reproduce",
    "slice_notebook": "nbtrack.lineage.notebook",
    "install": "nbtrack.lineage.recorder",
    "uninstall": "nbtrack.lineage.recorder",
    "Recorder": "nbtrack.lineage.recorder",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nbtrack.lineage' has no attribute {name!r}")


__all__ = sorted(_LAZY)
