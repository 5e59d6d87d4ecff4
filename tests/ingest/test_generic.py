"""The generic reader: canonical columns as they are, `--map` onto other layouts, `--format` forcing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costaudit.errors import InputError
from support import Column, Read, Rows, Usage


def test_canonical_csv_needs_no_mapping(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    workload = read("generic_canonical.csv")
    assert [report.format for report in workload.files] == ["generic"]
    assert table_rows(workload) == [
        usage("gpt-4o", 1000, 50, cached=200),
        usage("gpt-4o-mini", 400, 10, batch=True),
    ]
    assert [stamp.value for stamp in column(workload, "timestamp")] == [
        1755856800 * 10**9,
        1755856860 * 10**9,
    ]
    assert column(workload, "user") == ["ann", "bob"]
    assert column(workload, "feature") == ["search", "chat"]


def test_map_reaches_into_nested_objects(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    mapping = {
        "timestamp": "ts",
        "model": "llm.engine",
        "input_tokens": "llm.usage.in",
        "cached_input_tokens": "llm.usage.cached",
        "output_tokens": "llm.usage.out",
        "feature": "app.feature",
        "user": "app.user.name",
    }
    workload = read("generic_nested.jsonl", mapping=mapping)
    assert [report.format for report in workload.files] == ["generic"]
    assert table_rows(workload) == [
        usage("gpt-4o", 1000, 50, cached=200),
        usage("gpt-4o-mini", 400, 10),
    ]
    assert column(workload, "feature") == ["search", "chat"]
    # `app.user.name` finds the key "user.name" inside "app"
    assert column(workload, "user") == ["ann", "bob"]
    assert str(column(workload, "timestamp")[1]) == "2026-08-22 09:30:00+00:00"


def test_map_renames_csv_columns(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    mapping = {
        "timestamp": "when",
        "model": "engine",
        "input_tokens": "prompt_toks",
        "output_tokens": "completion_toks",
    }
    workload = read("generic_mapped.csv", mapping=mapping, group_fields=["team"])
    assert table_rows(workload) == [usage("gpt-4o", 1000, 50), usage("gpt-4o-mini", 400, 10)]
    assert column(workload, "team") == ["search", "chat"]


def test_unrecognised_layout_asks_for_a_mapping(read: Read) -> None:
    with pytest.raises(InputError, match="use --format or --map"):
        read("generic_mapped.csv")


def test_format_option_forces_a_reader(read: Read) -> None:
    """Forced onto a format it is not, every record is skipped with a reason; nothing is lost."""
    workload = read("helicone.jsonl", format="anthropic")
    assert workload.files[0].format == "anthropic"
    assert len(workload.requests) == 0
    assert workload.records_read == workload.problems.skipped_total == 4
    forced = read("litellm_spend_logs.json", format="litellm")
    assert len(forced.requests) == 3


def test_unknown_format_name_is_an_input_error(read: Read) -> None:
    with pytest.raises(InputError, match="unknown format `nope`"):
        read("helicone.jsonl", format="nope")


def test_prompt_text_is_tokenized_when_there_are_no_counts(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"model": "gpt-4o", "prompt": "Hello, world", "completion": "Hi"}\n')
    requests = read(path).requests.to_frame()
    assert requests["token_source"].tolist() == ["tokenized"]
    assert int(requests["input_tokens"].iloc[0]) > 0
    assert int(requests["output_tokens"].iloc[0]) == 1


def test_parquet_with_canonical_columns(
    read: Read, tmp_path: Path, table_rows: Rows, usage: Usage, column: Column
) -> None:
    path = tmp_path / "requests.parquet"
    table = pa.table(
        {
            "timestamp": pa.array(
                [1755856800000, 1755856860000], type=pa.timestamp("ms", tz="UTC")
            ),
            "model": ["gpt-4o", "gpt-4o-mini"],
            "input_tokens": [1000, 400],
            "cached_input_tokens": [200, None],
            "output_tokens": [50, 10],
            "user": ["ann", None],
        }
    )
    pq.write_table(table, path)
    workload = read(path)
    assert [report.format for report in workload.files] == ["generic"]
    assert table_rows(workload) == [
        usage("gpt-4o", 1000, 50, cached=200),
        usage("gpt-4o-mini", 400, 10),
    ]
    assert [stamp.value for stamp in column(workload, "timestamp")] == [
        1755856800 * 10**9,
        1755856860 * 10**9,
    ]
    assert column(workload, "user") == ["ann", None]
