"""``ModelRegistryPanel``: registered models, their versions, promote buttons and the audit trail.

Every change (stage or alias) is asked first and done only after **Confirm**; the model's
audit trail (``get_model_version_events``) is shown under the versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from nbtrack.entities import ModelVersion, ModelVersionStage
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking.client import TrackingClient
from nbtrack.widgets._common import StaticHtmlMixin, error_output, esc, fmt_time, fmt_value, guarded, html_table
from nbtrack.widgets._live import StorePoller, widget_alive

KEY_METRICS = 4
TABLE_STYLE = (
    "<style>.jp-nbtrack-ModelVersions td,.jp-nbtrack-ModelVersions th,.jp-nbtrack-ModelEvents td,"
    ".jp-nbtrack-ModelEvents th{padding:2px 8px;text-align:left;border-bottom:1px solid rgba(128,128,128,.3)}"
    "</style>"
)


def load_code(name: str, version: ModelVersion) -> str:
    """The line that loads ``version``: by its first alias, else its stage, else its number."""
    if version.aliases:
        ref = f"{name}@{version.aliases[0]}"
    elif version.current_stage not in (ModelVersionStage.NONE, ModelVersionStage.ARCHIVED):
        ref = f"{name}/{version.current_stage}"
    else:
        ref = f"{name}/{version.version}"
    return f"nbtrack.sklearn.load_model({json.dumps(f'models:/{ref}')})"


class ModelRegistryPanel(StaticHtmlMixin, w.VBox):  # type: ignore[misc]
    """Browse registered models and move versions between stages, with a confirmation step.

    Parameters
    ----------
    model : str, optional
        Registered model to open first.
    client : TrackingClient, optional
        Defaults to a client on the current tracking URI.
    live : bool
        Refresh when the store changes.
    """

    def __init__(self, model: str | None = None, *, client: TrackingClient | None = None, live: bool = True) -> None:
        super().__init__()
        self.client = client or TrackingClient()
        self.out = error_output()
        self.model = w.Dropdown(description="model", layout=w.Layout(width="320px"))
        self.version = w.Dropdown(description="version", layout=w.Layout(width="200px"))
        self.versions_html = w.HTML()
        self.to_staging = w.Button(description="→ Staging")
        self.to_production = w.Button(description="→ Production", button_style="warning")
        self.archive_current = w.Checkbox(value=True, description="archive the current one", indent=False)
        self.archive = w.Button(description="Archive")
        self.alias = w.Text(placeholder="alias, e.g. champion", layout=w.Layout(width="200px"))
        self.set_alias = w.Button(description="Set alias")
        self.confirm_text = w.HTML()
        self.confirm = w.Button(description="Confirm", button_style="danger")
        self.cancel = w.Button(description="Cancel")
        self.confirm_box = w.HBox([self.confirm_text, self.confirm, self.cancel], layout=w.Layout(display="none"))
        self.status = w.HTML()
        self.copy_code = w.Button(description="Copy load code", icon="copy")
        self.code = w.Textarea(layout=w.Layout(width="100%", height="3em"))
        self.events_html = w.HTML()
        self.pending: tuple[str, Callable[[], Any]] | None = None
        self._quiet = False

        self.model.observe(guarded(self.out, self._on_model), "value")
        self.version.observe(guarded(self.out, lambda _: self._show_code()), "value")
        self.to_staging.on_click(guarded(self.out, lambda _: self.request_stage(ModelVersionStage.STAGING)))
        self.to_production.on_click(guarded(self.out, lambda _: self.request_stage(ModelVersionStage.PRODUCTION)))
        self.archive.on_click(guarded(self.out, lambda _: self.request_stage(ModelVersionStage.ARCHIVED)))
        self.set_alias.on_click(guarded(self.out, lambda _: self.request_alias(self.alias.value)))
        self.confirm.on_click(guarded(self.out, lambda _: self.do_confirm()))
        self.cancel.on_click(guarded(self.out, lambda _: self.do_cancel()))
        self.copy_code.on_click(guarded(self.out, lambda _: self._show_code()))
        self.children = [
            w.HBox([self.model, self.version]),
            self.versions_html,
            w.HBox([self.to_staging, self.to_production, self.archive_current, self.archive]),
            w.HBox([self.alias, self.set_alias]),
            self.confirm_box,
            self.status,
            w.HBox([self.copy_code]),
            self.code,
            w.HTML("<b>Audit trail</b>"),
            self.events_html,
            self.out,
        ]
        self.add_class("jp-nbtrack-ModelRegistryPanel")
        self._wanted = model
        self.refresh()
        self.poller = StorePoller(
            self.client.store_version, guarded(self.out, self.refresh), lambda: widget_alive(self)
        )
        if live:
            self.poller.start()

    # -- reading -------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the registry and redraw."""
        names = [m.name for m in self.client.search_registered_models()]
        current = self.model.value or self._wanted
        pick = current if current in names else (names[0] if names else None)
        self._quiet = True
        try:
            if list(self.model.options) != names:
                self.model.options = names
            self.model.value = pick
        finally:
            self._quiet = False
        self._load_model()

    def _on_model(self, _: dict[str, Any]) -> None:
        if not self._quiet:
            self.do_cancel()
            self._load_model()

    def versions(self) -> list[ModelVersion]:
        """Versions of the open model, newest first."""
        name = self.model.value
        if not name:
            return []
        found = [v for v in self.client.search_model_versions() if v.name == name]
        return sorted(found, key=lambda v: int(v.version) if str(v.version).isdigit() else 0, reverse=True)

    def events(self) -> list[Any]:
        """The open model's audit trail (oldest first)."""
        return list(self.client.get_model_version_events(self.model.value)) if self.model.value else []

    def _load_model(self) -> None:
        versions = self.versions()
        options = [(f"v{v.version} ({v.current_stage})", v.version) for v in versions]
        current = self.version.value
        self._quiet = True
        try:
            if list(self.version.options) != options:
                self.version.options = options
            values = [v.version for v in versions]
            self.version.value = current if current in values else (values[0] if values else None)
        finally:
            self._quiet = False
        self.versions_html.value = self._versions_table(versions)
        self.events_html.value = self._events_table()
        self._show_code()

    def _versions_table(self, versions: list[ModelVersion]) -> str:
        if not self.model.value:
            return "<i>No registered models yet: nbtrack.register_model(...) adds one.</i>"
        rows = []
        for v in versions:
            run_name, metrics = "", ""
            if v.run_id:
                try:
                    run = self.client.get_run(v.run_id)
                    run_name = run.info.run_name
                    items = sorted(run.data.metrics.items())[:KEY_METRICS]
                    metrics = ", ".join(f"{esc(k)}={esc(fmt_value(val))}" for k, val in items)
                except NbtrackError:
                    run_name = "(run not found)"
            rows.append(
                [
                    f"<td>{esc(v.version)}</td>",
                    f"<td>{esc(v.current_stage)}</td>",
                    f"<td>{esc(', '.join(v.aliases))}</td>",
                    f"<td>{esc(run_name)} <code>{esc((v.run_id or '')[:8])}</code></td>",
                    f"<td>{metrics}</td>",
                    f"<td>{esc(fmt_time(v.creation_timestamp))}</td>",
                ]
            )
        headers = ["version", "stage", "aliases", "source run", "metrics", "created"]
        return f"{TABLE_STYLE}<b>{esc(self.model.value)}</b>" + html_table(headers, rows, "jp-nbtrack-ModelVersions")

    def _events_table(self) -> str:
        rows = [
            [
                f"<td>{esc(fmt_time(e.timestamp))}</td>",
                f"<td>{esc(e.user)}</td>",
                f"<td>{esc(e.action)}</td>",
                f"<td>{esc(e.version or '')}</td>",
                f"<td>{esc(e.from_value or '')}</td>",
                f"<td>{esc(e.to_value or '')}</td>",
            ]
            for e in reversed(self.events())
        ]
        headers = ["time", "user", "action", "version", "from", "to"]
        return TABLE_STYLE + html_table(headers, rows, "jp-nbtrack-ModelEvents")

    def _selected(self) -> ModelVersion:
        if not self.model.value or self.version.value is None:
            raise InvalidParameter("Choose a model and a version first.")
        return self.client.get_model_version(self.model.value, self.version.value)

    def _show_code(self) -> None:
        if self._quiet or not self.model.value or self.version.value is None:
            self.code.value = ""
            return
        self.code.value = "import nbtrack\nmodel = " + load_code(self.model.value, self._selected())

    # -- changing (two steps) ----------------------------------------------------
    def request_stage(self, stage: str) -> None:
        """Ask to move the chosen version to ``stage``; nothing changes until :meth:`do_confirm`."""
        mv = self._selected()
        archive = self.archive_current.value and stage == ModelVersionStage.PRODUCTION
        name, version = mv.name, mv.version
        extra = " and archive the current Production version(s)" if archive else ""
        self._ask(
            f"Move <b>{esc(name)}</b> v{esc(version)} from {esc(mv.current_stage)} to <b>{esc(stage)}</b>{extra}?",
            lambda: self.client.transition_model_version_stage(name, version, stage, archive_existing_versions=archive),
        )

    def request_alias(self, alias: str) -> None:
        """Ask to point ``alias`` at the chosen version; nothing changes until :meth:`do_confirm`."""
        alias = (alias or "").strip()
        if not alias:
            raise InvalidParameter("Type an alias first (letters, digits, '_' and '-').")
        mv = self._selected()
        name, version = mv.name, mv.version
        self._ask(
            f"Point alias <b>@{esc(alias)}</b> of <b>{esc(name)}</b> at v{esc(version)}?",
            lambda: self.client.set_registered_model_alias(name, alias, version),
        )

    def _ask(self, question: str, action: Callable[[], Any]) -> None:
        self.pending = (question, action)
        self.confirm_text.value = question
        self.confirm_box.layout.display = "flex"
        self.status.value = ""

    def do_confirm(self) -> None:
        """Carry out the pending change, then refresh; errors are shown in the panel."""
        if self.pending is None:
            return
        question, action = self.pending
        self.do_cancel()
        try:
            action()
        except NbtrackError as err:
            self.status.value = f'<span style="color:#b00020">Not done: {esc(err)}</span>'
            return
        self.status.value = "Done: " + question.rstrip("?")
        self.refresh()

    def do_cancel(self) -> None:
        """Drop the pending change."""
        self.pending = None
        self.confirm_text.value = ""
        self.confirm_box.layout.display = "none"

    # -- output ------------------------------------------------------------------
    def to_html(self, include_plotlyjs: bool | str = True) -> str:
        """The versions table and audit trail as static HTML; needs no plotly.js."""
        return f'<div class="jp-nbtrack-ModelRegistryPanel">{self.versions_html.value}{self.events_html.value}</div>'

    def close(self) -> None:
        """Close the panel and stop its live refresh."""
        self.poller.stop()
        super().close()
