"""OpenTelemetry GenAI spans in OTLP JSON: one draft per inference span, old and new attribute names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from costaudit.errors import InputError
from costaudit.ingest.formats.otel import attributes, span_role
from costaudit.ingest.spans import REPEATS_CALLS, Role
from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)


def test_genai_spans_become_requests_and_other_spans_are_not_records(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    """3 OTLP lines hold 7 spans: 4 GenAI inference spans (one with negative usage), an agent span
    with usage above one of them, an HTTP span and a database span. The 4 inference spans and the
    agent span are records; the agent span is set aside (its usage is its calls'); HTTP and database
    spans are not records at all. The Anthropic span names no operation: the trace tree decides it
    (nothing with usage below it, so a call), which is why it comes after the others."""
    workload = read("otel_spans.jsonl")
    assert [report.format for report in workload.files] == ["otel"]
    assert workload.records_read == 5
    assert dict(workload.problems.skipped) == {
        "negative gen_ai.usage.input_tokens": 1,
        REPEATS_CALLS: 1,
    }
    assert workload.problems.set_aside_reasons == {REPEATS_CALLS}
    assert table_rows(workload) == [
        usage("gpt-4o-mini-2024-07-18", 1200, 85, cached=1024),
        # cache_write attribute (new name) inside the inclusive input; reasoning inside output
        usage("o3", 3000, 700, write=1000, reasoning=512),
        # deprecated names; the exclusive Anthropic count cannot hold the cache counts → added
        usage("claude-sonnet-4-5", 7 + 16399 + 2089, 445, cached=16399, write=2089),
    ]


def test_span_timestamps_are_exact_nanoseconds(read: Read, column: Column) -> None:
    stamps = column(read("otel_spans.jsonl"), "timestamp")
    assert [stamp.value for stamp in stamps] == [
        1755856800000000001,
        1755856870000000000,
        1755856860000000000,
    ]


def test_groups_come_from_provider_resource_and_user(read: Read, column: Column) -> None:
    workload = read("otel_spans.jsonl", group_fields=["tenant.id"])
    assert column(workload, "provider") == ["openai", "openai", "anthropic"]
    assert column(workload, "service") == ["support-bot", "batch-jobs", "batch-jobs"]
    assert column(workload, "environment") == ["prod", None, None]
    assert column(workload, "user") == ["user_42", None, None]
    assert column(workload, "tenant.id") == [None, "acme", None]
    assert "gen_ai.conversation.id" not in workload.requests.groups


def test_pretty_printed_document_with_embeddings(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    workload = read("otel_document.json")
    assert table_rows(workload) == [
        usage("gemini-2.5-flash", 800, 120),
        usage("text-embedding-3-small", 64, 0),
    ]
    assert not workload.problems.notes


def test_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "gpt-4o-mini": {
                "input": "0.15",
                "cached_input": "0.075",
                "output": "0.60",
                "aliases": ["gpt-4o-mini-2024-07-18"],
            }
        }
    )
    cost = price(table, read("otel_spans.jsonl").requests)
    assert cost == (176 * Decimal("0.15") + 1024 * Decimal("0.075") + 85 * Decimal("0.60")) / M


def _span(attrs: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"name": "s", "startTimeUnixNano": "1755856800000000000", "attributes": attrs, **fields}


def _line(*spans: dict[str, Any]) -> bytes:
    document = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": list(spans)}]}]}
    return orjson.dumps(document) + b"\n"


def _attr(key: str, value: object) -> dict[str, Any]:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def test_failed_call_without_usage_is_skipped_with_its_reason(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    chat = [_attr("gen_ai.operation.name", "chat"), _attr("gen_ai.request.model", "gpt-4o")]
    path.write_bytes(
        _line(
            _span(chat, status={"code": 2, "message": "rate limited"}),
            _span(chat),
            _span([*chat, _attr("gen_ai.usage.input_tokens", 10)]),
        )
    )
    workload = read(path)
    assert dict(workload.problems.skipped) == {
        "failed GenAI call without token usage (not billed)": 1,
        "GenAI span without token usage or prompt": 1,
    }
    assert len(workload.requests) == 1
    assert workload.records_read == 3


def test_opt_in_prompt_text_is_tokenized_when_there_is_no_usage(read: Read, tmp_path: Path) -> None:
    messages = [{"role": "user", "parts": [{"type": "text", "content": "hello there"}]}]
    path = tmp_path / "spans.jsonl"
    path.write_bytes(
        _line(
            _span(
                [
                    _attr("gen_ai.operation.name", "chat"),
                    _attr("gen_ai.request.model", "gpt-4o"),
                    _attr("gen_ai.input.messages", orjson.dumps(messages).decode()),
                ]
            )
        )
    )
    requests = read(path).requests.to_frame()
    assert requests["token_source"].tolist() == ["tokenized"]
    assert int(requests["input_tokens"].iloc[0]) > 0


def test_strict_mode_stops_at_the_first_bad_span(read: Read) -> None:
    with pytest.raises(InputError, match=r"otel_spans.jsonl:2: negative"):
        read("otel_spans.jsonl", strict=True)


def test_attribute_values_of_every_kind() -> None:
    raw = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i", "value": {"intValue": "12"}},
        {"key": "d", "value": {"doubleValue": 1.5}},
        {"key": "b", "value": {"boolValue": True}},
        {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
        {
            "key": "k",
            "value": {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": 1}}]}},
        },
        {"value": {"stringValue": "no key"}},
        "junk",
    ]
    assert attributes(raw) == {
        "s": "x",
        "i": "12",
        "d": 1.5,
        "b": True,
        "a": ["stop"],
        "k": {"n": 1},
    }
    assert attributes({"plain": "mapping"}) == {"plain": "mapping"}


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"gen_ai.operation.name": "chat"}, Role.CALL),
        ({"gen_ai.operation.name": "embeddings"}, Role.CALL),
        (
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": "9"},
            Role.AGGREGATE,
        ),
        ({"gen_ai.operation.name": "execute_tool"}, Role.AGGREGATE),
        ({"gen_ai.system": "openai", "gen_ai.usage.prompt_tokens": "5"}, Role.UNKNOWN),
        ({"openinference.span.kind": "LLM", "llm.token_count.prompt": 5}, Role.CALL),
        ({"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 5}, Role.AGGREGATE),
        ({"openinference.span.kind": "UNKNOWN"}, Role.UNKNOWN),
        ({"http.request.method": "GET"}, Role.UNKNOWN),
    ],
)
def test_span_roles_come_from_the_kind(attrs: dict[str, object], expected: Role) -> None:
    assert span_role(attrs) is expected


def test_openinference_llm_spans(
    read: Read, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    path = tmp_path / "phoenix.jsonl"
    path.write_bytes(
        _line(
            _span(
                [
                    _attr("openinference.span.kind", "LLM"),
                    _attr("llm.model_name", "gpt-4o"),
                    _attr("llm.provider", "openai"),
                    _attr("llm.token_count.prompt", 500),
                    _attr("llm.token_count.prompt_details.cache_read", 256),
                    _attr("llm.token_count.completion", 40),
                ]
            )
        )
    )
    assert table_rows(read(path)) == [usage("gpt-4o", 500, 40, cached=256)]
