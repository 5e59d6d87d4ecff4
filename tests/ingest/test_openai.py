"""OpenAI Chat Completions, Responses and Batch API logs: detection, canonical tokens, exact prices."""

from __future__ import annotations

from decimal import Decimal

from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)
MINI = {
    "input": "0.15",
    "cached_input": "0.075",
    "output": "0.60",
    "aliases": ["gpt-4o-mini-2024-07-18"],
    "batch": {"input": "0.075", "output": "0.30", "cached_input": "0.0375"},
}


def test_chat_responses_and_gateway_lines_keep_openai_counts(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    """OpenAI's prompt count already includes cached tokens and its completion count reasoning."""
    workload = read("openai_chat.jsonl")
    assert [report.format for report in workload.files] == ["openai"]
    assert table_rows(workload) == [
        usage("gpt-4o-mini-2024-07-18", 24, 8),
        usage("o3-mini-2025-01-31", 2048, 900, cached=1024, reasoning=640),
        usage("gpt-4.1-2025-04-14", 12033, 44, cached=11904),
    ]


def test_chat_timestamps_and_request_groups(read: Read, column: Column) -> None:
    workload = read("openai_chat.jsonl")
    assert [str(stamp) for stamp in column(workload, "timestamp")] == [
        "2024-08-28 15:14:49+00:00",
        "2026-08-22 10:00:00+00:00",
        "2026-01-16 10:48:22+00:00",
    ]
    assert column(workload, "user") == [None, "user_42", None]
    assert column(workload, "feature") == [None, "search", None]


def test_batch_output_is_billed_at_batch_prices_and_failures_are_skipped(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    workload = read("openai_batch_output.jsonl")
    assert table_rows(workload) == [
        usage("gpt-4o-mini-2024-07-18", 24, 8, batch=True),
        usage("gpt-4o-mini-2024-07-18", 3000, 120, cached=2048, batch=True),
    ]
    assert workload.records_read == 4
    assert dict(workload.problems.skipped) == {
        "batch request failed (not billed)": 1,
        "batch request failed (HTTP 400, not billed)": 1,
    }
    assert workload.problems.examples["batch request failed (not billed)"] == [
        f"{workload.files[0].name}:3"
    ]


def test_batch_output_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(**{"gpt-4o-mini": MINI})
    requests = read("openai_batch_output.jsonl").requests
    expected = (
        24 * Decimal("0.075")
        + 8 * Decimal("0.30")
        + (3000 - 2048) * Decimal("0.075")
        + 2048 * Decimal("0.0375")
        + 120 * Decimal("0.30")
    ) / M
    assert price(table, requests) == expected
