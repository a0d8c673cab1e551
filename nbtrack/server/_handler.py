"""The base of every nbtrack REST handler: the client, JSON answers, JSON errors and query parsing.

Route modules (:mod:`nbtrack.server.routes`, :mod:`nbtrack.server.registry_routes`,
:mod:`nbtrack.server.lineage_routes`) build on :class:`BaseRouteHandler` and wrap their verbs in
:func:`translate_errors`, so an :class:`~nbtrack.errors.NbtrackError` becomes an HTTP error with its status and a
``{"message", "reason"}`` body, never a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from http.client import responses
from typing import Any, TypeVar

import orjson
import tornado.web
from jupyter_server.base.handlers import APIHandler

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.server._runs import RunIndex
from nbtrack.tracking.client import TrackingClient

__all__ = ["BaseRouteHandler", "client_of", "translate_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def translate_errors(method: F) -> F:
    """Turn an :class:`NbtrackError` raised by a handler into an HTTP error with its status."""

    @functools.wraps(method)
    def wrapper(self: BaseRouteHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except NbtrackError as err:
            raise tornado.web.HTTPError(err.http_status, "%s", err.message, reason=err.code) from err

    return wrapper  # type: ignore[return-value]


class BaseRouteHandler(APIHandler):
    """Shared helpers: the client, JSON answers, JSON errors, query parsing."""

    @property
    def client(self) -> TrackingClient:
        """The tracking client of the server's store (opened on first use)."""
        return client_of(self.settings)

    @property
    def run_index(self) -> RunIndex:
        """The cached runs listing."""
        client_of(self.settings)
        index: RunIndex = self.settings["nbtrack_run_index"]
        return index

    def reply(self, payload: dict[str, Any]) -> None:
        """Finish with ``payload`` as JSON."""
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer every error as ``{"message", "reason"}`` JSON, without a traceback."""
        reason = responses.get(status_code, "Unknown HTTP Error")
        message = reason
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, tornado.web.HTTPError):
            if error.log_message:
                message = error.log_message % error.args if error.args else error.log_message
            reason = error.reason or reason
        elif error is not None:
            message = "nbtrack hit an internal error; the Jupyter server log has the details."
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": reason}))

    def body_json(self) -> dict[str, Any]:
        """Parse the request body as a JSON object."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise InvalidParameter("The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise InvalidParameter("The request body must be a JSON object.")
        return data

    def list_argument(self, name: str) -> list[str]:
        """All values of a repeatable query argument, comma-separated ones split."""
        out: list[str] = []
        for raw in self.get_query_arguments(name):
            out.extend(part.strip() for part in _split_commas(raw) if part.strip())
        return out

    def int_argument(self, name: str, default: int | None, low: int, high: int | None = None) -> int | None:
        """An integer query argument within ``[low, high]``, else ``InvalidParameter``."""
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidParameter(f"Query parameter {name!r} must be an integer, got {raw!r}.") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise InvalidParameter(f"Query parameter {name!r} must be {bound}, got {value}.")
        return value


def _split_commas(text: str) -> list[str]:
    """Split on commas outside backticks and quotes (``metrics.`a,b` DESC`` stays whole)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "`'\"":
            quote = ch
        elif ch == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def client_of(settings: dict[str, Any]) -> TrackingClient:
    """Return the client kept in ``settings["nbtrack"]``, opening the store on first use.

    The store folder is created by its first reader, so a server that nobody asks
    for runs leaves no ``.nbtrack/`` behind.
    """
    client: TrackingClient | None = settings.get("nbtrack")
    if client is None:
        client = TrackingClient(settings["nbtrack_store"])
        settings["nbtrack_run_index"] = RunIndex(client)
        settings["nbtrack"] = client
    return client
