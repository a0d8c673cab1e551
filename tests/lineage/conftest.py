"""A real IPython shell with the nbtrack extension (and so the lineage recorder) freshly loaded for each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.getipython import get_ipython
from IPython.testing.globalipapp import start_ipython

from nbtrack.magics import load_ipython_extension, unload_ipython_extension


@pytest.fixture
def ip() -> Iterator[Any]:
    shell = start_ipython() or get_ipython()
    shell.reset(new_session=True)
    unload_ipython_extension(shell)
    load_ipython_extension(shell)
    yield shell
    unload_ipython_extension(shell)
    shell.reset(new_session=True)


@pytest.fixture
def run_cell(ip: Any) -> Any:
    """Run a cell as a notebook front end would: stored in the history, with a cell id."""

    def run(source: str, cell_id: str | None = None) -> Any:
        result = ip.run_cell(source, store_history=True, cell_id=cell_id)
        return result

    return run
