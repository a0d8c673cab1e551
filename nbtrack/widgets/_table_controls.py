"""The runs table's experiment picker and column chooser (mixed into :class:`RunsTable`)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.widgets._common import guarded
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
    chooser_box: Any
    _syncing: bool
    _chooser: tuple[Any, Any, Any, Any] | None

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
