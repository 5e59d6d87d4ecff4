"""Inputs: several files, globs, directories, standard input, gzip and zstd (recognised by content)."""

from __future__ import annotations

import gzip
import io
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
import zstandard

from costaudit.errors import InputError
from costaudit.ingest.reader import ReadOptions, read_logs
from costaudit.ingest.sources import (
    Stream,
    decompressed,
    expand_sources,
    with_head,
    without_bom,
)
from support import Read


@pytest.fixture
def chat_log(logs: Path) -> bytes:
    return (logs / "openai_chat.jsonl").read_bytes()


def test_several_files_globs_and_directories(read: Read, tmp_path: Path, chat_log: bytes) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.jsonl").write_bytes(chat_log)
    (tmp_path / "a" / "nested").mkdir()
    (tmp_path / "a" / "nested" / "two.jsonl").write_bytes(chat_log)
    (tmp_path / "a" / "notes.txt").write_text("not a log")
    (tmp_path / "a" / ".hidden.jsonl").write_bytes(chat_log)
    (tmp_path / "b-1.jsonl").write_bytes(chat_log)
    (tmp_path / "b-2.jsonl").write_bytes(chat_log)
    sources = expand_sources([str(tmp_path / "a"), str(tmp_path / "b-*.jsonl")])
    assert [Path(source.name).name for source in sources] == [
        "two.jsonl",
        "one.jsonl",
        "b-1.jsonl",
        "b-2.jsonl",
    ]
    workload = read(tmp_path / "a", tmp_path / "b-*.jsonl", tmp_path / "b-1.jsonl")
    assert len(workload.files) == 4  # b-1 named twice is read once
    assert len(workload.requests) == 12


def test_standard_input(
    read: Read, monkeypatch: pytest.MonkeyPatch, chat_log: bytes, tmp_path: Path
) -> None:
    class Stdin:
        buffer = io.BufferedReader(io.BytesIO(gzip.compress(chat_log)))

    monkeypatch.setattr(sys, "stdin", Stdin())
    monkeypatch.chdir(tmp_path)
    workload = read("-")
    assert workload.files[0].name == "<stdin>"
    assert len(workload.requests) == 3


def test_gzip_and_zstd_are_recognised_by_content(
    read: Read, tmp_path: Path, chat_log: bytes, logs: Path
) -> None:
    (tmp_path / "chat.jsonl.gz").write_bytes(gzip.compress(chat_log))
    (tmp_path / "chat.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(chat_log))
    (tmp_path / "misnamed.jsonl").write_bytes(gzip.compress(chat_log))
    csv_bytes = (logs / "azure_trace.csv").read_bytes()
    (tmp_path / "trace.csv.zst").write_bytes(zstandard.ZstdCompressor().compress(csv_bytes))
    array = (logs / "litellm_spend_logs.json").read_bytes()
    (tmp_path / "spend.json.gz").write_bytes(gzip.compress(array))
    workload = read(*sorted(tmp_path.iterdir()))
    formats = {Path(report.name).name: report.format for report in workload.files}
    assert formats == {
        "chat.jsonl.gz": "openai",
        "chat.jsonl.zst": "openai",
        "misnamed.jsonl": "openai",
        "spend.json.gz": "litellm",
        "trace.csv.zst": "azure-trace",
    }
    assert len(workload.requests) == 3 * 3 + 3 + 5


def test_multi_frame_zstd(read: Read, tmp_path: Path, chat_log: bytes) -> None:
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "frames.jsonl.zst"
    path.write_bytes(compressor.compress(chat_log) + compressor.compress(chat_log))
    assert len(read(path).requests) == 6


def test_cut_or_corrupt_compressed_files_are_input_errors(
    read: Read, tmp_path: Path, chat_log: bytes
) -> None:
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(chat_log * 50)[:-40])
    with pytest.raises(InputError, match="cut off or corrupt"):
        read(cut)
    corrupt = tmp_path / "corrupt.jsonl.zst"
    corrupt.write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 20)
    with pytest.raises(InputError, match="corrupt zstd data"):
        read(corrupt)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.jsonl", "file not found"),
        ("nothing-*.jsonl", "pattern matches no files"),
        ("empty-dir", "directory holds no log files"),
    ],
)
def test_inputs_that_name_nothing(read: Read, tmp_path: Path, spec: str, message: str) -> None:
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(InputError, match=message):
        read(tmp_path / spec)


# --- streams: every input is opened once and read once --------------------------------------------

ENTRY = [sys.executable, "-m", "costaudit"]


def _usage_lines(records: int) -> bytes:
    lines = [
        orjson.dumps(
            {
                "object": "chat.completion",
                "created": 1_790_812_800 + index,
                "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": 1_000, "completion_tokens": 100},
            }
        )
        for index in range(records)
    ]
    return b"\n".join(lines) + b"\n"


def _records_read(stdout: str) -> int:
    return int(orjson.loads(stdout)["records"]["read"])


@pytest.mark.parametrize("spec", ["-", "/dev/stdin"])
@pytest.mark.parametrize(
    ("kind", "records"), [("usage", 3_000), ("usage.gz", 3_000), ("csv", 5), ("parquet", 4)]
)
def test_piped_standard_input_is_read_once_to_the_end(
    spec: str, kind: str, records: int, logs: Path, tmp_path: Path
) -> None:
    """`cat log | costaudit analyze -` (or /dev/stdin): a pipe cannot be reopened or rewound."""
    if kind.startswith("usage"):
        data = _usage_lines(records)
        data = gzip.compress(data) if kind.endswith(".gz") else data
    elif kind == "csv":
        data = (logs / "azure_trace.csv").read_bytes()
    else:
        table = pd.DataFrame(
            {"model": ["gpt-4o"] * records, "input_tokens": [10] * records, "output_tokens": 1}
        )
        table.to_parquet(tmp_path / "t.parquet")
        data = (tmp_path / "t.parquet").read_bytes()
    done = subprocess.run(
        [*ENTRY, "analyze", spec, "--model", "gpt-4o", "-o", "json"],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _records_read(done.stdout.decode()) == records


def test_process_substitution(tmp_path: Path) -> None:
    log = tmp_path / "usage.jsonl"
    log.write_bytes(_usage_lines(2_000))
    command = " ".join([*map(shlex.quote, ENTRY), "analyze", f"<(cat {shlex.quote(str(log))})"])
    done = subprocess.run(
        ["bash", "-c", command + " -o json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert _records_read(done.stdout) == 2_000


def test_a_fifo_is_read_as_its_writer_writes(tmp_path: Path) -> None:
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    data = _usage_lines(5_000)

    def writer() -> None:
        with fifo.open("wb") as sink:
            for start in range(0, len(data), 65_536):
                sink.write(data[start : start + 65_536])
                sink.flush()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    workload = read_logs([str(fifo)], ReadOptions(), lambda _model: "cl100k_base")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert workload.records_read == 5_000
    assert workload.files[0].container == "jsonl"
    # 5,000 × 1,000 input tokens
    assert int(workload.requests.tokens["input_tokens"].sum()) == 5_000_000


def test_a_head_delivered_in_small_pieces_is_sniffed_whole(tmp_path: Path) -> None:
    """A pipe may hand over a few bytes at a time: the container is still judged on the full head."""

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            piece, self.data = self.data[:7], self.data[7:]
            buffer[: len(piece)] = piece
            return len(piece)

    data = _usage_lines(300)
    stream: Stream = io.BufferedReader(Trickle(gzip.compress(b"\xef\xbb\xbf" + data)), 16)
    head, rest = with_head(stream, 4)
    assert head == b"\x1f\x8b\x08\x00"
    with decompressed(rest, "trickle") as unpacked:
        content = without_bom(unpacked)
        head, content = with_head(content, 65_536)
        assert head == data[:65_536]
        assert content.read() == data
