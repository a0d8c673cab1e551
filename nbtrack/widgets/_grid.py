"""The clickable page of the runs table: an anywidget that draws HTML and reports clicks.

Core ipywidgets cannot tell which row of an ``HTML`` widget was clicked, so the page is drawn
by a few lines of JavaScript (anywidget's front end ships with the ``widgets`` extra and needs
no extension of its own): a click on a row sends its run id and the Shift/Ctrl/Cmd keys, a click
on a header sends its column, a click on ▸/▾ folds a parent's child runs, the footer's buttons
page and clear the selection. Python decides what a click means and sends back the new page.

The pager and the selection line live in this one widget's ``footer`` (not in a dozen Button and
HTML widgets): every widget model is a message to the browser and a view to build before the
table is drawn, so the first paint of a dashboard stays one page of HTML and a few controls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  el.classList.add("jp-nbtrack-Grid");
  const scroll = document.createElement("div");
  scroll.className = "jp-nbtrack-GridScroll";
  scroll.style.overflow = "auto";
  scroll.style.maxHeight = "600px";
  const footer = document.createElement("div");
  footer.className = "jp-nbtrack-GridFooter";
  el.append(scroll, footer);
  const draw = () => { scroll.innerHTML = model.get("html"); };
  const drawFooter = () => { footer.innerHTML = model.get("footer"); };
  draw();
  drawFooter();
  model.on("change:html", draw);
  model.on("change:footer", drawFooter);
  el.addEventListener("mousedown", (ev) => { if (ev.shiftKey) ev.preventDefault(); });
  el.addEventListener("click", (ev) => {
    const target = ev.target;
    if (!(target instanceof Element) || target.closest("a")) return;
    const action = target.closest("button[data-action]");
    if (action) {
      if (action.disabled) return;
      model.send({ event: action.getAttribute("data-action"), page: Number(action.getAttribute("data-page")) });
      return;
    }
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
    """One page of rows as HTML and a footer (pager, selection).

    ``on_event`` receives ``{"event": "click" | "sort" | "toggle" | "page" | "clear", ...}``.
    """

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    html = traitlets.Unicode("").tag(sync=True)
    footer = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_event: Callable[[dict[str, Any]], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_event = on_event
        self.on_msg(self._receive)

    def _receive(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("event"), str):
            self._on_event(content)

    def send_event(self, event: str, **fields: Any) -> None:
        """Act as the browser does when the user clicks (``send_event("page", page=1)``)."""
        self._receive(self, {"event": event, **fields}, [])
