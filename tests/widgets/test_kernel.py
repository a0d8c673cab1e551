"""``nbtrack.show()`` in a real kernel (nbclient): widget view + static HTML, live refresh on the kernel's loop."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

CELLS = [
    """
import nbtrack
with nbtrack.start_run(run_name="<img src=x onerror=alert(1)>"):
    nbtrack.log_param("C", 1)
    for step in range(3):
        nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
dash = nbtrack.show()
dash
""",
    "print('polling:', dash.poller.running)",
    """
import asyncio, subprocess, sys
code = "import nbtrack\\nwith nbtrack.start_run(run_name='from-outside'):\\n    nbtrack.log_metric('loss', 0.5)"
subprocess.run([sys.executable, "-c", code], check=True)
for _ in range(400):  # yield to the kernel's event loop until the poll task has refreshed the table
    await asyncio.sleep(0.05)
    if "from-outside" in dash.table.grid.html:
        break
print('refreshed:', "from-outside" in dash.table.grid.html)
dash.close()
print('after close:', dash.poller.running)
""",
]


def test_show_renders_in_a_real_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in CELLS]
    env_path = os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[2]), *sys.path] if p)
    monkeypatch.setenv("PYTHONPATH", env_path)  # the kernel imports this checkout
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    data = next(o["data"] for o in outputs if o["output_type"] == "execute_result")
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "jp-nbtrack-RunsTable" in html and "jp-nbtrack-StaticBars" in html
    assert "<script" not in html and len(html.encode()) < 200_000  # no plotly.js in the saved form
    text = "".join(o.get("text", "") for cell in nb.cells[1:] for o in cell.outputs)
    assert "polling: True" in text
    assert "refreshed: True" in text
    assert "after close: False" in text
    # an HTML export of the notebook saved without widget state (JupyterLab's default) shows the static
    # form: the table, with the name as text
    from nbconvert import HTMLExporter

    nb.metadata.pop("widgets", None)
    exported, _ = HTMLExporter().from_notebook_node(nb)
    # outside <script> blocks (the saved widget state is JSON there, with "</" escaped), the name is text only
    markup = re.sub(r"<script\b.*?</script>", "", exported, flags=re.S)
    assert "jp-nbtrack-RunsTable" in markup
    assert "jp-nbtrack-StaticBars" in markup  # the charts' saved form: plain HTML bars
    assert "&amp;lt;" not in markup and "&amp;#x27;" not in markup  # escaped once, not twice
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup and "<img src=x onerror" not in markup
