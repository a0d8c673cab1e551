"""The run card shown under a ``%%track`` cell (and by ``%nbtrack show``).

A card is static HTML first: its mimebundle holds ``text/html`` and ``text/plain``
only, so a saved or exported notebook shows it in any viewer (a widget view would
turn into "model not found" once the kernel is gone). In a live kernel,
:meth:`RunCard.actions` adds the buttons "Compare with earlier runs" and
"Register model" as a separate ipywidgets box, and :meth:`RunCard.widget`
combines both for dashboards.

This module depends on the tracking client only; it never imports the magics or
autolog. Every user-provided string (run, param, metric, tag, dataset and model
names and values) is HTML-escaped.
"""

from __future__ import annotations

import functools
import html
import importlib
import math
import re
from dataclasses import dataclass
from typing import Any

from nbtrack.entities import Run, RunStatus, Tags, ViewType
from nbtrack.tracking.client import TrackingClient

MAX_ITEMS = 12
SPARK_BARS = 30
STALE_TAG = Tags.STALE
STALE_REASON_TAG = Tags.STALE_REASON
_STATUS_COLORS = {
    RunStatus.FINISHED: "#1a7f37",
    RunStatus.FAILED: "#cf222e",
    RunStatus.KILLED: "#9a6700",
    RunStatus.RUNNING: "#0969da",
}
_MODEL_FILES = ("nbtrack_model.json", "model.skops")


@dataclass(frozen=True)
class LoggedModel:
    """A model folder found among a run's artifacts."""

    run_id: str
    run_name: str
    artifact_path: str
    estimator: str = ""

    @property
    def uri(self) -> str:
        """``runs:/<run_id>/<artifact_path>``."""
        return f"runs:/{self.run_id}/{self.artifact_path}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt_number(value: float) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, float) and value != int(value):
        return f"{value:.4g}"
    return str(value)


def _fmt_duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return "running"
    seconds = max(0, end - start) / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes} min {sec} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _slug(text: str) -> str:
    """``RandomForestClassifier`` → ``random-forest-classifier``; ``Wine quality`` → ``wine-quality``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", text.strip())
    return re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")


def sparkline_html(values: list[float], color: str = "#0969da") -> str:
    """A metric's history as a row of tiny bars in plain HTML (no SVG: sanitizers keep it)."""
    finite = [v for v in values if not (math.isnan(v) or math.isinf(v))]
    if len(finite) < 2:
        return ""
    step = max(1, math.ceil(len(values) / SPARK_BARS))
    points = values[::step]
    if points[-1] is not values[-1]:
        points.append(values[-1])
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    bars = "".join(
        f"<span style='display:inline-block;width:3px;margin-right:1px;vertical-align:bottom;background:{color};"
        f"height:{2 + 12 * ((v - low) / span if v == v and not math.isinf(v) else 0):.0f}px'></span>"
        for v in points
    )
    return f"<span class='jp-nbtrack-Sparkline' style='display:inline-block;height:14px;margin-left:6px'>{bars}</span>"


def _find_models(client: TrackingClient, run: Run) -> list[LoggedModel]:
    try:
        root = client.artifact_dir(run.info.run_id)
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except Exception:
        return []
    return [
        LoggedModel(run.info.run_id, run.info.run_name, folder.name, run.data.tags.get("estimator_name", ""))
        for folder in folders
        if any((folder / name).exists() for name in _MODEL_FILES)
    ]


class RunCard:
    """A summary card of one run: status, duration, metrics, params, model, data fingerprint, warnings.

    Parameters
    ----------
    run_id : str
        The run to show.
    client : TrackingClient, optional
        Defaults to a client on the current store.
    find_children : bool
        Look for nested runs of this run (``False`` skips the search when the
        caller knows there are none).

    Raises
    ------
    NotFound
        No run has this id.
    """

    def __init__(self, run_id: str, client: TrackingClient | None = None, *, find_children: bool = True) -> None:
        self.client = client or TrackingClient()
        self.run_id = run_id
        self.find_children = find_children
        self.refresh()

    def refresh(self) -> None:
        """Re-read the run, its child runs and its models from the store."""
        client = self.client
        self.run = client.get_run(self.run_id)
        info = self.run.info
        self.children: list[Run] = []
        if self.find_children:
            docs = client.search_run_docs([info.experiment_id], None, ViewType.ACTIVE_ONLY, None, None)
            child_ids = [d["run_id"] for d in docs if d.get("tags", {}).get("mlflow.parentRunId") == info.run_id]
            self.children = [client.get_run(rid) for rid in reversed(child_ids)]
        self.models = _find_models(client, self.run)
        for child in self.children:
            self.models.extend(_find_models(client, child))
        try:
            self.experiment_name = client.get_experiment(info.experiment_id).name
        except Exception:
            self.experiment_name = info.experiment_id
        self.histories: dict[str, list[float]] = {}
        try:
            found = client.get_metric_histories(info.run_id) if self.run.data.metrics else {}
        except Exception:
            found = {}
        for key, points in found.items():
            if len(points) > 1:
                self.histories[key] = [float(m.value) for m in sorted(points, key=lambda m: (m.step, m.timestamp))]

    @property
    def stale_reason(self) -> str | None:
        """Why the run no longer matches the notebook (tag ``nbtrack.stale``), or ``None`` when it does."""
        tags = self.run.data.tags
        if tags.get(STALE_TAG) != "true":
            return None
        return tags.get(STALE_REASON_TAG) or "a cell this run used has changed since"

    def suggested_model_name(self) -> str:
        """A registry name worth keeping: the experiment's model if one exists, else experiment + estimator."""
        from nbtrack.widgets._context import default_model

        try:
            existing = default_model(self.client, [self.run.info.experiment_id])
        except Exception:
            existing = None
        if existing is not None:
            try:
                versions = self.client.search_model_versions(f"name='{existing}'")
                runs = {v.run_id for v in versions}
                ours = {self.run.info.experiment_id}
                if any(r and self.client.get_run(r).info.experiment_id in ours for r in runs):
                    return existing
            except Exception:
                pass
        estimator = self.models[0].estimator if self.models else ""
        experiment = "" if self.experiment_name in ("Default", "0") else self.experiment_name
        parts = [p for p in (_slug(experiment), _slug(estimator)) if p]
        if not parts:
            parts = [_slug(self.run.info.run_name) or "model"]
        return "-".join(parts)

    # -- content ---------------------------------------------------------
    @property
    def warnings(self) -> list[str]:
        """Notebook-state warnings recorded on the run (tag ``nbtrack.state``)."""
        state = self.run.data.tags.get("nbtrack.state", "")
        return [w.strip() for w in state.split("; ") if w.strip()]

    @property
    def fingerprints(self) -> list[tuple[str, str, str]]:
        """``(dataset name, digest, context)`` of the data the run (and its children) used."""
        seen: list[tuple[str, str, str]] = []
        for run in (self.run, *self.children):
            for item in run.inputs.dataset_inputs:
                context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "")
                entry = (item.dataset.name, item.dataset.digest, context)
                if entry not in seen:
                    seen.append(entry)
        return seen

    def _rows(self, mapping: dict[str, Any], numbers: bool) -> str:
        items = sorted(mapping.items())
        cells = "".join(
            f"<tr><td>{_e(k)}</td><td><code>{_e(_fmt_number(v) if numbers else v)}</code></td></tr>"
            for k, v in items[:MAX_ITEMS]
        )
        more = f"<tr><td colspan='2'><i>+{len(items) - MAX_ITEMS} more</i></td></tr>" if len(items) > MAX_ITEMS else ""
        return f"<table class='jp-nbtrack-RunCard-table'>{cells}{more}</table>"

    def _metric_rows(self, metrics: dict[str, float]) -> str:
        items = sorted(metrics.items())
        cells = []
        for key, value in items[:MAX_ITEMS]:
            history = self.histories.get(key)
            extra = ""
            if history:
                finite = [v for v in history if not (math.isnan(v) or math.isinf(v))]
                lo, hi = (min(finite), max(finite)) if finite else (math.nan, math.nan)
                extra = (
                    f" <span style='color:#57606a;font-size:11px'>last of {len(history)} "
                    f"(min {_e(_fmt_number(lo))}, max {_e(_fmt_number(hi))})</span>{sparkline_html(history)}"
                )
            cells.append(f"<tr><td>{_e(key)}</td><td><code>{_e(_fmt_number(value))}</code>{extra}</td></tr>")
        more = f"<tr><td colspan='2'><i>+{len(items) - MAX_ITEMS} more</i></td></tr>" if len(items) > MAX_ITEMS else ""
        return f"<table class='jp-nbtrack-RunCard-table'>{''.join(cells)}{more}</table>"

    def to_html(self) -> str:
        """The card as self-contained HTML (inline styles, no scripts)."""
        info, data = self.run.info, self.run.data
        color = _STATUS_COLORS.get(info.status, "#57606a")
        parts = [
            "<div class='jp-nbtrack-RunCard' style='border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;"
            "margin:4px 0;font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;max-width:900px'>",
            f"<div><b>{_e(info.run_name)}</b> "
            f"<span style='background:{color};color:#fff;border-radius:4px;padding:0 6px;font-size:11px'>"
            f"{_e(info.status)}</span> <span style='color:#57606a'>{_e(_fmt_duration(info.start_time, info.end_time))}"
            f" · experiment {_e(self.experiment_name)} · run <code>{_e(info.run_id)}</code></span></div>",
        ]
        if info.status == RunStatus.FAILED and data.tags.get("nbtrack.exception_type"):
            parts.append(
                f"<div style='color:#cf222e'>{_e(data.tags['nbtrack.exception_type'])}: "
                f"{_e(data.tags.get('nbtrack.exception_message', ''))}</div>"
            )
        reason = self.stale_reason
        if reason is not None:
            parts.append(
                "<div class='jp-nbtrack-Stale' style='color:#9a6700'>"
                "<span style='background:#9a6700;color:#fff;border-radius:4px;padding:0 6px;font-size:11px'>stale</span> "
                f"{_e(reason)}</div>"
            )
        for warning in self.warnings:
            parts.append(f"<div style='color:#9a6700'>&#9888; {_e(warning)}</div>")
        columns = []
        if data.metrics:
            columns.append(f"<div><b>Metrics</b>{self._metric_rows(data.metrics)}</div>")
        if data.params:
            columns.append(f"<div><b>Params</b>{self._rows(data.params, False)}</div>")
        if columns:
            parts.append(f"<div style='display:flex;gap:24px;flex-wrap:wrap'>{''.join(columns)}</div>")
        if self.children:
            rows = "".join(
                f"<li>{_e(c.info.run_name)} ({_e(c.info.status)}"
                + (f", {_e(c.data.tags['estimator_name'])}" if c.data.tags.get("estimator_name") else "")
                + (
                    ", " + _e(", ".join(f"{k}={_fmt_number(v)}" for k, v in sorted(c.data.metrics.items())[:4]))
                    if c.data.metrics
                    else ""
                )
                + ")</li>"
                for c in self.children[:MAX_ITEMS]
            )
            parts.append(f"<div><b>Child runs</b><ul style='margin:2px 0'>{rows}</ul></div>")
        if self.models:
            items = "".join(
                f"<li>{_e(m.estimator) + ' ' if m.estimator else ''}<code>{_e(m.uri)}</code></li>" for m in self.models
            )
            parts.append(f"<div><b>Model</b><ul style='margin:2px 0'>{items}</ul></div>")
        if self.fingerprints:
            items = "".join(
                f"<li>{_e(name)} <code>{_e(digest)}</code>{f' ({_e(ctx)})' if ctx else ''}</li>"
                for name, digest, ctx in self.fingerprints
            )
            parts.append(f"<div><b>Data fingerprint</b><ul style='margin:2px 0'>{items}</ul></div>")
        parts.append("</div>")
        return "".join(parts)

    def to_text(self) -> str:
        """The card as plain text."""
        info, data = self.run.info, self.run.data
        lines = [
            f"Run {info.run_name} ({info.run_id}) {info.status} in {_fmt_duration(info.start_time, info.end_time)}"
        ]
        if data.metrics:
            lines.append(
                "metrics: "
                + ", ".join(
                    f"{k}={_fmt_number(v)}" + (f" (last of {len(self.histories[k])})" if k in self.histories else "")
                    for k, v in sorted(data.metrics.items())[:MAX_ITEMS]
                )
            )
        if self.stale_reason is not None:
            lines.append(f"stale: {self.stale_reason}")
        if data.params:
            lines.append("params: " + ", ".join(f"{k}={v}" for k, v in sorted(data.params.items())[:MAX_ITEMS]))
        lines.extend(f"child run: {c.info.run_name} ({c.info.status})" for c in self.children[:MAX_ITEMS])
        lines.extend(f"model: {m.estimator + ' ' if m.estimator else ''}{m.uri}" for m in self.models)
        lines.extend(f"data: {name} {digest}" for name, digest, _ in self.fingerprints)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.to_html(), "text/plain": self.to_text()}

    def __repr__(self) -> str:
        return self.to_text()

    # -- live actions ----------------------------------------------------
    def actions(self) -> Any:
        """The card's buttons as an ipywidgets box, or ``None`` without ipywidgets.

        "Compare with earlier runs" opens :func:`nbtrack.show` for the run's
        experiment; "Register model" registers the chosen logged model under the
        given name. Messages and errors appear in an ``Output`` below the buttons.
        """
        try:
            import ipywidgets as w
        except ImportError:
            return None
        self.output = w.Output()
        compare = w.Button(description="Compare with earlier runs", icon="table", layout=w.Layout(width="auto"))
        compare.tooltip = "Open the dashboard of this experiment with this run selected"
        compare.on_click(self.compare)
        reproduce = w.Button(description="Reproduce", icon="refresh", layout=w.Layout(width="auto"))
        reproduce.tooltip = "Run this run's code slice in a fresh kernel and compare the results"
        reproduce.on_click(self.reproduce)
        self.model_choice = w.Dropdown(
            options=[(m.uri, m) for m in self.models],
            description="Model",
            layout=w.Layout(display="flex" if len(self.models) > 1 else "none"),
        )
        default_name = self.suggested_model_name() if self.models else ""
        self.model_name = w.Text(
            value=default_name,
            placeholder="registered model name",
            description="Name",
            layout=w.Layout(width=f"{max(18, min(48, len(default_name) + 10))}em"),
        )
        register = w.Button(description="Register model", icon="archive", disabled=not self.models)
        register.tooltip = "" if self.models else "No model was logged in this run"
        register.on_click(self.register)
        from nbtrack.widgets._source import is_read_only

        if is_read_only(self.client):
            register.disabled = True
            register.tooltip = "The store is read-only"
        self.buttons = {"compare": compare, "register": register}
        row = [compare, self.model_choice, self.model_name, register] if self.models else [compare, register]
        if self.stale_reason is not None or self.run.data.tags.get(Tags.SLICE_CELLS):
            self.buttons["reproduce"] = reproduce
            row.append(reproduce)
        return _LiveOnlyBox([w.HBox(row, layout=w.Layout(flex_flow="row wrap")), self.output])

    def widget(self) -> Any:
        """The card and its buttons in one ipywidgets ``VBox`` (``None`` without ipywidgets)."""
        box = self.actions()
        if box is None:
            return None
        import ipywidgets as w

        return w.VBox([w.HTML(self.to_html()), box])

    def _say(self, text: str) -> None:
        out = getattr(self, "output", None)
        if out is None:
            print(text)
        else:
            out.append_stdout(text + "\n")

    def compare(self, _button: Any = None) -> None:
        """Open the comparison of this run's experiment (``nbtrack.show``) below the card."""
        try:
            show = getattr(importlib.import_module("nbtrack.widgets"), "show", None)
            if show is None:
                self._say("The comparison view (nbtrack.show) is not available in this installation.")
                return
            view = show(experiment=self.experiment_name, client=self.client, select=[self.run_id])
            out = getattr(self, "output", None)
            if out is not None:
                out.append_display_data(view)
        except Exception as exc:
            self._say(f"Could not open the comparison: {type(exc).__name__}: {exc}")

    def reproduce(self, _button: Any = None) -> Any:
        """Re-run this run's code slice in a fresh kernel (``nbtrack.reproduce``) and say whether it matches."""
        try:
            reproduce = getattr(importlib.import_module("nbtrack"), "reproduce", None)
            if reproduce is None:
                self._say("Reproducing runs (nbtrack.reproduce) is not available in this installation.")
                return None
            self._say("Reproducing in a fresh kernel…")
            result = reproduce(self.run_id)
            if getattr(result, "error", None):
                self._say(f"Could not reproduce: {result.error}")
            elif getattr(result, "matches", False):
                self._say(f"Reproduced as run {result.run_id}: params and metrics match.")
            else:
                diffs = "; ".join(str(d) for d in getattr(result, "diffs", [])[:10])
                self._say(f"Reproduced as run {result.run_id}, with differences: {diffs}")
            return result
        except Exception as exc:
            self._say(f"Could not reproduce: {type(exc).__name__}: {exc}")
            return None

    def register(self, _button: Any = None) -> Any:
        """Register the chosen logged model under the name typed in the card; return the ModelVersion."""
        try:
            if not self.models:
                self._say("No model was logged in this run, so there is nothing to register.")
                return None
            chosen = getattr(self, "model_choice", None)
            model = chosen.value if chosen is not None and chosen.value is not None else self.models[0]
            name_box = getattr(self, "model_name", None)
            name = (name_box.value if name_box is not None else model.artifact_path).strip()
            if not name:
                self._say("Type a name for the registered model first.")
                return None
            register_model = getattr(importlib.import_module("nbtrack.registry"), "register_model", None)
            if register_model is None:
                self._say("The model registry (nbtrack.register_model) is not available in this installation.")
                return None
            version = register_model(model.uri, name)
            self._say(f"Registered {name!r} version {getattr(version, 'version', version)} from {model.uri}.")
            return version
        except Exception as exc:
            self._say(f"Could not register the model: {type(exc).__name__}: {exc}")
            return None


@functools.cache
def _live_only_box_class() -> Any:
    import ipywidgets as w

    class LiveOnlyBox(w.VBox):  # type: ignore[misc]
        """The card's buttons: a saved notebook keeps an empty ``text/html`` instead of "model not found"."""

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            bundle: dict[str, Any] = dict(super()._repr_mimebundle_(**kwargs) or {})
            bundle["text/html"] = "<div class='jp-nbtrack-RunCard-actions-saved'></div>"
            bundle["text/plain"] = ""
            return bundle

    return LiveOnlyBox


def _LiveOnlyBox(children: list[Any]) -> Any:
    return _live_only_box_class()(children)
