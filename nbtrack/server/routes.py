"""REST handlers of the server extension (``<base_url>nbtrack/api/...``).

Every verb needs an authenticated user; POST and DELETE also pass Jupyter's XSRF
check (token-authenticated API calls are exempt, as everywhere in Jupyter). Answers
are JSON; errors are ``{"message", "reason"}`` with the HTTP status of the
:class:`~nbtrack.errors.NbtrackError` (404 unknown run or model, 400 bad input,
409 wrong state), never a traceback. Metric values that are NaN or infinite are
sent as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson
import tornado.web
from jupyter_server.utils import url_path_join

from nbtrack import _validation as v
from nbtrack._json import jsonable
from nbtrack.entities import FileInfo
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.server._handler import BaseRouteHandler, client_of, translate_errors
from nbtrack.server.artifact_routes import artifact_routes
from nbtrack.server.registry_routes import registry_routes
from nbtrack.tracking.client import TrackingClient
from nbtrack.version import __version__

DEFAULT_MAX_RESULTS = 100
MAX_MAX_RESULTS = 50_000
CELL_SOURCE_LIMIT = 1 << 20
_ARTIFACT_LIMIT = 10_000


def encode_page_token(offset: int) -> str:
    """Return the opaque page token of an offset."""
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def decode_page_token(token: str | None) -> int:
    """Return the offset of a page token (0 for none); ``InvalidParameter`` if it is not one of ours."""
    if not token:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, TypeError, KeyError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidParameter(f"Invalid page_token {token!r}: pass back the next_page_token of an earlier answer.")
    return offset


class VersionRouteHandler(BaseRouteHandler):
    """``GET version``: the package version, the store in use and whether it is read-only."""

    @tornado.web.authenticated
    @translate_errors
    def get(self) -> None:
        """Answer ``{"version", "store", "read_only"}`` (the sidebar offers no changes on a read-only store)."""
        store = self.settings["nbtrack_store"]
        client = self.settings.get("nbtrack")
        if client is not None:
            read_only = bool(client.read_only)
        else:  # not opened yet: asking must not create the store folder
            read_only = os.path.isdir(store) and not os.access(store, os.W_OK)
        self.reply({"version": __version__, "store": store, "read_only": read_only})


class ExperimentsRouteHandler(BaseRouteHandler):
    """``GET experiments``: the active experiments."""

    @tornado.web.authenticated
    @translate_errors
    def get(self) -> None:
        """Answer ``{"experiments": [...]}`` oldest first."""
        self.reply(
            {"experiments": [e.to_dict() for e in self.client.search_experiments(order_by=["creation_time ASC"])]}
        )


class RunsRouteHandler(BaseRouteHandler):
    """``GET runs``: filtered, ordered, paged runs, or only those changed since a cursor.

    Query parameters: ``experiment_id`` (repeatable or comma-separated; all active
    experiments when omitted), ``filter`` (the ``search_runs`` language), ``order_by``
    (repeatable or comma-separated; default newest first), ``max_results`` (1 to
    50,000, default 100), ``page_token`` (``next_page_token`` of the previous page),
    ``since`` (the ``cursor`` of an earlier answer).

    The answer holds ``runs`` (summaries: ``run_id, run_name, experiment_id, status,
    start_time, end_time, lifecycle_stage, metrics, params, tags``; the long
    ``nbtrack.cell_source`` tag is left out), ``next_page_token`` (``null`` on the last
    page), ``cursor`` (the store's change number now), ``total`` (runs matching the
    experiments and filter) and ``removed``. With ``since``, ``runs`` holds only runs
    changed after that cursor plus every RUNNING run, and ``removed`` the ids of runs
    that changed after it and no longer match (deleted, or out of the filter); without
    ``since``, ``removed`` is empty.
    """

    @tornado.web.authenticated
    @translate_errors
    def get(self) -> None:
        """Answer ``{"runs", "next_page_token", "cursor", "total", "removed"}``."""
        experiment_ids = self.list_argument("experiment_id")
        if experiment_ids:
            for exp_id in experiment_ids:
                self.client.get_experiment(exp_id)
        else:
            experiment_ids = [e.experiment_id for e in self.client.search_experiments()]
        limit = self.int_argument("max_results", DEFAULT_MAX_RESULTS, 1, MAX_MAX_RESULTS)
        since = self.int_argument("since", None, 0)
        offset = decode_page_token(self.get_query_argument("page_token", None))
        page = self.run_index.query(
            experiment_ids,
            filter_string=self.get_query_argument("filter", None),
            order_by=self.list_argument("order_by"),
            since=since,
            offset=offset,
            limit=limit or DEFAULT_MAX_RESULTS,
        )
        self.reply(
            {
                "runs": page.runs,
                "next_page_token": None if page.next_offset is None else encode_page_token(page.next_offset),
                "cursor": page.cursor,
                "total": page.total,
                "removed": page.removed,
            }
        )


def _all_artifacts(client: TrackingClient, run_id: str) -> list[FileInfo]:
    out: list[FileInfo] = []
    pending: list[str | None] = [None]
    while pending and len(out) < _ARTIFACT_LIMIT:
        for info in client.list_artifacts(run_id, pending.pop()):
            out.append(info)
            if info.is_dir:
                pending.append(info.path)
    return sorted(out, key=lambda f: f.path)


def _cell_source(client: TrackingClient, run_id: str, tags: dict[str, str], files: list[FileInfo]) -> str | None:
    cell = next((f for f in files if f.path == "cell.py" and not f.is_dir), None)
    if cell is not None and (cell.file_size or 0) <= CELL_SOURCE_LIMIT:
        with open(client.download_artifacts(run_id, "cell.py"), encoding="utf-8", errors="replace") as fh:
            return fh.read()
    return tags.get("nbtrack.cell_source")


class RunRouteHandler(BaseRouteHandler):
    """``GET runs/<run_id>``: one run with artifacts and cell; ``DELETE``: soft delete."""

    @tornado.web.authenticated
    @translate_errors
    def get(self, run_id: str) -> None:
        """Answer ``{"run", "artifacts", "cell_source", "notebook_path", "cell_id"}``."""
        run = self.client.get_run(run_id)
        files = _all_artifacts(self.client, run_id)
        tags = run.data.tags
        self.reply(
            {
                "run": jsonable(run.to_dict()),
                "artifacts": [f.to_dict() for f in files],
                "cell_source": _cell_source(self.client, run_id, tags, files),
                "notebook_path": tags.get("nbtrack.notebook_path"),
                "cell_id": tags.get("nbtrack.cell_id"),
            }
        )

    @tornado.web.authenticated
    @translate_errors
    def delete(self, run_id: str) -> None:
        """Soft-delete the run; answer ``{"deleted": true}``."""
        self.client.delete_run(run_id)
        self.reply({"deleted": True})


class MetricsRouteHandler(BaseRouteHandler):
    """``GET runs/<run_id>/metrics``: every metric's history of a run."""

    @tornado.web.authenticated
    @translate_errors
    def get(self, run_id: str) -> None:
        """Answer ``{"metrics": {key: [point, ...]}}``."""
        found = self.client.get_metric_histories(run_id)
        self.reply({"metrics": {k: [jsonable(m.to_dict()) for m in points] for k, points in found.items()}})


class MetricHistoryRouteHandler(BaseRouteHandler):
    """``GET runs/<run_id>/metrics/<key>``: one metric's history."""

    @tornado.web.authenticated
    @translate_errors
    def get(self, run_id: str, key: str) -> None:
        """Answer ``{"history": [point, ...]}``; 404 if the run has no such metric."""
        run = self.client.get_run(run_id)
        key = v.validate_key(key, "metric key")
        if key not in run.data.metrics:
            raise NotFound(f"Run {run_id!r} has no metric {key!r}.")
        self.reply({"history": [jsonable(m.to_dict()) for m in self.client.get_metric_history(run_id, key)]})


def setup_route_handlers(web_app: Any, store: str) -> None:
    """Add the nbtrack routes to a Jupyter server's tornado application.

    Parameters
    ----------
    web_app : tornado.web.Application
        ``ServerApp.web_app``; its ``base_url`` setting prefixes the routes.
    store : str
        The store location; the :class:`TrackingClient` over it is kept in
        ``web_app.settings["nbtrack"]`` once a request opens it.
    """
    web_app.settings["nbtrack_store"] = store
    api = url_path_join(web_app.settings.get("base_url", "/"), "nbtrack", "api")
    run = r"/runs/(?P<run_id>[^/]+)"
    routes: list[tuple[str, type[BaseRouteHandler]]] = [
        ("/version", VersionRouteHandler),
        ("/experiments", ExperimentsRouteHandler),
        ("/runs", RunsRouteHandler),
        (run, RunRouteHandler),
        (run + "/metrics", MetricsRouteHandler),
        (run + r"/metrics/(?P<key>.+)", MetricHistoryRouteHandler),
        *artifact_routes(run),
        *registry_routes(),
    ]
    web_app.add_handlers(".*$", [(api + pattern + "/?$", handler) for pattern, handler in routes])


def warm_up(settings: dict[str, Any]) -> None:
    """Read an existing store and cache its runs listing, so the first sidebar request is fast."""
    client = client_of(settings)
    experiments = [e.experiment_id for e in client.search_experiments()]
    settings["nbtrack_run_index"].query(experiments, limit=1)
