"""``search_runs`` filters evaluated over the runs table's columns, a numpy mask per comparison.

The filter is first compiled by :func:`nbtrack._search.compile_run_filter`, which
reports every error; this module then re-reads the same tokens and, for the
keys columns hold (metrics, params, tags, text and time attributes), builds a
vectorised test with the same meaning (missing values never match, NaN as in
Python). Text tests run once per distinct value, not once per run. Anything
else (datasets, ``tags.mlflow.runName``'s fallback to the run name) returns
``None`` and the caller filters documents instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from nbtrack.query.parser import Source, Token, like_matcher, tokenize
from nbtrack.store._columns import MISSING, Numbers, RunColumns, Strings

Mask = Callable[[RunColumns, np.ndarray], np.ndarray]

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_TEXT_ATTRIBUTES = ("run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage")
_TIME_ATTRIBUTES = ("start_time", "end_time")
_ALIASES = {"run name": "run_name", "created": "start_time"}
_NUMERIC: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class _Unsupported(Exception):
    """The filter uses something the columns cannot answer."""


def compile_mask(filter_string: str) -> Mask | None:
    """A function ``mask(columns, rows)`` for an already validated filter, or ``None`` if unsupported."""
    try:
        parser = _Parser(tokenize(Source(filter_string)))
        mask = parser.expr()
        if parser.tok.kind != "end":
            return None
        return mask
    except (_Unsupported, IndexError, ValueError):
        return None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.value in words

    def expr(self) -> Mask:
        parts = [self.conj()]
        while self.word("OR"):
            self.advance()
            parts.append(self.conj())
        if len(parts) == 1:
            return parts[0]

        def any_of(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
            out = parts[0](columns, rows)
            for part in parts[1:]:
                out = out | part(columns, rows)
            return out

        return any_of

    def conj(self) -> Mask:
        parts = [self.atom()]
        while self.word("AND"):
            self.advance()
            parts.append(self.atom())
        if len(parts) == 1:
            return parts[0]

        def all_of(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
            out = parts[0](columns, rows)
            for part in parts[1:]:
                out = out & part(columns, rows)
            return out

        return all_of

    def atom(self) -> Mask:
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.advance()
            inner = self.expr()
            if self.advance().text != ")":
                raise _Unsupported
            return inner
        return self.comparison()

    def comparison(self) -> Mask:
        key = self.advance()
        if key.kind != "key":
            raise _Unsupported
        entity, name = key.value
        group = "attributes" if entity is None else _ENTITIES.get(entity.lower())
        if group is None:
            raise _Unsupported
        op = self.comparator()
        if op in ("IN", "NOT IN"):
            target: Any = self.values()
        elif op in ("IS NULL", "IS NOT NULL"):
            target = None
        else:
            target = self.advance().value
        if group == "attributes":
            name = _ALIASES.get(name.lower(), name)
            if name in _TIME_ATTRIBUTES:
                return _time_test(name, op, target)
            if name in _TEXT_ATTRIBUTES:
                return _text_test(lambda columns: columns.text[name], op, target)
            raise _Unsupported
        if group == "metrics":
            return _metric_test(name, op, target)
        if group == "tags" and name == "mlflow.runName":
            raise _Unsupported  # falls back to the run name: documents decide
        return _text_test(lambda columns: columns.fields[group].get(name), op, target)

    def comparator(self) -> str:
        token = self.advance()
        if token.kind == "op":
            return token.text
        if token.value in ("LIKE", "ILIKE", "IN"):
            return str(token.value)
        if token.value == "NOT":
            self.advance()
            return "NOT IN"
        if token.value == "IS":
            negated = self.word("NOT")
            if negated:
                self.advance()
            self.advance()
            return "IS NOT NULL" if negated else "IS NULL"
        raise _Unsupported

    def values(self) -> list[Any]:
        self.advance()  # (
        out = [self.advance().value]
        while self.tok.text == ",":
            self.advance()
            out.append(self.advance().value)
        self.advance()  # )
        return out


def _text_test(pick: Callable[[RunColumns], Strings | None], op: str, target: Any) -> Mask:
    if op == "IS NULL" or op == "IS NOT NULL":
        null = op == "IS NULL"

        def nullness(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
            column = pick(columns)
            if column is None:
                return np.full(len(rows), null)
            missing: np.ndarray = column.codes[rows] < 0
            return missing if null else ~missing

        return nullness
    if op == "=":
        test: Callable[[str], bool] = target.__eq__
    elif op == "!=":
        test = target.__ne__
    elif op in ("LIKE", "ILIKE"):
        test = like_matcher(target, op == "ILIKE")
    elif op == "IN":
        test = frozenset(target).__contains__
    elif op == "NOT IN":
        members = frozenset(target)
        test = lambda v: v not in members  # noqa: E731
    else:
        raise _Unsupported

    def compare(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
        column = pick(columns)
        if column is None:
            return np.zeros(len(rows), dtype=bool)
        table = np.fromiter((bool(test(v)) for v in column.values), dtype=bool, count=len(column.values))
        table = np.append(table, False)  # code -1: the run lacks the key
        out: np.ndarray = table[column.codes[rows]]
        return out

    return compare


def _metric_test(key: str, op: str, target: Any) -> Mask:
    def compare(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
        column: Numbers | None = columns.fields["metrics"].get(key)
        if column is None:
            return np.full(len(rows), op == "IS NULL")
        present: np.ndarray = column.present[rows]
        if op == "IS NULL":
            return ~present
        if op == "IS NOT NULL":
            return present
        with np.errstate(invalid="ignore"):
            out: np.ndarray = present & _NUMERIC[op](column.values[rows], target)
        return out

    if op not in _NUMERIC and op not in ("IS NULL", "IS NOT NULL"):
        raise _Unsupported
    return compare


def _time_test(name: str, op: str, target: Any) -> Mask:
    if op not in _NUMERIC:
        raise _Unsupported

    def compare(columns: RunColumns, rows: np.ndarray) -> np.ndarray:
        values = columns.ints[name][rows]
        out: np.ndarray = (values != MISSING) & _NUMERIC[op](values, target)
        return out

    return compare
