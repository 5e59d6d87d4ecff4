"""LiteLLM spend logs (JSON array, paged document, CSV) and callback payloads."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson

from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)
SPEND_LOG_COLUMNS = (
    "request_id",
    "call_type",
    "spend",
    "startTime",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "metadata",
    "request_tags",
    "cache_hit",
)


def test_spend_log_array_with_cache_from_additional_usage_values(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    workload = read("litellm_spend_logs.json")
    assert [report.format for report in workload.files] == ["litellm"]
    assert table_rows(workload) == [
        usage("gpt-4o-mini", 1200, 85, cached=1024),
        # prompt_tokens already folds in Anthropic's reads and writes (18,495 = 7 + 16,399 + 2,089)
        usage(
            "claude-sonnet-4-5", 18495, 445, cached=16399, write=2089, write_1h=2000, reasoning=100
        ),
        usage("cohere.command-text-v14", 7, 31),
    ]
    assert dict(workload.problems.skipped) == {
        "response-cache hit (served by the gateway, no provider call)": 1
    }


def test_spend_log_groups(read: Read, column: Column) -> None:
    workload = read("litellm_spend_logs.json")
    assert column(workload, "feature") == ["search", "chat", None]
    assert column(workload, "user") == [
        "default_user",
        "default_user",
        "litellm-is-awesome-user",
    ]
    assert column(workload, "end_user") == ["palantir", "initech", None]
    assert column(workload, "team") == ["e8d1460f", None, None]
    assert column(workload, "provider") == ["openai", "anthropic", None]
    assert column(workload, "tags") == [
        "jobID:214590dsff09fds,taskName:run_page_classification",
        None,
        None,
    ]
    assert [str(stamp) for stamp in column(workload, "timestamp")] == [
        "2026-08-22 10:00:00.123000+00:00",
        "2026-08-22 10:05:00+00:00",
        "2024-01-18 18:07:54.071000+00:00",
    ]


def test_old_versions_that_left_cache_out_of_prompt_tokens(
    read: Read, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    """An exclusive prompt count (7) cannot hold 16,399 cached tokens: the cache counts are added."""
    row = {
        "request_id": "r",
        "call_type": "acompletion",
        "spend": 0.01,
        "startTime": "2025-01-01T00:00:00Z",
        "model": "claude-3-5-sonnet-20241022",
        "prompt_tokens": 7,
        "completion_tokens": 10,
        "metadata": {
            "additional_usage_values": {
                "cache_read_input_tokens": 16399,
                "cache_creation_input_tokens": 2089,
            }
        },
    }
    path = tmp_path / "old.jsonl"
    path.write_bytes(orjson.dumps(row) + b"\n")
    assert table_rows(read(path)) == [
        usage("claude-3-5-sonnet-20241022", 18495, 10, cached=16399, write=2089)
    ]


def test_callback_payloads_with_float_epoch_times(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    workload = read("litellm_payloads.jsonl")
    assert table_rows(workload) == [usage("o3-mini", 2048, 900, cached=1024, reasoning=640)]
    assert dict(workload.problems.skipped) == {"failed call (not billed)": 1}
    assert [stamp.value for stamp in column(workload, "timestamp")] == [1755856800250000000]
    assert column(workload, "user") == ["alice"]
    assert column(workload, "team") == ["team-9"]
    assert column(workload, "key_alias") == ["batch-key"]
    assert column(workload, "feature") == ["proofs"]
    assert column(workload, "tags") == ["prod"]


def test_paged_v2_document_and_postgres_csv_export(
    read: Read, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    rows = orjson.loads(
        (Path(__file__).parent.parent / "data/logs/litellm_spend_logs.json").read_bytes()
    )
    paged = tmp_path / "page.json"
    paged.write_bytes(
        orjson.dumps({"data": rows[:2], "page": 1, "page_size": 100, "total": 2, "total_pages": 1})
    )
    exported = tmp_path / "spend.csv"
    with exported.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=[*SPEND_LOG_COLUMNS],
            extrasaction="ignore",
        )
        writer.writeheader()
        for row in rows[:2]:
            writer.writerow(
                {
                    **row,
                    "metadata": orjson.dumps(row["metadata"]).decode(),
                    "request_tags": orjson.dumps(row["request_tags"]).decode(),
                }
            )
    expected = [
        usage("gpt-4o-mini", 1200, 85, cached=1024),
        usage(
            "claude-sonnet-4-5", 18495, 445, cached=16399, write=2089, write_1h=2000, reasoning=100
        ),
    ]
    assert table_rows(read(paged)) == expected
    from_csv = read(exported)
    assert [report.format for report in from_csv.files] == ["litellm"]
    assert table_rows(from_csv) == expected


def test_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "claude-sonnet-4-5": {
                "input": "3",
                "cached_input": "0.30",
                "cache_write": "3.75",
                "cache_write_1h": "6",
                "output": "15",
            }
        }
    )
    cost = price(table, read("litellm_spend_logs.json").requests)
    expected = (
        7 * Decimal(3)
        + 16399 * Decimal("0.30")
        + 89 * Decimal("3.75")
        + 2000 * Decimal(6)
        + 445 * Decimal(15)
    )
    assert cost == expected / M


def test_usage_from_response_usage_and_usage_object(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    """StandardLoggingPayloads whose cached and reasoning counts are only in `response.usage`, and a
    spend-log row whose full `usage_object` sits beside an empty `additional_usage_values`."""
    workload = read("litellm_standard_payloads.jsonl")
    assert [report.format for report in workload.files] == ["litellm"]
    assert table_rows(workload) == [
        usage("gpt-4o-mini", 2000, 300, cached=1536),
        usage("o3-mini", 1000, 2000, reasoning=1500),
        usage("claude-sonnet-4-5", 18495, 445, cached=16399, write=2089, write_1h=2000),
    ]


def test_cached_tokens_change_the_payload_cost(
    read: Read, price: Price, make_table: MakeTable
) -> None:
    """Without the cache reads in `response.usage` the gpt-4o-mini call would cost $0.00048: 32% more."""
    table = make_table(
        **{"gpt-4o-mini": {"input": "0.15", "cached_input": "0.075", "output": "0.60"}}
    )
    requests = read("litellm_standard_payloads.jsonl").requests
    first = requests.take(np.array([0]))
    cost = price(table, first)
    assert cost == (464 * Decimal("0.15") + 1536 * Decimal("0.075") + 300 * Decimal("0.60")) / M
    assert cost == Decimal("0.0003648")


def test_forced_format_without_its_usage_fields_skips_every_record(read: Read) -> None:
    """Anthropic responses read as LiteLLM (no prompt or completion count anywhere): nothing is
    priced at $0, every record is skipped with the reason."""
    workload = read("anthropic_messages.jsonl", format="litellm")
    assert len(workload.requests) == 0
    assert dict(workload.problems.skipped) == {"no litellm usage fields": workload.records_read}
