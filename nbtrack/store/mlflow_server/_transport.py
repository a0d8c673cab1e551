"""Calls to an MLflow tracking server's REST API through MLflow's own HTTP client.

``mlflow.utils.rest_utils.http_request`` brings retries with backoff, basic auth,
bearer tokens, TLS options and Databricks profiles (``get_databricks_host_creds``);
requests and answers are plain JSON, read with ``orjson`` (no protobuf round trip).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson

from nbtrack.errors import AlreadyExists, InvalidParameter, InvalidState, NbtrackError, NotFound

INSTALL_HINT = 'pip install "nbtrack[server]"'
API = "/api/2.0/mlflow/"


class ServerUnavailable(NbtrackError):
    """The tracking server did not answer (down, unreachable or failing with 5xx)."""


class PermissionDenied(NbtrackError):
    """The tracking server refused the credentials."""


def require_mlflow() -> None:
    """Import MLflow's client library or say how to install it.

    Raises
    ------
    NbtrackError
        ``mlflow-skinny`` (or ``mlflow``) is not installed.
    """
    try:
        import mlflow.utils.rest_utils  # noqa: F401
    except ImportError as exc:
        raise NbtrackError(
            "Tracking to an MLflow server needs MLflow's client library, which is not installed. "
            f"Install it with: {INSTALL_HINT}"
        ) from exc


_CODES: dict[str, type[NbtrackError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "NOT_FOUND": NotFound,
    "ENDPOINT_NOT_FOUND": NotFound,
    "RESOURCE_ALREADY_EXISTS": AlreadyExists,
    "INVALID_PARAMETER_VALUE": InvalidParameter,
    "BAD_REQUEST": InvalidParameter,
    "INVALID_STATE": InvalidState,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": PermissionDenied,
}


def host_creds_factory(uri: str) -> Callable[[], Any]:
    """A function returning fresh MLflow host credentials for ``uri`` (tokens may expire)."""
    require_mlflow()
    if uri.startswith("databricks"):
        from mlflow.utils.databricks_utils import get_databricks_host_creds

        return lambda: get_databricks_host_creds(uri)  # type: ignore[no-untyped-call]
    from mlflow.utils.credentials import get_default_host_creds

    return lambda: get_default_host_creds(uri)  # type: ignore[no-untyped-call]


class Transport:
    """JSON calls to ``/api/2.0/mlflow/...`` of one server.

    Parameters
    ----------
    uri : str
        ``http(s)://host:port[/prefix]`` or ``databricks[://profile]``.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._creds = host_creds_factory(uri)
        # Foreground calls fail within seconds when the server is gone; the flusher retries on its own.
        self.retries = int(os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"))
        self.timeout = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"))

    def call(
        self,
        path: str,
        method: str = "POST",
        body: dict[str, Any] | None = None,
        *,
        retries: int | None = None,
        timeout: float | None = None,
        prefix: str = API,
    ) -> dict[str, Any]:
        """Call one endpoint and return its JSON answer.

        Raises
        ------
        NotFound, AlreadyExists, InvalidParameter, InvalidState, PermissionDenied
            The server refused the request (4xx), with its message.
        ServerUnavailable
            No answer, a timeout or a 5xx after the retries.
        """
        from mlflow.exceptions import MlflowException, RestException
        from mlflow.utils.rest_utils import http_request, verify_rest_response

        endpoint = prefix + path
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["params" if method == "GET" else "json"] = body
        try:
            response = http_request(  # type: ignore[no-untyped-call]
                self._creds(),
                endpoint,
                method,
                max_retries=self.retries if retries is None else retries,
                backoff_factor=0.5,
                backoff_jitter=0.2,
                timeout=self.timeout if timeout is None else timeout,
                raise_on_status=False,
                **kwargs,
            )
        except MlflowException as exc:
            raise ServerUnavailable(f"The tracking server at {self.uri} did not answer: {exc.message}") from exc
        if response.status_code >= 500:
            raise ServerUnavailable(
                f"The tracking server at {self.uri} failed on {endpoint} (HTTP {response.status_code})."
            )
        if response.status_code in (401, 403):
            raise PermissionDenied(
                f"The tracking server at {self.uri} refused the request (HTTP {response.status_code}): set "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN."
            )
        try:
            verify_rest_response(response, endpoint)
        except RestException as exc:
            code = str(exc.json.get("error_code", ""))
            message = str(exc.json.get("message", exc.message))
            raise _CODES.get(code, InvalidParameter)(message) from exc
        except MlflowException as exc:
            kind = NotFound if response.status_code == 404 else InvalidParameter
            raise kind(exc.message) from exc
        content = response.content
        if not content:
            return {}
        answer = orjson.loads(content)
        return answer if isinstance(answer, dict) else {}
