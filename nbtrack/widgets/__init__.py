"""Notebook widget panels (ipywidgets + plotly).

``nbtrack.show()`` opens the dashboard (tabs Runs | Charts | Models); each part also works alone::

    from nbtrack.widgets import RunsTable, MetricsChart, ParallelCoordinates, ParamScatter, ModelRegistryPanel
    table = RunsTable("churn")
    table
"""

from __future__ import annotations

from typing import Any

from nbtrack.widgets.charts import MetricsChart
from nbtrack.widgets.dashboard import Dashboard, show
from nbtrack.widgets.models_panel import ModelRegistryPanel
from nbtrack.widgets.param_charts import ParallelCoordinates, ParamScatter
from nbtrack.widgets.runs_table import RunsTable


def __getattr__(name: str) -> Any:
    if name == "RunCard":  # the %%track card lives beside the panels
        from nbtrack.widgets.run_card import RunCard  # type: ignore[import-not-found,unused-ignore]

        return RunCard
    raise AttributeError(f"module 'nbtrack.widgets' has no attribute {name!r}")


__all__ = [
    "Dashboard",
    "MetricsChart",
    "ModelRegistryPanel",
    "ParallelCoordinates",
    "ParamScatter",
    "RunsTable",
    "show",
]
