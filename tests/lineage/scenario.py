"""Executing a notebook the way a person does: cells out of order, edited and re-run, deleted, saved.

A notebook's ``metadata.nbtrack_scenario.steps`` lists what happens, in order:
a cell id (run that cell), ``{"edit": id, "source": text}`` (change a cell's
source), ``{"delete": id}``, ``{"save": true}`` (write the notebook file, as
JupyterLab's autosave does). Without a scenario every code cell runs top to
bottom. Cells run on one real kernel (nbclient), which receives each cell's id
as JupyterLab sends it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]


def steps_of(nb: Any) -> list[Any]:
    """The scenario's steps (every code cell in order when the notebook has none)."""
    scenario = nb.metadata.get("nbtrack_scenario")
    if scenario:
        return list(scenario["steps"])
    return [c.id for c in nb.cells if c.cell_type == "code"]


def play(source: Path, workdir: Path, store: Path, timeout: int = 300) -> tuple[Any, dict[str, str]]:
    """Copy the notebook into ``workdir`` and play its scenario; return the final notebook and the cells that raised."""
    nb = nbformat.read(source, as_version=4)
    path = workdir / source.name
    saved = copy.deepcopy(nb)
    saved.metadata.pop("nbtrack_scenario", None)
    nbformat.write(saved, path)
    env = {
        **os.environ,
        "NBTRACK_STORE": str(store),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "JPY_SESSION_NAME": str(path),
    }
    env.pop("NBTRACK_TESTING", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    errors: dict[str, str] = {}

    def send_cell_id(cell: Any, cell_index: int) -> None:
        kc = client.kc

        def execute(code: str, silent: bool = False, store_history: bool = True, **kw: Any) -> str:
            content = {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": kw.get("user_expressions") or {},
                "allow_stdin": False,
                "stop_on_error": kw.get("stop_on_error", True),
            }
            msg = kc.session.msg("execute_request", content, metadata={"cellId": cell.id})
            kc.shell_channel.send(msg)
            return str(msg["header"]["msg_id"])

        kc.execute = execute

    client.on_cell_execute = send_cell_id

    def save() -> None:
        out = copy.deepcopy(nb)
        out.metadata.pop("nbtrack_scenario", None)
        nbformat.write(out, path)

    with client.setup_kernel(env=env, cwd=str(workdir)):
        for step in steps_of(nb):
            if isinstance(step, str):
                index = next(i for i, c in enumerate(nb.cells) if c.id == step)
                try:
                    client.execute_cell(nb.cells[index], index)
                except CellExecutionError as err:
                    errors[step] = f"{err.ename}: {err.evalue}"
            elif "edit" in step:
                next(c for c in nb.cells if c.id == step["edit"]).source = step["source"]
            elif "delete" in step:
                nb.cells = [c for c in nb.cells if c.id != step["delete"]]
            elif step.get("save"):
                save()
    save()
    return nb, errors
