"""Charts of params against a metric: parallel coordinates and a param-vs-metric scatter."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import FigureHost, guarded, plot_text
from nbtrack.widgets._source import RunRow, RunSource
from nbtrack.widgets._static import _metric_keys, varying_params
from nbtrack.widgets.charts import _RunChart

DEFAULT_AXES = 6
esc = plot_text  # labels go to plotly, which reads a small HTML subset: escape markup once, not quotes


def _numeric(values: Sequence[str | None]) -> list[float] | None:
    out = []
    for v in values:
        if v is None:
            out.append(math.nan)
            continue
        try:
            out.append(float(v))
        except ValueError:
            return None
    return out


def _dimension(label: str, values: Sequence[str | None]) -> dict[str, Any]:
    nums = _numeric(values)
    if nums is not None:
        return {"label": esc(label), "values": nums}
    cats = sorted({v for v in values if v is not None})
    index = {c: i for i, c in enumerate(cats)}
    return {
        "label": esc(label),
        "values": [index.get(v, math.nan) if v is not None else math.nan for v in values],
        "tickvals": list(range(len(cats))),
        "ticktext": [esc(c) for c in cats],
    }


class ParallelCoordinates(_RunChart):
    """Params of the chosen runs → one metric, as parallel coordinates coloured by the metric.

    Parameters
    ----------
    run_ids, metric, experiment, client, source, live, default_rows
        As for :class:`MetricsChart`.
    max_runs : int
        At most this many runs (default 200: this chart stays readable with many lines).
    max_axes : int
        At most this many param axes (default 6); the "axes" slider changes it. Only params that
        vary among the drawn runs get an axis, those with the most distinct values first.
    """

    def __init__(
        self,
        run_ids: Sequence[str] | None = None,
        metric: str | None = None,
        *,
        experiment: Any = None,
        client: TrackingClient | None = None,
        source: RunSource | None = None,
        max_runs: int = 200,
        live: bool = True,
        default_rows: Callable[[], list[RunRow]] | None = None,
        max_axes: int = DEFAULT_AXES,
    ) -> None:
        super().__init__(run_ids, experiment, client, source, max_runs, live, default_rows)
        self.metric = w.Dropdown(description="metric", layout=w.Layout(width="auto", max_width="300px"))
        self.max_axes = w.BoundedIntText(
            value=max_axes, min=1, max=30, description="param axes", layout=w.Layout(width="150px")
        )
        self.max_axes.style.description_width = "initial"
        self._wanted_metric = metric
        self.plot = FigureHost(420)
        self.metric.observe(guarded(self.out, self._redraw_on_change), "value")
        self.max_axes.observe(guarded(self.out, self._redraw_on_change), "value")
        self.children = [
            w.HBox([self.metric, self.max_axes], layout=w.Layout(flex_flow="row wrap")),
            self.note,
            self.plot.widget,
            self.out,
        ]
        self.add_class("jp-nbtrack-ParallelCoordinates")
        self.redraw()
        self._start()

    def _hosts(self) -> list[FigureHost]:
        return [self.plot]

    def redraw(self) -> None:
        """Draw the chosen runs' params against the chosen metric."""
        rows = self.chosen()
        key = self._choose(self.metric, _metric_keys(rows), self._wanted_metric)
        rows = [r for r in rows if key is not None and key in r.metrics]
        varying = varying_params(rows)
        distinct = {p: len({r.params.get(p) for r in rows}) for p in varying}
        params = sorted(varying, key=lambda p: -distinct[p])[: int(self.max_axes.value)]
        params.sort(key=varying.index)
        left_out = len(varying) - len(params)
        if left_out > 0:
            self.note.value = str(self.note.value) + (
                f"<i> {len(params)} of {len(varying)} varying params shown (raise 'param axes' for more).</i>"
            )
        dims = [_dimension(p, [r.params.get(p) for r in rows]) for p in params]
        traces: list[dict[str, Any]] = []
        if key is not None and rows:
            values = [r.metrics[key] for r in rows]
            dims.append({"label": esc(key), "values": values})
            traces.append(
                {
                    "type": "parcoords",
                    "line": {"color": values, "colorscale": "Viridis", "showscale": True},
                    "dimensions": dims,
                }
            )
        # room for the axis titles: they are tilted when there are many axes
        self.plot.show(
            traces, {"title": {"text": f"params → {esc(key) if key else ''}"}, "margin": {"l": 60, "r": 60, "t": 80}}
        )


class ParamScatter(_RunChart):
    """One param against one metric, a point per run (hover shows the run name).

    Parameters
    ----------
    run_ids, experiment, client, source, live, default_rows
        As for :class:`MetricsChart`.
    param, metric : str, optional
        Axes; the first param and metric by default.
    max_runs : int
        At most this many runs (default 1000).
    """

    def __init__(
        self,
        run_ids: Sequence[str] | None = None,
        param: str | None = None,
        metric: str | None = None,
        *,
        experiment: Any = None,
        client: TrackingClient | None = None,
        source: RunSource | None = None,
        max_runs: int = 1000,
        live: bool = True,
        default_rows: Callable[[], list[RunRow]] | None = None,
    ) -> None:
        super().__init__(run_ids, experiment, client, source, max_runs, live, default_rows)
        self.param = w.Dropdown(description="param", layout=w.Layout(width="260px"))
        self.metric = w.Dropdown(description="metric", layout=w.Layout(width="260px"))
        self._wanted = (param, metric)
        self.plot = FigureHost(360)
        for control in (self.param, self.metric):
            control.observe(guarded(self.out, self._redraw_on_change), "value")
        self.children = [w.HBox([self.param, self.metric]), self.note, self.plot.widget, self.out]
        self.add_class("jp-nbtrack-ParamScatter")
        self.redraw()
        self._start()

    def _hosts(self) -> list[FigureHost]:
        return [self.plot]

    def redraw(self) -> None:
        """Draw the chosen param against the chosen metric."""
        rows = self.chosen()
        varying = varying_params(rows)
        others = sorted({p for r in rows for p in r.params} - set(varying))
        p = self._choose(self.param, [*varying, *others], self._wanted[0])
        m = self._choose(self.metric, _metric_keys(rows), self._wanted[1])
        rows = [r for r in rows if p is not None and m is not None and p in r.params and m in r.metrics]
        p, m = p or "", m or ""
        xs_raw = [r.params[p] for r in rows]
        nums = _numeric(xs_raw)
        traces = []
        if rows:
            names = [esc(r.name) for r in rows]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": nums if nums is not None else [esc(x) for x in xs_raw],
                    "y": [r.metrics[m] for r in rows],
                    "text": names,
                    "hovertemplate": "%{text}<br>%{x}: %{y:.4g}<extra></extra>",
                    "marker": {"size": 10, "color": [self.source.colors(r.run_id) for r in rows]},
                }
            )
        self.plot.show(
            traces,
            {
                "title": {"text": f"{esc(m or '')} vs {esc(p or '')}"},
                "xaxis": {"title": {"text": esc(p or "")}},
                "yaxis": {"title": {"text": esc(m or "")}},
            },
        )
