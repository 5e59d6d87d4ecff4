"""Turn what the user typed (files, globs, directories, `-`) into readable byte streams.

Compression is recognised from the file's magic bytes, not its name, so `logs.jsonl` that is really
gzip still reads, and `.gz`/`.zst` files are streamed without being unpacked on disk.
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
from typing import Any, BinaryIO, cast

from costaudit.errors import InputError

READ_BUFFER_BYTES = 1 << 18
"""Files are read through a 256 KiB buffer: fewer system calls, and the first records can be sniffed
even when lines are long (logged prompts)."""
GZIP_MAGIC = b"\x1f\x8b"

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
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


@dataclass(frozen=True)
class Source:
    """One input: a path on disk, or standard input when `path` is None."""

    name: str
    path: Path | None

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary stream of the (decompressed) content; every layer is closed afterwards."""
        raw: BinaryIO
        if self.path is None:
            raw = sys.stdin.buffer
        else:
            try:
                raw = self.path.open("rb", buffering=READ_BUFFER_BYTES)
            except FileNotFoundError:
                raise InputError(self.name, "file not found") from None
            except IsADirectoryError:
                raise InputError(self.name, "is a directory") from None
            except OSError as exc:
                raise InputError(self.name, f"cannot read: {exc.strerror}") from None
        stream = decompressed(raw, self.name)
        try:
            yield stream
        finally:
            if stream is not raw:
                stream.close()
            if self.path is not None:
                raw.close()


def decompressed(raw: BinaryIO, name: str) -> BinaryIO:
    """Wrap `raw` in a decompressor when its first bytes say it is gzip or zstd."""
    buffered = (
        raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast("io.RawIOBase", raw))
    )
    head = buffered.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        unpacked = gzip.GzipFile(fileobj=buffered, mode="rb")
        return io.BufferedReader(unpacked, buffer_size=READ_BUFFER_BYTES)

    if head.startswith(ZSTD_MAGIC):
        try:
            import zstandard
        except ImportError:  # pragma: no cover - zstandard is a dependency
            raise InputError(
                name, "zstd-compressed, but the zstandard package is missing"
            ) from None
        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        return io.BufferedReader(
            _ZstdRaw(reader, zstandard.ZstdError), buffer_size=READ_BUFFER_BYTES
        )

    return buffered


class _ZstdRaw(io.RawIOBase):
    """A zstd stream reader whose decoding errors are OSErrors, like gzip's, so a corrupt file is
    reported as an unreadable input (exit 3) instead of escaping as an internal error."""

    def __init__(self, reader: BinaryIO, error: type[Exception]) -> None:
        super().__init__()
        self._reader = reader
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._reader.readinto(buffer))  # type: ignore[attr-defined]
        except self._error as exc:
            raise OSError(f"corrupt zstd data: {exc}") from None

    def close(self) -> None:
        self._reader.close()
        super().close()


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


def iter_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines of a binary stream, read in large blocks for speed."""
    yield from stream
