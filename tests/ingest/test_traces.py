"""Token-count traces: Azure LLM inference CSV, Mooncake JSON lines, BurstGPT-style CSV.

Besides the small fixtures, the public traces in ../shared/data are read whole and checked against
counts and sums computed here independently with the csv/json modules.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from costaudit.core.prompt_cache import PrefixBlocks
from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)


def test_azure_trace_fixture(read: Read, table_rows: Rows, usage: Usage, column: Column) -> None:
    workload = read("azure_trace.csv")
    assert [report.format for report in workload.files] == ["azure-trace"]
    assert table_rows(workload) == [
        usage(None, 374, 44),
        usage(None, 396, 109),
        usage(None, 879, 42),
        usage(None, 91, 16),
        usage(None, 91, 34),
    ]
    first = column(workload, "timestamp")[0]
    assert first.value == 1700158546680590000  # 2023-11-16 18:15:46.6805900 taken as UTC
    assert not any(column(workload, "relative_time"))


def test_model_option_fills_only_missing_models(
    read: Read, column: Column, price: Price, make_table: MakeTable
) -> None:
    unpriced = read("azure_trace.csv")
    assert column(unpriced, "model") == [None] * 5
    priced = read("azure_trace.csv", default_model="gpt-4o")
    assert column(priced, "model") == ["gpt-4o"] * 5
    table = make_table(**{"gpt-4o": {"input": "2.50", "output": "10"}})
    expected = (1831 * Decimal("2.50") + 245 * Decimal(10)) / M
    assert price(table, priced.requests) == expected
    burst = read("burstgpt.csv", default_model="gpt-4o")
    assert set(column(burst, "model")) == {"gpt-3.5-turbo", "gpt-4"}


def test_mooncake_fixture_relative_times_and_prefix_hashes(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    workload = read("mooncake.jsonl")
    assert [report.format for report in workload.files] == ["mooncake"]
    assert table_rows(workload) == [
        usage(None, 1024, 10),
        usage(None, 1100, 20),
        usage(None, 300, 5),
        usage(None, 1536, 1),
    ]
    assert all(column(workload, "relative_time"))
    assert [stamp.value for stamp in column(workload, "timestamp")] == [
        0,
        1_500_000_000,
        2_750_000_000,
        60_000_000_000,
    ]
    blocks = workload.requests.prefix_blocks
    assert isinstance(blocks, PrefixBlocks)
    assert blocks.block_tokens == 512
    assert blocks.offsets.tolist() == [0, 2, 5, 6, 9]
    assert blocks.hashes.tolist() == [0, 1, 0, 1, 2, 3, 0, 1, 4]


def test_burstgpt_fixture(read: Read, table_rows: Rows, usage: Usage, column: Column) -> None:
    workload = read("burstgpt.csv")
    assert [report.format for report in workload.files] == ["burstgpt"]
    assert table_rows(workload) == [
        usage("gpt-3.5-turbo", 472, 18),
        usage("gpt-3.5-turbo", 1087, 320),
        usage("gpt-4", 2012, 170),
        usage("gpt-3.5-turbo", 600, 0),
        usage("gpt-4", 50, 12),
    ]
    assert column(workload, "log_type") == [
        "Conversation log",
        "Conversation log",
        "API log",
        "Conversation log",
        "API log",
    ]
    assert [stamp.value // 1_000_000_000 for stamp in column(workload, "timestamp")] == [
        5,
        45,
        118,
        170,
        201,
    ]
    assert all(column(workload, "relative_time"))
    assert "Session ID" not in workload.requests.groups


# ------------------------------------------------------------------------------------ real traces


def _azure_expected(path: Path) -> tuple[int, int, int, int, int]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    stamps = [
        datetime.strptime(row["TIMESTAMP"][:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        for row in rows
    ]
    first, last = min(stamps), max(stamps)
    return (
        len(rows),
        sum(int(row["ContextTokens"]) for row in rows),
        sum(int(row["GeneratedTokens"]) for row in rows),
        int(first.timestamp() * 1_000_000) * 1000,
        int(last.timestamp() * 1_000_000) * 1000,
    )


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "count"), [("code", 8819), ("conv", 19366)])
def test_real_azure_traces(read: Read, shared_data: Path, name: str, count: int) -> None:
    path = shared_data / "azure-llm-inference-2023" / f"AzureLLMInferenceTrace_{name}.csv"
    rows, inputs, outputs, first, last = _azure_expected(path)
    assert rows == count
    workload = read(path, default_model="gpt-4o")
    requests = workload.requests.to_frame()
    assert workload.records_read == len(requests) == count
    assert workload.problems.skipped_total == 0
    assert int(requests["input_tokens"].sum()) == inputs
    assert int(requests["output_tokens"].sum()) == outputs
    stamps = requests["timestamp"].array.asi8
    # the 7th fractional digit is below the microsecond the stdlib parses: compare at µs
    assert int(stamps.min()) // 1000 == first // 1000
    assert int(stamps.max()) // 1000 == last // 1000


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "count"), [("conversation", 12031), ("synthetic", 3993)])
def test_real_mooncake_traces(read: Read, shared_data: Path, name: str, count: int) -> None:
    path = shared_data / "mooncake-fast25" / f"{name}_trace.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert len(records) == count
    workload = read(path)
    requests = workload.requests.to_frame()
    assert workload.records_read == len(requests) == count
    assert int(requests["input_tokens"].sum()) == sum(r["input_length"] for r in records)
    assert int(requests["output_tokens"].sum()) == sum(r["output_length"] for r in records)
    assert requests["relative_time"].all()
    stamps = requests["timestamp"].array.asi8
    assert stamps.tolist() == [r["timestamp"] * 1_000_000 for r in records]
    blocks = workload.requests.prefix_blocks
    assert isinstance(blocks, PrefixBlocks)
    assert blocks.block_tokens == 512
    assert np.diff(blocks.offsets).tolist() == [len(r["hash_ids"]) for r in records]
    assert blocks.hashes.tolist() == [h for r in records for h in r["hash_ids"]]
    assert requests["model"].isna().all()
