"""Checks applied at the store boundary; every failure is an :class:`InvalidParameter`.

The rules follow MLflow's (``mlflow/utils/validation.py``) so that code valid
there is valid here.
"""

from __future__ import annotations

import math
import re
from typing import Any

from nbtrack.errors import InvalidParameter

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250

# Alphanumerics, underscores, dashes, periods, spaces, slashes and colons.
_KEY_RE = re.compile(r"^[/\w.\- :]+$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9_\-]{1,256}$")
_EXPERIMENT_ID_RE = re.compile(r"^[0-9]{1,19}$")
_valid_keys: set[str] = set()


def validate_key(key: Any, kind: str = "key") -> str:
    """Check a metric, param or tag key and return it.

    Raises
    ------
    InvalidParameter
        The key is not a string, empty, longer than 250 characters or holds
        characters outside ``[A-Za-z0-9_-. /:]``.
    """
    if key in _valid_keys:
        return key  # type: ignore[no-any-return]
    if not isinstance(key, str) or not key:
        raise InvalidParameter(f"Invalid {kind} {key!r}: it must be a non-empty string.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameter(
            f"Invalid {kind} '{key[:40]}...': {len(key)} characters, at most {MAX_KEY_LENGTH} allowed."
        )
    if not _KEY_RE.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise InvalidParameter(
            f"Invalid {kind} {key!r}: names may only contain alphanumerics, underscores (_), "
            "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), and may not be "
            "an absolute or '..' path."
        )
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


def stringify(value: Any) -> str:
    """Turn a param or tag value into the string MLflow would store."""
    if isinstance(value, str):
        return value
    return str(value)


def validate_param_value(key: str, value: Any) -> str:
    """Stringify a param value and check its length."""
    text = stringify(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidParameter(
            f"Param {key!r} has a value of {len(text)} characters; at most "
            f"{MAX_PARAM_VALUE_LENGTH} are allowed. Log long values with log_text instead."
        )
    return text


def validate_tag_value(key: str, value: Any) -> str:
    """Stringify a tag value and check its length."""
    text = stringify(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"Tag {key!r} has a value of {len(text)} characters; at most {MAX_TAG_VALUE_LENGTH} are allowed."
        )
    return text


def validate_metric_value(key: str, value: Any) -> float:
    """Convert a metric value (Python or numpy number) to ``float``.

    NaN and infinities are kept, as in MLflow.
    """
    if isinstance(value, float):
        return value
    if isinstance(value, (bool, str, bytes)):
        raise InvalidParameter(f"Metric {key!r} got {value!r} ({type(value).__name__}); metric values must be numbers.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"Metric {key!r} got {value!r} ({type(value).__name__}); metric values must be numbers."
        ) from None


def validate_step(step: Any) -> int:
    """Check a metric step (an integer, numpy integers accepted)."""
    if step is None:
        return 0
    if isinstance(step, bool) or (isinstance(step, float) and not step.is_integer()):
        raise InvalidParameter(f"Metric step must be an integer, got {step!r}.")
    try:
        return int(step)
    except (TypeError, ValueError):
        raise InvalidParameter(f"Metric step must be an integer, got {step!r}.") from None


def validate_timestamp(timestamp: Any) -> int:
    """Check a timestamp in milliseconds since the epoch."""
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        raise InvalidParameter(f"Timestamp must be an integer of milliseconds, got {timestamp!r}.") from None
    return value


def validate_run_id(run_id: Any) -> str:
    """Check the shape of a run id."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidParameter(
            f"Invalid run id {run_id!r}: run ids are 1-256 characters of letters, digits, '_' and '-'."
        )
    return run_id


def validate_experiment_id(experiment_id: Any) -> str:
    """Check the shape of an experiment id (a string of digits; ints accepted)."""
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        experiment_id = str(experiment_id)
    if not isinstance(experiment_id, str) or not _EXPERIMENT_ID_RE.match(experiment_id):
        raise InvalidParameter(
            f"Invalid experiment id {experiment_id!r}: experiment ids are strings of digits such as '0' or '12'. "
            "To refer to an experiment by name use get_experiment_by_name or set_experiment."
        )
    return experiment_id


def validate_experiment_name(name: Any) -> str:
    """Check an experiment name: free text (paths like ``/Users/me/churn`` welcome), not empty."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"Invalid experiment name {name!r}: it must be a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"Experiment name of {len(name)} characters is too long; at most {MAX_EXPERIMENT_NAME_LENGTH}."
        )
    if "\x00" in name:
        raise InvalidParameter("Experiment names may not contain NUL characters.")
    return name


def validate_run_name(name: Any) -> str:
    """Check a run name (free text up to 250 characters)."""
    if not isinstance(name, str):
        raise InvalidParameter(f"Run name must be a string, got {type(name).__name__}.")
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise InvalidParameter(f"Run name of {len(name)} characters is too long; at most {MAX_RUN_NAME_LENGTH}.")
    return name


def is_finite(value: float) -> bool:
    """Return whether ``value`` is neither NaN nor infinite."""
    return math.isfinite(value)
