"""Split the inputs of a run into parts that separate processes (or cluster workers) can read alone.

A part is a whole input, or a byte range of a large uncompressed JSON-lines file that starts and ends
at line boundaries. The first range of a file is read like the file (its format recognised from its
head); the later ranges are read as that format (`ReadOptions.detected_format`). Their line numbers
start again at 1 and are shifted afterwards by the lines of the ranges before them (`shift_examples`),
so `file:line` in reports is the same as when the file is read in one go.

Inputs are only split when every record can be read on its own: no trace spans (a span is billed once
its whole trace is seen), no `--strict` (the first bad record must be the first in the file), and only
regular files (standard input and pipes cannot be read twice). On one machine they are only worth
splitting when read the record way (Python per record, one core): a file read the columnar way is
parsed on threads that already use every core. A cluster splits both.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise
from pathlib import Path

from costaudit.errors import CostAuditError
from costaudit.ingest.containers import (
    HEAD_BYTES,
    RECORD_BLOCK_BYTES,
    Record,
    block_records,
    sniff,
)
from costaudit.ingest.formats import Format, builtin_formats
from costaudit.ingest.problems import EXAMPLES_KEPT, Problems
from costaudit.ingest.reader import DETECTION_RECORDS, FileReader, FileReport, ReadOptions
from costaudit.ingest.sources import (
    GZIP_MAGIC,
    READ_BUFFER_BYTES,
    ZSTD_MAGIC,
    Source,
    Stream,
    expand_sources,
    without_bom,
)

SPLIT_MIN_BYTES = 48 << 20
"""Files smaller than this are read whole: below it, starting a process costs more than it saves."""
RECORD_WAY_SPLIT_MIN_BYTES = 24 << 20
"""The same on one machine for a file read the record way, where each record costs tens of
microseconds of Python. Ranges in two processes against one, paired runs on 2 cores: OpenAI gateway
lines (about 510 bytes) 1.17× the time at 8 MB, 0.96× (0.80–1.10) at 16 MB; 0.76–0.80× on 27–33 MB
logs of two other formats, 0.73–0.77× on 51–79 MB of three. A file's size stands in for its number
of records, which is not known before it is read (bench/README.md, "Every reader")."""
BOUNDARY_SEARCH_BYTES = 1 << 16


@dataclass(frozen=True)
class RangeSource(Source):
    """Bytes [start, end) of a file, both at line boundaries."""

    start: int = 0
    end: int = 0

    @contextlib.contextmanager
    def open(self) -> Iterator[Stream]:
        assert self.path is not None
        with self.path.open("rb") as raw:
            raw.seek(self.start)
            limited = io.BufferedReader(_Limited(raw, self.end - self.start), READ_BUFFER_BYTES)
            yield without_bom(limited) if self.start == 0 else limited


class _Limited(io.RawIOBase):
    """At most `size` bytes of a stream."""

    def __init__(self, stream: io.BufferedReader, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        wanted = min(len(buffer), self._left)
        data = self._stream.read(wanted)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


@dataclass(frozen=True)
class Part:
    """What one reader reads: some inputs, whole, or one range of a file."""

    sources: tuple[Source, ...]
    detected_format: str | None = None
    """Set for the ranges after a file's first: the format its head was recognised as."""

    @property
    def continues_file(self) -> bool:
        return self.detected_format is not None


def plan_parts(
    specs: Sequence[str], options: ReadOptions, ways: int, *, columnar_too: bool = True
) -> list[Part] | None:
    """The parts to read the inputs in, `ways` ranges per large JSON-lines file; None when the inputs
    must be read front to back by one reader (see the module docstring), are too small to be worth
    reading in several processes, or make only one part. Without `columnar_too` (one machine), files
    read the columnar way stay whole, since their parse threads use every core already, and files
    read the record way are split from `RECORD_WAY_SPLIT_MIN_BYTES`."""
    if options.strict or ways < 2:
        return None
    try:
        sources = expand_sources(specs)
    except CostAuditError:
        return None
    smallest = SPLIT_MIN_BYTES if columnar_too else RECORD_WAY_SPLIT_MIN_BYTES
    if sum(_size(source) for source in sources) < min(smallest, SPLIT_MIN_BYTES):
        return None
    formats = builtin_formats(options.mapping, options.group_fields)
    parts: list[Part] = []
    for source in sources:
        split = _split(source, options, formats, ways, columnar_too)
        if split is None:
            return None
        parts += split
    return parts if len(parts) > 1 else None


def _size(source: Source) -> int:
    """The size of a regular file (0 for anything else: it is not split)."""
    try:
        return source.path.stat().st_size if source.path is not None else 0
    except OSError:
        return 0


def _split(
    source: Source, options: ReadOptions, formats: list[Format], ways: int, columnar_too: bool
) -> list[Part] | None:
    path = source.path
    if path is None or not path.is_file():
        return None
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return None
    if head.startswith((GZIP_MAGIC, ZSTD_MAGIC)) or sniff(head)[0] != "jsonl":
        return None
    records = _head_records(head)
    fmt = _head_format(source.name, records, options, formats)
    if fmt is None or fmt.spans:
        return None
    if size < _split_min_bytes(fmt, records, size, options, columnar_too):
        return [Part((source,))]
    bounds = _line_bounds(path, size, ways)
    ranges = [
        RangeSource(source.name, path, start, end) for start, end in pairwise(bounds) if end > start
    ]
    return [
        Part((source_range,), fmt.name if index else None)
        for index, source_range in enumerate(ranges)
    ]


def _head_records(head: bytes) -> list[Record]:
    """The records the reader recognises a file's format from: its first whole lines."""
    whole_lines = head[: head.rfind(b"\n") + 1] if b"\n" in head else head
    return list(islice(block_records(1, bytearray(whole_lines)), DETECTION_RECORDS))


def _head_format(
    name: str, records: list[Record], options: ReadOptions, formats: list[Format]
) -> Format | None:
    """The format the reader will recognise the file as from its first `records` (None when it
    recognises none: the reader then says so)."""
    if not records:
        return None
    reader = FileReader(formats, options, Problems())
    try:
        return reader._choose(records, "jsonl", name)
    except CostAuditError:
        return None


def _split_min_bytes(
    fmt: Format, records: list[Record], size: int, options: ReadOptions, columnar_too: bool
) -> float:
    """The size from which this file is worth reading in ranges (infinite: never)."""
    if columnar_too:
        return SPLIT_MIN_BYTES
    if _read_as_columns(fmt, records, size, options):
        return math.inf
    return RECORD_WAY_SPLIT_MIN_BYTES


def _read_as_columns(fmt: Format, records: list[Record], size: int, options: ReadOptions) -> bool:
    """Whether the reader takes this file the columnar way (it reads a file of one record block the
    record way). Its blocks are then parsed on threads that already keep every core busy, and a
    second process would only add its start-up and compete for them; the record way is one core's
    Python per record, which ranges multiply."""
    reader = FileReader([fmt], options, Problems())
    return size > RECORD_BLOCK_BYTES and reader._columnar_way(fmt, records) is not None


def reads_apart(source: Source, options: ReadOptions) -> bool:
    """Whether `source` can be read by a reader of its own: a JSON-lines input (compressed or not)
    whose format is not one of trace spans. Anything else (another container, a head that names no
    format) is taken not to, so the inputs are then read by one reader, as locally."""
    try:
        with source.open() as stream:
            head = stream.read(HEAD_BYTES)
    except (CostAuditError, OSError, EOFError):
        return False
    if sniff(head)[0] != "jsonl":
        return False
    formats = builtin_formats(options.mapping, options.group_fields)
    fmt = _head_format(source.name, _head_records(head), options, formats)
    return fmt is not None and not fmt.spans


def _line_bounds(path: Path, size: int, ways: int) -> list[int]:
    """`ways + 1` offsets from 0 to `size`, each (but the ends) just after a newline."""
    bounds = [0]
    with path.open("rb") as handle:
        for index in range(1, ways):
            handle.seek(max(bounds[-1], size * index // ways))
            position = handle.tell()
            while True:
                chunk = handle.read(BOUNDARY_SEARCH_BYTES)
                if not chunk:
                    position = size
                    break
                newline = chunk.find(b"\n")
                if newline >= 0:
                    position += newline + 1
                    break
                position += len(chunk)
            bounds.append(position)
    bounds.append(size)
    return bounds


def shift_examples(problems: Problems, name: str, lines_before: int) -> None:
    """Renumber the `name:line` examples of a range read after `lines_before` lines of its file."""
    if not lines_before:
        return
    prefix = f"{name}:"
    for reason, examples in problems.examples.items():
        problems.examples[reason] = [
            _shifted(example, prefix, lines_before) for example in examples
        ]


def _shifted(example: str, prefix: str, lines_before: int) -> str:
    if not example.startswith(prefix):
        return example
    line = example[len(prefix) :]
    return f"{prefix}{int(line) + lines_before}" if line.isdigit() else example


def merge_problems(into: Problems, more: Problems) -> None:
    """Add the problems of inputs read after `into`'s (first examples first)."""
    into.skipped.update(more.skipped)
    into.notes.update(more.notes)
    into.set_aside_reasons |= more.set_aside_reasons
    for reason, examples in more.examples.items():
        kept = into.examples.setdefault(reason, [])
        kept.extend(examples[: max(0, EXAMPLES_KEPT - len(kept))])


def merge_reports(reports: Sequence[tuple[Part, list[FileReport]]]) -> list[FileReport]:
    """One report per input: the ranges of a file added up."""
    merged: list[FileReport] = []
    for part, files in reports:
        if part.continues_file and merged:
            merged[-1].records += sum(report.records for report in files)
            merged[-1].lines += sum(report.lines for report in files)
        else:
            merged += files
    return merged


def worker_count() -> int:
    """Processes that read parts at the same time (this one included)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
