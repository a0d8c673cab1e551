"""Cells run as a notebook front end runs them, on the shared ``ip`` shell (which loads the lineage recorder)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def run_cell(ip: Any) -> Any:
    """Run a cell as a notebook front end would: stored in the history, with a cell id."""

    def run(source: str, cell_id: str | None = None) -> Any:
        result = ip.run_cell(source, store_history=True, cell_id=cell_id)
        return result

    return run
