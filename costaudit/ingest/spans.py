"""Trace spans and runs: bill the model calls, set aside the spans that repeat their usage.

Tracing tools (OpenTelemetry, OpenInference/Phoenix, LangSmith, MLflow) record an agent run, a chain or a
workflow as a span whose children are the model calls; many also put the SUM of the children's token
usage on the parent. Billing every span with usage would count the same tokens twice or more, so a trace
reader hands each span over as a `Span` with its role:

- CALL: a model call by its kind (`gen_ai.operation.name` chat, OpenInference `LLM`, LangSmith
  `run_type` llm, MLflow `CHAT_MODEL`): billed (or skipped with its reason when unusable).
- AGGREGATE: a span that wraps calls by its kind (agent, chain, tool, workflow): never billed. When it
  carries usage it is counted as a record and set aside (problem kind `aggregate`), so that
  read = priced + unpriced + skipped still holds.
- UNKNOWN: no kind is recorded (e.g. pydantic-ai's agent run span, or custom spans). Then the tree
  decides: a span with usage whose descendants also carry usage is an aggregate; one without is a call.

Deciding UNKNOWN spans, and telling an aggregate that repeats its calls from one whose calls are not in
the logs at all, needs the whole trace, and a trace's spans may come in any order, spread over a file or
over several files. So `TraceTree` keeps, per trace, only each span's parent id and whether it has usage,
plus the draft of each span still undecided, and resolves those when reading ends (`finish`). Memory is
bounded: when more than `max_spans` spans are held, the traces seen first are resolved early (a note says
how many), on the assumption that a trace's spans arrive close together. Spans of known kind without
usage need no decision; only their links are kept.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft

MAX_HELD_SPANS = 200_000
"""Spans whose links are held at once before the oldest traces are resolved early."""

REPEATS_CALLS = "aggregate span: its usage repeats the model calls under it (not billed)"
CALLS_MISSING = (
    "aggregate span whose model calls are not in these logs (not billed: export the model-call "
    "spans or runs too)"
)
EARLY = "traces resolved before the end of the logs (too many spans held at once)"


class Role(enum.Enum):
    CALL = "call"
    AGGREGATE = "aggregate"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Span:
    """One span (or run) of a trace as a reader understood it."""

    trace: str
    span: str
    parent: str | None
    role: Role
    usage: bool
    """Whether the span carries token usage."""
    item: Draft | BadRecord | None = None
    """What billing it would mean: a draft, the reason it cannot be billed, or None for a span that is
    no call at all (a span of known aggregate kind never needs one)."""


@dataclass(frozen=True, slots=True)
class SetAside:
    """An aggregate span that is counted as read but not billed, with the reason."""

    reason: str


Where = TypeVar("Where")
"""Where a span was read (the reader's file and line), handed back with what it became."""
Emit = Callable[[Draft | BadRecord | SetAside, Where], None]


@dataclass(slots=True)
class _Held(Generic[Where]):
    span: str
    item: Draft | BadRecord | None
    role: Role
    where: Where


@dataclass(slots=True)
class _Trace(Generic[Where]):
    parents: dict[str, str | None] = field(default_factory=dict)
    with_usage: list[str] = field(default_factory=list)
    held: list[_Held[Where]] = field(default_factory=list)


class TraceTree(Generic[Where]):
    """Collects the spans of every trace and emits, for each span that is a record, what it is."""

    def __init__(self, emit: Emit[Where], max_spans: int = MAX_HELD_SPANS) -> None:
        self.emit = emit
        self.max_spans = max_spans
        self.traces: OrderedDict[str, _Trace[Where]] = OrderedDict()
        """Traces in the order they were first seen (popped from the front in O(1))."""
        self.spans_held = 0
        self.resolved_early = 0
        self._unnamed = 0

    def add(self, span: Span, where: Where) -> None:
        if not span.span:  # a span without an id can be no one's parent
            self._unnamed += 1
            span.span = f"\x00{self._unnamed}"
        trace = self.traces.get(span.trace)
        if trace is None:
            trace = self.traces[span.trace] = _Trace()
        parents = trace.parents
        held = len(parents)
        parents[span.span] = span.parent
        self.spans_held += len(parents) - held
        if span.usage:
            trace.with_usage.append(span.span)
        if span.role is Role.CALL:
            if span.item is not None:
                self.emit(span.item, where)
        elif span.usage:
            trace.held.append(_Held(span.span, span.item, span.role, where))
        if self.spans_held > self.max_spans:
            self._resolve_oldest()

    def finish(self) -> None:
        """Resolve every trace still held (at the end of the logs)."""
        while self.traces:
            self._resolve_first()

    def _resolve_oldest(self) -> None:
        while self.traces and self.spans_held > self.max_spans * 3 // 4:
            self._resolve_first()
            self.resolved_early += 1

    def _resolve_first(self) -> None:
        _, trace = self.traces.popitem(last=False)
        self.spans_held -= len(trace.parents)
        if not trace.held:
            return
        above_usage = _ancestors(trace.parents, trace.with_usage)
        for held in trace.held:
            if held.span in above_usage:
                self.emit(SetAside(REPEATS_CALLS), held.where)
            elif held.role is Role.AGGREGATE:
                self.emit(SetAside(CALLS_MISSING), held.where)
            elif held.item is not None:
                self.emit(held.item, held.where)


def _ancestors(parents: dict[str, str | None], starts: list[str]) -> set[str]:
    """Every span that has one of `starts` below it (each walk stops at a span already marked, so
    the whole trace is walked once; a cycle in corrupt ids ends there too)."""
    marked: set[str] = set()
    for start in starts:
        parent = parents.get(start)
        while parent is not None and parent not in marked and parent != start:
            marked.add(parent)
            parent = parents.get(parent)
    return marked
