"""Bad filters raise InvalidParameter quoting the filter and pointing at the offending token."""

from __future__ import annotations

import pytest

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.query.search import compile_experiment_filter, compile_run_filter


def _error(filter_string: str) -> str:
    with pytest.raises(InvalidParameter) as err:
        compile_run_filter(filter_string)
    return str(err.value)


def test_message_has_position_reason_line_and_caret() -> None:
    message = _error("metrics.acc foo 3")
    assert message == (
        "Invalid filter 'metrics.acc foo 3' at position 12: expected a comparator after 'metrics.acc', got 'foo'\n"
        "  metrics.acc foo 3\n"
        "              ^"
    )


@pytest.mark.parametrize(
    ("filter_string", "offender", "reason"),
    [
        # unknown entity prefix
        ("metrix.acc > 1", "metrix.acc", "unknown entity 'metrix'"),
        ("params.p = 'a' and foo.bar = 'b'", "foo.bar", "unknown entity 'foo'"),
        ("colour = 'red'", "colour", "unknown attribute 'colour'"),
        ("datasets.size = '3'", "datasets.size", "unknown dataset key 'size'"),
        # missing value
        ("metrics.acc >", "", "expected a value after '>', got end of input"),
        ("metrics.acc > and params.p = 'a'", "and", "expected a value after '>'"),
        ("run_id IN ()", ")", "expected a value after '('"),
        # missing comparator or key
        ("metrics.acc", "", "expected a comparator after 'metrics.acc', got end of input"),
        ("metrics.acc > 1 and", "", "expected a key such as metrics.acc, got end of input"),
        ("and metrics.acc > 1", "and", "expected a key"),
        ("metrics. > 1", " > 1", "expected a key after 'metrics.'"),
        ("params.p IS 'x'", "'x'", "expected NULL after IS"),
        # unclosed quote or parenthesis
        ("params.p = 'abc", "'abc", "unclosed ' quote"),
        ('params.p = "abc', '"abc', 'unclosed " quote'),
        ("metrics.`f1 score > 1", "`f1", "unclosed ` quote"),
        ("(metrics.acc > 1 or params.p = 'a'", "(metrics", "unclosed '('"),
        ("run_id IN ('a', 'b'", "('a'", "unclosed '('"),
        ("metrics.acc > 1)", ")", "expected AND, OR or the end after '1', got ')'"),
        ("(metrics.acc > 1 params.p = 'a')", "params.p", "expected ')', AND or OR"),
        # bad comparator for the type
        ("params.p > 'a'", "> 'a'", "params.p (string) does not support >"),
        ("tags.t <= 'a'", "<= 'a'", "tags.t (string) does not support <="),
        ("metrics.acc LIKE '1%'", "LIKE", "metrics.acc (number) does not support LIKE"),
        ("metrics.acc IN (1)", "IN", "metrics.acc (number) does not support IN"),
        ("start_time ILIKE '1%'", "ILIKE", "attributes.start_time (number) does not support ILIKE"),
        ("status > 'A'", "> 'A'", "attributes.status (string) does not support >"),
        ("datasets.name IS NULL", "IS NULL", "datasets.name (string) does not support IS NULL"),
        ("metrics.acc == 1", "= 1", "expected a value after '=', got '='"),
        # non-numeric value for a metric, unquoted value for a string
        ("metrics.acc > 'high'", "'high'", "expected a number for metrics.acc, got 'high'"),
        ("metrics.acc > high", "high", "expected a number for metrics.acc, got 'high'"),
        ("start_time > '2024'", "'2024'", "expected a number for attributes.start_time"),
        ("params.lr = 0.1", "0.1", "expected a quoted string for params.lr, got '0.1' (write '0.1')"),
        ("run_id IN (1, 2)", "1, 2", "expected a quoted string for attributes.run_id"),
        ("metrics.acc > 1e", "1e", "malformed number '1e'"),
        # stray characters and missing connectives
        ("metrics.acc > 1 ; drop", "; drop", "unexpected character ';'"),
        ("metrics.acc > 1 params.p = 'a'", "params.p", "expected AND, OR or the end after '1', got 'params.p'"),
        ("metrics.acc > 1 && params.p = 'a'", "&&", "unexpected character '&'"),
    ],
)
def test_bad_filter_points_at_offending_token(filter_string: str, offender: str, reason: str) -> None:
    message = _error(filter_string)
    position = filter_string.index(offender) if offender else len(filter_string)
    head, line, caret = message.split("\n")
    assert head.startswith(f"Invalid filter {filter_string!r} at position {position}: ")
    assert reason in head
    assert line == "  " + filter_string
    assert caret == "  " + " " * position + "^"


def test_caret_line_shows_the_offending_line_of_a_multiline_filter() -> None:
    filter_string = "metrics.acc > 0.5\nand params.p < 'x'"
    message = _error(filter_string)
    assert "at position 31:" in message
    assert message.endswith("\n  and params.p < 'x'\n               ^")


def test_filter_errors_are_nbtrack_errors_with_http_400() -> None:
    with pytest.raises(NbtrackError) as err:
        compile_run_filter("metrics.acc >")
    assert err.value.http_status == 400
    assert isinstance(err.value, ValueError)


def test_experiment_filter_rejects_run_only_keys() -> None:
    with pytest.raises(InvalidParameter, match=r"at position 0: unknown entity 'metrics'"):
        compile_experiment_filter("metrics.acc > 1")
    with pytest.raises(InvalidParameter, match=r"unknown attribute 'status'"):
        compile_experiment_filter("status = 'x'")


def test_deeply_nested_parentheses_are_refused_cleanly() -> None:
    depth = 51
    with pytest.raises(InvalidParameter, match=f"at position {depth - 1}: parentheses nest deeper than 50 levels"):
        compile_run_filter("(" * depth + "metrics.acc > 1" + ")" * depth)
    predicate = compile_run_filter("(" * 50 + "metrics.acc > 1" + ")" * 50)
    assert predicate is not None
    assert predicate({"metrics": {"acc": 2.0}})
