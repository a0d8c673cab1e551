"""Dashboard: tabs, selection driving the charts, static HTML, live refresh, closing, import boundaries."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import nbtrack
from nbtrack.widgets import Dashboard, MetricsChart

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_show_returns_dashboard_with_three_tabs(runs: dict[str, str]) -> None:
    dash = nbtrack.show(live=False)
    assert isinstance(dash, Dashboard)
    assert [dash.get_title(i) for i in range(3)] == ["Runs", "Charts", "Models"]
    assert len(dash.table.view.rows) == 5


def test_charts_are_built_when_their_tab_opens(runs: dict[str, str]) -> None:
    dash = nbtrack.show(live=False)
    assert dash.metrics_chart is None and dash.models is None  # the Runs tab does not wait for them
    dash.selected_index = 1
    assert dash.metrics_chart is not None and dash.charts.children[0] is dash.metrics_chart
    dash.selected_index = 2
    assert dash.models is not None


def test_show_does_not_import_plotly(tmp_path: object) -> None:
    code = (
        "import sys, nbtrack\n"
        "with nbtrack.start_run(run_name='r'):\n"
        "    nbtrack.log_metric('loss', 1.0)\n"
        "d = nbtrack.show(live=False); d._repr_mimebundle_()\n"
        "print('plotly' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_selecting_rows_changes_chart_traces(runs: dict[str, str]) -> None:
    dash = nbtrack.show(live=False)
    dash.selected_index = 1
    before = [t.name for t in dash.metrics_chart.history.figure.data]
    assert len(before) == 5
    dash.table.select([runs["rf"], runs["gb"]])
    assert [t.name for t in dash.metrics_chart.history.figure.data] == ["rf", "gb"]
    assert len(dash.parallel.plot.figure.data[0].dimensions[-1].values) == 2
    assert len(dash.scatter.plot.figure.data[0].x) == 2


def test_static_html_has_table_and_charts_escaped(runs: dict[str, str]) -> None:
    dash = nbtrack.show(live=False)
    bundle = dash._repr_mimebundle_()
    html = bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert XSS_ESCAPED in html and XSS not in html
    assert "jp-nbtrack-RunsTable" in html and "jp-nbtrack-StaticBars" in html
    assert "<script" not in html and "plotly" not in html.lower()  # small: no plotly.js per output
    assert len(html.encode()) < 200_000


def test_live_refresh_picks_up_run_from_another_process(runs: dict[str, str]) -> None:
    dash = Dashboard(live=False)
    assert len(dash.table.view.rows) == 5
    assert dash.poller.poll() is False  # nothing changed yet
    code = textwrap.dedent(
        """
        import nbtrack
        with nbtrack.start_run(run_name="from-another-process"):
            nbtrack.log_metric("accuracy", 0.99)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert dash.poller.poll() is True
    assert "from-another-process" in [r.name for r in dash.table.view.rows]
    assert "from-another-process" in dash.table.grid.html
    dash.selected_index = 1  # charts redraw when their tab is shown; with no selection, the newest runs
    assert dash.metrics_chart.history.figure.data[0].name == "from-another-process"
    dash.table.sort("metrics.accuracy")
    new_id = dash.table.view.rows[0].run_id
    dash.table.select([new_id])
    assert dash.metrics_chart.mode == "values"  # one point: a value per run, not a one-dot history
    assert list(dash.metrics_chart.bars.figure.data[0].x) == ["from-another-process"]
    assert dash.metrics_chart.history.figure.data == ()


def test_live_task_runs_on_event_loop_and_stops_when_closed(runs: dict[str, str]) -> None:
    async def scenario() -> tuple[bool, bool, bool, int]:
        dash = Dashboard(live=False)
        dash.poller.min_interval = dash.poller.interval = 0.01
        started = dash.poller.start()
        with nbtrack.start_run(run_name="while-open"):
            pass
        for _ in range(200):  # the task refreshes on its own
            await asyncio.sleep(0.01)
            if "while-open" in dash.table.grid.html:
                break
        seen = "while-open" in dash.table.grid.html
        dash.close()
        await asyncio.sleep(0.05)
        polls = dash.poller.polls
        with nbtrack.start_run(run_name="after-close"):
            pass
        await asyncio.sleep(0.1)
        return started, seen, dash.poller.running, dash.poller.polls - polls

    started, seen, running, polls_after_close = asyncio.run(scenario())
    assert started and seen
    assert not running and polls_after_close == 0


def test_closed_widget_poll_does_nothing(runs: dict[str, str]) -> None:
    dash = Dashboard(live=False)
    dash.close()
    with nbtrack.start_run(run_name="late"):
        pass
    assert dash.poller.poll() is False and dash.poller.stopped


def test_callback_errors_land_in_output(runs: dict[str, str]) -> None:
    dash = Dashboard(live=False)

    def broken(_: object) -> None:
        raise RuntimeError("boom in a callback")

    from nbtrack.widgets._common import guarded

    button = dash.table.clear_baseline
    button.on_click(guarded(dash.table.out, broken))
    button.click()
    assert any("boom in a callback" in str(o) for o in dash.table.out.outputs)


def test_building_the_dashboard_loads_no_magics_or_autolog() -> None:
    # the import-time check lives in tests/test_import_boundaries.py; this one builds and renders everything
    code = (
        "import sys, nbtrack\n"
        "with nbtrack.start_run(run_name='r'):\n"
        "    nbtrack.log_metric('loss', 1.0)\n"
        "d = nbtrack.show(live=False); d._repr_mimebundle_(); d.selected_index = 2\n"
        "print(sorted(m for m in sys.modules if m.startswith('nbtrack.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "'nbtrack.widgets.dashboard'" in out
    for banned in ("nbtrack.magics", "nbtrack.sklearn", "nbtrack.autolog"):
        assert f"'{banned}'" not in out


def test_closed_comm_from_front_end_stops_polling(runs: dict[str, str]) -> None:
    dash = Dashboard(live=False)
    dash.comm._closed = True  # what the kernel's comm manager does on a front-end comm_close
    with nbtrack.start_run(run_name="late"):
        pass
    assert dash.poller.poll() is False and dash.poller.stopped


def test_models_tab_lists_registered_models(runs: dict[str, str]) -> None:
    with nbtrack.start_run(run_name="train") as run:
        nbtrack.log_text("flavor: sklearn\n", "model/MLmodel")
    dash = Dashboard(live=False)
    dash.selected_index = 2
    assert dash.models.model.options == ()
    dash.selected_index = 0
    nbtrack.register_model(f"runs:/{run.info.run_id}/model", "churn")
    dash.poller.poll()
    dash.selected_index = 2  # the Models tab refreshes when shown
    assert dash.models.model.options == ("churn",)
    assert dash.models.model.value == "churn"  # the model just registered is the one shown
    assert "churn" in dash.to_html()


def test_saved_outputs_never_inline_plotlyjs_but_exports_do(runs: dict[str, str]) -> None:
    saved = [Dashboard(live=False)._repr_mimebundle_()["text/html"] for _ in range(2)]
    assert all("plotly.js v" not in html and len(html) < 200_000 for html in saved)
    assert "plotly.js v" in Dashboard(live=False).to_html()  # an explicit export is self-contained


def test_show_with_select_opens_with_the_run_selected(runs: dict[str, str]) -> None:
    dash = nbtrack.show(live=False, select=[runs["rf"]])
    assert dash.table.selected_run_ids == [runs["rf"]]
    dash.selected_index = 1
    assert [t.name for t in dash.metrics_chart.history.figure.data] == ["rf"]


def test_all_experiments_view_picks_up_a_new_experiment(runs: dict[str, str]) -> None:
    dash = Dashboard(live=False)
    nbtrack.set_experiment("created-later")
    with nbtrack.start_run(run_name="in-new-experiment"):
        pass
    assert dash.poller.poll()
    assert "in-new-experiment" in [r.name for r in dash.table.view.rows]


def test_metrics_of_a_running_run_refresh_live() -> None:
    code = textwrap.dedent(
        """
        import sys, nbtrack
        with nbtrack.start_run(run_name="training") as run:
            nbtrack.log_metric("loss", 1.0, step=0)
            print(run.info.run_id, flush=True)
            sys.stdin.readline()  # wait until the widget has drawn the first point
            nbtrack.log_metric("loss", 0.5, step=1)
            print("logged", flush=True)
            sys.stdin.readline()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        run_id = proc.stdout.readline().strip()
        chart = MetricsChart([run_id], "loss", live=False)
        assert list(chart.history.figure.data[0].y) == [1.0]
        assert chart.poller.poll() is False
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "logged"
        assert chart.poller.poll() is True  # the journal grew although the store's token did not
        assert list(chart.history.figure.data[0].y) == [1.0, 0.5]
        assert chart.poller.poll() is False  # settled: no second refresh for the same change
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(60) == 0
        assert chart.poller.poll() is True  # the run ended
    finally:
        if proc.poll() is None:
            proc.kill()


def test_without_selection_charts_follow_the_table_filter_and_order(runs: dict[str, str]) -> None:
    dash = Dashboard(live=False)
    dash.selected_index = 1
    dash.table.apply_filter("params.kind = 'lr'")
    assert sorted(t.name for t in dash.metrics_chart.history.figure.data) == ["lr-big", "lr-small"]
    dash.table.sort("metrics.accuracy", descending=False)
    assert [t.name for t in dash.metrics_chart.history.figure.data] == ["lr-small", "lr-big"]
    assert "as the table is filtered" in dash.metrics_chart.note.value
    dash.table.select([runs["rf"]])  # a selection wins over the table's order
    assert [t.name for t in dash.metrics_chart.history.figure.data] == ["rf"]


def test_a_second_dashboard_reuses_the_rows_read_and_the_order_built(runs: dict[str, str]) -> None:
    # Given: a dashboard over the store
    first = Dashboard(live=False)
    rows = {r.run_id: r for r in first.table.view.rows}

    # When: a second one is shown with the store unchanged
    second = Dashboard(live=False)

    # Then: it holds the same row objects, in the same order, without rebuilding them
    assert [r.run_id for r in second.table.view.rows] == [r.run_id for r in first.table.view.rows]
    assert all(rows[r.run_id] is r for r in second.table.view.rows)

    # When: one run changes and a third dashboard is shown
    nbtrack.tracking.MlflowClient().log_metric(runs["rf"], "accuracy", 0.99, step=100)
    third = Dashboard(live=False)

    # Then: only that run's row is new, and the table shows its new value
    fresh = [r for r in third.table.view.rows if rows.get(r.run_id) is not r]
    assert [r.run_id for r in fresh] == [runs["rf"]] and fresh[0].metrics["accuracy"] == 0.99
    assert first.table.view.rows[0] is not third.table.view.rows  # each table keeps its own list
    for dash in (first, second, third):
        dash.close()
