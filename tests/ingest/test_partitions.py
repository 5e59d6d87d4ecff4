"""Inputs split into parts that separate readers can read alone: ranges at line boundaries that cover
a file exactly, read back to the same rows; never for trace spans, --strict, compressed input or
standard input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from costaudit.ingest import partitions
from costaudit.ingest.problems import Problems
from costaudit.ingest.reader import ReadOptions, read_sources
from costaudit.ingest.sources import Source
from support import data_file


def _usage_lines(count: int) -> list[str]:
    return [
        json.dumps(
            {
                "id": f"c{index}",
                "object": "chat.completion",
                "created": 1_790_812_800 + index,
                "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": 10 + index, "completion_tokens": 3},
            }
        )
        for index in range(count)
    ]


@pytest.fixture(autouse=True)
def _split_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partitions, "SPLIT_MIN_BYTES", 100)
    monkeypatch.setattr(partitions, "RECORD_WAY_SPLIT_MIN_BYTES", 100)


def test_ranges_start_at_lines_and_cover_the_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(_usage_lines(500)) + "\n")
    parts = partitions.plan_parts([str(path)], ReadOptions(), 3)
    assert parts is not None and len(parts) == 3
    ranges = [part.sources[0] for part in parts]
    assert all(isinstance(r, partitions.RangeSource) for r in ranges)
    data = path.read_bytes()
    starts = [r.start for r in ranges if isinstance(r, partitions.RangeSource)]
    ends = [r.end for r in ranges if isinstance(r, partitions.RangeSource)]
    assert starts[0] == 0 and ends[-1] == len(data) and starts[1:] == ends[:-1]
    assert all(data[start - 1 : start] == b"\n" for start in starts[1:])
    assert [part.detected_format for part in parts] == [None, "openai", "openai"]


def test_the_ranges_read_back_to_every_record_once(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(_usage_lines(500)) + "\n")
    parts = partitions.plan_parts([str(path)], ReadOptions(), 4)
    assert parts is not None
    inputs = []
    for part in parts:
        options = ReadOptions(detected_format=part.detected_format)
        logs = read_sources(part.sources, options, lambda _model: "cl100k_base")
        inputs += logs.requests.tokens["input_tokens"].tolist()
    assert inputs == [10 + index for index in range(500)]


def test_trace_spans_strict_runs_and_compressed_files_are_read_whole(tmp_path: Path) -> None:
    spans = data_file("logs/otel_spans.jsonl")
    assert partitions.plan_parts([str(spans)], ReadOptions(), 2) is None
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(_usage_lines(200)) + "\n")
    assert partitions.plan_parts([str(path)], ReadOptions(strict=True), 2) is None
    packed = tmp_path / "usage.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert partitions.plan_parts([str(packed)], ReadOptions(), 2) is None
    assert partitions.plan_parts(["-"], ReadOptions(), 2) is None


def test_examples_of_a_later_range_are_renumbered_to_the_file_lines() -> None:
    problems = Problems()
    problems.skip("a.jsonl", 3, "malformed JSON")
    problems.skip("other.jsonl", 3, "malformed JSON")
    partitions.shift_examples(problems, "a.jsonl", 1_000)
    assert problems.examples["malformed JSON"] == ["a.jsonl:1003", "other.jsonl:3"]
    first = Problems()
    first.skip("a.jsonl", 1, "malformed JSON")
    partitions.merge_problems(first, problems)
    assert first.skipped["malformed JSON"] == 3
    assert first.examples["malformed JSON"] == ["a.jsonl:1", "a.jsonl:1003", "other.jsonl:3"]


def test_progress_counts_every_record_read_when_partitions_are_handed_on(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(_usage_lines(20_000)) + "\n")
    seen: list[int] = []
    handed: list[int] = []
    options = ReadOptions(partition_rows=500, chunk_rows=1_000)
    read_sources(
        [Source(str(path), path)],
        options,
        lambda _model: "cl100k_base",
        progress=seen.append,
        partition_sink=lambda table: handed.append(len(table)),
    )
    assert sum(handed) == 20_000 and len(handed) > 1
    assert seen == sorted(seen) and seen[-1] == 20_000


def _gemini_lines(count: int) -> list[str]:
    """Gemini generateContent responses as a logging wrapper keeps them, with their time: a shape
    read the record way (one record at a time)."""
    return [
        json.dumps(
            {
                "timestamp": 1755856800 + index,
                "response": {
                    "candidates": [{"content": {"role": "model", "parts": [{"text": "done"}]}}],
                    "usageMetadata": {
                        "promptTokenCount": 100 + index % 7,
                        "candidatesTokenCount": 20 + index % 3,
                        "totalTokenCount": 120 + index % 7 + index % 3,
                    },
                    "modelVersion": "gemini-2.5-flash",
                    "responseId": f"r{index:06d}",
                },
            }
        )
        for index in range(count)
    ]


def test_on_one_machine_only_files_read_the_record_way_are_split(tmp_path: Path) -> None:
    """Usage-only OpenAI lines beyond one record block are read the columnar way, on threads that
    use every core: left whole on one machine, split for a cluster. Gemini responses in a logging
    wrapper are read the record way: split either way."""
    usage = tmp_path / "usage.jsonl"
    usage.write_text("\n".join(_usage_lines(4_000)) + "\n")
    responses = tmp_path / "gemini.jsonl"
    responses.write_text("\n".join(_gemini_lines(4_000)) + "\n")
    assert usage.stat().st_size > 1 << 18

    assert partitions.plan_parts([str(usage)], ReadOptions(), 2, columnar_too=False) is None
    assert len(partitions.plan_parts([str(usage)], ReadOptions(), 2) or []) == 2
    split = partitions.plan_parts([str(responses)], ReadOptions(), 2, columnar_too=False)
    assert split is not None
    assert [part.detected_format for part in split] == [None, "gemini"]
    both = partitions.plan_parts([str(usage), str(responses)], ReadOptions(), 2, columnar_too=False)
    assert both is not None
    assert [part.sources[0].name for part in both] == [str(usage), str(responses), str(responses)]


def test_a_small_usage_file_is_read_the_record_way_and_split_like_one(tmp_path: Path) -> None:
    """Within one record block the reader reads even usage-only lines the record way."""
    usage = tmp_path / "usage.jsonl"
    usage.write_text("\n".join(_usage_lines(300)) + "\n")
    assert usage.stat().st_size < 1 << 18
    assert len(partitions.plan_parts([str(usage)], ReadOptions(), 2, columnar_too=False) or []) == 2


def test_on_one_machine_a_file_read_the_record_way_is_split_from_a_lower_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = tmp_path / "gemini.jsonl"
    responses.write_text("\n".join(_gemini_lines(2_000)) + "\n")
    size = responses.stat().st_size
    monkeypatch.setattr(partitions, "SPLIT_MIN_BYTES", size + 1)
    monkeypatch.setattr(partitions, "RECORD_WAY_SPLIT_MIN_BYTES", size)
    assert partitions.plan_parts([str(responses)], ReadOptions(), 2) is None
    assert (
        len(partitions.plan_parts([str(responses)], ReadOptions(), 2, columnar_too=False) or [])
        == 2
    )
    monkeypatch.setattr(partitions, "RECORD_WAY_SPLIT_MIN_BYTES", size + 1)
    assert partitions.plan_parts([str(responses)], ReadOptions(), 2, columnar_too=False) is None
