"""Read log files of any supported format into one canonical request table.

Each file's container (JSON lines, JSON array/document, CSV, Parquet; gzip/zstd or plain) is sniffed from
its first bytes, then its format from its first records, so one run can mix files of different kinds.
Records stream through in chunks; only the compact table is kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson
import pandas as pd

from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.errors import InputError
from costaudit.ingest.formats import Format, builtin_formats
from costaudit.ingest.problems import BadRecord, Problems
from costaudit.ingest.sources import Source, expand_sources
from costaudit.ingest.table import DEFAULT_CHUNK_ROWS, TableBuilder

DETECTION_RECORDS = 50
"""How many leading records may be looked at to recognise a file's format."""
CSV_BATCH_ROWS = 16_384

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ReadOptions:
    """What the user told us about the logs."""

    format: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    default_model: str | None = None
    group_fields: Sequence[str] = ()
    strict: bool = False
    chunk_rows: int = DEFAULT_CHUNK_ROWS


@dataclass
class FileReport:
    name: str
    format: str
    records: int = 0


@dataclass
class Workload:
    """The canonical request table plus everything said about how it was read."""

    requests: pd.DataFrame
    files: list[FileReport]
    problems: Problems
    records_read: int
    estimated_encodings: set[str]
    prefix_blocks: PrefixBlocks | None = None
    """Chained prefix-block hashes aligned with `requests` rows, when the logs carried or allowed them."""


Record = tuple[int, Any]
"""(line or item number, parsed value or the bad raw value) of one record."""


class _BadJson:
    __slots__ = ()


BAD_JSON = _BadJson()


def _json_lines(stream: BinaryIO) -> Iterator[Record]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError:
            yield number, BAD_JSON


def _json_document(stream: BinaryIO) -> Iterator[Record]:
    """A whole JSON document: an array yields its items, an object is one record."""
    data = stream.read()
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        yield 1, BAD_JSON
        return
    if isinstance(document, list):
        yield from enumerate(document, 1)
    else:
        yield 1, document


def _csv_rows(stream: BinaryIO, delimiter: str) -> Iterator[Record]:
    """Rows of a CSV (or TSV) file as dicts of strings; empty cells are missing values."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.DictReader(text, delimiter=delimiter)
    for row in reader:
        yield (
            reader.line_num,
            {
                key: (value if value != "" else None)
                for key, value in row.items()
                if key is not None
            },
        )


def _parquet_rows(stream: BinaryIO) -> Iterator[Record]:
    import pyarrow.parquet as pq

    data = stream if stream.seekable() else io.BytesIO(stream.read())
    parquet = pq.ParquetFile(data)
    number = 0
    for batch in parquet.iter_batches(batch_size=CSV_BATCH_ROWS):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _container(stream: BinaryIO) -> tuple[str, Iterator[Record]]:
    """Recognise the container from the first bytes: Parquet, JSON array/object, JSON lines or CSV."""
    head = stream.peek(65_536)[:65_536] if hasattr(stream, "peek") else b""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet", _parquet_rows(stream)
    if stripped.startswith(b"["):
        return "json", _json_document(stream)
    if stripped.startswith(b"{"):
        first_line = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return "json", _json_document(stream)
        return "jsonl", _json_lines(stream)
    if not stripped:
        return "empty", iter(())
    if b"\x00" in head[:4096]:
        return "binary", iter(())
    header = head.split(b"\n", 1)[0]
    return "csv", _csv_rows(stream, "\t" if header.count(b"\t") > header.count(b",") else ",")


class FileReader:
    """Reads one file: picks its format, then turns every record into drafts for the builder."""

    def __init__(self, formats: list[Format], options: ReadOptions, problems: Problems) -> None:
        self.formats = formats
        self.by_name = {fmt.name: fmt for fmt in formats}
        self.options = options
        self.problems = problems

    def _choose(self, records: list[Record], container: str, name: str) -> Format:
        if self.options.format:
            return self.by_name[self.options.format]
        if self.options.mapping:
            return self.by_name["generic"]
        columnar = container in {"csv", "parquet"}
        for _, value in records:
            if not isinstance(value, Mapping):
                continue
            for fmt in self.formats:
                if columnar and fmt.detect_columns is not None and fmt.detect_columns(list(value)):
                    return fmt
                if fmt.detect(value):
                    return fmt
        raise InputError(
            name, f"not a log format costaudit recognises ({container}); use --format or --map"
        )

    def read(self, source: Source, builder: TableBuilder, progress: Progress | None) -> FileReport:
        report = FileReport(name=source.name, format="(empty)")
        with source.open() as stream:
            container, records = _container(stream)
            if container == "binary":
                raise InputError(source.name, "binary data, not a log file")
            try:
                self._read_records(source.name, container, records, builder, report, progress)
            except (csv.Error, UnicodeDecodeError) as exc:
                where = f"after record {report.records}" if report.records else "at the start"
                raise InputError(source.name, f"unreadable {container} {where}: {exc}") from None
            except OSError as exc:
                raise InputError(source.name, f"cannot read ({exc})") from None
        return report

    def _read_records(
        self,
        name: str,
        container: str,
        records: Iterator[Record],
        builder: TableBuilder,
        report: FileReport,
        progress: Progress | None,
    ) -> None:
        head = [record for _, record in zip(range(DETECTION_RECORDS), records, strict=False)]
        if not head:
            self.problems.note(f"{name}: empty file, no records")
            return
        fmt = self._choose(head, container, name)
        report.format = fmt.name
        for number, value in _resume(head, records):
            self._one(fmt, name, number, value, builder, report)
            if progress is not None and not report.records % 8192:
                progress(builder.rows)

    def _one(
        self,
        fmt: Format,
        file: str,
        number: int,
        value: object,
        builder: TableBuilder,
        report: FileReport,
    ) -> None:
        try:
            if value is BAD_JSON:
                raise BadRecord("malformed JSON")
            if not isinstance(value, Mapping):
                raise BadRecord("not a JSON object")
            drafts = fmt.extract(value)
        except BadRecord as bad:
            report.records += 1
            self.problems.skip(file, number, bad.reason)
            return
        for draft in drafts if isinstance(drafts, list) else (drafts,):
            report.records += 1
            if draft.model is None:
                draft.model = self.options.default_model
            builder.add(draft, file, number)


def _resume(head: list[Record], rest: Iterator[Record]) -> Iterator[Record]:
    yield from head
    yield from rest


def read_logs(
    specs: Sequence[str],
    options: ReadOptions,
    tokenizer_for: Callable[[str | None], str],
    progress: Progress | None = None,
) -> Workload:
    """Read every input named by `specs` into one canonical request table."""
    problems = Problems(strict=options.strict)
    formats = builtin_formats(options.mapping, options.group_fields)
    if options.format and options.format not in {fmt.name for fmt in formats}:
        names = ", ".join(fmt.name for fmt in formats)
        raise InputError("--format", f"unknown format `{options.format}` (known: {names})")
    builder = TableBuilder(problems, tokenizer_for, chunk_rows=options.chunk_rows)
    reader = FileReader(formats, options, problems)
    reports = [reader.read(source, builder, progress) for source in expand_sources(specs)]
    requests = builder.finish()
    records_read = sum(report.records for report in reports)
    if records_read != len(requests) + problems.skipped_total:
        raise AssertionError("record accounting is inconsistent: read != kept + skipped")
    prefix = builder.prefix_blocks()
    return Workload(
        prefix_blocks=PrefixBlocks(*prefix) if prefix is not None else None,
        requests=requests,
        files=reports,
        problems=problems,
        records_read=records_read,
        estimated_encodings=builder.estimated_encodings,
    )
