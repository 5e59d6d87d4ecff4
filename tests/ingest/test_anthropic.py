"""Anthropic Messages responses and Message Batches results: cache tokens are ADDED to input."""

from __future__ import annotations

from decimal import Decimal

from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)
SONNET = {
    "input": "3",
    "cached_input": "0.30",
    "cache_write": "3.75",
    "cache_write_1h": "6",
    "output": "15",
    "batch": {"discount": "0.5"},
}


def test_messages_total_input_adds_cache_reads_and_writes(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    """7 uncached + 16,399 read + 2,089 written = 18,495 input tokens; 1-hour writes kept apart."""
    workload = read("anthropic_messages.jsonl")
    assert [report.format for report in workload.files] == ["anthropic"]
    assert table_rows(workload) == [
        usage("claude-sonnet-4-5", 18495, 445, cached=16399, write=2089, reasoning=120),
        usage("claude-sonnet-4-5", 5500, 200, write=4000, write_1h=3000),
    ]
    assert column(workload, "user") == [None, "user_7"]
    assert column(workload, "feature") == [None, "summaries"]
    stamps = column(workload, "timestamp")
    assert stamps[0] is None
    assert str(stamps[1]) == "2026-08-22 10:00:05.250000+00:00"


def test_messages_exact_cost_prices_each_cache_class(
    read: Read, price: Price, make_table: MakeTable
) -> None:
    table = make_table(**{"claude-sonnet-4-5": SONNET})
    cost = price(table, read("anthropic_messages.jsonl").requests)
    first = 7 * Decimal(3) + 16399 * Decimal("0.30") + 2089 * Decimal("3.75") + 445 * Decimal(15)
    second = 1500 * Decimal(3) + 1000 * Decimal("3.75") + 3000 * Decimal(6) + 200 * Decimal(15)
    assert cost == (first + second) / M


def test_batch_results_keep_succeeded_and_skip_the_rest(
    read: Read, table_rows: Rows, usage: Usage, price: Price, make_table: MakeTable
) -> None:
    workload = read("anthropic_batch_results.jsonl")
    assert table_rows(workload) == [
        usage("claude-sonnet-4-5", 1500, 300, cached=500, batch=True),
        usage("claude-sonnet-4-5", 200, 50, batch=True),
    ]
    assert dict(workload.problems.skipped) == {
        "batch result errored (not billed)": 1,
        "batch result expired (not billed)": 1,
    }
    assert workload.records_read == 4
    table = make_table(**{"claude-sonnet-4-5": SONNET})
    half = Decimal("0.5")
    expected = (
        (1000 * Decimal(3) + 500 * Decimal("0.30") + 300 * Decimal(15))
        + (200 * Decimal(3) + 50 * Decimal(15))
    ) * half
    assert price(table, workload.requests) == expected / M
