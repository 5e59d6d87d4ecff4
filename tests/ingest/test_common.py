"""Shared reader helpers: token counts, the inclusive-input rule, JSON text cells, tags."""

from __future__ import annotations

import pytest

from costaudit.ingest.formats.common import (
    included_input,
    joined_tags,
    json_value,
    optional_count,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft
from costaudit.ingest.validation import COUNT_LIMIT, MAX_TOKENS


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), ("12", 12), (" +12 ", 12), (12.0, 12), ("12.0", 12), ("1e3", 1000), (0, 0)],
)
def test_token_counts_in_any_numeric_spelling(value: object, expected: int) -> None:
    draft = Draft()
    assert token_count(draft, value, "tokens") == expected
    assert draft.read_counts == ["tokens", expected]


@pytest.mark.parametrize(
    "value",
    [12.5, "twelve", "²", True, None, [1], float("nan"), float("inf")],
)
def test_what_is_not_a_whole_number_is_refused_while_reading(value: object) -> None:
    draft = Draft()
    with pytest.raises(BadRecord) as raised:
        token_count(draft, value, "usage.prompt_tokens")
    assert raised.value.reason == "usage.prompt_tokens is not a whole number of tokens"
    assert draft.read_counts == []


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (-1, -1),
        ("-3", -3),
        (-2.0, -2),
        ("-" + "9" * 5000, -COUNT_LIMIT),
        (MAX_TOKENS + 1, MAX_TOKENS + 1),
        ("9" * 5000, COUNT_LIMIT),
        (1e300, COUNT_LIMIT),
        (2**70, COUNT_LIMIT),
    ],
)
def test_counts_out_of_range_are_read_clipped_and_left_to_the_validator(
    value: object, kept: int
) -> None:
    """Range is judged by the validator (tests/ingest/test_validation.py), not while reading; the
    count is kept within ±COUNT_LIMIT so that sums of counts cannot wrap."""
    draft = Draft()
    assert token_count(draft, value, "tokens") == kept
    assert draft.read_counts == ["tokens", kept]


def test_optional_counts_read_nothing_when_absent_or_null() -> None:
    draft = Draft()
    assert optional_count(draft, {"a": None}, "a", "a") == 0
    assert optional_count(draft, None, "a", "a") == 0
    assert optional_count(draft, {}, "a", "a") == 0
    assert draft.read_counts == []
    assert optional_count(draft, {"a": "7"}, "a", "field a") == 7
    assert draft.read_counts == ["field a", 7]


@pytest.mark.parametrize(
    ("reported", "read", "write", "total"),
    [
        (1200, 1024, 0, 1200),  # inclusive, as the conventions say
        (3000, 0, 1000, 3000),
        (7, 16399, 2089, 18495),  # Anthropic's exclusive count passed through
        (18000, 16399, 2089, 20089),  # reads folded in, writes not
        (0, 0, 0, 0),
    ],
)
def test_included_input(reported: int, read: int, write: int, total: int) -> None:
    assert included_input(reported, read, write) == total


def test_json_text_cells() -> None:
    assert json_value('{"a": 1}', "f") == {"a": 1}
    assert json_value({"a": 1}, "f") == {"a": 1}
    assert json_value("  ", "f") is None
    with pytest.raises(BadRecord, match="`f` is not valid JSON"):
        json_value("{oops", "f")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["b", "a", "b"], "a,b"),
        ('["x", "y"]', "x,y"),
        ("solo", "solo"),
        ("[not json", "[not json"),
        ([], None),
        ({"a": 1}, None),
        (None, None),
    ],
)
def test_tags_become_one_group_value(value: object, expected: str | None) -> None:
    assert joined_tags(value) == expected
