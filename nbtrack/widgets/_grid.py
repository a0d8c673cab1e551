"""The clickable page of the runs table: an anywidget that draws HTML and reports clicks.

Core ipywidgets cannot tell which row of an ``HTML`` widget was clicked, so the page is drawn
by a few lines of JavaScript (anywidget's front end ships with the ``widgets`` extra and needs
no extension of its own): a click on a row sends its run id and the Shift/Ctrl/Cmd keys, a click
on a header sends its column, a click on ▸/▾ folds a parent's child runs. Python decides what
the click means and sends back the new page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  el.classList.add("jp-nbtrack-Grid");
  const draw = () => { el.innerHTML = model.get("html"); };
  draw();
  model.on("change:html", draw);
  el.addEventListener("mousedown", (ev) => { if (ev.shiftKey) ev.preventDefault(); });
  el.addEventListener("click", (ev) => {
    const target = ev.target;
    if (!(target instanceof Element) || target.closest("a")) return;
    const toggle = target.closest("[data-toggle]");
    if (toggle) {
      ev.stopPropagation();
      model.send({ event: "toggle", run_id: toggle.getAttribute("data-toggle") });
      return;
    }
    const th = target.closest("th[data-col]");
    if (th) {
      model.send({ event: "sort", column: th.getAttribute("data-col") });
      return;
    }
    const tr = target.closest("tr[data-run]");
    if (tr) {
      tr.classList.add("nbtrack-pending");
      model.send({
        event: "click",
        run_id: tr.getAttribute("data-run"),
        shift: ev.shiftKey,
        ctrl: ev.ctrlKey || ev.metaKey,
      });
    }
  });
}
export default { render };
"""


class GridView(anywidget.AnyWidget):
    """One page of rows as HTML; ``on_event`` receives ``{"event": "click" | "sort" | "toggle", ...}``."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    html = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_event: Callable[[dict[str, Any]], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_event = on_event
        self.on_msg(self._receive)

    def _receive(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("event"), str):
            self._on_event(content)
