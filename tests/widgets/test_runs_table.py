"""RunsTable: columns, sorting, filtering, diff-only, baseline deltas, best values, grouping, selection."""

from __future__ import annotations

from unittest.mock import patch

import pytest

import nbtrack
from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets import RunsTable
from nbtrack.widgets._source import RunRow
from nbtrack.widgets._table_model import TableView

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def names(table: RunsTable) -> list[str]:
    return [r["name"] for r in table.records()]


def test_columns_hold_status_name_start_duration_metrics_and_params(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    assert table.view.columns == [
        "status",
        "name",
        "start_time",
        "duration",
        "metrics.accuracy",
        "metrics.loss",
        "params.C",
        "params.kind",
    ]  # seed is 0 in every run: folded away by default (the column chooser shows it)
    assert table.view.folded_params == ["seed"]
    html = table.grid.html
    assert "FINISHED" in html and "lr-small" in html and "metrics.accuracy" in html


def test_sort_by_metric_and_by_name(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    table.sort("metrics.accuracy", descending=True)
    assert names(table)[:2] == ["rf", "gb"]
    table.sort("metrics.accuracy", descending=False)
    assert names(table)[0] == XSS
    table.sort_by.value = "name"  # the dropdown sorts too
    table.descending.value = False
    assert names(table) == sorted(runs)


def test_sort_params_numerically(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    table.sort("params.C", descending=False)
    assert [r["params.C"] for r in table.records()] == ["0.1", "1", "1", "5", "10"]


def test_filter_uses_search_language(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    table.apply_filter("metrics.accuracy > 0.85")
    assert sorted(names(table)) == ["gb", "rf"]
    assert table.filter_error.value == ""
    table.apply_filter("")
    assert len(names(table)) == 5


def test_bad_filter_shows_inline_error_and_keeps_rows(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    table.apply_filter("metrics.accuracy >>> banana")  # must not raise
    assert "Filter error" in table.filter_error.value
    assert len(names(table)) == 5
    table.apply_filter("params.kind = '<script>'")
    assert table.filter_error.value == ""
    assert names(table) == []


def test_diff_only_hides_params_that_never_change(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    assert table.diff_only.value is True  # the default
    assert "params.seed" not in table.view.columns
    assert "params.C" in table.view.columns and "params.kind" in table.view.columns
    assert "params.seed" not in table.grid.html
    table.diff_only.value = False
    assert "params.seed" in table.view.columns


def test_column_chooser_picks_params_and_resets_to_defaults(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    assert set(table.param_chooser.options) == {"C", "kind", "seed"}
    assert table.param_chooser.value == ("C", "kind")
    table.param_chooser.value = ("seed",)
    assert [c for c in table.view.columns if c.startswith("params.")] == ["params.seed"]
    assert "params.seed" in table.grid.html and "params.kind" not in table.grid.html
    table.reset_columns.click()
    assert [c for c in table.view.columns if c.startswith("params.")] == ["params.C", "params.kind"]


def test_pipeline_params_are_folded_and_nested_ones_shown_when_they_vary() -> None:
    steps = "[('scaler', StandardScaler()), ('clf', LogisticRegression(C=1))]"
    for c in (0.1, 1.0, 10.0):
        with nbtrack.start_run(run_name=f"pipe-{c}"):
            nbtrack.log_params(
                {"steps": steps, "memory": "None", "scaler": "StandardScaler()", "clf__C": c, "clf__tol": 1e-4}
            )
            nbtrack.log_metric("accuracy", c / 10)
    table = RunsTable(live=False)
    params = [c for c in table.view.columns if c.startswith("params.")]
    assert params == ["params.clf__C"]
    assert {"steps", "memory", "scaler", "clf__tol"} <= set(table.view.folded_params)
    assert table.view.columns[4] == "metrics.accuracy"  # metrics first, then params


def test_baseline_deltas(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    table.select([runs["lr-small"]])
    table.set_baseline.click()
    records = {r["name"]: r for r in table.records()}
    assert records["rf"]["Δ metrics.accuracy"] == 0.95 - 0.70
    assert records["lr-small"]["Δ metrics.accuracy"] is None
    assert "(baseline)" in table.grid.html and "(+0.25)" in table.grid.html
    table.clear_baseline.click()
    assert "Δ metrics.accuracy" not in table.records()[0]


def test_baseline_button_without_selection_reports_in_output(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    table.set_baseline.click()
    assert table.view.baseline is None
    assert any("Select a run first" in str(o) for o in table.out.outputs)


def test_best_value_highlight_follows_direction(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    rows = {r.name: r for r in table.view.rows}
    assert table.view.is_best(rows["rf"], "accuracy")  # higher is better
    assert table.view.is_best(rows["rf"], "loss")  # loss: lower is better
    assert abs(table.view.best["loss"] - 0.11) < 1e-9  # last point of rf: 0.1 * 1/10 + 0.1
    assert table.grid.html.count("nbtrack-best") == 2
    table.best_metric.value = "loss"
    table.best_direction.value = "higher"  # switch per metric
    rows = {r.name: r for r in table.view.rows}
    assert table.view.is_best(rows[XSS], "loss")
    assert not table.view.is_best(rows["rf"], "loss")


def test_children_grouped_under_parent() -> None:
    with nbtrack.start_run(run_name="parent") as parent, nbtrack.start_run(run_name="child-a", nested=True):
        nbtrack.log_metric("m", 1)
    with nbtrack.start_run(run_name="later"):
        nbtrack.log_metric("m", 2)
    table = RunsTable(live=False)
    order = names(table)
    assert order.index("child-a") == order.index("parent") + 1
    assert table.view.depth[next(r.run_id for r in table.view.rows if r.name == "child-a")] == 1
    assert parent.info.run_id in table.source._rows
    assert "↳ " in table.grid.html and "child-a" in table.grid.html
    table.grid._receive(table.grid, {"event": "toggle", "run_id": parent.info.run_id}, [])
    assert "child-a" not in names(table) and "▸" in table.grid.html
    table.toggle_children(parent.info.run_id)
    assert "child-a" in names(table)


def _click(table: RunsTable, run_id: str, shift: bool = False, ctrl: bool = False) -> None:
    # what the grid's JavaScript sends on a row click
    table.grid._receive(table.grid, {"event": "click", "run_id": run_id, "shift": shift, "ctrl": ctrl}, [])


def test_row_click_ctrl_click_and_shift_click_select(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    order = [r.run_id for r in table.view.rows]
    assert f'data-run="{order[1]}"' in table.grid.html
    _click(table, order[1])
    assert table.selected_run_ids == [order[1]]
    assert "nbtrack-selected" in table.grid.html and "nbtrack-swatch" in table.grid.html
    _click(table, order[3], ctrl=True)
    assert table.selected_run_ids == [order[1], order[3]]
    _click(table, order[1], ctrl=True)  # Ctrl-click again drops it
    assert table.selected_run_ids == [order[3]]
    _click(table, order[4], shift=True)  # a range from the last click
    assert table.selected_run_ids == order[1:5]
    _click(table, order[2])  # a plain click selects that run alone
    assert table.selected_run_ids == [order[2]]
    _click(table, order[2])  # and a second plain click clears it
    assert table.selected_run_ids == []
    assert "click a row" in table.grid.footer and "selected" not in table.grid.footer


def test_header_click_sorts_and_toggles_direction(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    assert 'data-col="metrics.accuracy"' in table.grid.html
    table.grid._receive(table.grid, {"event": "sort", "column": "metrics.accuracy"}, [])
    assert names(table)[0] == "rf"
    table.grid._receive(table.grid, {"event": "sort", "column": "metrics.accuracy"}, [])
    assert names(table)[0] == XSS


def test_selection_across_pages(runs: dict[str, str]) -> None:
    table = RunsTable(live=False, page_size=2)
    first = [r.run_id for r in table.view.rows[:2]]
    _click(table, first[0])
    table.grid.send_event("page", page=1)  # the footer's "next page" button
    second = [r.run_id for r in table.view.rows[2:4]]
    assert f'data-run="{second[1]}"' in table.grid.html and f'data-run="{first[0]}"' not in table.grid.html
    _click(table, second[1], ctrl=True)
    assert table.selected_run_ids == [first[0], second[1]]
    assert "2 selected" in table.grid.footer and 'data-action="clear"' in table.grid.footer
    assert "page 2 / 3 · 5 runs" in table.grid.footer
    table.grid.send_event("page", page=0)
    assert table.page == 0 and 'data-page="-1" title="previous page" disabled' in table.grid.footer
    table.grid.send_event("clear")  # the footer's "Clear selection" button
    assert table.selected_run_ids == []


def test_first_paint_sends_few_widgets_and_builds_the_rest_when_opened(runs: dict[str, str]) -> None:
    # Given: a count of the widget models made (each one a message to the browser)
    from ipywidgets import Widget

    made_models: list[object] = []
    previous = Widget._widget_construction_callback
    Widget.on_widget_constructed(made_models.append)

    # When: a table is built
    try:
        table = RunsTable(live=False)
    finally:
        Widget._widget_construction_callback = previous

    # Then: a toolbar, the grid and the error output, with shared layouts and styles (not ~40 models)
    made = len(made_models)
    assert made <= 20, f"{made} widget models for one table"
    assert table._best_ctl is None and table._chooser is None and table._filter_error is None

    # When: the "Best & baseline" toggle is opened
    table.compare_button.value = True

    # Then: its row is built, shown and synced with the metrics
    assert table._best_box in table.children and table.best_metric.options == ("accuracy", "loss")
    table.compare_button.value = False
    assert table._best_box.layout.display == "none"


def test_names_are_escaped_in_html(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    for html in (table.grid.html, table.to_html()):
        assert XSS_ESCAPED in html
        assert XSS not in html
    bundle = table._repr_mimebundle_()
    assert XSS_ESCAPED in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_experiment_argument(runs: dict[str, str]) -> None:
    nbtrack.set_experiment("other")
    with nbtrack.start_run(run_name="elsewhere"):
        pass
    assert names(RunsTable("other", live=False)) == ["elsewhere"]
    table = RunsTable(live=False)
    assert names(table) == ["elsewhere"]  # opens on the notebook's active experiment
    assert table.experiment_picker.value == nbtrack.get_experiment_by_name("other").experiment_id
    table.show_experiment(None)
    assert len(names(table)) == 6
    assert "experiment" in table.view.columns  # several experiments: say which run is where
    table.show_experiment("Default")
    assert len(names(table)) == 5 and "experiment" not in table.view.columns


def test_table_follows_a_new_active_experiment(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    assert len(names(table)) == 5
    nbtrack.set_experiment("wine")
    with nbtrack.start_run(run_name="in-wine"):
        pass
    assert table.poller.poll()
    assert names(table) == ["in-wine"]


def test_unknown_experiment_raises_not_found() -> None:

    with pytest.raises(nbtrack.NotFound):
        RunsTable("no such experiment", live=False)


def _add(name: str, metrics: dict[str, float], params: dict[str, object]) -> None:
    with nbtrack.start_run(run_name=name):
        nbtrack.log_metrics(metrics)
        nbtrack.log_params(params)


def test_refresh_inserting_new_runs_matches_a_fresh_table(runs: dict[str, str]) -> None:
    for column, descending, diff in [
        ("metrics.accuracy", True, False),
        ("metrics.loss", False, True),
        ("start_time", True, True),
        ("params.C", False, False),
        ("name", True, False),
    ]:
        table = RunsTable(live=False)
        table.sort(column, descending)
        table.diff_only.value = diff
        _add(f"new-{column}", {"accuracy": 0.99, "loss": 0.01, "recall": 0.5}, {"C": 2, "kind": "svm", "seed": 0})
        _add(f"partial-{column}", {"f1": 0.3}, {"extra": "x"})
        with patch.object(TableView, "build", autospec=True, side_effect=TableView.build) as full_build:
            assert table.poller.poll()
        assert full_build.call_count == 0  # the new runs were inserted, not rebuilt
        fresh = RunsTable(live=False)
        fresh.sort(column, descending)
        fresh.diff_only.value = diff
        assert table.view.columns == fresh.view.columns
        assert table.view.best == fresh.view.best
        assert names(table) == names(fresh), column
        assert table.grid.html == fresh.grid.html


def test_refresh_places_runs_started_in_the_same_millisecond_as_a_fresh_table_does(runs: dict[str, str]) -> None:
    client = TrackingClient()
    experiment_id = nbtrack.get_experiment_by_name("Default").experiment_id
    for column, descending in [("start_time", True), ("start_time", False), ("params.C", True), ("name", False)]:
        table = RunsTable(live=False)
        table.sort(column, descending)
        for i in range(6):  # equal start times (and, for the params column, equal or missing values)
            run = client.create_run(experiment_id, start_time=1_700_000_000_000, run_name="tied")
            if i % 2:
                client.log_param(run.info.run_id, "C", "7")
            client.set_terminated(run.info.run_id)
        assert table.poller.poll()
        fresh = RunsTable(live=False)
        fresh.sort(column, descending)
        assert [r["run_id"] for r in table.records()] == [r["run_id"] for r in fresh.records()], column


def test_bad_arguments_raise_clear_errors(runs: dict[str, str]) -> None:
    table = RunsTable(live=False)
    with pytest.raises(nbtrack.InvalidParameter, match=r"No column 'metrics\.nope'"):
        table.sort("metrics.nope")
    with pytest.raises(nbtrack.NotFound, match="not-a-run"):
        table.select(["not-a-run"])
    with pytest.raises(nbtrack.InvalidParameter):
        table.select(runs["rf"])  # type: ignore[arg-type]
    with pytest.raises(nbtrack.NotFound):
        table.set_baseline_run("0" * 32)
    with pytest.raises(nbtrack.InvalidParameter):
        RunsTable(page_size=0, live=False)
    with pytest.raises(nbtrack.InvalidParameter):
        RunsTable(experiment=3.5, live=False)


def test_a_stale_run_is_marked_with_its_reason_escaped(runs: dict[str, str]) -> None:
    # Given a run whose code slice changed after it ran (the lineage verdict tags)
    client = nbtrack.MlflowClient()
    client.set_tag(runs["rf"], "nbtrack.stale", "true")
    client.set_tag(runs["rf"], "nbtrack.stale_reason", f"cell [4] `X = {XSS}` changed after this run")
    # When the table is drawn
    html = RunsTable(live=False).grid.html
    # Then that run's name carries the stale mark with the reason as its tooltip, escaped; the others do not
    assert html.count("⚠ stale") == 1
    assert f"cell [4] `X = {XSS_ESCAPED}` changed after this run" in html
    assert XSS not in html


def test_metrics_every_run_shares_come_first_and_a_lone_value_is_not_best() -> None:
    # Given: runs sharing test_accuracy, each with a metric named after its own model (as autolog logs them)
    for name, own, acc in (("forest", "RandomForest_score", 0.9), ("knn", "KNeighbors_score", 0.7)):
        with nbtrack.start_run(run_name=name):
            nbtrack.log_metrics({"test_accuracy": acc, own: acc})

    # When: the table is shown
    table = RunsTable(live=False)

    # Then: the shared metric is the first metric column, and only it has a best value
    metrics = [c for c in table.view.columns if c.startswith("metrics.")]
    assert metrics == ["metrics.test_accuracy", "metrics.KNeighbors_score", "metrics.RandomForest_score"]
    assert table.view.best == {"test_accuracy": 0.9}
    assert table.grid.html.count("nbtrack-best") == 1

    # When: a third run logs the knn metric (the live refresh inserts it)
    with nbtrack.start_run(run_name="knn-2"):
        nbtrack.log_metrics({"test_accuracy": 0.8, "KNeighbors_score": 0.8})
    table.refresh()

    # Then: that metric now has a best value among the two runs that have it
    assert table.view.best["KNeighbors_score"] == 0.8


def _varied_runs(count: int) -> None:
    """Runs with missing and NaN metrics, ties, params some runs lack, and nested children."""
    parent = None
    for i in range(count):
        with nbtrack.start_run(run_name=f"v{i:02d}", nested=parent is not None and i % 4 == 1) as run:
            if i % 5:
                nbtrack.log_metric("acc", (i % 7) / 7)
            if i % 3 == 0:
                nbtrack.log_metric("loss", float("nan") if i % 2 else i / 10)
            nbtrack.log_params({"depth": i % 4, **({"extra": "x"} if i % 6 == 0 else {})})
            parent = run if i % 4 == 0 else parent
        if i % 4 == 0:
            nbtrack.start_run(run_id=run.info.run_id)  # the next run nests under this one
        elif i % 4 == 1:
            nbtrack.end_run()


def test_a_table_from_the_column_listing_equals_one_from_documents() -> None:
    # Given varied runs, listed from the store's columns (rows build their dicts only when read)
    _varied_runs(40)
    nbtrack.end_run()
    table = RunsTable(live=False)
    listed = table.source.rows()
    assert all(r.listing is not None for r in listed)
    assert sum(r.parent_id is not None for r in listed) >= 5
    # Then after the first paint only the rows on the page have built their metrics
    built = [r for r in listed if r._metrics is not None]
    assert 0 < len(built) <= table.page_size
    # And every order gives the same view as rows built from whole documents
    docs = TrackingClient().search_run_docs(["0"])
    from_docs = [RunRow.from_doc(d) for d in docs]
    for column, descending in [
        ("start_time", True),
        ("metrics.acc", True),
        ("metrics.acc", False),
        ("metrics.loss", True),
        ("params.depth", False),
        ("name", True),
    ]:
        a, b = (
            TableView(sort_column=column, descending=descending),
            TableView(sort_column=column, descending=descending),
        )
        a.build(list(listed))
        b.build(from_docs)
        assert [r.run_id for r in a.rows] == [r.run_id for r in b.rows], column
        assert (a.best, a.metric_keys, a.param_keys, a.all_params) == (
            b.best,
            b.metric_keys,
            b.param_keys,
            b.all_params,
        )
        assert a.child_count == b.child_count and a.depth == b.depth
        assert [a.cell_text(r, c) for r in a.rows[:10] for c in a.columns] == [
            b.cell_text(r, c) for r in b.rows[:10] for c in b.columns
        ]
