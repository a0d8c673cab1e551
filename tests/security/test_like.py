"""LIKE / ILIKE match in linear time: hostile patterns over long values finish, and agree with SQL semantics."""

from __future__ import annotations

import random
import re

import pytest

import nbtrack
from nbtrack.query.parser import like_matcher


def _reference(pattern: str, value: str, ignore_case: bool) -> bool:
    """The backtracking translation the matcher replaced (fine on tiny inputs)."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch("".join(parts), value, flags) is not None


def test_matches_like_the_sql_semantics_on_random_patterns() -> None:
    rng = random.Random(19)
    for _ in range(20_000):
        pattern = "".join(rng.choice("ab%_A.") for _ in range(rng.randint(0, 7)))
        value = "".join(rng.choice("abA.\n") for _ in range(rng.randint(0, 9)))
        for ignore_case in (False, True):
            assert like_matcher(pattern, ignore_case)(value) == _reference(pattern, value, ignore_case), (
                pattern,
                value,
                ignore_case,
            )


HOSTILE = [
    "%a%a%a%b",
    "%a%a%a%a%a%a%a%a%a%a%a%a%b",
    "%" + "a%" * 200 + "b",
    "%a_a_a_a%a_a_a%b",
    "_" * 500 + "%b",
    "%" + "_%" * 300 + "b",
    "%%%%%%%%%%%%%%%%b",
    "%" + "a" * 1000 + "b%",
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pattern", HOSTILE)
def test_hostile_patterns_over_long_values_finish(pattern: str) -> None:
    # Values that make a backtracking matcher explore every split: long runs of the pattern's letters, no 'b'
    for value in ("a" * 100_000, "A" * 50_000 + "c", ("ab" * 20_000)[:-1]):
        for ignore_case in (False, True):
            assert like_matcher(pattern, ignore_case)(value) is False
    # and each one does match a long value that ends the way it asks
    assert like_matcher(pattern, False)("a" * 2000 + "b") is True


@pytest.mark.timeout(120)
def test_hostile_filter_over_a_store_of_long_tags() -> None:
    # Given 30 runs with a 700-character tag and a long cell-source tag
    with nbtrack.start_run(run_name="hit") as hit:
        nbtrack.set_tag("pad", "a" * 699 + "b")
    for i in range(30):
        with nbtrack.start_run(run_name=f"pad-{i}"):
            nbtrack.set_tag("pad", "a" * 700)
            nbtrack.set_tag("nbtrack.cell_source", "model fit train data " * 380)
    # When the filters that froze the server run, Then they answer, and correctly
    found = nbtrack.search_runs(filter_string="tags.pad LIKE '%a%a%a%b'", output_format="list")
    assert [r.info.run_id for r in found] == [hit.info.run_id]
    words = "tags.`nbtrack.cell_source` ILIKE '%model%fit%train%data%zzz%'"
    assert nbtrack.search_runs(filter_string=words, output_format="list") == []
    assert len(nbtrack.search_runs(filter_string="tags.pad LIKE '_%a%_'", output_format="list")) == 31


def test_non_string_values_never_match() -> None:
    assert like_matcher("%", False)(None) is False  # type: ignore[arg-type]
    assert like_matcher("1%", True)(1) is False  # type: ignore[arg-type]
