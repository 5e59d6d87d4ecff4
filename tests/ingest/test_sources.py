"""Inputs: several files, globs, directories, standard input, gzip and zstd (recognised by content)."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import pytest
import zstandard

from costaudit.errors import InputError
from costaudit.ingest.sources import expand_sources
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
