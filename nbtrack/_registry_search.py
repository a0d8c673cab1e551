"""Filtering and ordering of registry searches.

Filters come from :mod:`nbtrack._search` (``compile_registered_model_filter`` /
``compile_model_version_filter``) when it provides them; otherwise a small
built-in subset applies: clauses ``<key> <op> <value>`` joined by ``AND``, with
keys ``name``, ``run_id``, ``source_path``, ``version_number``, ``tags.<key>``,
ops ``=``, ``!=``, ``LIKE``, ``ILIKE`` and ``IN (...)``. Predicates take
``RegisteredModel.to_dict()`` / ``ModelVersion.to_dict()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from nbtrack import _search
from nbtrack.errors import InvalidParameter

Predicate = Callable[[dict[str, Any]], bool]

_CLAUSE_RE = re.compile(
    r"""^\s*(?P<key>tags\.`[^`]+`|tags\."[^"]+"|[A-Za-z_][\w.]*)\s*
    (?P<op>!=|=|\bI?LIKE\b|\bIN\b)\s*(?P<value>'[^']*'|"[^"]*"|-?\d+|\(.*\))\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_AND_RE = re.compile(r"\s+AND\s+(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)", re.IGNORECASE)
_MODEL_KEYS = {"name": "name"}
_VERSION_KEYS = {
    "name": "name",
    "run_id": "run_id",
    "source_path": "source",
    "source": "source",
    "version_number": "version",
    "version": "version",
}


def model_filter(filter_string: str | None) -> Predicate | None:
    """A predicate over ``RegisteredModel.to_dict()``; ``None`` matches everything."""
    compiled = getattr(_search, "compile_registered_model_filter", None)
    if compiled is not None:
        return compiled(filter_string)  # type: ignore[no-any-return]
    return _fallback(filter_string, _MODEL_KEYS)


def version_filter(filter_string: str | None) -> Predicate | None:
    """A predicate over ``ModelVersion.to_dict()``; ``None`` matches everything."""
    compiled = getattr(_search, "compile_model_version_filter", None)
    if compiled is not None:
        return compiled(filter_string)  # type: ignore[no-any-return]
    return _fallback(filter_string, _VERSION_KEYS)


def _literal(text: str) -> str:
    text = text.strip()
    if text[:1] in "'\"" and text[-1:] == text[:1] and len(text) >= 2:
        return text[1:-1]
    return text


def _like(pattern: str, flags: int) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("^" + "".join(parts) + "$", flags | re.DOTALL)


def _clause(text: str, keys: dict[str, str]) -> Predicate:
    match = _CLAUSE_RE.match(text)
    if match is None:
        raise InvalidParameter(
            f"Cannot parse filter clause {text.strip()!r}; write e.g. \"name = 'Churn'\" or \"tags.team LIKE 'ml%'\"."
        )
    key, op, raw = match["key"], match["op"].upper(), match["value"]
    if key.lower().startswith("tags."):
        tag = _literal(key[5:].strip("`"))

        def get(doc: dict[str, Any]) -> Any:
            return doc.get("tags", {}).get(tag)

    else:
        field = keys.get(key.lower())
        if field is None:
            raise InvalidParameter(f"Unknown filter key {key!r}; use one of {', '.join(sorted(keys))} or tags.<key>.")

        def get(doc: dict[str, Any]) -> Any:
            return doc.get(field)

    if op == "IN":
        inner = raw.strip()[1:-1]
        values = {_literal(x) for x in re.findall(r"'[^']*'|\"[^\"]*\"|[^,\s]+", inner)}
        return lambda doc: get(doc) is not None and str(get(doc)) in values
    value = _literal(raw)
    if op in ("LIKE", "ILIKE"):
        regex = _like(value, re.IGNORECASE if op == "ILIKE" else 0)
        return lambda doc: get(doc) is not None and regex.match(str(get(doc))) is not None
    if op == "=":
        return lambda doc: get(doc) is not None and str(get(doc)) == value
    return lambda doc: get(doc) is None or str(get(doc)) != value


def _fallback(filter_string: str | None, keys: dict[str, str]) -> Predicate | None:
    if filter_string is None or not str(filter_string).strip():
        return None
    if not isinstance(filter_string, str):
        raise InvalidParameter(f"filter_string must be a string, got {type(filter_string).__name__}.")
    clauses = [_clause(part, keys) for part in _AND_RE.split(filter_string.strip())]
    return lambda doc: all(c(doc) for c in clauses)


_ORDER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "name": lambda x: x.name,
    "version_number": lambda x: int(x.version),
    "creation_timestamp": lambda x: x.creation_timestamp,
    "last_updated_timestamp": lambda x: x.last_updated_timestamp,
    "timestamp": lambda x: x.last_updated_timestamp,
}
MODEL_ORDER_KEYS = ("name", "creation_timestamp", "last_updated_timestamp", "timestamp")
VERSION_ORDER_KEYS = (*MODEL_ORDER_KEYS, "version_number")


def order(
    items: list[Any], order_by: Sequence[str] | None, default: Sequence[str], allowed: Sequence[str]
) -> list[Any]:
    """Sort entities by ``order_by`` entries such as ``"name ASC"`` or ``"version_number DESC"``, then ``default``."""
    if isinstance(order_by, str):
        order_by = [order_by]
    out = list(items)
    for entry in reversed([*(order_by or []), *default]):
        words = str(entry).split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise InvalidParameter(
                f"Invalid order_by entry {entry!r}; write e.g. 'name ASC' or 'last_updated_timestamp DESC'."
            )
        key = words[0].lower().removeprefix("attributes.")
        if key not in allowed:
            raise InvalidParameter(f"Cannot order by {words[0]!r}; use one of {', '.join(allowed)}.")
        out.sort(key=_ORDER_FIELDS[key], reverse=len(words) == 2 and words[1].upper() == "DESC")
    return out
