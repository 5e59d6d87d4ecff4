"""Gemini / Vertex AI responses: thoughts are ADDED to output, cached content is inside the prompt."""

from __future__ import annotations

from decimal import Decimal

from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)


def test_thoughts_and_tool_prompts_are_billed(read: Read, table_rows: Rows, usage: Usage) -> None:
    workload = read("gemini.jsonl")
    assert [report.format for report in workload.files] == ["gemini"]
    assert table_rows(workload) == [
        usage("gemini-2.5-flash", 1210, 85 + 256, cached=1024, reasoning=256),
        usage("gemini-2.5-pro", 500 + 60, 40),
        usage("gemini-2.5-flash", 12, 3 + 5, reasoning=5),
    ]


def test_vertex_create_time_wrapper_time_and_labels(read: Read, column: Column) -> None:
    workload = read("gemini.jsonl")
    stamps = column(workload, "timestamp")
    assert stamps[0] is None
    assert str(stamps[1]) == "2026-08-22 10:00:00.500000+00:00"
    assert str(stamps[2]) == "2025-08-22 10:01:40+00:00"
    assert column(workload, "team") == [None, None, "growth"]
    assert column(workload, "feature") == [None, None, "chat"]


def test_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{"gemini-2.5-flash": {"input": "0.30", "cached_input": "0.03", "output": "2.50"}}
    )
    cost = price(table, read("gemini.jsonl").requests)
    first = (1210 - 1024) * Decimal("0.30") + 1024 * Decimal("0.03") + 341 * Decimal("2.50")
    third = 12 * Decimal("0.30") + 8 * Decimal("2.50")
    assert cost == (first + third) / M
