"""Read log files of any supported format into one canonical request table, through one pipeline.

Each input is opened once (`sources`), its compression recognised from its magic bytes, its container
(JSON lines, JSON array/document, CSV/TSV, Parquet) sniffed once from the head of that same stream
(`containers`), its format chosen from its first records; then the stream is read front to back, so
one run can mix files of different kinds, and standard input, pipes and FIFOs read like files.

Records go the record path: each is parsed and handed to its format's extractor, which drafts it.
A JSON-lines file whose format offers a columnar extractor, whose first records all suit it, and which
is larger than one block (below that, importing pyarrow costs more than it saves), is also read the
columnar way: blocks of lines are parsed into columns on worker threads, and each row
the extractor does not take (and every line of a block that cannot be parsed that way) goes to the
record path from memory, in order. Both paths feed the same table builder, whose validator judges
every row's counts (`validation`). Only the compact table is kept.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import sys
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

import numpy as np

from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.core.request_table import RequestTable
from costaudit.errors import InputError
from costaudit.ingest import containers
from costaudit.ingest.containers import (
    BAD_JSON,
    HEAD_BYTES,
    OVERSIZED,
    TOO_LONG,
    LineBlocks,
    Marker,
    Record,
    block_records,
    csv_rows,
    json_document,
    line_records,
    parquet_rows,
    sniff,
)
from costaudit.ingest.formats import Columnar, Format, builtin_formats
from costaudit.ingest.formats.common import is_object
from costaudit.ingest.problems import BadRecord, Problems
from costaudit.ingest.sources import Source, expand_sources, with_head
from costaudit.ingest.spans import EARLY, SetAside, Span, TraceTree
from costaudit.ingest.table import DEFAULT_CHUNK_ROWS, Draft, TableBuilder
from costaudit.ingest.validation import Verdict
from costaudit.ingest.workers import Workers

if TYPE_CHECKING:
    from costaudit.core.router_fit import FittedScorer
    from costaudit.ingest.columnar import ColumnarExtractor, ColumnBlock, ParsedBlock

__all__ = ["BAD_JSON", "FileReport", "Logs", "ReadOptions", "read_logs"]

DETECTION_RECORDS = 50
"""How many leading records may be looked at to recognise a file's format."""
DEFERRED_SHARE = 4
"""A parsed block of which more than 1/DEFERRED_SHARE of the rows go to the record path goes there
whole (cheaper than interleaving many short runs)."""
GIVE_UP_BLOCKS = 4
"""After this many blocks in a row read wholly by the record path, a file stops being parsed the
columnar way (it is not the kind of log the head promised)."""
PROGRESS_RECORDS = 8192
DEFAULT_PARTITION_ROWS = 262_144
"""Rows per partition of a log read partition by partition: large enough that per-partition work is
noise, small enough that a partition's columns take a few tens of MB."""

Progress = Callable[[int], None]
PartitionSink = Callable[[RequestTable], None]
"""Takes each partition of the request table, in reading order."""
Block = bytearray | Marker
"""A block of JSON lines, or a line that cannot be read (OVERSIZED)."""


@dataclass(frozen=True)
class ReadOptions:
    """What the user told us about the logs."""

    format: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    default_model: str | None = None
    group_fields: Sequence[str] = ()
    strict: bool = False
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    prefix_block_tokens: int | None = None
    """Hash prompt text into chained blocks of this many tokens (for prompt-cache replay); None = skip."""
    measure_encodings: tuple[str, ...] = ()
    """Also count prompts with these encodings (those available offline), for per-request tokenizer ratios."""
    scorers: Mapping[str, FittedScorer] = field(default_factory=dict)
    """Fitted scorers to apply to every prompt while reading (a `score:<name>` column each)."""
    keep_labelled_prompts: bool = False
    """Keep the prompts of rows with quality labels in memory (`Logs.labelled_prompts`), to fit a scorer."""
    partition_rows: int = DEFAULT_PARTITION_ROWS
    """With a partition sink, hand the table on in partitions of about this many rows."""
    detected_format: str | None = None
    """The format already recognised from the head of the file this input is a later part of (read
    as if detected, not forced)."""
    worker_processes: bool = True
    """Count tokens and score prompts in worker processes (off when this is itself a worker)."""


@dataclass
class FileReport:
    name: str
    format: str
    records: int = 0
    container: str = ""
    lines: int = 0
    """Lines of a JSON-lines input (to number the lines of the part of a file read after it)."""


@dataclass
class Logs:
    """The request table read from logs, plus everything said about how it was read."""

    requests: RequestTable
    files: list[FileReport]
    problems: Problems
    records_read: int
    estimated_encodings: set[str]
    labelled_prompts: list[tuple[str, int, float] | None] | None = None
    """With `ReadOptions.keep_labelled_prompts`: each row's (last user turn, user turns, that turn's
    share of the prompt's characters) when the row is labelled."""


class FileReader:
    """Reads one input: picks its format, then turns every record into drafts (or columns) for the
    builder."""

    def __init__(
        self,
        formats: list[Format],
        options: ReadOptions,
        problems: Problems,
        partitions: _Partitions | None = None,
    ) -> None:
        self.partitions = partitions
        self.formats = formats
        self.by_name = {fmt.name: fmt for fmt in formats}
        self.options = options
        self.problems = problems
        self.spans: TraceTree[tuple[_File, int]] = TraceTree(self._emit_span)

    def finish(self) -> None:
        """Resolve the trace spans still waiting for their trace to be complete."""
        self.spans.finish()
        self.problems.note(EARLY, self.spans.resolved_early)

    def _choose(self, records: list[Record], container: str, name: str) -> Format:
        if self.options.format:
            return self.by_name[self.options.format]
        if self.options.detected_format:
            return self.by_name[self.options.detected_format]
        if self.options.mapping:
            return self.by_name["generic"]
        columnar = container in {"csv", "parquet"}
        for _, value in records:
            if not is_object(value):
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
        """Read one input; anything wrong with the file as a whole is an InputError naming it."""
        report = FileReport(name=source.name, format="(empty)")
        try:
            with source.open() as stream:
                self._read_stream(source.name, stream, builder, report, progress)
        except (csv.Error, UnicodeDecodeError) as exc:
            where = f"after record {report.records}" if report.records else "at the start"
            raise InputError(source.name, f"unreadable {report.container} {where}: {exc}") from None
        except (EOFError, zlib.error) as exc:
            raise InputError(
                source.name, f"compressed data is cut off or corrupt ({exc})"
            ) from None
        except OSError as exc:
            raise InputError(source.name, f"cannot read ({exc})") from None
        return report

    def _read_stream(
        self,
        name: str,
        stream: Any,
        builder: TableBuilder,
        report: FileReport,
        progress: Progress | None,
    ) -> None:
        head, stream = with_head(stream, HEAD_BYTES)
        container, delimiter = sniff(head)
        report.container = container
        if container == "binary":
            raise InputError(name, "binary data, not a log file")
        file = _File(name, builder, report, progress, self.partitions)
        if container == "jsonl":
            self._read_json_lines(file, stream)
            return
        records: Iterator[Record] = iter(())
        if container == "json":
            records = json_document(stream)
        elif container == "csv":
            records = csv_rows(stream, delimiter, name)
        elif container == "parquet":
            records = parquet_rows(stream)
        head_records = list(islice(records, DETECTION_RECORDS))
        fmt = self._chosen(file, head_records, container)
        if fmt is not None:
            for count, (number, value) in enumerate(chain(head_records, records), 1):
                self._one(fmt, file, number, value)
                if not count % PROGRESS_RECORDS:
                    file.tick()

    def _chosen(self, file: _File, head: list[Record], container: str) -> Format | None:
        if not head:
            self.problems.note(f"{file.name}: empty file, no records")
            return None
        fmt = self._choose(head, container, file.name)
        file.report.format = fmt.name
        return fmt

    def _read_json_lines(self, file: _File, stream: io.BufferedIOBase) -> None:
        """JSON lines, block by block: the first blocks are kept while the format is recognised from
        their records, then every block is read the record way or the columnar way."""
        blocks = LineBlocks(stream)
        lines = iter(blocks)
        seen: deque[Block] = deque()
        head: list[Record] = []
        number = 1
        for block in lines:
            seen.append(block)
            if not isinstance(block, Marker):
                wanted = DETECTION_RECORDS - len(head)
                head.extend(islice(block_records(number, block), wanted))
                number += block.count(b"\n")
            else:
                head.append((number, block))
                number += 1
            if len(head) >= DETECTION_RECORDS:
                break
        fmt = self._chosen(file, head, "jsonl")
        if fmt is None:
            return
        following = next(lines, None)
        if following is not None:
            seen.append(following)
        small = following is None and sum(map(_size, seen)) <= containers.RECORD_BLOCK_BYTES
        every = chain(_drained(seen), lines)
        way = None if small else self._columnar_way(fmt, head)
        if way is not None:
            blocks.block_bytes = containers.COLUMNAR_BLOCK_BYTES
            end = self._read_columnar(fmt, way.load(), file, every)
        else:
            end = self._read_lines(fmt, file, every)
        file.report.lines = end - 1

    def _columnar_way(self, fmt: Format, head: list[Record]) -> Columnar | None:
        """The format's columnar extractor that every first record suits (none under a mapping):
        a file is read the columnar way with it, else the record way."""
        if self.options.mapping:
            return None
        for way in fmt.columnar:
            if all(is_object(value) and way.suits(value) for _, value in head):
                return way
        return None

    def _read_lines(self, fmt: Format, file: _File, blocks: Iterable[Block]) -> int:
        """Read every block the record way; the number the next line would have."""
        number = 1
        for block in blocks:
            number = self._record_block(fmt, file, number, block)
            file.tick()
        return number

    def _record_block(
        self, fmt: Format, file: _File, first: int, block: bytes | bytearray | Marker
    ) -> int:
        """Read a block of lines (or one OVERSIZED line) the record way; the next line's number."""
        if isinstance(block, Marker):
            self._one(fmt, file, first, block)
            return first + 1
        for number, value in block_records(first, block):
            self._one(fmt, file, number, value)
        return first + block.count(b"\n")

    def _read_columnar(
        self,
        fmt: Format,
        extractor: ColumnarExtractor,
        file: _File,
        blocks: Iterator[Block],
    ) -> int:
        """Read the blocks the columnar way where they suit it; the number the next line would have."""
        from costaudit.ingest.columnar import parse_and_extract

        number = 1
        record_way = 0
        worked = _WorkAhead(blocks, functools.partial(parse_and_extract, extractor=extractor))
        for block, result in worked:
            if result is None or result[1] is None:
                number = self._record_block(fmt, file, number, block)
                record_way += not isinstance(block, Marker)
            else:
                parsed, columns = result
                taken = self._columnar_block(fmt, file, number, parsed, columns)
                record_way = 0 if taken else record_way + 1
                number += parsed.lines
            file.tick()
            if record_way >= GIVE_UP_BLOCKS:
                worked.working = False
        return number

    def _columnar_block(
        self, fmt: Format, file: _File, first: int, parsed: ParsedBlock, block: ColumnBlock
    ) -> bool:
        """Add a parsed block's rows: runs the extractor takes as columns, the rows between them
        the record way. False when the whole block went the record way."""
        rows = parsed.rows
        assert rows is not None
        lines = rows.line + first
        take = block.take
        left = np.flatnonzero(~take).tolist()
        if len(left) * DEFERRED_SHARE > len(take):
            self._record_block(fmt, file, first, parsed.data)
            return False
        outcomes = {
            row: [self._drafts(fmt, value) for value in line_records(rows.text(parsed.data, row))]
            for row in left
        }
        folded = _skips_folded(block, outcomes)
        if folded is not None:
            file.builder.add_columns(folded, file.name, lines)
            file.report.records += len(take)
            return True
        start = 0
        for row in (*left, len(take)):
            if row > start:
                file.builder.add_columns(block.slice(start, row), file.name, lines[start:row])
                file.report.records += row - start
            if row < len(take):
                for drafts in outcomes[row]:
                    self._emit_all(drafts, file, int(lines[row]))
            start = row + 1
        return True

    def _drafts(self, fmt: Format, value: object) -> list[Draft | BadRecord | SetAside | Span]:
        """One record's drafts (none for records that are not billed calls, e.g. non-GenAI spans),
        or the reason it is skipped.

        A format may return a BadRecord among its drafts when one call inside a multi-call record
        (one span of an OTLP batch) is unusable: it is skipped on its own, the others are kept.
        """
        try:
            if value is OVERSIZED:
                raise BadRecord(TOO_LONG)
            if value is BAD_JSON:
                raise BadRecord("malformed JSON")
            if not is_object(value):
                raise BadRecord("not a JSON object")
            drafts = fmt.extract(value)
        except BadRecord as bad:
            return [self._foreign(fmt, value) or bad]
        if isinstance(drafts, Draft):
            return [_billable(drafts, fmt)]
        for draft in drafts:
            if isinstance(draft, Span) and isinstance(draft.item, Draft):
                draft.item = _billable(draft.item, fmt)
        return [_billable(draft, fmt) if isinstance(draft, Draft) else draft for draft in drafts]

    def _one(self, fmt: Format, file: _File, number: int, value: object) -> None:
        """One record → its drafts, each added to the table, set aside, skipped or kept for the
        trace tree."""
        self._emit_all(self._drafts(fmt, value), file, number)

    def _emit_all(
        self, drafts: list[Draft | BadRecord | SetAside | Span], file: _File, number: int
    ) -> None:
        for draft in drafts:
            if isinstance(draft, Span):
                self.spans.add(draft, (file, number))
            else:
                self._emit(draft, file, number)

    def _foreign(self, fmt: Format, value: object) -> BadRecord | None:
        """Under a forced --format, a record that is not of that format at all is skipped for the
        format's missing usage fields (whatever detail its extractor tripped on first)."""
        if not self.options.format or not is_object(value) or fmt.detect(value):
            return None
        return BadRecord(f"no {fmt.name} usage fields")

    def _emit(self, item: Draft | BadRecord | SetAside, file: _File, number: int) -> None:
        """One record's outcome: a draft for the builder, or a skip with its reason."""
        file.report.records += 1
        if isinstance(item, BadRecord):
            file.builder.skip(file.name, number, item.reason)
        elif isinstance(item, SetAside):
            self.problems.set_aside(file.name, number, item.reason)
        else:
            if item.model is None:
                item.model = self.options.default_model
            file.builder.add(item, file.name, number)

    def _emit_span(self, item: Draft | BadRecord | SetAside, where: tuple[_File, int]) -> None:
        self._emit(item, *where)


def _skips_folded(
    block: ColumnBlock, outcomes: Mapping[int, list[list[Draft | BadRecord | SetAside | Span]]]
) -> ColumnBlock | None:
    """The block with every row the extractor left (keys of `outcomes`, with what the record path
    made of each line) added to its verdict as a skip, when each of those lines is one record the
    record path only skips (an errored batch result, say); None when one of them holds anything
    else.

    The block then goes to the table in one piece, its skips reported in line order as the record
    path reports them; splitting it around every such line costs a table append per line, which
    made a log with 1% errored results several times slower.
    """
    if not outcomes:
        return block
    verdict = block.judge()
    reason = verdict.reason.copy()
    reasons = list(verdict.reasons)
    for row, records in outcomes.items():
        only = records[0] if len(records) == 1 and len(records[0]) == 1 else None
        if only is None or not isinstance(only[0], BadRecord):
            return None
        reason[row] = len(reasons)
        reasons.append(only[0].reason)
    return replace(block, take=np.ones_like(block.take), verdict=Verdict(reason, reasons))


def _billable(draft: Draft, fmt: Format) -> Draft | BadRecord:
    """A draft whose counts were not read from the record and that has no prompt to count holds
    nothing to bill: skipped with the reason that the format's usage fields are missing (a format
    forced on a file of another kind would otherwise price every record at $0)."""
    if draft.read_counts or draft.messages is not None or draft.prefix_hashes is not None:
        return draft
    return BadRecord(f"no {fmt.name} usage fields")


def _size(block: Block) -> int:
    return 0 if isinstance(block, Marker) else len(block)


def _drained(kept: deque[Block]) -> Iterator[Block]:
    """The kept blocks, each let go as it is handed on."""
    while kept:
        yield kept.popleft()


@dataclass
class _File:
    """The input being read, and where its rows go."""

    name: str
    builder: TableBuilder
    report: FileReport
    progress: Progress | None
    partitions: _Partitions | None = None

    def tick(self) -> None:
        if self.progress is not None:
            self.progress(self.builder.rows)
        if self.partitions is not None:
            self.partitions.maybe_hand_on(self.builder)


@dataclass
class _Partitions:
    """Hands the builder's stored rows on whenever a partition's worth has accumulated."""

    sink: PartitionSink
    rows: int
    handed_on: int = 0

    def maybe_hand_on(self, builder: TableBuilder) -> None:
        if builder.stored_rows >= self.rows:
            self.hand_on(builder.take_stored())

    def hand_on(self, partition: RequestTable) -> None:
        self.handed_on += len(partition)
        self.sink(partition)


PARSE_THREADS = max(2, min(4, os.cpu_count() or 1))
PARSE_AHEAD = 2 * PARSE_THREADS


class _WorkAhead:
    """`work(block)` for the byte blocks among `items`, computed on worker threads a few blocks
    ahead of the reader, yielded in order with their item; None for the other items, and for every
    item once `working` is turned off."""

    def __init__(self, items: Iterator[Block], work: Callable[[bytearray], Any]) -> None:
        self.items = items
        self.work = work
        self.working = True

    def __iter__(self) -> Iterator[tuple[Block, Any]]:
        queue: deque[tuple[Block, Future[Any] | None]] = deque()
        with ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="costaudit-parse") as pool:
            try:
                while True:
                    while len(queue) < PARSE_AHEAD and (item := next(self.items, None)) is not None:
                        work = (
                            pool.submit(self.work, item)
                            if self.working and not isinstance(item, Marker)
                            else None
                        )
                        queue.append((item, work))
                    if not queue:
                        return
                    item, future = queue.popleft()
                    yield item, future.result() if future is not None else None
            finally:
                for _, future in queue:
                    if future is not None:
                        future.cancel()


def read_logs(
    specs: Sequence[str],
    options: ReadOptions,
    tokenizer_for: Callable[[str | None], str],
    progress: Progress | None = None,
    partition_sink: PartitionSink | None = None,
) -> Logs:
    """Read every input named by `specs` into one canonical request table; with `partition_sink`,
    hand the table to it partition by partition instead (`Logs.requests` is then empty)."""
    return read_sources(expand_sources(specs), options, tokenizer_for, progress, partition_sink)


def read_sources(
    sources: Iterable[Source],
    options: ReadOptions,
    tokenizer_for: Callable[[str | None], str],
    progress: Progress | None = None,
    partition_sink: PartitionSink | None = None,
) -> Logs:
    """`read_logs` of inputs already opened for reading (files, or parts of a file)."""
    problems = Problems(strict=options.strict)
    formats = builtin_formats(options.mapping, options.group_fields)
    if options.format and options.format not in {fmt.name for fmt in formats}:
        names = ", ".join(fmt.name for fmt in formats)
        raise InputError("--format", f"unknown format `{options.format}` (known: {names})")
    builder = TableBuilder(
        problems,
        tokenizer_for,
        chunk_rows=options.chunk_rows,
        text_block_tokens=options.prefix_block_tokens,
        measure_encodings=options.measure_encodings,
        scorers=options.scorers,
        keep_labelled_prompts=options.keep_labelled_prompts,
        workers=None if options.worker_processes else Workers(min_items=sys.maxsize),
    )

    partitions = _Partitions(partition_sink, options.partition_rows) if partition_sink else None
    reader = FileReader(formats, options, problems, partitions)
    try:
        reports = [reader.read(source, builder, progress) for source in sources]
        reader.finish()
        columns = builder.finish()
    finally:
        builder.close()
    kept = len(columns)
    if partitions is not None:
        if len(columns):
            partitions.hand_on(builder.take_stored())
        columns, kept = RequestTable.empty(), partitions.handed_on
    records_read = sum(report.records for report in reports)
    if records_read != kept + problems.skipped_total:
        raise AssertionError("record accounting is inconsistent: read != kept + skipped")
    prefix = builder.prefix_blocks()
    return Logs(
        requests=replace(
            columns, prefix_blocks=PrefixBlocks(*prefix) if prefix is not None else None
        ),
        files=reports,
        problems=problems,
        records_read=records_read,
        estimated_encodings=builder.estimated_encodings,
        labelled_prompts=builder.labelled_prompts if options.keep_labelled_prompts else None,
    )
