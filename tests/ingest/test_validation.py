"""The one validator: every rule, the order in which rules give a row its reason, and the same
judgement whether counts arrive as drafts (record path) or as columns (columnar path)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from costaudit.errors import InputError
from costaudit.ingest.problems import Problems
from costaudit.ingest.table import Draft, TableBuilder, draft_counts
from costaudit.ingest.validation import (
    COUNT_LIMIT,
    MAX_TOKENS,
    Counts,
    ReadCounts,
    judge,
)


def draft(*read: tuple[str, int], **fields: Any) -> Draft:
    made = Draft(model="gpt-4o", **{"input_tokens": 10, "output_tokens": 2, **fields})
    for name, value in read:
        made.read_counts += [name, value]
    return made


def reasons(*drafts: Draft) -> list[str | None]:
    verdict = judge(draft_counts(drafts))
    return [verdict.reasons[code] if code >= 0 else None for code in verdict.reason.tolist()]


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (draft(("usage.prompt_tokens", -1)), "negative usage.prompt_tokens"),
        (
            draft(("usage.prompt_tokens", MAX_TOKENS + 1)),
            "implausible usage.prompt_tokens (more than 1,000,000,000,000 tokens)",
        ),
        (draft(("usage.prompt_tokens", MAX_TOKENS)), None),
        (draft(input_tokens=-5), "negative input tokens"),
        (draft(reasoning_tokens=-1, output_tokens=0), "negative reasoning tokens"),
        (
            draft(input_tokens=10, cached_input_tokens=6, cache_write_tokens=5),
            "cached plus cache-write tokens exceed input tokens",
        ),
        (draft(input_tokens=10, cached_input_tokens=6, cache_write_tokens=4), None),
        (
            draft(cache_write_tokens=3, cache_write_1h_tokens=4, input_tokens=10),
            "1-hour cache-write tokens exceed cache-write tokens",
        ),
        (draft(output_tokens=2, reasoning_tokens=3), "reasoning tokens exceed output tokens"),
        (draft(input_tokens=None), "no token usage and no prompt to count"),
        (draft(input_tokens=None, messages=[("user", "hi", None)]), None),
        (draft(output_tokens=None, reasoning_tokens=3), None),
        (draft(input_tokens=None, cached_input_tokens=5), "no token usage and no prompt to count"),
    ],
)
def test_each_rule(made: Draft, reason: str | None) -> None:
    assert reasons(made) == [reason]


def test_a_row_gets_the_first_reason_in_rule_order_and_reading_order() -> None:
    both_read = draft(("b", 5), ("a", -1), ("c", MAX_TOKENS + 9))
    read_and_consistency = draft(("x", -2), cached_input_tokens=50)
    consistency_and_missing = draft(input_tokens=None, cache_write_1h_tokens=1)
    assert reasons(both_read, read_and_consistency, consistency_and_missing) == [
        "negative a",
        "negative x",
        "1-hour cache-write tokens exceed cache-write tokens",
    ]


def test_rows_are_judged_independently_whatever_their_neighbours() -> None:
    rows = [draft(("n", index - 2)) for index in range(5)]
    assert reasons(*rows) == ["negative n", "negative n", None, None, None]


def test_huge_counts_cannot_wrap_into_valid_ones() -> None:
    """Counts are clipped before any sum: two implausible cache counts never add up to a small
    (wrapped) number that would pass the consistency rule."""
    near = 2**62
    made = draft(input_tokens=10, cached_input_tokens=near, cache_write_tokens=near)
    assert reasons(made) == ["cached plus cache-write tokens exceed input tokens"]
    assert COUNT_LIMIT == MAX_TOKENS + 1


def test_columns_and_drafts_get_the_same_verdict() -> None:
    drafts = [
        draft(("usage.prompt_tokens", 10), ("usage.completion_tokens", 2)),
        draft(("usage.prompt_tokens", -3), ("usage.completion_tokens", 2), input_tokens=-3),
        draft(("usage.prompt_tokens", 10), ("usage.completion_tokens", 2), reasoning_tokens=9),
    ]
    names = ["usage.prompt_tokens", "usage.completion_tokens"]
    columns = Counts(
        tokens={
            "input_tokens": np.array([10, -3, 10]),
            "cached_input_tokens": np.zeros(3, np.int64),
            "cache_write_tokens": np.zeros(3, np.int64),
            "cache_write_1h_tokens": np.zeros(3, np.int64),
            "output_tokens": np.array([2, 2, 2]),
            "reasoning_tokens": np.array([0, 0, 9]),
        },
        read=ReadCounts(
            rows=np.repeat(np.arange(3, dtype=np.int64), 2),
            values=np.array([10, 2, -3, 2, 10, 2], dtype=np.int64),
            field=lambda index: names[index % 2],
        ),
    )
    expected = [None, "negative usage.prompt_tokens", "reasoning tokens exceed output tokens"]
    assert reasons(*drafts) == expected
    verdict = judge(columns)
    assert [verdict.reasons[c] if c >= 0 else None for c in verdict.reason.tolist()] == expected
    part = judge(columns.slice(1, 3))
    assert part.skipped() == [(0, "negative usage.prompt_tokens"), (1, expected[2])]


def test_the_builder_judges_in_batches_but_reports_in_line_order() -> None:
    problems = Problems()
    builder = TableBuilder(problems, lambda _model: "cl100k_base")
    builder.add(draft(), "log", 1)
    builder.skip("log", 2, "malformed JSON")
    builder.add(draft(input_tokens=-1), "log", 3)
    builder.add(draft(), "log", 4)
    assert problems.skipped_total == 0  # still waiting for the batch to be judged
    assert builder.rows == 3
    table = builder.finish()
    assert len(table) == 2
    assert list(problems.examples.items()) == [
        ("malformed JSON", ["log:2"]),
        ("negative input tokens", ["log:3"]),
    ]


def test_strict_stops_at_the_first_bad_line() -> None:
    builder = TableBuilder(Problems(strict=True), lambda _model: "cl100k_base")
    builder.add(draft(), "log", 1)
    builder.add(draft(output_tokens=1, reasoning_tokens=2), "log", 2)
    builder.skip("log", 3, "malformed JSON")
    with pytest.raises(InputError) as raised:
        builder.finish()
    assert str(raised.value) == "log:2: reasoning tokens exceed output tokens"
