"""Layering: the server extension and the widgets stay clear of heavy or notebook-only modules."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVER_FORBIDDEN = [
    "IPython",
    "ipywidgets",
    "plotly",
    "sklearn",
    "nbtrack.magics",
    "nbtrack.autolog",
    "nbtrack.sklearn",
    "nbtrack.widgets",
]
WIDGETS_FORBIDDEN = ["nbtrack.magics", "nbtrack.autolog", "nbtrack.sklearn"]


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter and return the names of loaded modules."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NBTRACK_TESTING": "true"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _present(modules: list[str], forbidden: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden)]


def test_loading_the_server_extension_imports_no_notebook_or_plotting_modules(tmp_path: Path) -> None:
    # Given a fresh interpreter that imports nbtrack.server and loads the extension into a real ServerApp
    code = f"""
    from jupyter_server.serverapp import ServerApp
    import nbtrack.server
    app = ServerApp(root_dir={str(tmp_path)!r})
    app.init_configurables()
    app.init_webapp()
    nbtrack.server.load_jupyter_server_extension(app)
    assert "nbtrack_store" in app.web_app.settings
    from nbtrack.server.routes import warm_up
    warm_up(app.web_app.settings)
    """
    # When listing the modules it loaded
    loaded = _loaded_after(code)
    # Then none of the forbidden ones is among them
    assert "nbtrack.server.routes" in loaded
    assert _present(loaded, SERVER_FORBIDDEN) == []


def test_widgets_do_not_import_magics_or_autolog() -> None:
    # Given the widgets package, if its dependencies are installed
    for dep in ("ipywidgets", "plotly"):
        if importlib.util.find_spec(dep) is None:
            pytest.skip(f"{dep} is not installed")
    # When importing it in a fresh interpreter
    loaded = _loaded_after("import nbtrack.widgets")
    # Then magics and autolog stay unloaded
    assert "nbtrack.widgets" in loaded
    assert _present(loaded, WIDGETS_FORBIDDEN) == []
