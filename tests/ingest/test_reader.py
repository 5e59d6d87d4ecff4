"""The reader: containers, per-file detection in mixed runs, streamed JSON arrays, bad-record rules."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from costaudit.core.analysis import IngestFacts, analyze
from costaudit.errors import InputError
from costaudit.ingest import containers
from costaudit.ingest.containers import BAD_JSON
from support import Column, MakeTable, Read


def test_mixed_files_are_each_detected_on_their_own(read: Read) -> None:
    names = [
        "openai_chat.jsonl",
        "anthropic_messages.jsonl",
        "gemini.jsonl",
        "otel_spans.jsonl",
        "otel_document.json",
        "litellm_spend_logs.json",
        "litellm_payloads.jsonl",
        "langfuse_observations.jsonl",
        "langfuse_observations.csv",
        "helicone.jsonl",
        "helicone.csv",
        "azure_trace.csv",
        "mooncake.jsonl",
        "burstgpt.csv",
        "generic_canonical.csv",
    ]
    workload = read(*names)
    assert [report.format for report in workload.files] == [
        "openai",
        "anthropic",
        "gemini",
        "otel",
        "otel",
        "litellm",
        "litellm",
        "langfuse",
        "langfuse",
        "helicone",
        "helicone",
        "azure-trace",
        "mooncake",
        "burstgpt",
        "generic",
    ]
    each = [read(name) for name in names]
    assert len(workload.requests) == sum(len(one.requests) for one in each)
    assert workload.records_read == sum(one.records_read for one in each)
    assert workload.records_read == len(workload.requests) + workload.problems.skipped_total


def _split(data: bytes, block: int, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(containers, "JSON_BLOCK_BYTES", block)
    return [value for _, value in containers.json_document(io.BufferedReader(io.BytesIO(data)))]


TRICKY = [
    {"a": 'x}]"y', "b": [1, 2, {"c": "[{"}]},
    5,
    'text with \\ and " and ]',
    {"nested": {"deep": [[[]]]}, "unicode": "é✓"},
    None,
    True,
]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 20])
def test_array_items_are_split_at_any_block_size(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    compact = orjson.dumps(TRICKY)
    pretty = orjson.dumps(TRICKY, option=orjson.OPT_INDENT_2)
    assert _split(compact, block, monkeypatch) == TRICKY
    assert _split(b"\xef\xbb\xbf \n" + pretty + b"\n", block, monkeypatch) == TRICKY


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[]", []),
        (b"[ ]\n\n", []),
        (b'[{"a": 1}, {"b": ', [{"a": 1}, BAD_JSON]),
        (b'[{"a": 1}] trailing', [{"a": 1}, BAD_JSON]),
        (b'[{"a": 1}, {"b" 2}]', [{"a": 1}, BAD_JSON]),
        (b'{"a": 1}\n{"b": {"c": 2}}', [{"a": 1}, {"b": {"c": 2}}]),
        (b'{\n  "a": 1\n}\n', [{"a": 1}]),
        (b'{"data": [{"x": 1}, {"y": 2}], "page": 1}', [{"x": 1}, {"y": 2}]),
        (b'{"data": [{"x": 1}], "usage": {}}', [{"data": [{"x": 1}], "usage": {}}]),
    ],
)
def test_json_documents(data: bytes, expected: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert _split(data, 4, monkeypatch) == expected


def test_paged_response_on_a_json_line_yields_its_records(read: Read, tmp_path: Path) -> None:
    row = orjson.loads(
        (Path(__file__).parent.parent / "data/logs/helicone.jsonl").read_bytes().splitlines()[0]
    )
    path = tmp_path / "pages.jsonl"
    path.write_bytes(orjson.dumps({"data": [row, row]}) + b"\n" + orjson.dumps({"data": [row]}))
    workload = read(path)
    assert workload.files[0].format == "helicone"
    assert len(workload.requests) == 3


def test_bad_records_are_counted_with_file_and_line(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        b'{"model": "gpt-4o", "input_tokens": 10, "output_tokens": 1}',
        b"",
        b'{"model": "gpt-4o", "input_tokens": -3, "output_tokens": 1}',
        b'{"model": "gpt-4o", "input_tokens": 10, "output_tok',
        b"[1, 2]",
        b'{"model": "gpt-4o", "input_tokens": "12", "output_tokens": 1, "timestamp": "soon"}',
        b'{"model": "gpt-4o", "input_tokens": 10, "cached_input_tokens": 11, "output_tokens": 1}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    workload = read(path)
    assert len(workload.requests) == 1
    assert workload.records_read == 6
    assert dict(workload.problems.skipped) == {
        "negative input tokens": 1,
        "malformed JSON": 1,
        "not a JSON object": 1,
        "unreadable timestamp": 1,
        "cached plus cache-write tokens exceed input tokens": 1,
    }
    examples = workload.problems.examples
    assert examples["negative input tokens"] == [f"{path}:3"]
    assert examples["malformed JSON"] == [f"{path}:4"]
    assert examples["unreadable timestamp"] == [f"{path}:6"]


def test_strict_mode_raises_at_the_first_bad_record(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"model": "m", "input_tokens": 1, "output_tokens": 1}\n{"oops\n')
    with pytest.raises(InputError) as raised:
        read(path, strict=True)
    assert str(raised.value) == f"{path}:2: malformed JSON"


def test_empty_and_binary_files(read: Read, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    workload = read(empty)
    assert workload.records_read == 0
    assert len(workload.requests) == 0
    assert workload.files[0].format == "(empty)"
    binary = tmp_path / "blob.log"
    binary.write_bytes(b"\x00\x01\x02garbage\x00" * 10)
    with pytest.raises(InputError, match="binary data"):
        read(binary)
    parquet = tmp_path / "cut.parquet"
    parquet.write_bytes(b"PAR1")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read(parquet)


def test_detection_looks_past_leading_bad_lines(read: Read, tmp_path: Path) -> None:
    source = (Path(__file__).parent.parent / "data/logs/anthropic_messages.jsonl").read_bytes()
    path = tmp_path / "late.jsonl"
    path.write_bytes(b"{not json\n" + b'"a string"\n' + source)
    workload = read(path)
    assert workload.files[0].format == "anthropic"
    assert len(workload.requests) == 2
    assert workload.problems.skipped_total == 2


def test_csv_cells_larger_than_the_csv_module_default(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    prompt = "word " * 60_000
    path.write_text(f'model,input_tokens,output_tokens,note\ngpt-4o,5,1,"{prompt}"\n')
    assert len(read(path).requests) == 1


def test_undecodable_csv_is_a_whole_file_error(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("model,input_tokens,output_tokens\ngpt-4o,5,1\ncafé,1,1\n".encode("latin-1"))
    with pytest.raises(InputError, match="unreadable csv"):
        read(path)


def test_records_without_timestamps_still_count(read: Read, column: Column) -> None:
    workload = read("anthropic_batch_results.jsonl")
    assert column(workload, "timestamp") == [None, None]
    assert len(workload.requests) == 2


def test_group_by_works_on_what_each_source_carries(read: Read, make_table: MakeTable) -> None:
    """`feature` comes from LiteLLM spend_logs_metadata, Langfuse metadata, Helicone properties and
    OpenAI/Anthropic wrapper metadata; one analysis groups them all."""
    workload = read(
        "litellm_spend_logs.json",
        "langfuse_observations.jsonl",
        "helicone.jsonl",
        "anthropic_messages.jsonl",
    )
    table = make_table(
        **{
            "gpt-4o-mini": {
                "input": "0.15",
                "output": "0.60",
                "aliases": ["gpt-4o-mini-2024-07-18"],
            },
            "claude-sonnet-4-5": {"input": "3", "output": "15"},
        }
    )
    facts = IngestFacts(workload.records_read, workload.problems.skipped, workload.problems.notes)
    result = analyze(workload.requests, table, facts, group_by=["feature"])
    requests_by_feature = {row.key: row.requests for row in result.groups}
    assert requests_by_feature == {
        ("chat",): 2,
        ("search",): 4,
        ("summaries",): 1,
        (None,): 5,
    }


@pytest.mark.parametrize(
    "name",
    [
        "anthropic",
        "openai",
        "bedrock",
        "langsmith",
        "mlflow",
        "openinference",
        "litellm",
        "helicone",
        "otel",
    ],
)
def test_a_forced_format_skips_records_without_its_usage_fields(read: Read, name: str) -> None:
    """Gemini responses under any other format: none priced at $0, each skipped with the reason."""
    workload = read("gemini.jsonl", format=name)
    assert len(workload.requests) == 0
    assert dict(workload.problems.skipped) == {f"no {name} usage fields": 3}
