"""The one codec for numbers JSON cannot hold: NaN and ±infinity travel as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

The store writes metric values this way (strict JSON, readable by TinyDB and any JSON tool) and the server extension
sends them this way to the sidebar; :func:`decode_float` reads both forms back.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["decode_float", "encode_float", "jsonable"]


def encode_float(value: float) -> float | str:
    """Return ``value`` as strict JSON can hold it.

    Parameters
    ----------
    value : float
        Any float.

    Returns
    -------
    float or str
        ``value`` itself when finite, else ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``.
    """
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: float | str | int) -> float:
    """Read back a number written by :func:`encode_float`.

    Parameters
    ----------
    value : float, int or str
        A number, or one of the three strings.

    Returns
    -------
    float
    """
    return float(value)


def jsonable(value: Any) -> Any:
    """Return ``value`` with every NaN and ±inf float encoded by :func:`encode_float`, at any depth.

    Parameters
    ----------
    value : Any
        Nested dicts, lists, tuples and scalars.

    Returns
    -------
    Any
        The same structure, safe for strict JSON.
    """
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
