"""Plotly charts of selected runs: metric histories and final values (params charts: ``param_charts``).

Each chart draws at most ``max_runs`` runs (a note says so); legends and hover texts carry
run names escaped, so a name with markup shows as text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
import numpy as np

from nbtrack.errors import InvalidParameter
from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import FigureHost, StaticHtmlMixin, error_output, guarded, plot_text, plotly_js_tag
from nbtrack.widgets._live import StorePoller, widget_alive
from nbtrack.widgets._source import RunRow, RunSource, resolve_experiments
from nbtrack.widgets._static import _metric_keys, final_values_html, varying_params

__all__ = ["MetricsChart", "final_values_html", "varying_params"]

DEFAULT_MAX_RUNS = 10
X_AXES = ("step", "wall time", "relative time")


def ema(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing (``weight`` in [0, 1))."""
    if weight <= 0:
        return list(values)
    out: list[float] = []
    last = 0.0
    n = 0
    for v in values:
        if math.isnan(v) or math.isinf(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight**n))
    return out


class _RunChart(StaticHtmlMixin, w.VBox):  # type: ignore[misc]
    """Shared plumbing: the run source, the chosen runs, the note, live refresh, errors."""

    def __init__(
        self,
        run_ids: Sequence[str] | None,
        experiment: Any,
        client: TrackingClient | None,
        source: RunSource | None,
        max_runs: int,
        live: bool,
        default_rows: Callable[[], list[RunRow]] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(max_runs, int) or max_runs < 1:
            raise InvalidParameter(f"max_runs must be a positive integer, got {max_runs!r}.")
        if source is None:
            client = client or TrackingClient()
            source = RunSource(client, resolve_experiments(client, experiment))
        self.source = source
        self.max_runs = max_runs
        self.run_ids: list[str] = list(run_ids or [])
        self.out = error_output()
        self.note = w.HTML()
        self.poller = StorePoller(
            source.version,
            guarded(self.out, self._on_store_change),
            lambda: widget_alive(self),
            settled=lambda: source.loaded_version,
        )
        self._live = live
        self._quiet = False
        self.default_rows = default_rows

    def _choose(self, control: Any, options: list[str], wanted: str | None) -> str | None:
        """Set a dropdown's options and value without triggering a redraw; return the value."""
        want = control.value or wanted
        pick = want if want in options else (options[0] if options else None)
        self._quiet = True
        try:
            if list(control.options) != options:
                control.options = options
            if control.value != pick:
                control.value = pick
        finally:
            self._quiet = False
        return pick

    def _redraw_on_change(self, _: Any) -> None:
        if not self._quiet:
            self.redraw()

    def _start(self) -> None:
        if self._live:
            self.poller.start()

    def _on_store_change(self) -> None:
        self.source.reload()
        self.redraw()

    def set_runs(self, run_ids: Sequence[str]) -> None:
        """Chart these runs (the first ``max_runs`` of them)."""
        self.run_ids = list(run_ids)
        self.redraw()

    def chosen(self) -> list[RunRow]:
        """The runs drawn: the selected ones, else the first of the table (or the newest); at most ``max_runs``."""
        if self.run_ids:
            rows = [r for r in (self.source.get(i) for i in self.run_ids) if r is not None]
            why = "selected"
        elif self.default_rows is not None:
            rows = self.default_rows()
            why = "first (as the table is filtered and sorted; select runs to choose)"
        else:
            rows = self.source.rows()
            why = "newest (select runs in the table to choose)"
        shown = rows[: self.max_runs]
        if len(rows) > len(shown):
            self.note.value = f"<i>Showing {len(shown)} of {len(rows)} {why} runs.</i>"
        elif not rows:
            self.note.value = "<i>No runs to chart.</i>"
        else:
            self.note.value = f"<i>{len(shown)} {why} runs.</i>" if not self.run_ids else ""
        return shown

    def redraw(self) -> None:  # pragma: no cover - overridden
        """Draw the chart again from the current runs."""
        raise NotImplementedError

    def _hosts(self) -> list[FigureHost]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_html(self, include_plotlyjs: bool = True) -> str:
        """The charts as HTML; ``include_plotlyjs`` inlines plotly.js (an export read offline).

        Parameters
        ----------
        include_plotlyjs : bool
            Whether to inline plotly.js (4 MB).
        """
        return plotly_js_tag(include_plotlyjs) + self.figures_html()

    def static_html(self) -> str:
        """What a saved notebook keeps: the final values as plain HTML bars (no plotly.js)."""
        return final_values_html(self.chosen(), getattr(getattr(self, "metric", None), "value", None), self.source)

    def figures_html(self) -> str:
        """The charts' HTML without plotly.js (a page that already loaded it)."""
        return str(self.note.value) + "".join(h.to_html() for h in self._hosts())

    def close(self) -> None:
        """Close the widget and stop its live refresh."""
        self.poller.stop()
        super().close()


class MetricsChart(_RunChart):
    """History of one metric per run (lines) and its final value per run (bars).

    Parameters
    ----------
    run_ids : list of str, optional
        Runs to draw; the newest ones when empty.
    metric : str, optional
        Metric to draw; the first one the runs have by default.
    experiment, client, source, max_runs, live
        As for :class:`~nbtrack.widgets.RunsTable`.
    default_rows : callable, optional
        Runs to draw when none are selected (the dashboard passes the table's rows); the newest otherwise.
    """

    def __init__(
        self,
        run_ids: Sequence[str] | None = None,
        metric: str | None = None,
        *,
        experiment: Any = None,
        client: TrackingClient | None = None,
        source: RunSource | None = None,
        max_runs: int = DEFAULT_MAX_RUNS,
        live: bool = True,
        default_rows: Callable[[], list[RunRow]] | None = None,
    ) -> None:
        super().__init__(run_ids, experiment, client, source, max_runs, live, default_rows)
        self.metric = w.Dropdown(description="metric", layout=w.Layout(width="260px"))
        self.x_axis = w.ToggleButtons(options=list(X_AXES), value="step", style={"button_width": "105px"})
        self.log_y = w.Checkbox(value=False, description="log y", indent=False)
        self.smoothing = w.FloatSlider(value=0.0, min=0.0, max=0.99, step=0.01, description="smoothing")
        self.against = w.Dropdown(description="against", layout=w.Layout(width="auto", max_width="300px"))
        self.against.style.description_width = "initial"
        self.history = FigureHost(380)
        self.bars = FigureHost(320)
        self._wanted_metric = metric
        for control in (self.metric, self.x_axis, self.log_y, self.smoothing, self.against):
            control.observe(guarded(self.out, self._redraw_on_change), "value")
        self.history_controls = w.HBox([self.x_axis, self.smoothing], layout=w.Layout(flex_flow="row wrap"))
        self.children = [
            w.HBox(
                [self.metric, self.against, self.log_y], layout=w.Layout(flex_flow="row wrap", align_items="center")
            ),
            self.history_controls,
            self.note,
            self.history.widget,
            self.bars.widget,
            self.out,
        ]
        self.mode = "history"
        self.add_class("jp-nbtrack-MetricsChart")
        self.redraw()
        self._start()

    def _hosts(self) -> list[FigureHost]:
        return [self.history, self.bars]

    def redraw(self) -> None:
        """Draw the chosen runs' metric: lines of its history when it has steps, else a value per run.

        A metric logged once per run (sklearn's training scores) is drawn as bars, one colour per
        run, or, with "against" set to a param, as a scatter of the value against that param.
        """
        rows = self.chosen()
        key = self._choose(self.metric, _metric_keys(rows), self._wanted_metric)
        histories = {
            r.run_id: h
            for r in rows
            if key is not None and key in r.metrics and (h := self.source.histories(r.run_id).get(key, []))
        }
        longest = max((len(h) for h in histories.values()), default=0)
        running = any(r.status == "RUNNING" for r in rows if r.run_id in histories)  # more points to come
        self.mode = "history" if longest > 1 or running else "values"
        params = varying_params(rows)
        self._choose(self.against, ["run", *params], "run")
        shown = self.mode == "history"
        self.history.widget.layout.display = "" if shown else "none"
        self.history_controls.layout.display = "" if shown else "none"
        title = plot_text(key) if key else ""
        log = "log" if self.log_y.value else "linear"
        if shown:
            self._draw_history(rows, key or "", histories, title, log)
        elif self.history.figure.data:
            self.history.show([], {})  # nothing stale behind the hidden chart
        drawn = [r for r in rows if r.run_id in histories]
        if self.against.value and self.against.value != "run":
            self._draw_against(drawn, key or "", self.against.value, title, log)
            return
        self.bars.show(
            [
                {
                    "type": "bar",
                    "x": [plot_text(r.name) for r in drawn],
                    "y": [r.metrics[key] for r in drawn] if key else [],
                    "marker": {"color": [self.source.colors(r.run_id) for r in drawn]},
                    "hovertemplate": "%{x}: %{y:.4g}<extra></extra>",
                }
            ]
            if drawn
            else [],
            {
                "title": {"text": f"final {title}" if shown else f"{title} per run"},
                "yaxis": {"type": log, "title": {"text": title}},
                "xaxis": {"type": "category"},
            },
        )

    def _draw_against(self, rows: list[RunRow], key: str, param: str, title: str, log: str) -> None:
        rows = [r for r in rows if param in r.params]
        raw = [r.params[param] for r in rows]
        nums = _numeric_values(raw)
        self.bars.show(
            [
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": nums if nums is not None else [plot_text(x) for x in raw],
                    "y": [r.metrics[key] for r in rows],
                    "text": [plot_text(r.name) for r in rows],
                    "marker": {"size": 11, "color": [self.source.colors(r.run_id) for r in rows]},
                    "hovertemplate": "%{text}<br>%{x}: %{y:.4g}<extra></extra>",
                }
            ]
            if rows
            else [],
            {
                "title": {"text": f"{title} vs {plot_text(param)}"},
                "xaxis": {"title": {"text": plot_text(param)}, "type": "linear" if nums is not None else "category"},
                "yaxis": {"type": log, "title": {"text": title}},
            },
        )

    def _draw_history(
        self, rows: list[RunRow], key: str, histories: dict[str, list[Any]], title: str, log: str
    ) -> None:
        mode = self.x_axis.value
        smooth = float(self.smoothing.value)
        traces: list[dict[str, Any]] = []
        for row in rows:
            history = histories.get(row.run_id)
            if not history:
                continue
            name = plot_text(row.name)
            # numpy arrays: plotly validates them in one go instead of element by element
            n = len(history)
            if mode == "step":
                xs: Any = np.fromiter((m.step for m in history), dtype=np.int64, count=n)
            else:
                stamps = np.fromiter((m.timestamp for m in history), dtype=np.int64, count=n)
                if mode == "wall time":  # shown in local time, as the table's start times
                    xs = (stamps + time.localtime().tm_gmtoff * 1000).astype("datetime64[ms]")
                else:
                    xs = (stamps - stamps[0]) / 1000
            ys = ema([m.value for m in history], smooth)
            traces.append(
                {
                    "type": "scattergl" if len(ys) > 2000 else "scatter",
                    "mode": "lines+markers" if len(ys) < 30 else "lines",
                    "x": xs,
                    "y": np.asarray(ys, dtype=float),
                    "name": name,
                    "line": {"color": self.source.colors(row.run_id)},
                    "marker": {"color": self.source.colors(row.run_id)},
                    "hovertemplate": f"{name}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
                }
            )
        xlabel = {"step": "step", "wall time": "time", "relative time": "seconds since first point"}[mode]
        self.history.show(
            traces,
            {
                "title": {"text": f"{title} history"},
                "xaxis": {"title": {"text": xlabel}},
                "yaxis": {"type": log, "title": {"text": title}},
                "legend": {"title": {"text": "run"}},
            },
        )


def _numeric_values(values: Sequence[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None
