"""``RunsTable``: compare runs in a sortable, filterable, paged table; click rows to select them.

Why this table and not a grid widget: itables' ``ITable`` sends every row to the browser when
built (0.85 s for 10,000 runs by 21 columns before any nbtrack work) and ipydatagrid needs its
own front-end extension and the bqplot stack. So only the visible page crosses the comm, as
HTML drawn by a tiny anywidget (:mod:`nbtrack.widgets._grid`) that reports row and header
clicks; 10,000 runs cost what 50 do. Controls: experiment, filter, sort, columns (metrics
first, then the params that differ; Pipeline bookkeeping folded), baseline, best direction,
paging. The same HTML, without the controls, is the static form saved in the notebook.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets
from ipywidgets.widgets.widget_bool import ToggleButtonStyle
from ipywidgets.widgets.widget_description import DescriptionStyle

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import StaticHtmlMixin, error_output, esc, guarded
from nbtrack.widgets._grid import GridView
from nbtrack.widgets._live import StorePoller, widget_alive
from nbtrack.widgets._source import RunRow, RunSource, resolve_experiments
from nbtrack.widgets._table_controls import (
    ColumnChooserMixin,
    CompareControlsMixin,
    ExperimentPickerMixin,
    footer_html,
)
from nbtrack.widgets._table_model import TableView

STATIC_MAX_ROWS = 100


class RunsTable(ExperimentPickerMixin, ColumnChooserMixin, CompareControlsMixin, StaticHtmlMixin, w.VBox):  # type: ignore[misc]
    """A table of runs: status, name, start, duration, every metric and param.

    Parameters
    ----------
    experiment : str, Experiment or list, optional
        Experiment names or ids to show; all active experiments by default.
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.
    page_size : int
        Rows per page.
    live : bool
        Refresh when the store changes (another cell or process writes a run).
    source : RunSource, optional
        Share the runs with other panels (the dashboard does).

    Attributes
    ----------
    selected_run_ids : list of str
        Runs ticked in the selection box; the charts follow it.
    """

    selected_run_ids = traitlets.List(traitlets.Unicode())
    shown_version = traitlets.Int(0)  # bumped whenever the shown rows or their order change

    def __init__(
        self,
        experiment: Any = None,
        *,
        client: TrackingClient | None = None,
        page_size: int = 50,
        live: bool = True,
        source: RunSource | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(page_size, int) or page_size < 1:
            raise InvalidParameter(f"page_size must be a positive integer, got {page_size!r}.")
        if source is None:
            client = client or TrackingClient()
            source = RunSource(client, resolve_experiments(client, experiment))
        self.source = source
        self.view = TableView(diff_only=True)
        self.page_size = page_size
        self.page = 0
        self._anchor: str | None = None  # the row a Shift-click extends from
        self._filter_ids: set[str] | None = None
        self.out = error_output()
        self._syncing = False

        # one Layout and one style shared by the toolbar's controls: every widget model is a message
        # to the browser and a view to build before the table shows
        control = w.Layout(width="auto", max_width="300px")
        labelled = DescriptionStyle(description_width="initial")
        toggle_style = ToggleButtonStyle()
        self.experiment_picker = w.Dropdown(description="experiment", layout=control, style=labelled)
        self.filter_box = w.Text(
            placeholder="filter, e.g. metrics.accuracy > 0.9",
            continuous_update=False,
            layout=w.Layout(flex="1 1 200px", min_width="160px", width="auto"),
        )
        self.sort_by = w.Dropdown(description="sort", layout=control, style=labelled)
        self.descending = w.ToggleButton(
            value=True,
            description="desc",
            icon="sort-amount-desc",
            tooltip="descending order",
            layout=control,
            style=toggle_style,
        )
        self.columns_button = w.ToggleButton(
            value=False, description="Columns", icon="columns", layout=control, style=toggle_style
        )
        self.compare_button = w.ToggleButton(
            value=False,
            description="Best & baseline",
            icon="trophy",
            tooltip="which value is best per metric; a baseline run to compare with",
            layout=control,
            style=toggle_style,
        )
        # built when first needed (a quicker first paint): the filter's error line, the column
        # chooser, the best/baseline row
        self._filter_error: Any = None
        self._chooser: tuple[Any, Any, Any, Any] | None = None
        self._chooser_box: Any = None
        self._best_ctl: tuple[Any, Any, Any, Any] | None = None
        self._best_box: Any = None
        self.grid = GridView(guarded(self.out, self._on_grid_event))

        self.experiment_picker.observe(guarded(self.out, self._on_experiment), "value")
        self.filter_box.observe(guarded(self.out, self._on_filter), "value")
        self.sort_by.observe(guarded(self.out, self._on_sort), "value")
        self.descending.observe(guarded(self.out, self._on_sort), "value")
        self.columns_button.observe(guarded(self.out, self._on_columns_button), "value")
        self.compare_button.observe(guarded(self.out, self._on_compare_button), "value")

        self.toolbar = w.HBox(
            [
                self.experiment_picker,
                self.filter_box,
                self.sort_by,
                self.descending,
                self.columns_button,
                self.compare_button,
            ],
            layout=w.Layout(flex_flow="row wrap", align_items="center", width="100%"),
        )
        self._place_children()
        self.add_class("jp-nbtrack-RunsTable")
        self._init_experiments()
        self.rebuild()
        self.poller = StorePoller(
            source.version,
            guarded(self.out, self.refresh),
            lambda: widget_alive(self),
            settled=lambda: source.loaded_version,
        )
        if live:
            self.poller.start()

    def _place_children(self) -> None:
        """The toolbar, the panels built so far (filter error, columns, best/baseline), the grid."""
        built = (self._filter_error, self._chooser_box, self._best_box)
        self.children = [self.toolbar, *(x for x in built if x is not None), self.grid, self.out]

    # -- data ----------------------------------------------------------------
    def _shown_source_rows(self) -> list[RunRow]:
        rows = self.source.rows()
        if self._filter_ids is not None:
            rows = [r for r in rows if r.run_id in self._filter_ids]
        return rows

    def rebuild(self) -> None:
        """Recompute the view from the cached runs and redraw the current page."""
        self.view.build(self._shown_source_rows())
        self._sync_controls()
        self.go_to_page(self.page)
        self.shown_version += 1

    def refresh(self) -> None:
        """Re-read the store and redraw; new runs are inserted without rebuilding the table."""
        delta = self.source.reload()
        if not (delta.added or delta.changed or delta.removed):
            return
        known = self.view.experiment_names
        if any((row := self.source.get(i)) is not None and row.experiment_id not in known for i in delta.added):
            self._refresh_experiment_options()
        if self._follow_active():
            return
        if self.filter_box.value.strip():
            self._apply_filter(self.filter_box.value)
        elif delta.only_added:
            new = [row for i in delta.added if (row := self.source.get(i)) is not None and self._shown(i)]
            if not new and not delta.changed:
                return
            if self.view.insert(new):
                self._sync_controls()
                self.go_to_page(self.page)
                self.shown_version += 1
                return
        if delta.removed:
            kept = [r for r in self.selected_run_ids if self.source.get(r) is not None]
            if kept != list(self.selected_run_ids):
                self.selected_run_ids = kept
        self.rebuild()

    def _sync_controls(self) -> None:
        self._syncing = True
        try:
            params = list(self.view.all_params)
            if self._chooser is not None:
                chooser, _, _, folded_label = self._chooser
                if list(chooser.options) != params:
                    chooser.options = params
                chooser.value = tuple(k for k in self.view.param_keys if k in params)
                folded = len(self.view.folded_params)
                folded_label.value = f"<i>{folded} more params hidden</i>" if folded else ""
            self.columns_button.description = f"Columns ({len(self.view.param_keys)}/{len(params)} params)"
            columns = self.view.all_columns()
            if self.view.sort_column not in columns:
                columns.append(self.view.sort_column)
            if list(self.sort_by.options) != columns:
                self.sort_by.options = columns
            self.sort_by.value = self.view.sort_column
            self._sync_compare()
        finally:
            self._syncing = False

    @property
    def baseline(self) -> RunRow | None:
        """The baseline run, if one is set and still listed."""
        return self.source.get(self.view.baseline) if self.view.baseline else None

    # -- actions -------------------------------------------------------------
    def apply_filter(self, filter_string: str) -> None:
        """Show only the runs matching a ``search_runs`` filter; a bad filter shows an error in the widget."""
        self.filter_box.value = filter_string  # observer does the work

    def _on_filter(self, change: dict[str, Any]) -> None:
        self._apply_filter(change["new"])
        self.page = 0
        self.rebuild()

    def _apply_filter(self, text: str) -> None:
        if not text.strip():
            self._filter_ids = None
            self._set_filter_error("")
            return
        try:
            self._filter_ids = self.source.search_ids(text)
        except NbtrackError as err:
            self._set_filter_error(f'<span class="nbtrack-error" style="color:#b00020">Filter error: {esc(err)}</span>')
            return
        self._set_filter_error("")

    def _set_filter_error(self, html: str) -> None:
        if html or self._filter_error is not None:
            self.filter_error.value = html

    @property
    def filter_error(self) -> Any:
        """The line under the toolbar that says why a filter does not parse (built on first error)."""
        if self._filter_error is None:
            self._filter_error = w.HTML()
            self._place_children()
        return self._filter_error

    def sort(self, column: str, descending: bool = True) -> None:
        """Sort by a column (``"name"``, ``"metrics.accuracy"``, ``"params.C"``, ...).

        Raises
        ------
        InvalidParameter
            No shown run has this column.
        """
        columns = self.view.all_columns()
        if column not in columns and column != self.view.sort_column:
            raise InvalidParameter(f"No column {column!r} to sort by; the columns are: {', '.join(columns)}.")
        self.view.sort_column = column
        self.view.descending = descending
        self._syncing = True
        try:
            self.descending.value = descending
            self.descending.description = "desc" if descending else "asc"
            self.descending.tooltip = "descending order" if descending else "ascending order"
            self.descending.icon = "sort-amount-desc" if descending else "sort-amount-asc"
        finally:
            self._syncing = False
        self.rebuild()

    def _on_sort(self, _: dict[str, Any]) -> None:
        if self._syncing or self.sort_by.value is None:
            return
        self.sort(self.sort_by.value, self.descending.value)

    def set_direction(self, metric: str, lower_is_better: bool) -> None:
        """Choose whether lower or higher values of ``metric`` are best."""
        self.view.directions[metric] = lower_is_better
        self.rebuild()

    def set_baseline_run(self, run_id: str | None) -> None:
        """Show the other runs' metrics relative to this run (``None`` clears it)."""
        if run_id is not None and self.source.get(run_id) is None:
            raise NotFound(f"Run {run_id!r} is not in this table.")
        self.view.baseline = run_id
        self.rebuild()

    def _first_selected(self) -> str | None:
        if not self.selected_run_ids:
            raise NbtrackError("Select a run first, then make it the baseline.")
        return str(self.selected_run_ids[0])

    def select(self, run_ids: list[str]) -> None:
        """Select these runs (the charts follow).

        Raises
        ------
        NotFound
            An id that is not a run of this table.
        """
        if isinstance(run_ids, str):
            raise InvalidParameter("select takes a list of run ids, not one string.")
        unknown = [r for r in run_ids if self.source.get(r) is None]
        if unknown:
            raise NotFound(f"Not runs of this table: {', '.join(map(str, unknown))}.")
        self.selected_run_ids = list(dict.fromkeys(run_ids))
        if run_ids:
            self._anchor = run_ids[-1]
        self._draw()

    def click(self, run_id: str, *, shift: bool = False, ctrl: bool = False) -> None:
        """Select as a click on a row does: alone, Ctrl/Cmd toggles it, Shift extends from the last click.

        Raises
        ------
        NotFound
            ``run_id`` is not a row of this table.
        """
        if self.source.get(run_id) is None:
            raise NotFound(f"Run {run_id!r} is not in this table.")
        selected = list(self.selected_run_ids)
        order = [r.run_id for r in self.view.rows]
        if shift and self._anchor in order and run_id in order:
            a, b = sorted((order.index(self._anchor), order.index(run_id)))
            span = order[a : b + 1]
            selected = list(dict.fromkeys([*selected, *span])) if ctrl else span
        elif ctrl:
            selected = [r for r in selected if r != run_id] if run_id in selected else [*selected, run_id]
            self._anchor = run_id
        else:
            selected = [] if selected == [run_id] else [run_id]
            self._anchor = run_id
        self.selected_run_ids = selected
        self._draw()

    def toggle_children(self, run_id: str) -> None:
        """Fold or unfold the child runs listed under ``run_id``."""
        collapsed = self.view.collapsed
        if run_id in collapsed:
            collapsed.discard(run_id)
        else:
            collapsed.add(run_id)
        self.rebuild()

    def _on_grid_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "click":
            self.click(str(event.get("run_id")), shift=bool(event.get("shift")), ctrl=bool(event.get("ctrl")))
        elif kind == "sort":
            column = str(event.get("column"))
            same = column == self.view.sort_column
            self.sort(column, descending=not self.view.descending if same else column != "name")
        elif kind == "toggle":
            self.toggle_children(str(event.get("run_id")))
        elif kind == "page":
            self.go_to_page(int(event.get("page") or 0))
        elif kind == "clear":
            self.select([])
        elif kind == "clear_baseline":
            self.set_baseline_run(None)

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        self.page = max(0, min(page, self._pages() - 1))
        self._draw()

    def _pages(self) -> int:
        return max(1, -(-len(self.view.rows) // self.page_size))

    def _page_rows(self) -> list[RunRow]:
        start = self.page * self.page_size
        return self.view.rows[start : start + self.page_size]

    def _draw(self) -> None:
        start = self.page * self.page_size
        selected = set(self.selected_run_ids)
        self.grid.html = self.view.page_html(
            start, start + self.page_size, self.baseline, selected, color=self.source.colors
        )
        base = self.baseline
        self.grid.footer = footer_html(
            self.page, self._pages(), len(self.view.rows), len(selected), None if base is None else base.name
        )

    # -- output --------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        """The rows as shown (filtered, sorted, grouped; deltas when a baseline is set)."""
        return self.view.records(self.baseline)

    def to_dataframe(self) -> Any:
        """The rows as shown, as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records())

    def to_html(self, include_plotlyjs: bool | str = True) -> str:
        """The table as static HTML (first rows), for saved and exported notebooks; needs no plotly.js."""
        n = len(self.view.rows)
        shown = min(n, STATIC_MAX_ROWS)
        note = f"<p>{shown} of {n} runs</p>" if n > shown else ""
        grid = self.view.page_html(
            0, shown, self.baseline, set(self.selected_run_ids), color=self.source.colors, interactive=False
        )
        return f'<div class="jp-nbtrack-RunsTable">{grid}{note}</div>'

    def close(self) -> None:
        """Close the widget and stop its live refresh."""
        self.poller.stop()
        super().close()
