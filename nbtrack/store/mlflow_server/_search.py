"""nbtrack's search grammar over the server: push down what MLflow evaluates, finish on the client.

The server gets the top-level ``AND`` terms it understands the same way (params, tags,
run attributes, metric comparisons); a filter with ``OR`` or parentheses is evaluated
entirely here. Every row the server returns is checked again with nbtrack's own
predicate, and sorted with nbtrack's order, so the rows are those of the embedded store.
"""

from __future__ import annotations

from nbtrack.errors import NbtrackError
from nbtrack.query.parser import Source, tokenize

_PUSHABLE_ENTITIES = {"params", "param", "tags", "tag", "metrics", "metric"}
_PUSHABLE_ATTRIBUTES = {"status", "run_name", "user_id", "run_id"}
_STRING_OPS = {"=", "!=", "LIKE", "ILIKE"}
_NUMBER_OPS = {"=", "!=", ">", ">=", "<", "<="}


def server_filter(filter_string: str | None) -> str:
    """The part of ``filter_string`` that MLflow's server may evaluate ('' for none)."""
    if not filter_string or not filter_string.strip():
        return ""
    try:
        tokens = tokenize(Source(filter_string))
    except NbtrackError:
        return ""
    if any((t.kind == "word" and t.value in ("OR", "NOT", "IS", "IN")) or t.kind == "punct" for t in tokens):
        return ""
    terms: list[list[object]] = [[]]
    for t in tokens[:-1]:
        if t.kind == "word" and t.value == "AND":
            terms.append([])
        else:
            terms[-1].append(t)
    kept = []
    for term in terms:
        if len(term) != 3:
            continue
        key, op, value = term
        entity, name = key.value if key.kind == "key" else (None, None)  # type: ignore[attr-defined]
        op_text = op.value if op.kind == "word" else op.text  # type: ignore[attr-defined]
        if entity in ("metrics", "metric"):
            ok = op_text in _NUMBER_OPS and value.kind == "num"  # type: ignore[attr-defined]
        elif entity in _PUSHABLE_ENTITIES:
            ok = op_text in _STRING_OPS and value.kind == "str"  # type: ignore[attr-defined]
        elif entity in ("attributes", "attribute", "attr", "run") and name in _PUSHABLE_ATTRIBUTES:
            ok = op_text in {"=", "!="} and value.kind == "str"  # type: ignore[attr-defined]
        else:
            ok = False
        if ok:
            start = key.pos  # type: ignore[attr-defined]
            end = value.pos + len(value.text)  # type: ignore[attr-defined]
            kept.append(filter_string[start:end])
    return " and ".join(kept)
