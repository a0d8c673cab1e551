"""REST handlers of code lineage (``<base_url>nbtrack/api/runs/<run_id>/slice`` and ``.../reproduce``).

``GET slice`` answers the run's minimal slice and its staleness verdict;
``POST reproduce`` (XSRF-checked, as every POST) runs the slice in a fresh
kernel as a new run and answers whether it matched. Store reads and the kernel
run happen in a worker thread, so the server keeps answering meanwhile.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.lineage import record as rec
from nbtrack.server._handler import BaseRouteHandler
from nbtrack.tracking.client import TrackingClient

T = TypeVar("T")


def slice_payload(client: TrackingClient, run_id: str) -> dict[str, Any]:
    """The ``GET slice`` answer of a run: cells, ``slice.py`` text, verdict."""
    run = client.get_run(run_id)
    stored = rec.load(client, run_id)
    try:
        source = Path(client.download_artifacts(run_id, rec.SLICE_PY)).read_text(encoding="utf-8", errors="replace")
    except NotFound:
        source = stored.python(run_id)
    tags = run.data.tags
    return {
        "cells": [
            {"cell_id": c.cell_id, "execution_count": c.execution_count, "source": c.source} for c in stored.cells
        ],
        "source": source,
        "stale": tags.get(rec.STALE) == "true",
        "stale_reason": tags.get(rec.STALE_REASON) if tags.get(rec.STALE) == "true" else None,
    }


def _tolerance(data: dict[str, Any], key: str) -> float:
    value = data.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise InvalidParameter(f"{key!r} must be a number >= 0, got {value!r}.")
    return float(value)


class _LineageHandler(BaseRouteHandler):
    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run ``work`` in a worker thread; an :class:`NbtrackError` becomes an HTTP error with its status."""
        try:
            return await IOLoop.current().run_in_executor(None, work)
        except NbtrackError as err:
            raise tornado.web.HTTPError(err.http_status, "%s", err.message, reason=err.code) from err


class SliceRouteHandler(_LineageHandler):
    """``GET runs/<run_id>/slice``: the run's minimal slice and verdict."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        """Answer ``{"cells": [{"cell_id", "execution_count", "source"}], "source", "stale", "stale_reason"}``."""
        client = self.client
        self.reply(await self.off_loop(lambda: slice_payload(client, run_id)))


class ReproduceRouteHandler(_LineageHandler):
    """``POST runs/<run_id>/reproduce``: run the slice in a fresh kernel and compare."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        """Body ``{"rtol", "atol"}`` (optional); answer ``{"source_run_id", "run_id", "matches", "diffs", "error"}``."""
        try:
            data = self.body_json()
            rtol, atol = _tolerance(data, "rtol"), _tolerance(data, "atol")
        except NbtrackError as err:
            raise tornado.web.HTTPError(err.http_status, "%s", err.message, reason=err.code) from err
        client = self.client

        def work() -> dict[str, Any]:
            from nbtrack.lineage.reproduce import reproduce

            return reproduce(run_id, rtol=rtol, atol=atol, client=client).to_dict()

        self.reply(await self.off_loop(work))


def setup_lineage_routes(web_app: Any) -> None:
    """Add the lineage routes under ``<base_url>nbtrack/api``.

    Parameters
    ----------
    web_app : tornado.web.Application
        ``ServerApp.web_app`` (after :func:`nbtrack.server.routes.setup_route_handlers`).
    """
    api = url_path_join(web_app.settings.get("base_url", "/"), "nbtrack", "api")
    run = r"/runs/(?P<run_id>[^/]+)"
    routes = [(run + "/slice", SliceRouteHandler), (run + "/reproduce", ReproduceRouteHandler)]
    web_app.add_handlers(".*$", [(api + pattern + "/?$", handler) for pattern, handler in routes])
