"""Langfuse observations: API JSON lines and CSV exports; usage-details keys are additive parts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)


def test_only_generations_are_records(read: Read, table_rows: Rows, usage: Usage) -> None:
    """7 observations: 5 generations (one counted in characters, skipped), a span and an event."""
    workload = read("langfuse_observations.jsonl")
    assert [report.format for report in workload.files] == ["langfuse"]
    assert workload.records_read == 5
    assert dict(workload.problems.skipped) == {"usage counted in CHARACTERS, not tokens": 1}
    assert table_rows(workload) == [
        # additive parts: 176 uncached + 1,024 cached (total 1,285 = the sum of the parts)
        usage("gpt-4o-mini", 1200, 85, cached=1024),
        # a producer whose `input` already holds the cached tokens: total 1,285 = input + output
        usage("gpt-4o-mini", 1200, 85, cached=1024),
        # Anthropic-style keys and reasoning, all additive
        usage("claude-sonnet-4-5", 18495, 445, cached=16399, write=2089, reasoning=120),
        # deprecated `usage` object
        usage("gpt-4o", 300, 20),
    ]


def test_groups_from_trace_fields_and_metadata(read: Read, column: Column) -> None:
    workload = read("langfuse_observations.jsonl")
    assert column(workload, "feature") == ["search", None, None, None]
    assert column(workload, "user") == [None, None, "user_7", None]
    assert column(workload, "session") == [None, None, "sess_1", None]
    assert column(workload, "tags") == [None, None, "beta,eu", None]
    assert column(workload, "name") == ["answer", "answer", "draft", "legacy"]
    assert column(workload, "environment") == ["production", "production", None, None]


def test_csv_export_with_json_text_cells(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    workload = read("langfuse_observations.csv")
    assert [report.format for report in workload.files] == ["langfuse"]
    assert table_rows(workload) == [
        usage("gpt-4o-mini", 1200, 85, cached=1024),
        usage("claude-sonnet-4-5", 5500, 200, write=4000),
    ]
    assert dict(workload.problems.skipped) == {"`usage_details` is not valid JSON": 1}
    assert workload.problems.examples["`usage_details` is not valid JSON"] == [
        f"{workload.files[0].name}:5"
    ]
    assert column(workload, "tenant") == ["acme", None]
    assert column(workload, "prompt") == ["qa", None]
    assert [str(stamp) for stamp in column(workload, "timestamp")] == [
        "2026-08-22 10:00:00.123000+00:00",
        "2026-08-22 10:05:00.500000+00:00",
    ]


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"input": 100, "output": 10}, (100, 0, 0, 10, 0)),
        ({"input": 100, "input_cache_read": 50, "output": 10, "total": 160}, (150, 50, 0, 10, 0)),
        ({"input": 150, "input_cache_read": 50, "output": 10, "total": 160}, (150, 50, 0, 10, 0)),
        ({"prompt_tokens": 80, "completion_tokens": 5}, (80, 0, 0, 5, 0)),
        ({"input": 10, "cache_write_input_tokens": 30, "output": 1}, (40, 0, 30, 1, 0)),
        ({"input": 10, "output": 4, "output_reasoning_tokens": 6, "total": 20}, (10, 0, 0, 10, 6)),
        ({"input": 10, "output": 10, "output_reasoning_tokens": 6, "total": 20}, (10, 0, 0, 10, 6)),
        ({"input": 10, "output": 1, "image": 3}, (10, 0, 0, 1, 0)),
    ],
)
def test_usage_detail_key_mapping(
    read: Read, tmp_path: Path, details: dict[str, int], expected: tuple[int, ...]
) -> None:
    record = {
        "id": "o",
        "traceId": "t",
        "type": "GENERATION",
        "startTime": "2026-01-01T00:00:00Z",
        "model": "m",
        "usageDetails": details,
    }
    path = tmp_path / "obs.jsonl"
    path.write_bytes(orjson.dumps(record) + b"\n")
    row = read(path).requests.to_frame().iloc[0]
    assert (
        row["input_tokens"],
        row["cached_input_tokens"],
        row["cache_write_tokens"],
        row["output_tokens"],
        row["reasoning_tokens"],
    ) == expected


def test_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{"gpt-4o-mini": {"input": "0.15", "cached_input": "0.075", "output": "0.60"}}
    )
    cost = price(table, read("langfuse_observations.jsonl").requests)
    one = 176 * Decimal("0.15") + 1024 * Decimal("0.075") + 85 * Decimal("0.60")
    assert cost == 2 * one / M


def test_parquet_blob_export_with_map_columns(
    read: Read, tmp_path: Path, table_rows: Rows, usage: Usage, column: Column
) -> None:
    path = tmp_path / "observations.parquet"
    detail_map = pa.map_(pa.string(), pa.int64())
    table = pa.table(
        {
            "id": ["o1", "o2"],
            "trace_id": ["t1", "t1"],
            "type": ["GENERATION", "SPAN"],
            "start_time": pa.array(
                [datetime(2026, 8, 22, 10, tzinfo=UTC)] * 2, type=pa.timestamp("ms", tz="UTC")
            ),
            "provided_model_name": ["gpt-4o-mini", None],
            "usage_details": pa.array(
                [[("input", 176), ("input_cached_tokens", 1024), ("output", 85)], None],
                type=detail_map,
            ),
            "metadata": pa.array(
                [[("feature", "search")], []], type=pa.map_(pa.string(), pa.string())
            ),
        }
    )
    pq.write_table(table, path)
    workload = read(path)
    assert [report.format for report in workload.files] == ["langfuse"]
    assert table_rows(workload) == [usage("gpt-4o-mini", 1200, 85, cached=1024)]
    assert column(workload, "feature") == ["search"]
    assert [str(stamp) for stamp in column(workload, "timestamp")] == ["2026-08-22 10:00:00+00:00"]
