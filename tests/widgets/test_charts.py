"""Charts: histories, final values, parallel coordinates, scatter; selection, options, escaping, cap."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import nbtrack
from nbtrack.widgets import MetricsChart, ParallelCoordinates, ParamScatter
from nbtrack.widgets.charts import ema

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_history_has_one_trace_per_selected_run_named_after_it(runs: dict[str, str]) -> None:
    chart = MetricsChart([runs["rf"], runs["gb"]], "accuracy", live=False)
    data = chart.history.figure.data
    assert [t.name for t in data] == ["rf", "gb"]
    assert list(data[0].x) == list(range(10))
    assert data[0].y[-1] == pytest.approx(0.95)
    bars = chart.bars.figure.data[0]
    assert list(bars.x) == ["rf", "gb"] and list(bars.y) == pytest.approx([0.95, 0.90])


def test_changing_runs_metric_axis_log_and_smoothing(runs: dict[str, str]) -> None:
    chart = MetricsChart([runs["rf"]], live=False)
    assert chart.metric.value == "accuracy"
    chart.set_runs([runs["lr-big"], runs["gb"], runs["rf"]])
    assert [t.name for t in chart.history.figure.data] == ["lr-big", "gb", "rf"]
    chart.metric.value = "loss"
    assert chart.history.figure.layout.yaxis.title.text == "loss"
    chart.x_axis.value = "relative time"
    assert chart.history.figure.data[0].x[0] == 0
    chart.log_y.value = True
    assert chart.history.figure.layout.yaxis.type == "log"
    raw = list(chart.history.figure.data[0].y)
    chart.smoothing.value = 0.9
    smoothed = list(chart.history.figure.data[0].y)
    assert smoothed != raw and smoothed[0] == pytest.approx(raw[0])


def test_ema_debiased_and_keeps_nan() -> None:
    assert ema([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    out = ema([1.0, math.nan, 3.0], 0.5)
    assert math.isnan(out[1]) and out[0] == 1.0 and 1.0 < out[2] < 3.0
    assert ema([1.0, 2.0], 0.0) == [1.0, 2.0]


def test_cap_on_number_of_runs_with_note(runs: dict[str, str]) -> None:
    chart = MetricsChart(list(runs.values()), "accuracy", max_runs=2, live=False)
    assert len(chart.history.figure.data) == 2
    assert "Showing 2 of 5" in chart.note.value


def test_default_is_newest_runs_with_note(runs: dict[str, str]) -> None:
    chart = MetricsChart(live=False)
    assert len(chart.history.figure.data) == 5
    assert "select runs" in chart.note.value


def test_names_escaped_in_legend_hover_and_static_html(runs: dict[str, str]) -> None:
    chart = MetricsChart([runs[XSS]], "accuracy", live=False)
    trace = chart.history.figure.data[0]
    assert trace.name == XSS_ESCAPED and XSS not in trace.hovertemplate
    html = chart.to_html()
    assert XSS not in html and "&lt;img" in html
    assert 'src="http' not in html  # plotly.js is inline, so it works offline
    assert "plotly.js v" in html and "Plotly.newPlot" in html
    saved = chart._repr_mimebundle_()["text/html"]  # what a saved notebook keeps: no plotly.js
    assert XSS not in saved and "&lt;img" in saved and "plotly" not in saved.lower()


def test_parallel_coordinates_params_to_metric(runs: dict[str, str]) -> None:
    chart = ParallelCoordinates(list(runs.values()), "loss", live=False)
    trace = chart.plot.figure.data[0]
    labels = [d.label for d in trace.dimensions]
    assert labels == ["C", "kind", "loss"]  # seed is the same in every run: no axis
    kind = trace.dimensions[1]
    assert XSS_ESCAPED in kind.ticktext and XSS not in kind.ticktext
    chart.set_runs([runs["rf"], runs["gb"]])
    assert len(chart.plot.figure.data[0].dimensions[-1].values) == 2
    chart.metric.value = "accuracy"
    assert chart.plot.figure.data[0].dimensions[-1].label == "accuracy"


def test_scatter_param_against_metric(runs: dict[str, str]) -> None:
    chart = ParamScatter(list(runs.values()), "C", "accuracy", live=False)
    trace = chart.plot.figure.data[0]
    assert sorted(trace.x) == [0.1, 1.0, 1.0, 5.0, 10.0]
    assert XSS_ESCAPED in trace.text
    chart.param.value = "kind"
    assert XSS_ESCAPED in chart.plot.figure.data[0].x


def test_bad_max_runs_rejected() -> None:
    with pytest.raises(nbtrack.InvalidParameter):
        MetricsChart(max_runs=0, live=False)


def test_wall_time_axis_in_local_time(runs: dict[str, str]) -> None:
    chart = MetricsChart([runs["rf"]], "accuracy", live=False)
    chart.x_axis.value = "wall time"
    first = chart.source.histories(runs["rf"])["accuracy"][0].timestamp
    shown = chart.history.figure.data[0].x[0]
    expected = dt.datetime.fromtimestamp(first / 1000).replace(tzinfo=None)
    assert abs((_as_datetime(shown) - expected).total_seconds()) < 1


def _as_datetime(value: object) -> dt.datetime:
    if isinstance(value, np.datetime64):
        return dt.datetime.fromisoformat(str(value.astype("datetime64[ms]")))
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value


def _one_step_runs() -> dict[str, str]:
    ids = {}
    for name, c, acc in [("a", 0.1, 0.7), ("b", 1.0, 0.8), ("c", 10.0, 0.9)]:
        with nbtrack.start_run(run_name=name) as run:
            nbtrack.log_params({"C": c, "solver": "lbfgs"})
            nbtrack.log_metric("accuracy", acc)
        ids[name] = run.info.run_id
    return ids


def test_one_step_metrics_are_bars_coloured_per_run_not_a_dot_history() -> None:
    ids = _one_step_runs()
    chart = MetricsChart(list(ids.values()), "accuracy", live=False)
    assert chart.mode == "values"
    assert chart.history.widget.layout.display == "none" and chart.history.figure.data == ()
    bars = chart.bars.figure.data[0]
    assert bars.type == "bar" and list(bars.x) == ["a", "b", "c"]
    colors = list(bars.marker.color)
    assert len(set(colors)) == 3 and colors == [chart.source.colors(ids[n]) for n in "abc"]


def test_one_step_metric_against_a_param_is_a_scatter() -> None:
    ids = _one_step_runs()
    chart = MetricsChart(list(ids.values()), "accuracy", live=False)
    assert list(chart.against.options) == ["run", "C"]  # solver is the same everywhere
    chart.against.value = "C"
    trace = chart.bars.figure.data[0]
    assert trace.type == "scatter" and list(trace.x) == [0.1, 1.0, 10.0]


def test_histories_are_lines_in_the_runs_colours(runs: dict[str, str]) -> None:
    chart = MetricsChart([runs["rf"], runs["gb"]], "accuracy", live=False)
    assert chart.mode == "history"
    lines = chart.history.figure.data
    assert [t.line.color for t in lines] == list(chart.bars.figure.data[0].marker.color)


def test_parallel_coordinates_cap_axes_to_varying_params() -> None:
    for i in range(4):
        with nbtrack.start_run(run_name=f"r{i}"):
            nbtrack.log_params({f"p{k}": i * k for k in range(1, 9)} | {"fixed": 1})
            nbtrack.log_metric("score", i)
    chart = ParallelCoordinates(live=False)
    dims = chart.plot.figure.data[0].dimensions
    assert len(dims) == 6 + 1  # six param axes by default, then the metric
    assert "fixed" not in [d.label for d in dims]
    assert "6 of 8 varying params" in chart.note.value
    chart.max_axes.value = 3
    assert len(chart.plot.figure.data[0].dimensions) == 4


def test_scatter_defaults_to_a_param_that_varies() -> None:
    _one_step_runs()
    chart = ParamScatter(live=False)
    assert chart.param.value == "C"


def test_labels_escape_markup_once_and_keep_quotes() -> None:
    with nbtrack.start_run(run_name="it's <b>"):
        nbtrack.log_metric("accuracy", 1.0)
    chart = MetricsChart(live=False)
    assert list(chart.bars.figure.data[0].x) == ["it's &lt;b&gt;"]
