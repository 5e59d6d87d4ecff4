"""Helicone exports: JSON lines rows and the 12-column CSV; prompt_tokens EXCLUDES cache."""

from __future__ import annotations

from decimal import Decimal

from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)


def test_jsonl_rows_add_cache_columns_to_prompt_tokens(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    workload = read("helicone.jsonl")
    assert [report.format for report in workload.files] == ["helicone"]
    assert table_rows(workload) == [
        usage("gpt-4o-mini-2024-07-18", 176 + 1024, 85, cached=1024),
        usage("claude-sonnet-4-5", 7 + 16399 + 2089, 445, cached=16399, write=2089),
        usage("gpt-4o-mini-2024-07-18", 0, 0),  # a Helicone cache hit: zero tokens, $0
    ]
    assert dict(workload.problems.skipped) == {"failed request (HTTP 500, not billed)": 1}


def test_jsonl_groups(read: Read, column: Column) -> None:
    workload = read("helicone.jsonl")
    assert column(workload, "user") == ["user_42", "user_7", "user_42"]
    assert column(workload, "feature") == ["search", "chat", "search"]
    assert column(workload, "tenant") == ["acme", None, None]
    assert column(workload, "provider") == ["OPENAI", "ANTHROPIC", "OPENAI"]


def test_csv_export_with_cost_usd_or_cost(read: Read, table_rows: Rows, usage: Usage) -> None:
    for name in ("helicone.csv", "helicone_old_cost.csv"):
        workload = read(name)
        assert [report.format for report in workload.files] == ["helicone"]
        assert table_rows(workload) == [usage("gpt-4o-mini", 176, 85), usage("gpt-4o", 1000, 100)]
        assert dict(workload.problems.skipped) == {"failed request (HTTP 429, not billed)": 1}


def test_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "claude-sonnet-4-5": {
                "input": "3",
                "cached_input": "0.30",
                "cache_write": "3.75",
                "output": "15",
            }
        }
    )
    cost = price(table, read("helicone.jsonl").requests)
    expected = 7 * Decimal(3) + 16399 * Decimal("0.30") + 2089 * Decimal("3.75") + 445 * Decimal(15)
    assert cost == expected / M
