"""Errors raised by nbtrack.

Every error a user can trigger is an :class:`NbtrackError` subclass carrying a
machine-readable ``code`` and the HTTP status the server extension answers with.
"""

from __future__ import annotations

INTERNAL_ERROR = "INTERNAL_ERROR"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
STORE_CORRUPTED = "STORE_CORRUPTED"
STORE_FULL = "STORE_FULL"
STORE_READ_ONLY = "STORE_READ_ONLY"
STORE_IO_ERROR = "STORE_IO_ERROR"

CODE_TO_HTTP_STATUS: dict[str, int] = {
    INTERNAL_ERROR: 500,
    INVALID_PARAMETER_VALUE: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    RESOURCE_ALREADY_EXISTS: 409,
    INVALID_STATE: 409,
    STORE_CORRUPTED: 500,
    STORE_FULL: 507,
    STORE_READ_ONLY: 403,
    STORE_IO_ERROR: 500,
}


class NbtrackError(Exception):
    """Base class of every error nbtrack raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, how to fix it.
    code : str, optional
        One of the module's error codes; decides :attr:`http_status`.
    error_code : str, optional
        MLflow's name of ``code`` (``MlflowException(message, error_code=...)``).
    """

    default_code = INTERNAL_ERROR

    def __init__(self, message: object, code: str | None = None, *, error_code: str | None = None, **_: object) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.code = str(code or error_code or self.default_code)

    @property
    def error_code(self) -> str:
        """The error's code as MLflow spells it, e.g. ``"RESOURCE_DOES_NOT_EXIST"``."""
        return self.code

    @property
    def http_status(self) -> int:
        """The HTTP status a server answers this error with."""
        return CODE_TO_HTTP_STATUS.get(self.code, 500)

    def get_http_status_code(self) -> int:
        """MLflow's name of :attr:`http_status`."""
        return self.http_status

    def serialize_as_json(self) -> str:
        """``{"error_code": ..., "message": ...}`` as JSON, as MLflow serialises its errors."""
        import json

        return json.dumps({"error_code": self.code, "message": self.message})

    @classmethod
    def invalid_parameter_value(cls, message: str) -> NbtrackError:
        """An error with code ``INVALID_PARAMETER_VALUE`` (MLflow's constructor of that name)."""
        return cls(message, INVALID_PARAMETER_VALUE)


# MLflow code catches ``MlflowException``; keep that spelling working.
MlflowException = NbtrackError


class NotFound(NbtrackError):
    """A run, experiment, model, version, stage or alias does not exist."""

    default_code = RESOURCE_DOES_NOT_EXIST


class AlreadyExists(NbtrackError):
    """An experiment or registered model of that name exists already."""

    default_code = RESOURCE_ALREADY_EXISTS


class InvalidParameter(NbtrackError, ValueError):
    """An argument failed validation; nothing was written."""

    default_code = INVALID_PARAMETER_VALUE


class InvalidState(NbtrackError):
    """The operation does not fit the object's state (e.g. no active run)."""

    default_code = INVALID_STATE


class StoreCorrupted(NbtrackError):
    """A store file cannot be parsed; the message names it and the last good copy."""

    default_code = STORE_CORRUPTED


class StoreFull(NbtrackError):
    """The disk holding the store is full; nothing half-written was kept, free space and call again."""

    default_code = STORE_FULL


class StoreReadOnly(NbtrackError):
    """The store's folder cannot be written (read-only mount, permissions); reads still work."""

    default_code = STORE_READ_ONLY


class StoreIOError(NbtrackError):
    """The disk failed (EIO and the like) while the store was written or read."""

    default_code = STORE_IO_ERROR


class UntrustedModel(NbtrackError):
    """A model file holds types nbtrack will not load without ``trusted=...``."""

    default_code = INVALID_STATE


class InvalidModelFile(NbtrackError):
    """A model file is not a skops file nbtrack can read (not a zip, damaged, or a malformed tree)."""

    default_code = INVALID_PARAMETER_VALUE
