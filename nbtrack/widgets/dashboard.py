"""``Dashboard``: the runs table, the charts of the selected runs and the model registry, in tabs."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import StaticHtmlMixin, error_output, guarded, plotly_js_tag
from nbtrack.widgets._live import StorePoller, widget_alive
from nbtrack.widgets._source import RunRow, RunSource, resolve_experiments
from nbtrack.widgets.charts import MetricsChart
from nbtrack.widgets.param_charts import ParallelCoordinates, ParamScatter
from nbtrack.widgets.runs_table import RunsTable

TAB_TITLES = ("Runs", "Charts", "Models")


class Dashboard(StaticHtmlMixin, w.Tab):  # type: ignore[misc]
    """Tabs Runs | Charts | Models over one store; selecting rows in the table drives the charts.

    Parameters
    ----------
    experiment : str, Experiment or list, optional
        Experiments to show (names or ids); all active ones by default.
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.
    live : bool
        Refresh every panel when the store changes.
    """

    def __init__(self, experiment: Any = None, *, client: TrackingClient | None = None, live: bool = True) -> None:
        super().__init__()
        self.client = client or TrackingClient()
        self.source = RunSource(self.client, resolve_experiments(self.client, experiment))
        self.out = error_output()
        # one poller for the whole dashboard: the panels share the source
        self.table = RunsTable(source=self.source, live=False)

        # with nothing selected, the charts show the table's first rows (its filter and order)
        def table_rows() -> list[RunRow]:
            return self.table.view.rows

        self.metrics_chart = MetricsChart(source=self.source, live=False, default_rows=table_rows)
        self.parallel = ParallelCoordinates(source=self.source, live=False, default_rows=table_rows)
        self.scatter = ParamScatter(source=self.source, live=False, default_rows=table_rows)
        from nbtrack.widgets.models_panel import ModelRegistryPanel

        self.models = ModelRegistryPanel(client=self.client, live=False)
        self.charts = w.VBox([self.metrics_chart, self.parallel, self.scatter])
        self.table.observe(guarded(self.out, self._on_selection), "selected_run_ids")
        self.table.observe(guarded(self.out, self._on_table_rows), "shown_version")
        self.children = [w.VBox([self.table, self.out]), self.charts, self.models]
        for i, title in enumerate(TAB_TITLES):
            self.set_title(i, title)
        self.add_class("jp-nbtrack-Dashboard")
        self._charts_stale = self._models_stale = False
        self.observe(guarded(self.out, self._on_tab), "selected_index")
        self.poller = StorePoller(
            self.source.version,
            guarded(self.out, self.refresh),
            lambda: widget_alive(self),
            settled=lambda: self.source.loaded_version,
        )
        if live:
            self.poller.start()

    def _on_table_rows(self, _: dict[str, Any]) -> None:
        # with nothing selected the charts show the table's first rows: follow its filter and order
        if not self.table.selected_run_ids:
            self._charts_stale = True
            if self.selected_index == 1:
                self._redraw_charts()

    def _on_selection(self, change: dict[str, Any]) -> None:
        ids = list(change["new"])
        for chart in (self.metrics_chart, self.parallel, self.scatter):
            chart.set_runs(ids)
        self._charts_stale = False

    def _on_tab(self, change: dict[str, Any]) -> None:
        if change["new"] == 1 and self._charts_stale:
            self._redraw_charts()
        if change["new"] == 2 and self._models_stale:
            self._models_stale = False
            self.models.refresh()

    def _redraw_charts(self) -> None:
        self._charts_stale = False
        for chart in (self.metrics_chart, self.parallel, self.scatter):
            chart.redraw()

    def refresh(self) -> None:
        """Re-read the store and redraw the visible panel (the others redraw when their tab is opened)."""
        self.table.refresh()  # reloads the shared source
        self._charts_stale = self._models_stale = True
        if self.selected_index == 1:
            self._redraw_charts()
        elif self.selected_index == 2:
            self._models_stale = False
            self.models.refresh()

    def to_html(self, include_plotlyjs: bool | str = True) -> str:
        """Static HTML of all three panels (plotly.js inline, so it works offline).

        Parameters
        ----------
        include_plotlyjs : bool or "once"
            Whether to inline plotly.js (see :func:`nbtrack.widgets._common.plotly_js_tag`).
        """
        if self._charts_stale:
            self._redraw_charts()
        if self._models_stale:
            self._models_stale = False
            self.models.refresh()
        return (
            '<div class="jp-nbtrack-Dashboard">'
            f"<h3>Runs</h3>{self.table.to_html()}"
            f"<h3>Charts</h3>{plotly_js_tag(include_plotlyjs)}"
            f"{self.metrics_chart.figures_html()}{self.parallel.figures_html()}{self.scatter.figures_html()}"
            f"<h3>Models</h3>{self.models.to_html()}</div>"
        )

    def close(self) -> None:
        """Close the dashboard and every panel; live refresh stops."""
        self.poller.stop()
        for child in (self.table, self.metrics_chart, self.parallel, self.scatter, self.models):
            child.close()
        super().close()


def show(experiment: Any = None, *, client: TrackingClient | None = None, live: bool = True) -> Dashboard:
    """Show runs, charts and registered models in tabs under the cell.

    Parameters
    ----------
    experiment : str, Experiment or list, optional
        Experiments to show (names or ids); all active ones by default.
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.
    live : bool
        Refresh when the store changes (other cells, other kernels).

    Returns
    -------
    Dashboard
        The widget (displayed when it is a cell's last value).

    Raises
    ------
    NotFound
        ``experiment`` names no experiment.
    """
    return Dashboard(experiment, client=client, live=live)
