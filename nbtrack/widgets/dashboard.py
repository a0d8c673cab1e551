"""``Dashboard``: the runs table, the charts of the selected runs and the model registry, in tabs."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import StaticHtmlMixin, guarded, plotly_js_tag
from nbtrack.widgets._live import StorePoller, widget_alive
from nbtrack.widgets._source import RunRow, RunSource, resolve_experiments
from nbtrack.widgets.runs_table import RunsTable

TAB_TITLES = ("Runs", "Charts", "Models")


class Dashboard(StaticHtmlMixin, w.Tab):  # type: ignore[misc]
    """Tabs Runs | Charts | Models over one store; selecting rows in the table drives the charts.

    The Runs tab is drawn first and alone: the charts (and plotly) are built when their tab is
    first opened, the registry when its tab is, so the table shows without waiting for them.

    Parameters
    ----------
    experiment : str, Experiment or list, optional
        Experiments to list (names or ids); by default every one, opened on the notebook's active
        experiment (the picker above the table changes it).
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.
    live : bool
        Refresh every panel when the store changes.
    select : list of str, optional
        Runs to select at once (the charts show them).
    model : str, optional
        Registered model to open in the Models tab; by default the newest one registered from the
        shown experiment's runs.
    """

    def __init__(
        self,
        experiment: Any = None,
        *,
        client: TrackingClient | None = None,
        live: bool = True,
        select: list[str] | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__()
        self.client = client or TrackingClient()
        self.source = RunSource(self.client, resolve_experiments(self.client, experiment))
        # one poller for the whole dashboard: the panels share the source
        self.table = RunsTable(source=self.source, live=False)
        self.out = self.table.out  # one place for callback errors (one widget fewer to send)
        if select:
            row = self.source.get(select[0])
            if row is not None and self.source.shown_experiment_ids not in (None, [row.experiment_id]):
                self.table.show_experiment(row.experiment_id)
            self.table.select(list(select))
        self._wanted_model = model
        self.metrics_chart: Any = None
        self.parallel: Any = None
        self.scatter: Any = None
        self.models: Any = None
        # empty until their tab is first opened (then filled at once): the first paint sends none of their widgets
        lazy = w.Layout(width="100%")
        self.charts = w.VBox(layout=lazy)
        self.models_box = w.VBox(layout=lazy)
        self.table.observe(guarded(self.out, self._on_selection), "selected_run_ids")
        self.table.observe(guarded(self.out, self._on_table_rows), "shown_version")
        self.children = [self.table, self.charts, self.models_box]
        for i, title in enumerate(TAB_TITLES):
            self.set_title(i, title)
        self.add_class("jp-nbtrack-Dashboard")
        self.layout.width = "100%"
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

    # -- lazy panels ---------------------------------------------------------
    def _table_rows(self) -> list[RunRow]:
        # with nothing selected, the charts show the table's first rows (its filter and order)
        return self.table.view.rows

    def build_charts(self) -> None:
        """Build the charts now (the Charts tab does it when first opened)."""
        if self.metrics_chart is not None:
            return
        from nbtrack.widgets.charts import MetricsChart
        from nbtrack.widgets.param_charts import ParallelCoordinates, ParamScatter

        ids = list(self.table.selected_run_ids)
        kwargs: dict[str, Any] = {"source": self.source, "live": False, "default_rows": self._table_rows}
        self.metrics_chart = MetricsChart(ids, **kwargs)
        self.parallel = ParallelCoordinates(ids, **kwargs)
        self.scatter = ParamScatter(ids, **kwargs)
        self.charts.children = [self.metrics_chart, self.parallel, self.scatter]
        self._charts_stale = False

    def build_models(self) -> None:
        """Build the registry panel now (the Models tab does it when first opened)."""
        if self.models is not None:
            return
        from nbtrack.widgets._context import default_model
        from nbtrack.widgets.models_panel import ModelRegistryPanel

        shown = self.source.shown_experiment_ids
        model = self._wanted_model or default_model(self.client, shown)
        self.models = ModelRegistryPanel(model, client=self.client, live=False)
        self.models_box.children = [self.models]
        self._models_stale = False

    def _chart_list(self) -> list[Any]:
        return [c for c in (self.metrics_chart, self.parallel, self.scatter) if c is not None]

    def _on_table_rows(self, _: dict[str, Any]) -> None:
        # with nothing selected the charts show the table's first rows: follow its filter and order
        if not self.table.selected_run_ids:
            self._charts_stale = True
            if self.selected_index == 1:
                self._redraw_charts()

    def _on_selection(self, change: dict[str, Any]) -> None:
        ids = list(change["new"])
        charts = self._chart_list()
        if not charts:
            return
        if self.selected_index != 1:
            for chart in charts:
                chart.run_ids = ids
            self._charts_stale = True
            return
        for chart in charts:
            chart.set_runs(ids)
        self._charts_stale = False

    def _on_tab(self, change: dict[str, Any]) -> None:
        if change["new"] == 1:
            if self.metrics_chart is None:
                self.build_charts()
            elif self._charts_stale:
                self._redraw_charts()
        if change["new"] == 2:
            if self.models is None:
                self.build_models()
            elif self._models_stale:
                self._models_stale = False
                self.models.refresh()

    def _redraw_charts(self) -> None:
        self._charts_stale = False
        for chart in self._chart_list():
            chart.redraw()

    def refresh(self) -> None:
        """Re-read the store and redraw the visible panel (the others redraw when their tab is opened)."""
        self.table.refresh()  # reloads the shared source
        self._charts_stale = self._models_stale = True
        if self.selected_index == 1 and self.metrics_chart is not None:
            self._redraw_charts()
        elif self.selected_index == 2 and self.models is not None:
            self._models_stale = False
            self.models.refresh()

    def _up_to_date(self) -> None:
        self.build_charts()
        self.build_models()
        if self._charts_stale:
            self._redraw_charts()
        if self._models_stale:
            self._models_stale = False
            self.models.refresh()

    def to_html(self, include_plotlyjs: bool = True) -> str:
        """All three panels as HTML, the charts drawn by plotly (inlined unless ``include_plotlyjs=False``).

        Parameters
        ----------
        include_plotlyjs : bool
            Whether to inline plotly.js (4 MB), so that the file works offline.
        """
        self._up_to_date()
        return (
            '<div class="jp-nbtrack-Dashboard">'
            f"<h3>Runs</h3>{self.table.to_html()}"
            f"<h3>Charts</h3>{plotly_js_tag(include_plotlyjs)}"
            f"{self.metrics_chart.figures_html()}{self.parallel.figures_html()}{self.scatter.figures_html()}"
            f"<h3>Models</h3>{self.models.to_html()}</div>"
        )

    def static_html(self) -> str:
        """What a saved notebook keeps: the table, each metric's value per run as HTML bars, the models.

        No script and no plotly.js, so the notebook grows by tens of KB, not megabytes.
        """
        from nbtrack.widgets._static import final_values_html
        from nbtrack.widgets.models_panel import registry_html

        ids = list(self.table.selected_run_ids)
        rows = [r for r in (self.source.get(i) for i in ids) if r is not None] or self.table.view.rows[:20]
        bars = "".join(final_values_html(rows, key, self.source) for key in self.table.view.metric_keys[:4])
        models = registry_html(self.client, self._wanted_model or None)
        return (
            '<div class="jp-nbtrack-Dashboard jp-nbtrack-static">'
            f"<h4>Runs</h4>{self.table.to_html()}"
            f"<h4>Charts</h4>{bars or '<i>No metrics yet.</i>'}"
            f"<h4>Models</h4>{models}"
            "<p style='color:#57606a;font-size:11px'>Saved view of nbtrack.show(); run the cell for the live "
            "dashboard.</p></div>"
        )

    def close(self) -> None:
        """Close the dashboard and every panel; live refresh stops."""
        self.poller.stop()
        for child in (self.table, *self._chart_list(), self.models):
            if child is not None:
                child.close()
        super().close()


def show(
    experiment: Any = None,
    *,
    client: TrackingClient | None = None,
    live: bool = True,
    select: list[str] | None = None,
    model: str | None = None,
) -> Dashboard:
    """Show runs, charts and registered models in tabs under the cell.

    Parameters
    ----------
    experiment : str, Experiment or list, optional
        Experiments to list (names or ids); by default every one, opened on the notebook's active
        experiment.
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.
    live : bool
        Refresh when the store changes (other cells, other kernels).
    select : list of str, optional
        Run ids to select at once.
    model : str, optional
        Registered model to open in the Models tab.

    Returns
    -------
    Dashboard
        The widget (displayed when it is a cell's last value).

    Raises
    ------
    NotFound
        ``experiment`` names no experiment, or ``select`` holds an unknown run id.
    """
    return Dashboard(experiment, client=client, live=live, select=select, model=model)
