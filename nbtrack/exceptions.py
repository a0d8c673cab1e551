"""MLflow's ``mlflow.exceptions`` names: ``MlflowException`` is :class:`nbtrack.errors.NbtrackError`.

``except MlflowException`` catches every error nbtrack raises on purpose, and ``err.error_code`` is spelled as
MLflow spells it (``RESOURCE_DOES_NOT_EXIST``, ``INVALID_PARAMETER_VALUE``, ``RESOURCE_ALREADY_EXISTS``...).
"""

from __future__ import annotations

from nbtrack.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    InvalidParameter,
    MlflowException,
    NbtrackError,
)

#: MLflow raises this for a malformed tracking or artifact URI.
InvalidUrlException = InvalidParameter
#: MLflow's error for a failed REST call; here the same base class.
RestException = NbtrackError
#: MLflow's error of its tracing module; here the same base class.
MlflowTracingException = NbtrackError

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMETER_VALUE",
    "INVALID_STATE",
    "RESOURCE_ALREADY_EXISTS",
    "RESOURCE_DOES_NOT_EXIST",
    "InvalidUrlException",
    "MlflowException",
    "MlflowTracingException",
    "RestException",
]
