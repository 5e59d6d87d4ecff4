"""Turn what the user typed (files, globs, directories, `-`) into byte streams, each opened once.

An input is opened once and read once, front to back, as a stream: nothing is reopened and nothing
seeks, so standard input, `/dev/stdin`, pipes, FIFOs and process substitution (`<(zcat log.gz)`)
read like files. Compression is recognised from the content's magic bytes, not its name, so
`logs.jsonl` that is really gzip still reads, and `.gz`/`.zst` files are streamed without being
unpacked on disk; a compressed stream must reach its end marker, so a file cut short is an error,
never a shorter log. A UTF-8 byte-order mark at the start of the content is dropped.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from costaudit.errors import InputError

READ_BUFFER_BYTES = 1 << 18
"""Files are read through a 256 KiB buffer: fewer system calls, and the first records can be sniffed
even when lines are long (logged prompts)."""
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BOM = b"\xef\xbb\xbf"
LOG_SUFFIXES = (
    ".jsonl",
    ".ndjson",
    ".json",
    ".csv",
    ".tsv",
    ".parquet",
    ".pq",
    ".log",
    ".gz",
    ".zst",
)
"""Files picked up when a directory is given (compressed variants end in .gz/.zst)."""

if TYPE_CHECKING:
    Stream = io.BufferedReader[Any]
    """A buffered binary stream (it can `peek`), whatever it reads from."""
else:
    Stream = io.BufferedReader


@dataclass(frozen=True)
class Source:
    """One input: a path (a file, FIFO or /dev/fd/N), or standard input when `path` is None."""

    name: str
    path: Path | None

    @contextlib.contextmanager
    def open(self) -> Iterator[Stream]:
        """The content as one buffered stream: decompressed, without a byte-order mark. The input
        is opened here and only here; every layer is closed afterwards (standard input excepted)."""
        raw: Stream
        if self.path is None:
            raw = _buffered(sys.stdin.buffer)
        else:
            try:
                raw = _buffered(self.path.open("rb", buffering=READ_BUFFER_BYTES))
            except FileNotFoundError:
                raise InputError(self.name, "file not found") from None
            except IsADirectoryError:
                raise InputError(self.name, "is a directory") from None
            except OSError as exc:
                raise InputError(self.name, f"cannot read: {exc.strerror}") from None
        try:
            yield without_bom(decompressed(raw, self.name))
        finally:
            if self.path is not None:
                raw.close()


def _buffered(stream: BinaryIO) -> Stream:
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(_Borrowed(stream), READ_BUFFER_BYTES)


def with_head(stream: Stream, size: int) -> tuple[bytes, Stream]:
    """The first `size` bytes of the stream (fewer only at its end), and a stream that still starts
    with them. A pipe may deliver less than asked for in one read, so the head is read until it is
    complete, then replayed in front of the rest."""
    head = stream.peek(size)[:size]
    if len(head) >= size:
        return head, stream
    head = stream.read(size)
    return head, io.BufferedReader(_Replay(head, stream), READ_BUFFER_BYTES)


def without_bom(stream: Stream) -> Stream:
    head, stream = with_head(stream, len(BOM))
    if head == BOM:
        stream.read(len(BOM))
    return stream


def decompressed(raw: Stream, name: str) -> Stream:
    """`raw`, decompressed when its first bytes say it is gzip or zstd."""
    magic, raw = with_head(raw, 4)
    if magic.startswith(GZIP_MAGIC):
        unpacked = gzip.GzipFile(fileobj=raw, mode="rb")
        return io.BufferedReader(unpacked, buffer_size=READ_BUFFER_BYTES)
    if magic.startswith(ZSTD_MAGIC):
        return io.BufferedReader(_Zstd(raw), buffer_size=READ_BUFFER_BYTES)
    return raw


class _Borrowed(io.RawIOBase):
    """A readable view of a stream owned by someone else: closing the view leaves it open."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Replay(_Borrowed):
    """`head` (already read from `stream`), then the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__(stream)
        self._head = memoryview(head)

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        return super().readinto(buffer)


class _Zstd(io.RawIOBase):
    """zstd frames decoded by pyarrow's codec, which, unlike a plain stream reader, reports a
    stream that ends inside a frame; decoding errors are OSErrors (exit 3), like gzip's, and a
    stream cut short is an EOFError, as gzip's is."""

    def __init__(self, raw: Stream) -> None:
        super().__init__()
        import pyarrow as pa

        self._errors: tuple[type[Exception], ...] = (pa.ArrowException, OSError)
        self._stream = pa.CompressedInputStream(pa.PythonFile(_Borrowed(raw), mode="r"), "zstd")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(len(buffer))
        except self._errors as exc:
            if "Truncated" in str(exc):
                raise EOFError("zstd data ends inside a frame") from None
            raise OSError(f"corrupt zstd data: {exc}") from None
        buffer[: len(data)] = data
        return len(data)


def _directory_files(directory: Path) -> list[Path]:
    files = [
        path
        for path in sorted(directory.rglob("*"))
        if path.is_file()
        and not path.name.startswith(".")
        and path.name.lower().endswith(LOG_SUFFIXES)
    ]
    if not files:
        raise InputError(
            str(directory),
            "directory holds no log files (.jsonl, .json, .csv, .parquet, .gz, .zst)",
        )
    return files


def expand_sources(specs: Sequence[str]) -> list[Source]:
    """Every file named by `specs`, in order, without duplicates; `-` is standard input."""
    sources: list[Source] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            sources.append(Source(name=str(path), path=path))

    for spec in specs:
        if spec == "-":
            sources.append(Source(name="<stdin>", path=None))
            continue
        path = Path(spec)
        if path.is_dir():
            for file in _directory_files(path):
                add(file)
        elif path.exists():
            add(path)
        elif glob.has_magic(spec):
            matches = sorted(Path(match) for match in glob.glob(spec, recursive=True))  # noqa: PTH207 - patterns may be absolute
            files = [match for match in matches if match.is_file()]
            if not files:
                raise InputError(spec, "pattern matches no files")
            for file in files:
                add(file)
        else:
            raise InputError(spec, "file not found")
    if not sources:
        raise InputError("(inputs)", "no log files given")
    return sources
