"""``%%track`` in a notebook executed by nbclient on a real kernel."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import nbtrack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FAILING = "def load(path):\n    raise FileNotFoundError(path)\n\nload('data.csv')"


def _execute(tmp_path: Path, cells: dict[str, str], order: list[str]) -> tuple[Any, dict[str, Exception]]:
    """Write the notebook, then run its cells in ``order`` on a fresh kernel, sending cell ids as JupyterLab does."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, id=cell_id) for cell_id, source in cells.items()]
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    env = {
        **os.environ,
        "NBTRACK_STORE": os.environ["NBTRACK_STORE"],
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "JPY_SESSION_NAME": str(path),
    }
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    index = {cell.id: i for i, cell in enumerate(nb.cells)}
    errors: dict[str, Exception] = {}

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
    with client.setup_kernel(env=env):
        for cell_id in order:
            try:
                client.execute_cell(nb.cells[index[cell_id]], index[cell_id])
            except CellExecutionError as exc:
                errors[cell_id] = exc
    return nb, errors


def _runs() -> list[nbtrack.Run]:
    return sorted(
        nbtrack.search_runs(output_format="list", search_all_experiments=True),
        key=lambda r: int(r.data.tags.get("nbtrack.execution_count", 0)),
    )


def _traceback(nb: Any, cell_id: str) -> list[str]:
    cell = next(c for c in nb.cells if c.id == cell_id)
    (error,) = [o for o in cell.outputs if o.output_type == "error"]
    return [re.sub(r"In\[\d+\]", "In[N]", line) for line in error.traceback]


def test_tracked_cells_in_a_real_kernel(tmp_path: Path) -> None:
    cells = {
        "load": "%load_ext nbtrack",
        "train": "%%track first\nx = 1\nprint('hi')",
        "data": "y = 2",
        "boom": "%%track boom\n" + FAILING,
        "plain": FAILING,
    }
    nb, errors = _execute(tmp_path, cells, ["load", "train", "data", "train", "boom", "plain"])

    # One run per executed %%track cell, nothing left running
    runs = _runs()
    assert [r.info.run_name for r in runs] == ["first", "first", "boom"]
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED", "FAILED"]

    # The cell id and notebook path come from the front end
    assert {r.data.tags["nbtrack.cell_id"] for r in runs[:2]} == {"train"}
    assert runs[2].data.tags["nbtrack.notebook_path"] == str(tmp_path / "analysis.ipynb")

    # Re-running "train" after "data" is flagged; the first run is not
    assert runs[0].data.tags["nbtrack.state"] == ""
    assert runs[1].data.tags["nbtrack.state"].startswith("out of order: this cell ran before as In[2]")

    # The failing cell stops the notebook like any failing cell, with the user's own traceback
    assert set(errors) == {"boom", "plain"}
    assert runs[2].data.tags["nbtrack.exception_type"] == "FileNotFoundError"
    assert _traceback(nb, "boom") == _traceback(nb, "plain")

    # Source and session history are artifacts of the run
    client = nbtrack.MlflowClient()
    boom = runs[2].info.run_id
    assert Path(client.download_artifacts(boom, "cell.py")).read_text() == FAILING
    history = Path(client.download_artifacts(boom, "session_history.py")).read_text()
    assert "# In[1]\n%load_ext nbtrack\n" in history and "# In[3]\ny = 2\n" in history

    # The run card is in the executed notebook as plain HTML
    train = next(c for c in nb.cells if c.id == "train")
    html = [o.data["text/html"] for o in train.outputs if _plain_html(o)]
    assert len(html) == 1 and "jp-nbtrack-RunCard" in html[0] and runs[1].info.run_id in html[0]
    assert any("hi" in o.get("text", "") for o in train.outputs if o.output_type == "stream")
    assert runs[1].data.tags["nbtrack.stdout_bytes"] == "3"
    # In the live kernel the buttons follow the card as their own widget output
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in train.outputs)


def _plain_html(output: Any) -> bool:
    # the card itself (plain HTML), not the buttons' widget with its saved HTML beside it
    data = output.get("data", {})
    return output.output_type == "display_data" and "text/html" in data and WIDGET_VIEW not in data


def test_a_cell_fitting_two_models_gives_one_run_with_a_nested_child(tmp_path: Path) -> None:
    cells = {
        "load": "%load_ext nbtrack",
        "data": (
            "from sklearn.datasets import make_classification\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.ensemble import RandomForestClassifier\n"
            "X, y = make_classification(n_samples=200, n_features=6, random_state=0)"
        ),
        "fit": (
            "%%track compare\n"
            "lr = LogisticRegression(max_iter=200).fit(X, y)\n"
            "rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)"
        ),
    }
    nb, errors = _execute(tmp_path, cells, ["load", "data", "fit"])
    assert errors == {}
    runs = _runs()
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    (child,) = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.run_name == "compare" and parent.data.tags["nbtrack.cell_id"] == "fit"
    assert {parent.data.tags["estimator_name"], child.data.tags["estimator_name"]} == {
        "LogisticRegression",
        "RandomForestClassifier",
    }
    fit = next(c for c in nb.cells if c.id == "fit")
    (html,) = [o.data["text/html"] for o in fit.outputs if _plain_html(o)]
    assert child.info.run_id in html or child.info.run_name in html
    assert f"runs:/{parent.info.run_id}/model" in html
