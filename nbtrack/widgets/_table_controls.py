"""The runs table's experiment picker and column chooser (mixed into :class:`RunsTable`)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from ipywidgets.widgets.widget_description import DescriptionStyle

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.widgets._common import esc, guarded
from nbtrack.widgets._context import active_experiment_id, experiments_with_runs
from nbtrack.widgets._source import RunSource
from nbtrack.widgets._table_model import TableView

ALL_EXPERIMENTS = ""


def _auto() -> Any:
    return w.Layout(width="auto")


class ExperimentPickerMixin:
    """The experiment picker: opens on the notebook's active experiment and follows it when it changes."""

    source: RunSource
    view: TableView
    experiment_picker: Any
    filter_box: Any
    selected_run_ids: Any
    page: int
    _syncing: bool
    _followed: str | None

    def rebuild(self) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def _apply_filter(self, text: str) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    # -- experiments -----------------------------------------------------------
    def _init_experiments(self) -> None:
        """Fill the picker; open on the notebook's active experiment, else the newest run's."""
        fixed = self.source.experiment_ids if self.source.fixed_ids is not None else None
        experiments = experiments_with_runs(self.source.client)
        if fixed is not None:
            experiments = [e for e in experiments if e.experiment_id in set(fixed)]
        self.view.experiment_names = {e.experiment_id: e.name for e in experiments}
        options = [(e.name, e.experiment_id) for e in experiments]
        if len(options) > 1:
            options.insert(0, ("all experiments", ALL_EXPERIMENTS))
        if fixed is not None and len(fixed) > 1:
            pick = ALL_EXPERIMENTS
        else:
            ids = [i for _, i in options]
            pick = next(
                (i for i in (active_experiment_id(), self.source.newest_experiment_id()) if i is not None and i in ids),
                ids[0] if ids else ALL_EXPERIMENTS,
            )
        self._syncing = True
        try:
            self.experiment_picker.options = options or [("no experiments", ALL_EXPERIMENTS)]
            self.experiment_picker.value = pick
        finally:
            self._syncing = False
        self._followed = active_experiment_id()
        self._apply_experiment(pick)

    def _apply_experiment(self, experiment_id: str) -> None:
        self.source.show_experiments(None if experiment_id == ALL_EXPERIMENTS else [experiment_id])
        self.view.show_experiment = experiment_id == ALL_EXPERIMENTS and len(self.view.experiment_names) > 1

    def show_experiment(self, experiment: str | None) -> None:
        """Show the runs of one experiment (its name or id; ``None``: every experiment).

        Raises
        ------
        NotFound
            No listed experiment has this name or id.
        """
        if experiment is None:
            wanted = ALL_EXPERIMENTS
        else:
            names = self.view.experiment_names
            wanted = next((i for i, n in names.items() if experiment in (i, n)), "")
            if not wanted:
                raise NotFound(f"No experiment {experiment!r} here; the table lists: {', '.join(names.values())}.")
        self.experiment_picker.value = wanted  # the observer does the work

    def _on_experiment(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] is None:
            return
        self._apply_experiment(change["new"])
        if self.filter_box.value.strip():
            self._apply_filter(self.filter_box.value)
        kept = [r for r in self.selected_run_ids if self._shown(r)]
        if kept != list(self.selected_run_ids):
            self.selected_run_ids = kept
        self.page = 0
        self.rebuild()

    def _shown(self, run_id: str) -> bool:
        row = self.source.get(run_id)
        shown = self.source.shown_experiment_ids
        return row is not None and (shown is None or row.experiment_id in shown)

    def _follow_active(self) -> bool:
        """Switch to the notebook's active experiment when it changed since the table last looked."""
        active = active_experiment_id()
        if active == self._followed:
            return False
        self._followed = active
        ids = [i for _, i in self.experiment_picker.options]
        if active is None or active not in ids or self.experiment_picker.value == active:
            return False
        self.experiment_picker.value = active  # the observer rebuilds
        return True

    def _refresh_experiment_options(self) -> None:
        """A run of a new experiment appeared: list it in the picker (keeping the choice)."""
        current = self.experiment_picker.value
        experiments = experiments_with_runs(self.source.client)
        fixed = self.source.fixed_ids
        if fixed is not None:
            experiments = [e for e in experiments if e.experiment_id in set(fixed)]
        self.view.experiment_names = {e.experiment_id: e.name for e in experiments}
        options = [(e.name, e.experiment_id) for e in experiments]
        if len(options) > 1:
            options.insert(0, ("all experiments", ALL_EXPERIMENTS))
        self._syncing = True
        try:
            self.experiment_picker.options = options
            ids = [i for _, i in options]
            self.experiment_picker.value = current if current in ids else (ids[0] if ids else None)
        finally:
            self._syncing = False


class ColumnChooserMixin:
    """The "Columns" panel: which params are shown (metrics always come first), built when first opened."""

    view: TableView
    out: Any
    _syncing: bool
    _chooser: tuple[Any, Any, Any, Any] | None
    _chooser_box: Any

    def _place_children(self) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def rebuild(self) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def _sync_controls(self) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    # -- columns -------------------------------------------------------------
    def choose_params(self, keys: list[str] | None) -> None:
        """Show these param columns, in this order (``None``: back to the defaults)."""
        if isinstance(keys, str):
            raise InvalidParameter("choose_params takes a list of param keys, not one string.")
        self.view.chosen_params = None if keys is None else list(keys)
        self.rebuild()

    def _on_param_choice(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.choose_params(list(change["new"]))

    def _on_columns_button(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._build_chooser()
        self.chooser_box.layout.display = "flex" if change["new"] else "none"

    @property
    def chooser_box(self) -> Any:
        """The panel that the "Columns" button opens (built when first opened)."""
        if self._chooser_box is None:
            self._chooser_box = w.VBox(layout=w.Layout(display="none"))
            self._place_children()
        return self._chooser_box

    def _build_chooser(self) -> tuple[Any, Any, Any, Any]:
        if self._chooser is None:
            chooser = w.SelectMultiple(rows=8, layout=w.Layout(width="auto", min_width="260px"))
            diff_only = w.Checkbox(
                value=self.view.diff_only, description="only params that differ", indent=False, layout=_auto()
            )
            reset = w.Button(description="Default columns", layout=_auto())
            folded_label = w.HTML()
            self._chooser = (chooser, diff_only, reset, folded_label)
            chooser.observe(guarded(self.out, self._on_param_choice), "value")
            diff_only.observe(guarded(self.out, self._on_diff_only), "value")
            reset.on_click(guarded(self.out, lambda _: self.choose_params(None)))
            self.chooser_box.children = [
                w.HTML("<b>Params shown</b> (Ctrl/Shift-click to pick several; metrics always come first)"),
                w.HBox([chooser, w.VBox([diff_only, reset, folded_label])]),
            ]
            self._sync_controls()
        return self._chooser

    def _on_diff_only(self, change: dict[str, Any]) -> None:
        self.view.diff_only = bool(change["new"])
        self.rebuild()

    @property
    def param_chooser(self) -> Any:
        """The column chooser's list of params (Ctrl/Shift-click picks several)."""
        return self._build_chooser()[0]

    @property
    def diff_only(self) -> Any:
        """The chooser's "only params that differ" checkbox (on by default)."""
        return self._build_chooser()[1]

    @property
    def reset_columns(self) -> Any:
        """The chooser's "Default columns" button."""
        return self._build_chooser()[2]


class CompareControlsMixin:
    """The "Best & baseline" row: the best-value metric and direction, the baseline buttons (built when opened)."""

    view: TableView
    out: Any
    selected_run_ids: Any
    _syncing: bool
    compare_button: Any
    _best_ctl: tuple[Any, Any, Any, Any] | None
    _best_box: Any

    def _place_children(self) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def set_direction(self, metric: str, lower_is_better: bool) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def set_baseline_run(self, run_id: str | None) -> None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def _first_selected(self) -> str | None:  # pragma: no cover - RunsTable's
        raise NotImplementedError

    def _on_compare_button(self, change: dict[str, Any]) -> None:
        self._build_compare()
        self._best_box.layout.display = "flex" if change["new"] else "none"

    def _build_compare(self) -> tuple[Any, Any, Any, Any]:
        if self._best_ctl is None:
            labelled = DescriptionStyle(description_width="initial")
            best_metric = w.Dropdown(
                description="best", layout=w.Layout(width="auto", max_width="260px"), style=labelled
            )
            best_direction = w.ToggleButtons(
                options=["lower", "higher"],
                tooltips=["lower is better", "higher is better"],
                style={"button_width": "62px"},
            )
            auto = _auto()
            set_baseline = w.Button(
                description="Baseline = first selected", tooltip="show the others relative to this run", layout=auto
            )
            clear_baseline = w.Button(description="Clear baseline", layout=auto, style=set_baseline.style)
            self._best_ctl = (best_metric, best_direction, set_baseline, clear_baseline)
            best_metric.observe(guarded(self.out, self._on_best_metric), "value")
            best_direction.observe(guarded(self.out, self._on_best_direction), "value")
            set_baseline.on_click(guarded(self.out, lambda _: self.set_baseline_run(self._first_selected())))
            clear_baseline.on_click(guarded(self.out, lambda _: self.set_baseline_run(None)))
            self._best_box = w.HBox(
                list(self._best_ctl), layout=w.Layout(flex_flow="row wrap", align_items="center", width="100%")
            )
            self._sync_compare()
            self._place_children()
            self.compare_button.value = True  # built from code (set_baseline...): shown, the toggle says so
        return self._best_ctl

    def _sync_compare(self) -> None:
        """Bring the best-metric choices up to the shown metrics (when the row is built)."""
        if self._best_ctl is None:
            return
        best_metric, best_direction = self._best_ctl[0], self._best_ctl[1]
        syncing, self._syncing = self._syncing, True
        try:
            metrics = list(self.view.metric_keys)
            if list(best_metric.options) != metrics:
                best_metric.options = metrics
            if best_metric.value is None and metrics:
                best_metric.value = metrics[0]
            if best_metric.value is not None:
                best_direction.value = "lower" if self.view.lower_better(best_metric.value) else "higher"
        finally:
            self._syncing = syncing

    def _on_best_metric(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] is not None:
            self._syncing = True
            try:
                self.best_direction.value = "lower" if self.view.lower_better(change["new"]) else "higher"
            finally:
                self._syncing = False

    def _on_best_direction(self, change: dict[str, Any]) -> None:
        if not self._syncing and self.best_metric.value is not None:
            self.set_direction(self.best_metric.value, change["new"] == "lower")

    @property
    def best_metric(self) -> Any:
        """The metric whose best-value direction the row sets."""
        return self._build_compare()[0]

    @property
    def best_direction(self) -> Any:
        """Whether lower or higher values of :attr:`best_metric` are best."""
        return self._build_compare()[1]

    @property
    def set_baseline(self) -> Any:
        """The "Baseline = first selected" button."""
        return self._build_compare()[2]

    @property
    def clear_baseline(self) -> Any:
        """The "Clear baseline" button."""
        return self._build_compare()[3]


_BUTTON = 'class="jupyter-button widget-button" style="width:auto;min-width:32px;padding:0 8px;margin:0"'


def footer_html(page: int, pages: int, n_rows: int, n_selected: int, baseline: str | None) -> str:
    """The grid's footer: pager, runs count, selection hint and its clear button, the baseline in use."""
    hint = "click a row to select it, Ctrl/Cmd-click to add, Shift-click for a range"
    prev_off = " disabled" if page <= 0 else ""
    next_off = " disabled" if page >= pages - 1 else ""
    parts = [
        f'<button {_BUTTON} data-action="page" data-page="{page - 1}" title="previous page"{prev_off}>&#8249;</button>',
        f'<span class="nbtrack-page">page {page + 1} / {pages} · {n_rows} runs</span>',
        f'<button {_BUTTON} data-action="page" data-page="{page + 1}" title="next page"{next_off}>&#8250;</button>',
        f'<span class="nbtrack-selection" style="color:#57606a">{f"{n_selected} selected · " if n_selected else ""}'
        f"{hint}</span>",
    ]
    if n_selected:
        parts.append(f'<button {_BUTTON} data-action="clear">Clear selection</button>')
    if baseline is not None:
        parts.append(
            f'<span class="nbtrack-baseline-note">baseline: <b>{esc(baseline)}</b> — metric cells show '
            "(Δ vs baseline)</span>"
            f'<button {_BUTTON} data-action="clear_baseline">Clear baseline</button>'
        )
    return (
        '<div class="jp-nbtrack-GridFooter-bar" style="display:flex;flex-wrap:wrap;align-items:center;gap:6px;'
        f'margin-top:4px;font-size:12px">{"".join(parts)}</div>'
    )
