"""Tokenizer and recursive-descent parser of nbtrack's search language.

The language is MLflow's filter grammar (``metrics.acc > 0.9 and params.model = 'rf'``) plus ``OR`` and
parentheses, with ``AND`` binding tighter than ``OR``. Parsing produces plain closures over dicts, so a
filter is compiled once and then costs a few attribute look-ups per document.

What a key means (its type, how to read it from a document, which comparators it accepts) is not known
here: the caller passes a *schema*, a function from ``(entity, key)`` to a :class:`Field`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from nbtrack.errors import InvalidParameter

Predicate = Callable[[dict[str, Any]], bool]

NUMBER = "number"
STRING = "string"

EQUALITY = frozenset({"=", "!="})
ORDERING = frozenset({"=", "!=", ">", ">=", "<", "<="})
PATTERN = frozenset({"LIKE", "ILIKE"})
MEMBERSHIP = frozenset({"IN", "NOT IN"})
NULLNESS = frozenset({"IS NULL", "IS NOT NULL"})

MAX_NESTING = 50

_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "ASC", "DESC"})
# ``value > target`` is ``target < value``: binding the target first keeps each test a C call.
_FLIPPED: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.lt,
    ">=": operator.le,
    "<": operator.gt,
    "<=": operator.ge,
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op>>=|<=|!=|=|>|<)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][\w]*)
  | (?P<quote>['"`])
    """,
    re.VERBOSE,
)
_NUMBER_TAIL = re.compile(r"[\w.]+")
_BARE_KEY = re.compile(r"[\w.\-/:]+")


@dataclass(frozen=True)
class Token:
    """One lexical unit: ``kind`` is num, op, punct, word, str, key or end."""

    kind: str
    text: str
    pos: int
    value: Any = None  # str for str tokens, float for num, (entity | None, key) for key tokens


@dataclass(frozen=True)
class Field:
    """What a key of the language means for one kind of document.

    Parameters
    ----------
    label : str
        How the key is named in error messages, e.g. ``metrics.acc``.
    kind : str
        ``"number"`` or ``"string"``: the literal type values are compared with.
    get : callable
        Reads the value from a document; ``None`` when absent. Returns a list of values when ``many``.
    comparators : frozenset of str
        The comparators the key accepts.
    many : bool
        The document holds several values (e.g. datasets); the comparison holds if any value matches.
    """

    label: str
    kind: str
    get: Callable[[dict[str, Any]], Any]
    comparators: frozenset[str]
    many: bool = False


Schema = Callable[[str | None, str, Token, "Source"], Field]


class Source:
    """The text being parsed; turns a position and a reason into an :class:`InvalidParameter`."""

    def __init__(self, text: str, what: str = "filter") -> None:
        self.text = text
        self.what = what

    def error(self, pos: int, reason: str) -> InvalidParameter:
        """Build the error for ``reason`` at character ``pos``, with the offending line and a caret."""
        start = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        line = self.text[start : end if end >= 0 else len(self.text)]
        caret = " " * (pos - start) + "^"
        return InvalidParameter(f"Invalid {self.what} {self.text!r} at position {pos}: {reason}\n  {line}\n  {caret}")


def describe(token: Token) -> str:
    """How a token is quoted in error messages."""
    if token.kind == "end":
        return "end of input"
    return token.text if token.kind == "str" else repr(token.text)


def _read_quoted(src: Source, pos: int) -> tuple[str, int]:
    """Read a quoted string starting at ``pos``; a doubled quote stands for itself."""
    quote, text, out, i = src.text[pos], src.text, [], pos + 1
    while True:
        j = text.find(quote, i)
        if j < 0:
            raise src.error(pos, f"unclosed {quote} quote: add the closing {quote}")
        out.append(text[i:j])
        if text.startswith(quote, j + 1):
            out.append(quote)
            i = j + 2
            continue
        return "".join(out), j + 1


def tokenize(src: Source) -> list[Token]:
    """Split ``src`` into tokens, ending with an ``end`` token."""
    text, pos, tokens = src.text, 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise src.error(pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        if kind == "ws":
            pos = m.end()
        elif kind == "num":
            tail = _NUMBER_TAIL.match(text, m.end())
            if tail is not None:
                raise src.error(pos, f"malformed number {text[pos : tail.end()]!r}")
            tokens.append(Token("num", m.group(), pos, float(m.group())))
            pos = m.end()
        elif kind in ("op", "punct"):
            tokens.append(Token(str(kind), m.group(), pos))
            pos = m.end()
        elif kind == "quote" and text[pos] == "`":
            key, end = _read_quoted(src, pos)
            tokens.append(Token("key", text[pos:end], pos, (None, key)))
            pos = end
        elif kind == "quote":
            value, end = _read_quoted(src, pos)
            tokens.append(Token("str", text[pos:end], pos, value))
            pos = end
        else:
            word, end = m.group(), m.end()
            if end < len(text) and text[end] == ".":
                key, end = _read_key(src, word, end + 1)
                tokens.append(Token("key", text[pos:end], pos, (word, key)))
            elif word.upper() in _KEYWORDS:
                tokens.append(Token("word", word, pos, word.upper()))
            else:
                tokens.append(Token("key", word, pos, (None, word)))
            pos = end
    tokens.append(Token("end", "", len(text)))
    return tokens


def _read_key(src: Source, entity: str, pos: int) -> tuple[str, int]:
    """Read the key after ``entity.``: backtick- or double-quoted, or bare (letters, digits, ``_.-/:``)."""
    if pos < len(src.text) and src.text[pos] in '`"':
        return _read_quoted(src, pos)
    m = _BARE_KEY.match(src.text, pos)
    if m is None:
        raise src.error(pos, f"expected a key after '{entity}.' (quote keys with spaces in backticks)")
    return m.group(), m.end()


def like_matcher(pattern: str, ignore_case: bool) -> Callable[[str], bool]:
    """A SQL LIKE matcher: ``%`` is any run of characters, ``_`` any one character.

    Matching takes time linear in the value's length whatever the pattern (no backtracking): a pattern without
    ``_`` is matched by its ``%``-separated pieces, each found once, leftmost first, with ``str.find``; a pattern
    with ``_`` runs a bit-parallel automaton (one big-integer step per character of the value).

    Parameters
    ----------
    pattern : str
        The LIKE pattern.
    ignore_case : bool
        ``True`` for ILIKE (both sides compared lower-cased).

    Returns
    -------
    callable
        ``matcher(value) -> bool``; non-string values never match.
    """
    if ignore_case:
        pattern = pattern.lower()
    while "%%" in pattern:
        pattern = pattern.replace("%%", "%")
    match = _pieces_matcher(pattern) if "_" not in pattern else _automaton_matcher(pattern)
    if ignore_case:
        return lambda value: isinstance(value, str) and match(value.lower())
    return lambda value: isinstance(value, str) and match(value)


def _pieces_matcher(pattern: str) -> Callable[[str], bool]:
    """Matcher of a pattern made of literals and ``%`` only: greedy leftmost search of each piece."""
    pieces = pattern.split("%")
    if len(pieces) == 1:
        return lambda value: value == pattern
    head, middle, tail = pieces[0], pieces[1:-1], pieces[-1]
    least = sum(len(p) for p in pieces)

    def match(value: str) -> bool:
        if len(value) < least or not value.startswith(head) or not value.endswith(tail):
            return False
        pos, end = len(head), len(value) - len(tail)
        for piece in middle:
            found = value.find(piece, pos, end)
            if found < 0:
                return False
            pos = found + len(piece)
        return True

    return match


def _automaton_matcher(pattern: str) -> Callable[[str], bool]:
    """Matcher of any pattern: the pattern's positions as bits of an integer, advanced once per character.

    Bit ``i`` set means "the value read so far matches the pattern's first ``i`` tokens". On a character ``c``,
    every position whose token is ``c`` or ``_`` moves one bit up, and every ``%`` position stays; a ``%`` also
    lets its position skip ahead without reading (no two ``%`` are adjacent, so one step of that closure is enough).
    """
    tokens = list(pattern)
    any_char = 0
    percent = 0
    literal: dict[str, int] = {}
    for i, token in enumerate(tokens):
        bit = 1 << i
        if token == "%":
            percent |= bit
        elif token == "_":
            any_char |= bit
        else:
            literal[token] = literal.get(token, 0) | bit
    accept = 1 << len(tokens)
    start = 1 | ((1 & percent) << 1)

    def match(value: str) -> bool:
        state = start
        get = literal.get
        for ch in value:
            state = ((state & (get(ch, 0) | any_char)) << 1) | (state & percent)
            if not state:
                return False
            state |= (state & percent) << 1
        return bool(state & accept)

    return match


class Parser:
    """Recursive-descent parser: ``expr := conj (OR conj)*``, ``conj := atom (AND atom)*``."""

    def __init__(self, src: Source, schema: Schema) -> None:
        self.src = src
        self.schema = schema
        self.tokens = tokenize(src)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.value in words

    def parse(self) -> Predicate:
        """Parse the whole filter."""
        pred = self.expr()
        if self.tok.kind != "end":
            after = self.tokens[self.i - 1].text
            raise self.src.error(self.tok.pos, f"expected AND, OR or the end after {after!r}, got {describe(self.tok)}")
        return pred

    def expr(self) -> Predicate:
        preds = [self.conj()]
        while self.at_word("OR"):
            self.advance()
            preds.append(self.conj())
        return preds[0] if len(preds) == 1 else _any_of(preds)

    def conj(self) -> Predicate:
        preds = [self.atom()]
        while self.at_word("AND"):
            self.advance()
            preds.append(self.atom())
        return preds[0] if len(preds) == 1 else _all_of(preds)

    def atom(self) -> Predicate:
        if self.tok.text == "(" and self.tok.kind == "punct":
            opening = self.advance()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.src.error(opening.pos, f"parentheses nest deeper than {MAX_NESTING} levels")
            pred = self.expr()
            self.depth -= 1
            if self.tok.text != ")":
                if self.tok.kind == "end":
                    raise self.src.error(opening.pos, "unclosed '(': add the matching ')'")
                raise self.src.error(self.tok.pos, f"expected ')', AND or OR, got {describe(self.tok)}")
            self.advance()
            return pred
        return self.comparison()

    def key_field(self) -> tuple[Token, Field]:
        """Read a key token and resolve it through the schema."""
        token = self.advance()
        if token.kind != "key":
            raise self.src.error(token.pos, f"expected a key such as metrics.acc, got {describe(token)}")
        entity, key = token.value
        return token, self.schema(entity, key, token, self.src)

    def comparator(self, key: Token) -> tuple[Token, str]:
        """Read a comparator: a symbol, LIKE, ILIKE, [NOT] IN or IS [NOT] NULL."""
        token = self.advance()
        if token.kind == "op":
            return token, token.text
        word = token.value if token.kind == "word" else None
        if word in ("LIKE", "ILIKE", "IN"):
            return token, str(word)
        if word == "NOT" and self.at_word("IN"):
            self.advance()
            return token, "NOT IN"
        if word == "IS":
            negated = self.at_word("NOT")
            if negated:
                self.advance()
            if not self.at_word("NULL"):
                raise self.src.error(self.tok.pos, f"expected NULL after IS, got {describe(self.tok)}")
            self.advance()
            return token, "IS NOT NULL" if negated else "IS NULL"
        raise self.src.error(token.pos, f"expected a comparator after {key.text!r}, got {describe(token)}")

    def comparison(self) -> Predicate:
        key, field = self.key_field()
        op_token, op = self.comparator(key)
        if op not in field.comparators:
            allowed = ", ".join(c for c in _ORDER if c in field.comparators)
            raise self.src.error(
                op_token.pos, f"{field.label} ({field.kind}) does not support {op}; use one of: {allowed}"
            )
        if op in NULLNESS:
            return _null_test(field, op == "IS NULL")
        if op in MEMBERSHIP:
            return _membership(field, self.value_list(field, op_token), op == "IN")
        value = self.value(field, op_token)
        if op in PATTERN:
            return _compare(field, like_matcher(value, op == "ILIKE"))
        return _compare(field, partial(_FLIPPED[op], value))

    def value(self, field: Field, after: Token) -> Any:
        """Read one literal of the field's type."""
        token = self.advance()
        if token.kind not in ("num", "str", "key"):
            raise self.src.error(token.pos, f"expected a value after {after.text!r}, got {describe(token)}")
        if field.kind == NUMBER:
            if token.kind != "num":
                raise self.src.error(token.pos, f"expected a number for {field.label}, got {describe(token)}")
            return token.value
        if token.kind != "str":
            hint = f" (write '{token.text}')" if token.kind in ("num", "key") else ""
            raise self.src.error(token.pos, f"expected a quoted string for {field.label}, got {describe(token)}{hint}")
        return token.value

    def value_list(self, field: Field, after: Token) -> list[Any]:
        """Read ``( v1, v2, ... )``."""
        opening = self.tok
        if opening.text != "(" or opening.kind != "punct":
            raise self.src.error(opening.pos, f"expected '(' after {after.text}, got {describe(opening)}")
        self.advance()
        values = [self.value(field, opening)]
        while self.tok.text == ",":
            comma = self.advance()
            values.append(self.value(field, comma))
        if self.tok.text != ")":
            if self.tok.kind == "end":
                raise self.src.error(opening.pos, "unclosed '(': add the matching ')'")
            raise self.src.error(self.tok.pos, f"expected ',' or ')' in the list, got {describe(self.tok)}")
        self.advance()
        return values


_ORDER = ("=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")


def _all_of(preds: Sequence[Predicate]) -> Predicate:
    if len(preds) == 2:
        a, b = preds
        return lambda doc: a(doc) and b(doc)

    def all_of(doc: dict[str, Any]) -> bool:
        return all(p(doc) for p in preds)

    return all_of


def _any_of(preds: Sequence[Predicate]) -> Predicate:
    if len(preds) == 2:
        a, b = preds
        return lambda doc: a(doc) or b(doc)

    def any_of(doc: dict[str, Any]) -> bool:
        return any(p(doc) for p in preds)

    return any_of


def _compare(field: Field, test: Callable[[Any], bool]) -> Predicate:
    """A predicate applying ``test`` to the field's value; absent values never match."""
    get = field.get
    if field.many:

        def compare_any(doc: dict[str, Any]) -> bool:
            for value in get(doc):  # noqa: SIM110 - a plain loop skips a generator per document
                if value is not None and test(value):
                    return True
            return False

        return compare_any

    def compare(doc: dict[str, Any]) -> bool:
        value = get(doc)
        return value is not None and test(value)

    return compare


def _membership(field: Field, values: list[Any], inside: bool) -> Predicate:
    members = frozenset(values)
    return _compare(field, members.__contains__ if inside else (lambda v: v not in members))


def _null_test(field: Field, is_null: bool) -> Predicate:
    get = field.get
    if is_null:
        return lambda doc: get(doc) is None
    return lambda doc: get(doc) is not None


def parse_order_clause(clause: str, schema: Schema) -> tuple[Field, bool]:
    """Parse one order-by clause ``<key> [ASC|DESC]``; returns the field and whether it is ascending."""
    if not isinstance(clause, str):
        raise InvalidParameter(f"Invalid order_by clause {clause!r}: expected a string such as 'metrics.acc DESC'.")
    parser = Parser(Source(clause, "order_by clause"), schema)
    _, field = parser.key_field()
    ascending = True
    if parser.at_word("ASC", "DESC"):
        ascending = parser.advance().value == "ASC"
    if parser.tok.kind != "end":
        raise parser.src.error(parser.tok.pos, f"expected ASC, DESC or the end, got {describe(parser.tok)}")
    return field, ascending
