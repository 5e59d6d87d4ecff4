"""`analyze --save-workload` writes the request table partition by partition: the saved workload is
the one the whole table gives (rows, groups first seen in a later partition, prompt hashes)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from costaudit import api
from costaudit.api.engine import analyze_partitioned
from costaudit.core.pricing import ModelResolver
from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.core.request_table import RequestTable
from costaudit.ingest import reader, workload_io
from support import REPO

GATEWAY = REPO / "examples" / "logs" / "app_gateway.jsonl.gz"


def _usage_lines(count: int) -> str:
    return "".join(
        json.dumps(
            {
                "id": f"c{index}",
                "object": "chat.completion",
                "created": 1_790_812_800 + 60 * index,
                "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": 100 + index, "completion_tokens": 7},
            }
        )
        + "\n"
        for index in range(count)
    )


def _columns(table: RequestTable) -> dict[str, Any]:
    blocks = table.prefix_blocks
    assert isinstance(blocks, PrefixBlocks)
    return {
        "timestamp": table.timestamp_ns.tolist(),
        "model": table.model.values(),
        "source": table.source.values(),
        "tokens": {name: values.tolist() for name, values in table.tokens.items()},
        "complexity": np.nan_to_num(table.complexity, nan=-1).tolist(),
        "groups": {key: column.values() for key, column in sorted(table.groups.items())},
        "offsets": blocks.offsets.tolist(),
        "hashes": blocks.hashes.tolist(),
        "block_tokens": blocks.block_tokens,
    }


def test_the_streamed_workload_is_the_whole_tables(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    usage.write_text(_usage_lines(400))
    gateway = tmp_path / "gateway.jsonl"
    gateway.write_bytes(gzip.decompress(GATEWAY.read_bytes()))
    specs = [str(usage), str(gateway)]
    prices = api.load_prices()
    whole = api.read_logs(specs, prices=prices, prompt_hashes=True)
    expected = tmp_path / "whole.parquet"
    api.save_workload(whole, expected)

    streamed = tmp_path / "streamed.parquet"
    options = reader.ReadOptions(
        partition_rows=300, chunk_rows=100, prefix_block_tokens=api.PREFIX_BLOCK_TOKENS
    )
    analyze_partitioned(
        specs,
        options,
        prices.table,
        ModelResolver(prices.table).tokenizer_for,
        save_workload=streamed,
    )
    got = workload_io.load_workload(streamed)
    assert len(got) == 2_400
    assert got.groups, "the gateway log's grouping fields are kept"
    assert _columns(got) == _columns(workload_io.load_workload(expected))
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_a_failed_run_leaves_no_workload_behind(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    usage.write_text(_usage_lines(50))
    target = tmp_path / "w.parquet"
    try:
        api.analyze(usage, group_by=["no_such_field"], save_workload=target)
    except api.UnknownGroupKey:
        pass
    else:
        raise AssertionError("an unknown group key must be refused")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["usage.jsonl"]
