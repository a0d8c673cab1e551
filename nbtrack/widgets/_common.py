"""Helpers shared by the widgets: escaping, formatting, metric direction, errors, figures, static HTML."""

from __future__ import annotations

import contextlib
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


class FigureHost:
    """Holds a plotly figure and the widget that shows it.

    With ``anywidget`` installed this is a ``go.FigureWidget`` updated in place; otherwise a plain
    ``go.Figure`` shown in an ``Output`` (rendered by JupyterLab's plotly MIME renderer).
    """

    def __init__(self, height: int = 380) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        self.height = height
        self.figure: Any
        try:
            self.figure = go.FigureWidget(layout={"height": height})
            self.widget: Any = self.figure
            self.live = True
        except ImportError:  # plotly's FigureWidget needs anywidget
            self.figure = go.Figure(layout={"height": height})
            self.widget = w.Output()
            self.live = False

    def show(self, traces: list[dict[str, Any]], layout: dict[str, Any]) -> None:
        """Replace the figure's traces and layout."""
        layout = {"height": self.height, "margin": {"l": 50, "r": 20, "t": 40, "b": 40}, **layout}
        # update in place: assigning a new layout would rebuild plotly's template (~50 ms)
        with self.figure.batch_update() if self.live else contextlib.nullcontext():
            self.figure.data = ()
            self.figure.update_layout(layout)
            if traces:
                self.figure.add_traces(traces)
        if self.live:
            return
        import plotly.io as pio

        # set the Output's content directly: no display machinery, same result in or out of a kernel
        spec = orjson.loads(pio.to_json(self.figure, validate=False, engine="orjson"))
        data = {"application/vnd.plotly.v1+json": spec, "text/plain": "<plotly figure>"}
        self.widget.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def to_html(self) -> str:
        """The figure as self-contained HTML (plotly.js loaded by the page that includes it)."""
        import plotly.io as pio

        return str(pio.to_html(self.figure, include_plotlyjs=False, full_html=False))


_plotlyjs_sent = False


def plotly_js_tag(include: bool | str = True) -> str:
    """A ``<script>`` holding plotly.js itself, so static HTML works offline.

    Parameters
    ----------
    include : bool or "once"
        ``"once"``: only the first time in this process (later outputs of the same notebook use
        the copy the first one loaded, which keeps saved notebooks small); ``False``: never.
    """
    global _plotlyjs_sent
    if include == "once":
        include, _plotlyjs_sent = not _plotlyjs_sent, True
    if not include:
        return ""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


class StaticHtmlMixin:
    """Adds ``text/html`` to a widget's MIME bundle so saved and exported notebooks show it."""

    def to_html(self, include_plotlyjs: bool | str = True) -> str:  # pragma: no cover - overridden
        """Return the widget's static HTML form (charts need plotly.js: see :func:`plotly_js_tag`)."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/html"] = self.to_html(include_plotlyjs="once")
        return bundle
