"""Helpers shared by the widgets: escaping, formatting, metric direction, errors, figures, static HTML."""

from __future__ import annotations

import html
import math
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "log_loss", "logloss", "mape", "err")


def esc(value: Any) -> str:
    """Return ``value`` as text that HTML shows literally (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def lower_is_better(metric: str) -> bool:
    """Guess a metric's direction from its name: losses and errors are better when lower.

    Parameters
    ----------
    metric : str
        The metric key, e.g. ``"val_loss"`` or ``"accuracy"``.

    Returns
    -------
    bool
        ``True`` for names containing loss, error, mse, mae, rmse, log_loss and the like.
    """
    name = metric.lower()
    return any(word in name for word in LOWER_IS_BETTER)


def fmt_value(value: Any) -> str:
    """Format a cell value compactly (floats to 4 significant digits, NaN/inf spelled out)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.4g}"
    return str(value)


def fmt_delta(value: float) -> str:
    """Format a difference with its sign (``+0.012``)."""
    if math.isnan(value):
        return "NaN"
    return f"{value:+.3g}"


def fmt_time(ms: int | None) -> str:
    """Format a millisecond timestamp as local ``YYYY-MM-DD HH:MM:SS``."""
    if not ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def fmt_duration(seconds: float | None) -> str:
    """Format a duration in seconds as ``1.2s``, ``3m 04s`` or ``2h 05m``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[str]], css_class: str) -> str:
    """Build an HTML table; ``headers`` and cells must already be escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def error_output() -> Any:
    """An ``Output`` widget that collects errors raised in callbacks."""
    import ipywidgets as w

    return w.Output(layout=w.Layout(max_height="12em", overflow="auto"))


def show_error(out: Any, err: BaseException) -> None:
    """Append an error to an ``Output`` widget (a short message for nbtrack errors, else the traceback)."""
    from nbtrack.errors import NbtrackError

    if isinstance(err, NbtrackError):
        lines = [f"{type(err).__name__}: {err}"]
    else:
        lines = [line.rstrip("\n") for line in traceback.format_exception(err)]
    entry = {"output_type": "error", "ename": type(err).__name__, "evalue": str(err), "traceback": lines}
    out.outputs = (*out.outputs, entry)


def guarded(out: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a callback so that any exception is shown in ``out`` instead of vanishing.

    ``Output``'s own capture works only inside a kernel; this works everywhere.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            show_error(out, err)
            return None

    wrapper.__name__ = getattr(fn, "__name__", "callback")
    return wrapper


# One colour per run, the same in every chart and in the table's swatches (Plotly's D3 palette, then more).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#e6550d", "#31a354", "#ad494a", "#756bb1", "#8c6d31", "#de9ed6", "#636363", "#b5cf6b", "#6baed6",
)  # fmt: skip


class RunColors:
    """Hands out one palette colour per run id and keeps it (colours repeat after 20 runs)."""

    def __init__(self) -> None:
        self._colors: dict[str, str] = {}

    def __call__(self, run_id: str) -> str:
        """The colour of ``run_id`` (assigned on first use)."""
        color = self._colors.get(run_id)
        if color is None:
            color = PALETTE[len(self._colors) % len(PALETTE)]
            self._colors[run_id] = color
        return color


def plot_text(value: Any) -> str:
    """Text for a plotly label: ``<``, ``>`` and ``&`` escaped once, quotes left as they are.

    Plotly reads labels as a small HTML subset, so markup must be escaped; it does not decode
    every entity (``&#x27;`` would show literally), so quotes stay plain.
    """
    return html.escape("" if value is None else str(value), quote=False)


class FigureHost:
    """Holds a plotly figure and the ``Output`` widget that shows it.

    The figure crosses the comm as ``application/vnd.plotly.v1+json``, drawn by the plotly
    renderer that JupyterLab, Notebook 7 and VS Code load once per page: a ``FigureWidget``
    would ship its own 4 MB copy of plotly.js with every chart. The width follows the
    output area (``autosize``, no fixed width).
    """

    def __init__(self, height: int = 380) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        self.height = height
        self.figure: Any = go.Figure(layout={"height": height})
        self.widget: Any = w.Output(layout=w.Layout(width="100%"))
        self.live = False

    def show(self, traces: list[dict[str, Any]], layout: dict[str, Any]) -> None:
        """Replace the figure's traces and layout."""
        import plotly.io as pio

        layout = {
            "height": self.height,
            "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
            **layout,
        }
        # update in place: assigning a new layout would rebuild plotly's template (~50 ms)
        with self.figure.batch_update():
            self.figure.data = ()
            self.figure.update_layout(layout)
            if traces:
                self.figure.add_traces(traces)
        # set the Output's content directly: no display machinery, same result in or out of a kernel
        spec = orjson.loads(pio.to_json(self.figure, validate=False, engine="orjson"))
        # no "responsive": it sizes the plot to its container's height, which an output area leaves at 0;
        # without a width plotly takes the output area's, and the renderer redraws it on resize
        spec["config"] = {"displaylogo": False}
        data = {"application/vnd.plotly.v1+json": spec, "text/plain": "<plotly figure>"}
        self.widget.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def to_html(self) -> str:
        """The figure as HTML (plotly.js loaded by the page that includes it)."""
        import plotly.io as pio

        return str(pio.to_html(self.figure, include_plotlyjs=False, full_html=False))


def plotly_js_tag(include: bool = True) -> str:
    """A ``<script>`` holding plotly.js itself, for HTML exported to be read offline (``""`` if not ``include``)."""
    if not include:
        return ""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def bars_html(title: str, items: Sequence[tuple[str, float, str]], lower_better: bool = False) -> str:
    """A small chart of one value per run as plain HTML (no script: any viewer shows it).

    Parameters
    ----------
    title : str
        Caption (escaped here).
    items : sequence of (label, value, colour)
        One bar per run; labels are escaped here, NaN values are listed without a bar.
    lower_better : bool
        Say so in the caption.
    """
    finite = [v for _, v, _ in items if v == v and not math.isinf(v)]
    if not finite:
        return ""
    top = max(abs(v) for v in finite) or 1.0
    rows = []
    for label, value, color in items:
        width = 0.0 if value != value or math.isinf(value) else 100 * abs(value) / top
        rows.append(
            "<tr>"
            f'<td style="padding:1px 6px;white-space:nowrap;text-align:left">{esc(label)}</td>'
            f'<td style="padding:1px 6px;width:60%;min-width:120px"><div style="background:{esc(color)};height:10px;'
            f'width:{width:.1f}%"></div></td>'
            f'<td style="padding:1px 6px;font-family:monospace">{esc(fmt_value(value))}</td></tr>'
        )
    hint = " (lower is better)" if lower_better else ""
    return (
        f'<div class="jp-nbtrack-StaticBars" style="max-width:700px;font-size:12px"><b>{esc(title)}</b>{esc(hint)}'
        f'<table style="border-collapse:collapse;width:100%">{"".join(rows)}</table></div>'
    )


class StaticHtmlMixin:
    """Adds a small ``text/html`` form to a widget's MIME bundle, shown when the kernel is gone.

    Saved notebooks keep that HTML beside the widget view: nbconvert and VS Code use it when
    the notebook holds no widget state, and nbtrack's JupyterLab extension shows it instead of
    "model not found". It never inlines plotly.js, so a saved dashboard stays small.
    """

    def to_html(self, include_plotlyjs: bool = True) -> str:  # pragma: no cover - overridden
        """Return the widget's HTML (``include_plotlyjs`` inlines plotly.js for offline reading)."""
        raise NotImplementedError

    def static_html(self) -> str:
        """The small HTML saved with the notebook (no script, no plotly.js)."""
        return self.to_html(include_plotlyjs=False)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/html"] = self.static_html()
        return bundle
