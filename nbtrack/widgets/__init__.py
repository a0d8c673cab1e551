"""Notebook widget panels (ipywidgets + plotly).

``nbtrack.show()`` opens the dashboard (tabs Runs | Charts | Models); each part also works alone::

    from nbtrack.widgets import RunsTable, MetricsChart, ParallelCoordinates, ParamScatter, ModelRegistryPanel
    table = RunsTable("churn")
    table

Each panel's module is imported on first use, so ``nbtrack.show()`` draws the table without
loading plotly (the charts load when their tab is opened).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Dashboard": "nbtrack.widgets.dashboard",
    "show": "nbtrack.widgets.dashboard",
    "RunsTable": "nbtrack.widgets.runs_table",
    "MetricsChart": "nbtrack.widgets.charts",
    "ParallelCoordinates": "nbtrack.widgets.param_charts",
    "ParamScatter": "nbtrack.widgets.param_charts",
    "ModelRegistryPanel": "nbtrack.widgets.models_panel",
    "RunCard": "nbtrack.widgets.run_card",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'nbtrack.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "Dashboard",
    "MetricsChart",
    "ModelRegistryPanel",
    "ParallelCoordinates",
    "ParamScatter",
    "RunsTable",
    "show",
]
