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
from nbtrack.widgets._source import is_read_only

KEY_METRICS = 4
TABLE_STYLE = (
    "<style>.jp-nbtrack-ModelVersions td,.jp-nbtrack-ModelVersions th,.jp-nbtrack-ModelEvents td,"
    ".jp-nbtrack-ModelEvents th{padding:2px 8px;text-align:left;border-bottom:1px solid rgba(128,128,128,.3)}"
    "</style>"
)


def compact_time(ms: int | None) -> str:
    """``HH:MM`` for today, ``MM-DD HH:MM`` this year, else ``YYYY-MM-DD`` (fits one line of a narrow panel)."""
    import time

    if not ms:
        return ""
    when, now = time.localtime(ms / 1000), time.localtime()
    if when[:3] == now[:3]:
        return time.strftime("%H:%M", when)
    if when.tm_year == now.tm_year:
        return time.strftime("%m-%d %H:%M", when)
    return time.strftime("%Y-%m-%d", when)


def event_text(event: Any) -> str:
    """An audit-trail entry in words: ``set alias @champion → v2 (was v1)``, ``v3 Staging → Production``."""
    version = f"v{event.version}" if event.version else ""
    alias = getattr(event, "alias", None)
    if event.action in ("set_alias", "delete_alias") and alias:
        if event.action == "delete_alias":
            return f"removed alias @{alias} (was v{event.from_value})" if event.from_value else f"removed @{alias}"
        was = f" (was v{event.from_value})" if event.from_value else ""
        return f"alias @{alias} → v{event.to_value}{was}"
    if event.action in ("transition", "archive"):
        how = " (archived by a promotion)" if event.action == "archive" else ""
        return f"{version} {event.from_value or '—'} → {event.to_value or '—'}{how}"
    if event.from_value or event.to_value:
        return f"{event.action} {version}: {event.from_value or '—'} → {event.to_value or '—'}".replace("  ", " ")
    return f"{event.action} {version}".strip()


def compare_metrics(candidate: dict[str, float], current: dict[str, float]) -> list[tuple[str, float, float, bool]]:
    """The metrics both runs have: ``(key, candidate, current, candidate_is_worse)``.

    "Worse" follows the metric's direction (losses and errors are better lower).
    """
    from nbtrack.widgets._common import lower_is_better

    out = []
    for key in sorted(set(candidate) & set(current)):
        a, b = candidate[key], current[key]
        if a != a or b != b:  # NaN
            continue
        worse = a > b if lower_is_better(key) else a < b
        out.append((key, a, b, worse))
    return out


def registry_html(client: TrackingClient, first: str | None = None, limit: int = 10) -> str:
    """Every registered model with its versions as static HTML (``first`` listed first)."""
    try:
        names = [m.name for m in client.search_registered_models()]
        versions = list(client.search_model_versions())
    except NbtrackError as err:
        return f"<i>{esc(err)}</i>"
    if not names:
        return "<i>No registered models yet.</i>"
    if first in names:
        names.remove(first)
        names.insert(0, first)
    parts = []
    for name in names[:limit]:
        mine = sorted((v for v in versions if v.name == name), key=_version_number, reverse=True)
        rows = [
            [
                f"<td>v{esc(v.version)}</td>",
                f"<td>{esc(v.current_stage)}</td>",
                f"<td>{esc(', '.join('@' + a for a in v.aliases))}</td>",
                f"<td><code>{esc((v.run_id or '')[:8])}</code></td>",
                f"<td>{esc(compact_time(v.creation_timestamp))}</td>",
            ]
            for v in mine[:10]
        ]
        table = html_table(["version", "stage", "aliases", "run", "created"], rows, "jp-nbtrack-ModelVersions")
        parts.append(f"<div><b>{esc(name)}</b>{table}</div>")
    more = f"<p>+{len(names) - limit} more models</p>" if len(names) > limit else ""
    return TABLE_STYLE + "".join(parts) + more


def _version_number(v: ModelVersion) -> int:
    return int(v.version) if str(v.version).isdigit() else 0


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
        # the default everywhere (sidebar too): one Production version, as MLflow's archive_existing_versions
        self.archive_current = w.Checkbox(value=True, description="archive the current Production", indent=False)
        self.archive = w.Button(description="Archive")
        self.alias = w.Text(placeholder="alias, e.g. champion", layout=w.Layout(width="200px"))
        self.set_alias = w.Button(description="Set alias")
        self.confirm_text = w.HTML()
        self.confirm = w.Button(description="Confirm", button_style="danger")
        self.cancel = w.Button(description="Cancel")
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm, self.cancel])], layout=w.Layout(display="none")
        )
        self.status = w.HTML()
        self.copy_code = w.Button(description="Copy load code", icon="copy")
        self.code = w.Textarea(layout=w.Layout(width="100%", height="3em"))
        self.events_html = w.HTML()
        self.pending: tuple[str, Callable[[], Any]] | None = None
        self._versions: list[ModelVersion] = []
        self._quiet = False

        self.model.observe(guarded(self.out, self._on_model), "value")
        self.version.observe(guarded(self.out, lambda _: self._on_version()), "value")
        self.to_staging.on_click(guarded(self.out, lambda _: self.request_stage(ModelVersionStage.STAGING)))
        self.to_production.on_click(guarded(self.out, lambda _: self.request_stage(ModelVersionStage.PRODUCTION)))
        self.archive.on_click(guarded(self.out, lambda _: self.request_stage(ModelVersionStage.ARCHIVED)))
        self.set_alias.on_click(guarded(self.out, lambda _: self.request_alias(self.alias.value)))
        self.confirm.on_click(guarded(self.out, lambda _: self.do_confirm()))
        self.cancel.on_click(guarded(self.out, lambda _: self.do_cancel()))
        self.copy_code.on_click(guarded(self.out, lambda _: self._show_code()))
        self.read_only = is_read_only(self.client)
        self.read_only_note = w.HTML(
            "<i>This store is read-only: stages and aliases cannot be changed here.</i>" if self.read_only else ""
        )
        self.change_box = w.VBox(
            [
                w.HBox(
                    [self.to_staging, self.to_production, self.archive_current, self.archive],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                w.HBox([self.alias, self.set_alias]),
            ],
            layout=w.Layout(display="none" if self.read_only else ""),
        )
        self.children = [
            w.HBox([self.model, self.version]),
            self.versions_html,
            self.read_only_note,
            self.change_box,
            self.confirm_box,
            self.status,
            w.HBox([self.copy_code]),
            self.code,
            w.HTML("<b>Audit trail</b>"),
            self.events_html,
            self.out,
        ]
        self.add_class("jp-nbtrack-ModelRegistryPanel")
        if model is None:
            from nbtrack.widgets._context import active_experiment_id, default_model

            active = active_experiment_id()
            model = default_model(self.client, [active] if active else None)
        self._wanted = model
        self._known: set[str] | None = None
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
        if self._known is not None and set(names) - self._known:
            # a model registered since the last look (by this notebook or another): open it
            from nbtrack.widgets._context import default_model

            newest = default_model(self.client, None)
            current = newest if newest in set(names) - self._known else sorted(set(names) - self._known)[0]
        self._known = set(names)
        pick = current if current in names else (names[0] if names else None)
        self._quiet = True
        try:
            if list(self.model.options) != names:
                self.model.options = names
            self.model.value = pick
        finally:
            self._quiet = False
        self._load_model()

    def _on_version(self) -> None:
        self._show_code()
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        """A version already in a stage gets no button to move it there (no highlighted "→ Production")."""
        stage = None
        if self.model.value and self.version.value is not None and not self._quiet:
            stage = next((v.current_stage for v in self._versions if v.version == self.version.value), None)
        for button, target in (
            (self.to_staging, ModelVersionStage.STAGING),
            (self.to_production, ModelVersionStage.PRODUCTION),
            (self.archive, ModelVersionStage.ARCHIVED),
        ):
            here = stage == target
            button.disabled = here or self.read_only
            button.tooltip = f"already in {target}" if here else ""
            if button is self.to_production:
                button.button_style = "" if here else "warning"

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
        self._versions = versions
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
        self._sync_buttons()

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
                f"<td style='white-space:nowrap' title='{esc(fmt_time(e.timestamp))}'>{esc(compact_time(e.timestamp))}</td>",
                f"<td>{esc(event_text(e))}</td>",
                f"<td>{esc(e.user)}</td>",
            ]
            for e in reversed(self.events())
        ]
        headers = ["time", "change", "user"]
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
        if mv.current_stage == stage:
            raise InvalidParameter(f"{mv.name} v{mv.version} is already in {stage}.")
        archive = self.archive_current.value and stage == ModelVersionStage.PRODUCTION
        name, version = mv.name, mv.version
        current = [v for v in self._versions if v.current_stage == stage and v.version != version]
        extra = ""
        if archive and current:
            extra = f" and archive v{', v'.join(esc(v.version) for v in current)} (now in Production)"
        comparison = self.comparison_html(mv, current[0]) if current and stage == ModelVersionStage.PRODUCTION else ""
        self._ask(
            f"Move <b>{esc(name)}</b> v{esc(version)} from {esc(mv.current_stage)} to <b>{esc(stage)}</b>{extra}?"
            + comparison,
            lambda: self.client.transition_model_version_stage(name, version, stage, archive_existing_versions=archive),
        )

    def _run_metrics(self, run_id: str | None) -> dict[str, float]:
        if not run_id:
            return {}
        try:
            return dict(self.client.get_run(run_id).data.metrics)
        except NbtrackError:
            return {}

    def comparison_html(self, candidate: ModelVersion, current: ModelVersion) -> str:
        """The candidate's metrics beside those of the version now in Production; worse ones in red."""
        rows = compare_metrics(self._run_metrics(candidate.run_id), self._run_metrics(current.run_id))
        if not rows:
            return (
                f"<div><i>v{esc(candidate.version)} and v{esc(current.version)} share no metric to compare.</i></div>"
            )
        cells = []
        worse_any = False
        for key, a, b, worse in rows:
            worse_any = worse_any or worse
            style = " style='color:#cf222e;font-weight:bold'" if worse else ""
            cells.append(
                [f"<td>{esc(key)}</td>", f"<td{style}>{esc(fmt_value(a))}</td>", f"<td>{esc(fmt_value(b))}</td>"]
            )
        warning = (
            f"<div style='color:#cf222e'>&#9888; v{esc(candidate.version)} scores worse than the current Production "
            f"v{esc(current.version)} on the metrics in red.</div>"
            if worse_any
            else ""
        )
        table = html_table(
            ["metric", f"v{esc(candidate.version)} (candidate)", f"v{esc(current.version)} (Production)"],
            cells,
            "jp-nbtrack-PromoteCompare",
        )
        return f"<div class='jp-nbtrack-PromoteCompare'>{warning}{table}</div>"

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
        if self.read_only:
            raise InvalidParameter("This store is read-only: open a writable copy to change stages or aliases.")
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
        self.status.value = "Done: " + question.split("?", 1)[0]
        self.refresh()

    def do_cancel(self) -> None:
        """Drop the pending change."""
        self.pending = None
        self.confirm_text.value = ""
        self.confirm_box.layout.display = "none"

    # -- output ------------------------------------------------------------------
    def to_html(self, include_plotlyjs: bool = True) -> str:
        """Every registered model's versions (the open one first) and its audit trail as static HTML."""
        return (
            f'<div class="jp-nbtrack-ModelRegistryPanel">{registry_html(self.client, self.model.value)}'
            f"<b>Audit trail of {esc(self.model.value or '')}</b>{self.events_html.value}</div>"
        )

    def close(self) -> None:
        """Close the panel and stop its live refresh."""
        self.poller.stop()
        super().close()
