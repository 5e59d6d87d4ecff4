"""Shared reader helpers: token counts, the inclusive-input rule, JSON text cells, tags."""

from __future__ import annotations

import pytest

from costaudit.ingest.formats.common import (
    MAX_TOKENS,
    included_input,
    joined_tags,
    json_value,
    token_count,
)
from costaudit.ingest.problems import BadRecord


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), ("12", 12), (" +12 ", 12), (12.0, 12), ("12.0", 12), ("1e3", 1000), (0, 0)],
)
def test_token_counts_in_any_numeric_spelling(value: object, expected: int) -> None:
    assert token_count(value, "tokens") == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "negative tokens"),
        ("-3", "negative tokens"),
        (-2.0, "negative tokens"),
        ("-" + "9" * 5000, "negative tokens"),
        (12.5, "tokens is not a whole number of tokens"),
        ("twelve", "tokens is not a whole number of tokens"),
        ("²", "tokens is not a whole number of tokens"),
        (True, "tokens is not a whole number of tokens"),
        (None, "tokens is not a whole number of tokens"),
        ([1], "tokens is not a whole number of tokens"),
        (float("nan"), "tokens is not a whole number of tokens"),
        (float("inf"), "tokens is not a whole number of tokens"),
        (MAX_TOKENS + 1, "implausible tokens"),
        ("9" * 5000, "implausible tokens"),
        (1e300, "implausible tokens"),
    ],
)
def test_unusable_token_counts(value: object, reason: str) -> None:
    with pytest.raises(BadRecord) as raised:
        token_count(value, "tokens")
    assert raised.value.reason.startswith(reason)


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
