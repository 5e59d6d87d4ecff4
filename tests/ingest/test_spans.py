"""The trace tree: which spans are billed, which are set aside, whatever order they come in."""

from __future__ import annotations

import itertools

import pytest

from costaudit.ingest.problems import BadRecord
from costaudit.ingest.spans import CALLS_MISSING, REPEATS_CALLS, Role, SetAside, Span, TraceTree
from costaudit.ingest.table import Draft

Outcome = tuple[str, str]


def _collect(spans: list[Span], max_spans: int = 1000) -> tuple[list[Outcome], TraceTree[str]]:
    outcomes: list[Outcome] = []

    def emit(item: Draft | BadRecord | SetAside, where: str) -> None:
        if isinstance(item, SetAside):
            outcomes.append((where, item.reason))
        elif isinstance(item, BadRecord):
            outcomes.append((where, f"bad: {item.reason}"))
        else:
            outcomes.append((where, "billed"))

    tree: TraceTree[str] = TraceTree(emit, max_spans=max_spans)
    for span in spans:
        tree.add(span, span.span)
    tree.finish()
    return sorted(outcomes), tree


def _span(span_id: str, parent: str | None, role: Role, usage: bool, trace: str = "t") -> Span:
    item = Draft(input_tokens=1, output_tokens=1) if usage or role is Role.CALL else None
    return Span(trace, span_id, parent, role, usage, item)


AGENT_TRACE = [
    _span("agent", None, Role.UNKNOWN, True),
    _span("chat-1", "agent", Role.CALL, True),
    _span("tools", "agent", Role.UNKNOWN, False),
    _span("tool", "tools", Role.AGGREGATE, False),
    _span("chat-2", "tool", Role.UNKNOWN, True),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(AGENT_TRACE)))))
def test_outcome_does_not_depend_on_span_order(order: tuple[int, ...]) -> None:
    outcomes, _ = _collect([AGENT_TRACE[index] for index in order])
    assert outcomes == [
        ("agent", REPEATS_CALLS),  # usage below it (both chats)
        ("chat-1", "billed"),
        ("chat-2", "billed"),  # unknown kind, nothing with usage below: a call
    ]


def test_wrapper_with_usage_but_no_calls_in_the_logs() -> None:
    outcomes, _ = _collect([_span("chain", None, Role.AGGREGATE, True)])
    assert outcomes == [("chain", CALLS_MISSING)]


def test_spans_without_usage_or_call_kind_are_not_records() -> None:
    outcomes, _ = _collect(
        [_span("http", None, Role.UNKNOWN, False), _span("tool", "http", Role.AGGREGATE, False)]
    )
    assert outcomes == []


def test_traces_do_not_mix() -> None:
    outcomes, _ = _collect(
        [
            _span("a", None, Role.UNKNOWN, True, trace="1"),
            _span("b", "a", Role.CALL, True, trace="2"),
        ]
    )
    assert outcomes == [("a", "billed"), ("b", "billed")]


def test_a_parent_cycle_in_corrupt_ids_ends() -> None:
    outcomes, _ = _collect(
        [_span("a", "b", Role.UNKNOWN, True), _span("b", "a", Role.UNKNOWN, True)]
    )
    assert outcomes == [("a", REPEATS_CALLS), ("b", REPEATS_CALLS)]


def test_spans_without_ids_are_separate_calls() -> None:
    outcomes, _ = _collect(
        [_span("", None, Role.UNKNOWN, True), _span("", None, Role.UNKNOWN, True)]
    )
    assert [outcome for _, outcome in outcomes] == ["billed", "billed"]


def test_memory_is_bounded_by_resolving_the_oldest_traces_early() -> None:
    """With room for 10 spans, 30 one-span traces are held at most 10 at a time."""
    spans = [_span(f"s{n}", None, Role.UNKNOWN, True, trace=f"t{n}") for n in range(30)]
    outcomes, tree = _collect(spans, max_spans=10)
    assert len(outcomes) == 30
    assert tree.resolved_early > 0
    assert tree.spans_held == 0
