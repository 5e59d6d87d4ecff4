"""Streaming: memory follows the compact request table, not the raw file.

Usage-only logs many times larger than the chunk size are read with a small `chunk_rows`, under
tracemalloc. Peak traced memory must stay far below the file size, stay proportional to the table
built, and not grow when the same records are made four times longer on disk.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import tracemalloc
from pathlib import Path

import orjson
import pytest

from costaudit.ingest.reader import Logs, ReadOptions, read_logs

ROWS = 12_000
CHUNK_ROWS = 1_000


def _record(index: int, padding: int) -> bytes:
    """An OpenAI response body whose completion text is logged but, with usage present, unused."""
    body = {
        # a gateway-style timestamp keeps these lines on the record-by-record reader, whose memory this
        # test measures with tracemalloc; the vectorized reader is measured below, by RSS in a subprocess
        "timestamp": f"2025-08-22T10:00:{index % 60:02d}Z",
        "id": f"chatcmpl-{index:012d}",
        "object": "chat.completion",
        "created": 1755856800 + index,
        "model": "gpt-4o-mini-2024-07-18" if index % 2 else "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * padding}}],
        "usage": {
            "prompt_tokens": 1000 + index % 500,
            "completion_tokens": 100 + index % 50,
            "prompt_tokens_details": {"cached_tokens": index % 1000},
        },
    }
    return orjson.dumps(body)


def _write(path: Path, padding: int, container: str) -> int:
    lines = (_record(index, padding) for index in range(ROWS))
    if container == "array":
        content = b"[\n" + b",\n".join(lines) + b"\n]\n"
    else:
        content = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(content) if container == "gzip" else content)
    return len(content)


def _peak_while_reading(path: Path) -> tuple[int, Logs]:
    tracemalloc.start()
    try:
        workload = read_logs(
            [str(path)], ReadOptions(chunk_rows=CHUNK_ROWS), lambda _model: "cl100k_base"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, workload


@pytest.mark.slow
@pytest.mark.parametrize("container", ["lines", "array", "gzip"])
def test_peak_memory_follows_the_table_not_the_file(tmp_path: Path, container: str) -> None:
    short, long = tmp_path / "short.log", tmp_path / "long.log"
    short_size = _write(short, 700, container)
    long_size = _write(long, 2800, container)
    assert long_size > 20 * 1024 * 1024
    short_peak, short_workload = _peak_while_reading(short)
    long_peak, long_workload = _peak_while_reading(long)
    for workload in (short_workload, long_workload):
        assert len(workload.requests) == ROWS
        assert workload.records_read == ROWS
    table_bytes = int(long_workload.requests.to_frame().memory_usage(deep=True).sum())
    # far below the raw data, even for the short file
    assert short_peak < short_size / 2
    assert long_peak < long_size / 8
    # a small multiple of the table (finishing it concatenates the chunks once), plus the read
    # buffers (a JSON array is cut from 1 MiB blocks: at most two are alive at once)
    assert long_peak < 4 * table_bytes + 3 * 1024 * 1024
    # four times more raw bytes per record cost (almost) no more memory
    assert long_peak < 1.3 * short_peak


_RSS_SCRIPT = """
import resource, sys
from costaudit.ingest.reader import ReadOptions, read_logs
workload = read_logs([sys.argv[1]], ReadOptions(), lambda _model: "cl100k_base")
assert workload.files[0].container == "jsonl" and len(workload.requests) == int(sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _fast_record(index: int, padding: int) -> bytes:
    body = orjson.loads(_record(index, padding))
    del body["timestamp"]
    return orjson.dumps(body)


def _peak_rss_kib(path: Path, rows: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(path), str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


@pytest.mark.slow
def test_vectorized_reader_memory_does_not_grow_with_line_length(tmp_path: Path) -> None:
    """Plain usage lines take the vectorized reader; its peak RSS follows rows, not bytes per row."""
    rows = 40_000
    short, long = tmp_path / "short.jsonl", tmp_path / "long.jsonl"
    short.write_bytes(b"\n".join(_fast_record(i, 200) for i in range(rows)) + b"\n")
    long.write_bytes(b"\n".join(_fast_record(i, 4000) for i in range(rows)) + b"\n")
    assert long.stat().st_size > 150 * 1024 * 1024
    short_rss, long_rss = _peak_rss_kib(short, rows), _peak_rss_kib(long, rows)
    assert long_rss < short_rss * 1.3 + 64 * 1024, (short_rss, long_rss)
