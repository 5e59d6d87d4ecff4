"""The head start of `analyze FILE`: the same table as a normal read, or nothing at all."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from costaudit.cli.main import EARLY_BLOCK_BYTES
from costaudit.ingest import early as early_module
from costaudit.ingest import fastpath
from costaudit.ingest.early import EarlyRead, start_for_command_line
from costaudit.ingest.reader import ReadOptions, read_logs
from costaudit.ingest.table import DEFAULT_CHUNK_ROWS

BLOCK = 1 << 20


def _usage_log(path: Path, records: int) -> Path:
    lines = [
        orjson.dumps(
            {
                "object": "chat.completion",
                "created": 1_790_812_800 + index,
                "model": "gpt-4o-mini" if index % 3 else "gpt-4o",
                "usage": {
                    "prompt_tokens": 1_000 + index,
                    "completion_tokens": 10 + index % 7,
                    "prompt_tokens_details": {"cached_tokens": 128 * (index % 4)},
                },
                "choices": [{"message": {"content": "x" * 200}}],
            }
        )
        for index in range(records)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _tokens(batches: list[fastpath.UsageBatch]) -> list[list[int]]:
    return [batch.tokens["input_tokens"].tolist() for batch in batches]


def test_the_early_blocks_and_the_rest_of_the_file_make_the_same_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _usage_log(tmp_path / "usage.jsonl", 12_000)
    monkeypatch.setattr(early_module, "EARLY_BYTES", 1)  # hand over after the first block
    early = EarlyRead(log, BLOCK).start()

    taken = fastpath.read_usage_file(log, BLOCK, early)

    assert sum(batch.rows for batch in taken) == 12_000
    assert _tokens(taken) == _tokens(fastpath.read_usage_file(log, BLOCK))
    early.close()


def test_analyze_with_an_early_read_counts_every_record_once(tmp_path: Path) -> None:
    log = _usage_log(tmp_path / "usage.jsonl", 5_000)
    early = EarlyRead(log, fastpath.block_bytes(DEFAULT_CHUNK_ROWS)).start()

    workload = read_logs([str(log)], ReadOptions(), lambda _model: "cl100k_base", early=early)

    expected = sum(1_000 + index for index in range(5_000))
    assert int(workload.requests.tokens["input_tokens"].sum()) == expected
    assert workload.records_read == 5_000
    early.close()


def test_other_logs_other_paths_and_other_block_sizes_get_nothing(tmp_path: Path) -> None:
    log = _usage_log(tmp_path / "usage.jsonl", 10)
    anthropic = tmp_path / "batch.jsonl"
    anthropic.write_bytes(orjson.dumps({"custom_id": "a", "result": {"type": "succeeded"}}))

    assert EarlyRead(anthropic, BLOCK).start().take(anthropic, BLOCK) is None
    started = EarlyRead(log, BLOCK).start()
    assert started.take(anthropic, BLOCK) is None
    assert started.take(log, BLOCK * 2) is None
    started.decline(anthropic)
    assert started.take(log, BLOCK) is not None
    started.decline(log)
    assert started.take(log, BLOCK) is None


def test_a_bad_line_found_early_sends_the_file_to_the_careful_reader(tmp_path: Path) -> None:
    log = _usage_log(tmp_path / "usage.jsonl", 10)
    log.write_bytes(log.read_bytes() + b'{"object": "chat.completion", "usage": {"prompt_t\n')
    early = EarlyRead(log, BLOCK).start()

    with pytest.raises(fastpath.NotFast):
        early.take(log, BLOCK)

    workload = read_logs([str(log)], ReadOptions(), lambda _model: "cl100k_base", early=early)
    assert workload.records_read == 11
    assert workload.problems.skipped_total == 1


def test_only_a_regular_file_right_after_analyze_is_read_early(tmp_path: Path) -> None:
    log = _usage_log(tmp_path / "usage.jsonl", 3)

    started = start_for_command_line(["analyze", str(log), "-o", "json"], BLOCK)
    assert isinstance(started, EarlyRead)
    started.close()
    assert start_for_command_line(["analyze", "--strict", str(log)], BLOCK) is None
    assert start_for_command_line(["simulate", str(log)], BLOCK) is None
    assert start_for_command_line(["analyze", str(tmp_path)], BLOCK) is None
    assert start_for_command_line(["analyze", str(tmp_path / "missing.jsonl")], BLOCK) is None


def test_the_entry_point_reads_early_with_the_block_size_analyze_uses() -> None:
    assert fastpath.block_bytes(DEFAULT_CHUNK_ROWS) == EARLY_BLOCK_BYTES
