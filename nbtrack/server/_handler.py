"""The base of every nbtrack REST handler: the client, JSON answers, JSON errors and query parsing.

Route modules (:mod:`nbtrack.server.routes`, :mod:`nbtrack.server.registry_routes`,
:mod:`nbtrack.server.lineage_routes`) build on :class:`BaseRouteHandler` and wrap their verbs in
:func:`translate_errors`, so an :class:`~nbtrack.errors.NbtrackError` becomes an HTTP error with its status and a
``{"message", "reason"}`` body, never a traceback.

The server is one event loop shared with every kernel's messages and Jupyter's own API, so no store work runs on it:
:func:`translate_errors` runs the verb in a small pool of worker threads (the loop only awaits it) with a time
budget per request (``NbtrackServer.request_budget``, 10 s by default). A request over budget is answered
``503`` with reason ``REQUEST_TIMEOUT`` and a message saying what to narrow; the worker finishes in the background
and its answer is dropped. A request still waiting for a free worker when its budget ends is cancelled.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.client import responses
from typing import Any, TypeVar

import orjson
import tornado.web
from jupyter_server.base.handlers import APIHandler

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.server._runs import RunIndex
from nbtrack.tracking.client import TrackingClient

__all__ = ["BaseRouteHandler", "client_of", "run_off_loop", "translate_errors", "worker_pool"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DEFAULT_REQUEST_BUDGET = 10.0
MAX_BODY_BYTES = 1 << 20
WORKERS = 4
_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}
_client_lock = threading.Lock()


def worker_pool() -> ThreadPoolExecutor:
    """The worker threads of this process that run REST store work (a forked child makes its own).

    Returns
    -------
    concurrent.futures.ThreadPoolExecutor
    """
    import os

    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nbtrack-api")
        return pool


async def run_off_loop(settings: dict[str, Any], work: Callable[[], T]) -> T:
    """Run ``work`` in a worker thread within the request budget; errors become HTTP errors.

    Parameters
    ----------
    settings : dict
        The tornado application settings (``nbtrack_request_budget`` in seconds).
    work : callable
        The store work; it must not touch the handler's output (the loop thread finishes the request).

    Returns
    -------
    The value of ``work()``.

    Raises
    ------
    tornado.web.HTTPError
        503 when the budget ran out, or the status of the :class:`NbtrackError` ``work`` raised.
    """
    budget = float(settings.get("nbtrack_request_budget") or DEFAULT_REQUEST_BUDGET)
    future = asyncio.get_running_loop().run_in_executor(worker_pool(), work)
    try:
        return await asyncio.wait_for(asyncio.shield(future), budget)
    except asyncio.TimeoutError:
        future.cancel()  # not started yet: never runs; running: finishes in the background, its answer dropped
        raise tornado.web.HTTPError(
            503,
            "%s",
            f"The request took longer than its budget of {budget:g} s and was stopped waiting; narrow it "
            "(a filter, fewer experiments, a smaller max_results) or raise NbtrackServer.request_budget.",
            reason="REQUEST_TIMEOUT",
        ) from None
    except NbtrackError as err:
        raise tornado.web.HTTPError(err.http_status, "%s", err.message, reason=err.code) from err
    except RecursionError:
        raise tornado.web.HTTPError(
            400, "%s", "The request is nested too deeply.", reason="INVALID_PARAMETER_VALUE"
        ) from None


def translate_errors(method: F) -> F:
    """Run a verb's store work off the event loop, within the request budget; an :class:`NbtrackError` becomes
    an HTTP error with its status (see the module docstring)."""

    @functools.wraps(method)
    async def wrapper(self: BaseRouteHandler, *args: Any, **kwargs: Any) -> None:
        deferred: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._loop_thread = threading.get_ident()
        self._deferred = deferred

        def work() -> None:
            method(self, *args, **kwargs)

        try:
            await run_off_loop(self.settings, work)
        finally:
            self._deferred = None
        for name, call_args, call_kwargs in deferred:  # the verb's output, replayed on the loop thread
            if self._finished:
                break
            getattr(self, name)(*call_args, **call_kwargs)

    return wrapper  # type: ignore[return-value]


class BaseRouteHandler(APIHandler):
    """Shared helpers: the client, JSON answers, JSON errors, query parsing."""

    _deferred: list[tuple[str, tuple[Any, ...], dict[str, Any]]] | None = None
    _loop_thread: int | None = None

    def _defer(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """In a worker thread, record an output call for the loop thread (tornado's output is not thread-safe)."""
        if self._deferred is None or threading.get_ident() == self._loop_thread:
            return False
        self._deferred.append((name, args, kwargs))
        return True

    def set_header(self, name: str, value: Any) -> None:
        """Set a response header (from a worker thread: when the verb's work is done)."""
        if not self._defer("set_header", (name, value), {}):
            super().set_header(name, value)

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        """Set the response status (from a worker thread: when the verb's work is done)."""
        if not self._defer("set_status", (status_code, reason), {}):
            super().set_status(status_code, reason)

    def write(self, chunk: Any) -> None:
        """Write to the response (from a worker thread: when the verb's work is done)."""
        if not self._defer("write", (chunk,), {}):
            super().write(chunk)

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        """Finish the response (from a worker thread: when the verb's work is done)."""
        if self._defer("finish", args, kwargs):
            return None
        return super().finish(*args, **kwargs)

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
        """Finish with ``payload`` as JSON (from a worker thread: encoded there, sent by the loop thread)."""
        body = orjson.dumps(payload)
        self.set_header("Content-Type", "application/json")
        self.finish(body)

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
        """Parse the request body as a JSON object (at most 1 MiB; any depth, size or shape gets a 4xx)."""
        body = self.request.body or b"{}"
        if len(body) > MAX_BODY_BYTES:
            raise InvalidParameter(f"The request body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted.")
        try:
            data = orjson.loads(body)  # C parser, refuses nesting deeper than 1024 instead of recursing
        except (ValueError, RecursionError):
            raise InvalidParameter("The request body is not valid JSON (or is nested too deeply).") from None
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
        with _client_lock:  # worker threads may ask at once
            client = settings.get("nbtrack")
            if client is None:
                client = TrackingClient(settings["nbtrack_store"])
                settings["nbtrack_run_index"] = RunIndex(client)
                settings["nbtrack"] = client
    return client
