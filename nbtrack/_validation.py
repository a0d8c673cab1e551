"""Checks applied at the store boundary; every failure is an :class:`InvalidParameter`.

The rules follow MLflow's (``mlflow/utils/validation.py``) so that code valid
there is valid here.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
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
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def plain_str(value: str) -> str:
    """Return a ``str`` subclass instance (``numpy.str_``, an enum's value...) as a plain ``str``."""
    return value if type(value) is str else str.__str__(value)


def check_text(text: str, what: str) -> str:
    """Refuse text that cannot be written as UTF-8 (lone surrogates) and return it as a plain ``str``.

    Raises
    ------
    InvalidParameter
        The text holds a lone surrogate (e.g. from ``bytes.decode(errors="surrogateescape")``).
    """
    text = plain_str(text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidParameter(
                f"Invalid {what}: character {exc.start} is a lone surrogate ({text[exc.start]!r}), which cannot be "
                "stored as UTF-8; decode the text with errors='replace' first."
            ) from None
    return text


def validate_key(key: Any, kind: str = "key") -> str:
    """Check a metric, param or tag key and return it.

    Raises
    ------
    InvalidParameter
        The key is not a string, empty, longer than 250 characters or holds
        characters outside ``[A-Za-z0-9_-. /:]``.
    """
    if type(key) is str and key in _valid_keys:
        return key
    if not isinstance(key, str) or not key:
        raise InvalidParameter(f"Invalid {kind} {key!r}: it must be a non-empty string, not {type(key).__name__}.")
    key = plain_str(key)
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
    return str(key)


def stringify(value: Any) -> str:
    """Turn a param or tag value into the string MLflow would store (``str(value)``), as a plain ``str``."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return plain_str(value)
    text = str(value)
    return plain_str(text) if isinstance(text, str) else text


def validate_param_value(key: str, value: Any) -> str:
    """Stringify a param value and check it can be stored and its length."""
    text = check_text(stringify(value), f"value of param {key!r}")
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidParameter(
            f"Param {key!r} has a value of {len(text)} characters; at most "
            f"{MAX_PARAM_VALUE_LENGTH} are allowed. Log long values with log_text instead."
        )
    return text


def validate_tag_value(key: str, value: Any) -> str:
    """Stringify a tag value and check it can be stored and its length."""
    text = check_text(stringify(value), f"value of tag {key!r}")
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"Tag {key!r} has a value of {len(text)} characters; at most {MAX_TAG_VALUE_LENGTH} are allowed."
        )
    return text


def validate_tag_dict(tags: dict[Any, Any] | None) -> dict[str, str]:
    """Check every key and value of a tag dict (``None`` is no tags); return them clean.

    Raises
    ------
    InvalidParameter
        A key or value that MLflow's rules refuse.
    """
    return {validate_key(k, "tag key"): validate_tag_value(k, val) for k, val in (tags or {}).items()}


def _is_missing(value: Any) -> bool:
    """pandas' ``NA`` / ``NaT`` (stored as NaN where a number is missing)."""
    return type(value).__name__ in ("NAType", "NaTType") and type(value).__module__.startswith("pandas")


def validate_metric_value(key: str, value: Any) -> float:
    """Convert a metric value to ``float``: Python, numpy and ``Decimal`` numbers and bools (as MLflow).

    NaN and infinities are kept, as in MLflow; pandas' ``NA`` is stored as NaN.

    Raises
    ------
    InvalidParameter
        Not a real number (a string, ``None``, a complex number...) or too large for a float.
    """
    if type(value) is float:
        return value
    if isinstance(value, (str, bytes, complex)) or value is None:
        raise InvalidParameter(f"Metric {key!r} got {value!r} ({type(value).__name__}); metric values must be numbers.")
    if _is_missing(value):
        return math.nan
    try:
        number = float(value)
    except OverflowError:
        raise InvalidParameter(f"Metric {key!r} got a number too large for a float ({type(value).__name__}).") from None
    except (TypeError, ValueError, ArithmeticError):
        raise InvalidParameter(
            f"Metric {key!r} got {_short(value)} ({type(value).__name__}); metric values must be numbers."
        ) from None
    if not isinstance(number, float):
        raise InvalidParameter(f"Metric {key!r} got {type(value).__name__}; metric values must be numbers.")
    if math.isinf(number) and callable(getattr(value, "is_finite", None)) and value.is_finite():
        raise InvalidParameter(f"Metric {key!r} got a number too large for a float ({_short(value)}).")
    return float(number)


def _is_numpy_bool(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _int64(value: Any, what: str, *, integral_floats: bool = True) -> int:
    """An integer (Python, numpy, integral float or Decimal) within the signed 64-bit range."""
    if not integral_floats and not hasattr(value, "__index__"):
        raise InvalidParameter(f"{what} must be an integer, got {_short(value)} ({type(value).__name__}).")
    if isinstance(value, (bool, str, bytes)) or _is_numpy_bool(value):
        raise InvalidParameter(f"{what} must be an integer, got {_short(value)} ({type(value).__name__}).")
    try:
        number = int(value) if hasattr(value, "__index__") else None
        if number is None:
            as_float = float(value)
            if not as_float.is_integer():
                raise ValueError
            number = int(value)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        raise InvalidParameter(f"{what} must be an integer, got {_short(value)} ({type(value).__name__}).") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidParameter(
            f"{what} {number if number.bit_length() < 80 else '(huge)'} is out of range: "
            f"it must fit in 64 bits ({INT64_MIN} to {INT64_MAX})."
        )
    return number


def validate_step(step: Any) -> int:
    """Check a metric step: an integer (numpy integers and integral floats accepted) within 64 bits; 0 for None."""
    if step is None:
        return 0
    if type(step) is int and INT64_MIN <= step <= INT64_MAX:
        return step
    return _int64(step, "Metric step")


def validate_timestamp(timestamp: Any) -> int:
    """Check a timestamp in milliseconds since the epoch; ``datetime`` and ``pandas.Timestamp`` are converted."""
    if type(timestamp) is int and INT64_MIN <= timestamp <= INT64_MAX:
        return timestamp
    if isinstance(timestamp, datetime.datetime):  # pandas.Timestamp included
        moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=datetime.timezone.utc)
        try:
            return int(moment.timestamp() * 1000)
        except (OverflowError, ValueError, OSError):
            raise InvalidParameter(f"Timestamp {timestamp!r} is out of range.") from None
    return _int64(timestamp, "Timestamp (milliseconds since the epoch)")


def validate_mapping(value: Any, argument: str) -> dict[Any, Any]:
    """A ``dict`` copy of a mapping argument such as ``tags``; ``None`` gives ``{}``.

    Raises
    ------
    InvalidParameter
        ``value`` is not a mapping (e.g. ``tags="x"``).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameter(f"{argument} must be a dict, got {type(value).__name__} {_short(value)}.")
    return dict(value)


def validate_entities(items: Any, kind: type, argument: str) -> None:
    """Check that a batch argument is a sequence of ``kind`` entities (``Metric``, ``Param``, ``RunTag``).

    Raises
    ------
    InvalidParameter
        A dict, a string, or an item of another type was given.
    """
    if isinstance(items, (str, bytes, Mapping)) or not hasattr(items, "__iter__"):
        raise InvalidParameter(f"{argument} must be a list of {kind.__name__}, got {type(items).__name__}.")
    for item in items:
        if not isinstance(item, kind):
            raise InvalidParameter(f"{argument} must hold {kind.__name__} objects, got {type(item).__name__}.")


def validate_bool(value: Any, argument: str) -> bool:
    """A flag argument: ``bool`` or ``numpy.bool_``.

    Raises
    ------
    InvalidParameter
        Anything else (``"yes"``, ``1.5``...).
    """
    if isinstance(value, bool):
        return value
    if _is_numpy_bool(value) or (type(value) is int and value in (0, 1)):
        return bool(value)
    raise InvalidParameter(f"{argument} must be True or False, got {_short(value)} ({type(value).__name__}).")


def validate_optional_text(value: Any, argument: str, max_length: int | None = None) -> str | None:
    """``None`` or a string argument (returned plain), else ``InvalidParameter`` naming the argument."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{argument} must be a string, got {type(value).__name__} {_short(value)}.")
    text = check_text(value, argument)
    if max_length is not None and len(text) > max_length:
        raise InvalidParameter(f"{argument} of {len(text)} characters is too long; at most {max_length}.")
    return text


def validate_local_path(path: Any, argument: str, *, kind: str = "file") -> Path:
    """A local path argument naming an existing file (``kind="file"``) or folder (``kind="folder"``).

    Raises
    ------
    InvalidParameter
        Not a string or path-like, empty, or of the other kind (``log_artifact("")`` would otherwise mean the
        working directory).
    NotFound
        Nothing exists there.
    """
    from nbtrack.errors import NotFound

    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameter(f"{argument} must be a path (str or os.PathLike), got {type(path).__name__}.")
    try:
        raw = os.fspath(path)
    except TypeError:
        raise InvalidParameter(f"{argument} must be a path (str or os.PathLike).") from None
    if isinstance(raw, bytes):
        raise InvalidParameter(f"{argument} must be a str path, not bytes.")
    if not raw or not raw.strip():
        raise InvalidParameter(f"{argument} is empty: name the {kind} to log.")
    if "\x00" in raw:
        raise InvalidParameter(f"{argument} holds a NUL character.")
    check_text(raw, argument)
    local = Path(raw)
    try:
        exists = local.exists()
    except OSError as exc:  # a name too long for the file system, a loop of links...
        raise InvalidParameter(f"{argument} {raw[:80]!r} cannot be used: {exc.strerror}.") from None
    if not exists:
        raise NotFound(f"Cannot log artifact: {raw} does not exist.")
    if kind == "file" and local.is_dir():
        raise InvalidParameter(
            f"{argument} {raw!r} is a folder; log_artifact copies one file (as MLflow's does). "
            "Use log_artifacts(folder) to copy a folder's contents."
        )
    if kind == "folder" and not local.is_dir():
        raise InvalidParameter(f"{argument} {raw!r} is not a folder; use log_artifact for a single file.")
    return local


def validate_run_id(run_id: Any) -> str:
    """Check the shape of a run id."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id) or run_id.endswith("\n"):
        raise InvalidParameter(
            f"Invalid run id {_short(run_id)}: run ids are 1-256 characters of letters, digits, '_' and '-'."
        )
    return plain_str(run_id)


def validate_experiment_id(experiment_id: Any) -> str:
    """Check the shape of an experiment id (a string of digits; ints accepted)."""
    if hasattr(experiment_id, "__index__") and not isinstance(experiment_id, (bool, str)):
        try:
            experiment_id = str(int(experiment_id))
        except (TypeError, ValueError):
            pass
    if not isinstance(experiment_id, str) or not _EXPERIMENT_ID_RE.match(experiment_id) or experiment_id.endswith("\n"):
        raise InvalidParameter(
            f"Invalid experiment id {_short(experiment_id)}: experiment ids are strings of digits such as '0' or '12'. "
            "To refer to an experiment by name use get_experiment_by_name or set_experiment."
        )
    return plain_str(experiment_id)


def validate_experiment_name(name: Any) -> str:
    """Check an experiment name: free text (paths like ``/Users/me/churn`` welcome), not empty."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"Invalid experiment name {_short(name)}: it must be a non-empty string.")
    name = check_text(name, "experiment name")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"Experiment name of {len(name)} characters is too long; at most {MAX_EXPERIMENT_NAME_LENGTH}."
        )
    if "\x00" in name:
        raise InvalidParameter("Experiment names may not contain NUL characters.")
    return str(name)


def validate_run_name(name: Any) -> str:
    """Check a run name (free text up to 250 characters)."""
    if not isinstance(name, str):
        raise InvalidParameter(f"Run name must be a string, got {type(name).__name__}.")
    name = check_text(name, "run name")
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise InvalidParameter(f"Run name of {len(name)} characters is too long; at most {MAX_RUN_NAME_LENGTH}.")
    return str(name)


def is_finite(value: float) -> bool:
    """Return whether ``value`` is neither NaN nor infinite."""
    return math.isfinite(value)


def require_text(value: Any, argument: str) -> str:
    """A non-empty string argument without lone surrogates, returned plain.

    Raises
    ------
    InvalidParameter
        ``value`` is not a string, is empty, or holds a lone surrogate.
    """
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"{argument} must be a non-empty string, got {type(value).__name__} {_short(value)}.")
    return check_text(value, argument)


def validate_version(value: Any, argument: str = "version") -> str:
    """A model version number (a positive int, numpy int or digit string), returned as a string."""
    if isinstance(value, str) and value.isdigit() and value.isascii() and len(value) < 19 and int(value) >= 1:
        return plain_str(value)
    number = None
    if not isinstance(value, str) and not isinstance(value, bool) and not _is_numpy_bool(value):
        try:
            number = _int64(value, argument)
        except InvalidParameter:
            number = None
    if number is None or number < 1:
        raise InvalidParameter(f"Model versions are positive integers (they start at 1), got {_short(value)}.")
    return str(number)


def validate_max_results(value: Any, argument: str = "max_results") -> int | None:
    """``None`` or a non-negative integer."""
    if value is None:
        return None
    number = _int64(value, argument, integral_floats=False)
    if number < 0:
        raise InvalidParameter(f"{argument} must be a non-negative integer, got {number}.")
    return number


def validate_text_list(value: Any, argument: str) -> list[str] | None:
    """``None`` or a list of strings (a single string is taken as a list of one, as MLflow does)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [check_text(value, argument)]
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)):
        raise InvalidParameter(f"{argument} must be a list of strings, got {type(value).__name__}.")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidParameter(f"{argument} must hold strings, got {type(item).__name__} {_short(item)}.")
        out.append(check_text(item, argument))
    return out


_ROLES: dict[str, Any] = {
    "name": require_text,
    "new_name": require_text,
    "alias": require_text,
    "stage": require_text,
    "model_uri": require_text,
    "source": require_text,
    "status": require_text,
    "version": validate_version,
    "key": lambda value, argument: _key_type(value, argument),
    "run_id": lambda value, argument: None if value is None else validate_run_id(value),
    "experiment_id": lambda value, argument: validate_experiment_id(value),
    "tags": validate_mapping,
    "description": validate_optional_text,
    "filter_string": validate_optional_text,
    "artifact_location": validate_optional_text,
    "archive_existing_versions": validate_bool,
    "max_results": validate_max_results,
    "order_by": validate_text_list,
    "stages": validate_text_list,
    "experiment_ids": validate_text_list,
    "experiment_names": validate_text_list,
    "output_format": require_text,
}


def _key_type(key: Any, argument: str) -> None:
    """The type part of :func:`validate_key` (the store checks the characters with the key's kind in the message)."""
    if not isinstance(key, str) or not key:
        raise InvalidParameter(
            f"Invalid {argument} {_short(key)}: it must be a non-empty string, not {type(key).__name__}."
        )


def check_args(**arguments: Any) -> None:
    """Validate public-method arguments by their role (``name``, ``version``, ``key``, ``tags``, ``run_id``...).

    Called first in public methods so that a bad type (an unhashable dict as a name, a lone surrogate, a
    float version) gets an ``InvalidParameter`` naming the argument before anything is looked up or written.

    Raises
    ------
    InvalidParameter
        An argument does not fit its role.
    """
    for argument, value in arguments.items():
        _ROLES[argument](value, argument)
