"""A notebook holding just a run's slice, in execution order, ready to run."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.lineage import _magics
from nbtrack.lineage import record as rec
from nbtrack.tracking.client import TrackingClient


def _cell(cell_type: str, source: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": cell_type,
        "id": uuid.uuid4().hex[:8],
        "metadata": metadata or {},
        "source": source,
    }
    if cell_type == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def slice_cells(run_id: str, run_name: str, slice_record: rec.SliceRecord) -> list[dict[str, Any]]:
    """The cells (nbformat 4 dicts) of the slice notebook: a heading, ``%load_ext nbtrack`` when needed, the slice."""
    counts = ", ".join(
        f"In[{c.execution_count}]" if c.execution_count is not None else "In[?]" for c in slice_record.cells
    )
    where = f" of `{slice_record.notebook_path}`" if slice_record.notebook_path else ""
    heading = (
        f"# Slice of run `{run_name}` ({run_id})\n\n"
        f"The {len(slice_record.cells)} of {slice_record.executed} executed cells{where} that produced this run, "
        f"in the order they ran ({counts}). Run them top to bottom to recompute it."
    )
    cells = [_cell("markdown", heading)]
    if any((_magics.split_cell_magic(c.source) or ("",))[0] == "track" for c in slice_record.cells):
        cells.append(_cell("code", "%load_ext nbtrack"))
    for c in slice_record.cells:
        meta: dict[str, Any] = {"nbtrack": {"execution_count": c.execution_count, "cell_id": c.cell_id}}
        if c.failed:
            meta["tags"] = ["raises-exception"]
        cells.append(_cell("code", c.source.rstrip("\n"), meta))
    return cells


def notebook_json(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A complete nbformat 4.5 notebook holding ``cells``."""
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def default_path(run_id: str, slice_record: rec.SliceRecord) -> Path:
    """``<notebook folder>/<notebook>-slice-<run id[:8]>.ipynb`` (the working directory when the notebook is unknown)."""
    nb = slice_record.notebook_path
    if nb and nb != "unknown" and Path(nb).expanduser().parent.is_dir():
        source = Path(nb).expanduser()
        return source.parent / f"{source.stem}-slice-{run_id[:8]}.ipynb"
    return Path.cwd() / f"slice-{run_id[:8]}.ipynb"


def slice_notebook(
    run_id: str, path: str | os.PathLike[str] | None = None, *, client: TrackingClient | None = None
) -> Path:
    """Write a notebook of just the run's slice (its cells, in execution order).

    Parameters
    ----------
    run_id : str
        A run with a recorded slice.
    path : str or path-like, optional
        Where to write; beside the original notebook by default (``<name>-slice-<run id>.ipynb``).
    client : TrackingClient, optional
        The store to read; the fluent API's by default.

    Returns
    -------
    pathlib.Path
        The notebook written.

    Raises
    ------
    NotFound
        No such run, or it has no recorded slice.
    InvalidParameter
        ``path`` is a folder or does not end in ``.ipynb``.
    """
    if client is None:
        from nbtrack.lineage.recorder import _fluent_client

        client = _fluent_client()
    run = client.get_run(run_id)
    slice_record = rec.load(client, run_id)
    target = Path(path).expanduser() if path is not None else default_path(run_id, slice_record)
    if target.is_dir() or target.suffix != ".ipynb":
        raise InvalidParameter(f"slice_notebook writes an .ipynb file; {str(target)!r} is not one.")
    if not target.parent.is_dir():
        raise InvalidParameter(f"Folder {str(target.parent)!r} does not exist.")
    notebook = notebook_json(slice_cells(run_id, run.info.run_name, slice_record))
    target.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    return target
