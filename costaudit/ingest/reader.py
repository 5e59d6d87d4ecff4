"""Read log files of any supported format into one canonical request table.

Each file's container (JSON lines, JSON array/document, CSV, Parquet; gzip/zstd or plain) is sniffed from
its first bytes, then its format from its first records, so one run can mix files of different kinds.
Records stream through in chunks; only the compact table is kept.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.core.request_table import RequestColumns
from costaudit.errors import InputError
from costaudit.ingest import fastpath
from costaudit.ingest.formats import Format, builtin_formats
from costaudit.ingest.formats.common import is_object
from costaudit.ingest.problems import BadRecord, Problems
from costaudit.ingest.sources import Source, expand_sources
from costaudit.ingest.table import DEFAULT_CHUNK_ROWS, Draft, TableBuilder

if TYPE_CHECKING:
    import pandas as pd

    from costaudit.core.router_fit import FittedScorer
    from costaudit.ingest.early import EarlyRead

DETECTION_RECORDS = 50
"""How many leading records may be looked at to recognise a file's format."""
CSV_BATCH_ROWS = 16_384
CSV_FIELD_LIMIT = 2**31 - 1

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
    prefix_block_tokens: int | None = None
    measure_encodings: tuple[str, ...] = ()
    """Also count prompts with these encodings (those available offline), for per-request tokenizer ratios."""
    scorers: Mapping[str, FittedScorer] = field(default_factory=dict)
    """Fitted scorers to apply to every prompt while reading (a `score:<name>` column each)."""
    keep_labelled_prompts: bool = False
    """Keep the prompts of rows with quality labels in memory (`Workload.labelled_prompts`), to fit a scorer."""

    """Hash prompt text into chained blocks of this many tokens (for prompt-cache replay); None = skip."""


@dataclass
class FileReport:
    name: str
    format: str
    records: int = 0
    container: str = ""


@dataclass
class Workload:
    """The canonical request table plus everything said about how it was read."""

    columns: RequestColumns
    files: list[FileReport]
    problems: Problems
    records_read: int
    estimated_encodings: set[str]
    prefix_blocks: PrefixBlocks | None = None
    """Chained prefix-block hashes aligned with `requests` rows, when the logs carried or allowed them."""
    labelled_prompts: list[tuple[str, int, float] | None] | None = None
    """With `ReadOptions.keep_labelled_prompts`: each row's (last user turn, user turns, that turn's
    share of the prompt's characters) when the row is labelled."""

    @functools.cached_property
    def requests(self) -> pd.DataFrame:
        """The table as a DataFrame (built on first use: analysing needs only `columns`)."""
        return self.columns.to_frame()


Record = tuple[int, Any]
"""(line or item number, parsed value or the bad raw value) of one record."""


class _BadJson:
    __slots__ = ()


BAD_JSON = _BadJson()


def _json_lines(stream: BinaryIO) -> Iterator[Record]:
    """One record per non-blank line; a line holding a paged API response yields its records."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield number, BAD_JSON
            continue
        for record in value["data"] if _is_envelope(value) else (value,):
            yield number, record


JSON_BLOCK_BYTES = 3 << 18
"""How much of a JSON array/document is read at a time (768 KiB, which with the 256 KiB read buffer
keeps reading under 1 MiB); memory holds one block plus one item."""

_JSON_TOKEN = re.compile(rb'[{}\[\]]|"(?:[^"\\]++|\\.)*+"|"', re.DOTALL)
"""A bracket, a whole string (skipped in one step), or a lone quote: a string the block cut off."""
_JSON_GAP = re.compile(rb"[\s,]*")
_JSON_SCALAR = re.compile(rb'[^\s,\[\]{}"]+')
_WHITESPACE = re.compile(rb"\s*")
_LEADING = re.compile(rb"[\s\xef\xbb\xbf]*")
_OPEN, _CLOSE, _QUOTE = frozenset(b"{["), frozenset(b"}]"), ord('"')
ENVELOPE_KEYS = frozenset(
    {"data", "object", "page", "page_size", "total", "total_pages", "meta", "pagination"}
    | {"has_more", "next", "next_cursor", "cursor", "first_id", "last_id"}
)
"""Keys of a paged API response `{"data": [records…], …}` (LiteLLM /spend/logs/v2, Helicone, OpenAI lists)."""


class _End:
    __slots__ = ()


END = _End()
_MISS = object()
FAST_GUESSES = 8
_OBJECT_END = re.compile(rb"\}(?=\s*[,\]])")


class JsonSplitter:
    """Cuts a JSON array — or a sequence of concatenated JSON values — into its top-level items.

    Only brackets and string boundaries are scanned (a string is skipped by one regex step), so each
    item's bytes can be handed to orjson whole while the file is read in bounded blocks: an array
    larger than memory is read item by item. A cut-off or garbled tail becomes one BAD_JSON item.

    Fast path for arrays of objects: the item most likely ends at the next `}` followed by `,` or
    `]`, and if the bytes up to there parse, that IS the item (JSON values are self-delimiting, so a
    parse that succeeds from the item's true start cannot stop early). A few such guesses inside the
    current block are tried before the exact scan; they make arrays read about as fast as lines.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = b""
        self.pos = 0
        self.eof = False

    def _fill(self, keep_from: int) -> bool:
        """Drop the bytes before `keep_from` and read the next block; False at the end of the file."""
        block = b"" if self.eof else self.stream.read(JSON_BLOCK_BYTES)
        if not block:
            self.eof = True
            return False
        self.data = self.data[keep_from:] + block
        self.pos -= keep_from
        return True

    def _skip(self, pattern: re.Pattern[bytes]) -> bool:
        """Skip what `pattern` matches at the current position; False when the file ends first."""
        while True:
            match = pattern.match(self.data, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.data):
                return True
            if not self._fill(self.pos):
                return False

    def open_array(self) -> bool:
        """Consume the opening `[`; False when the content is not an array after all."""
        if not self._skip(_LEADING) or self.data[self.pos] != ord("["):
            return False
        self.pos += 1
        return True

    def next_item(self, in_array: bool) -> Any:
        """The next top-level item, parsed; BAD_JSON for a garbled one, END after the last."""
        if not self._skip(_JSON_GAP if in_array else _WHITESPACE):
            return END
        first = self.data[self.pos]
        if in_array and first == ord("]"):
            self.pos += 1
            return self._trailing()
        if in_array and first == ord("{"):
            found = self._guess_object()
            if found is not _MISS:
                return found
        if first in _OPEN or first == _QUOTE:
            return _parsed(self._nested())
        return _parsed(self._scalar())

    def _guess_object(self) -> Any:
        """The fast path (see the class docstring); _MISS when no guess in this block parses."""
        start = search_from = self.pos
        for _ in range(FAST_GUESSES):
            match = _OBJECT_END.search(self.data, search_from)
            if match is None:
                break
            search_from = match.end()
            try:
                value = orjson.loads(self.data[start:search_from])
            except orjson.JSONDecodeError:
                continue
            self.pos = search_from
            return value
        return _MISS

    def _trailing(self) -> Any:
        """After the closing `]` only whitespace may follow; anything else is one garbled item."""
        if not self._skip(_WHITESPACE):
            return END
        self.pos = len(self.data)
        while self._fill(self.pos):
            self.pos = len(self.data)
        return BAD_JSON

    def _nested(self) -> bytes | None:
        start, depth, resume = self.pos, 0, self.pos
        while True:
            for match in _JSON_TOKEN.finditer(self.data, resume):
                char = self.data[match.start()]
                if char == _QUOTE and match.end() - match.start() == 1:
                    resume = match.start()
                    break
                resume = match.end()
                depth += 1 if char in _OPEN else -1 if char in _CLOSE else 0
                if depth <= 0:
                    self.pos = resume
                    return self.data[start:resume]
            if not self._fill(start):
                self.pos = len(self.data)
                return None
            resume, start = resume - start, 0

    def _scalar(self) -> bytes | None:
        while True:
            match = _JSON_SCALAR.match(self.data, self.pos)
            end = match.end() if match else self.pos
            if end < len(self.data) or not self._fill(self.pos):
                break
        start, self.pos = self.pos, max(end, self.pos + 1)
        return self.data[start:end] if end > start else None


def _parsed(raw: bytes | None) -> Any:
    """orjson's reading of one item's bytes, or BAD_JSON (also for a cut-off item, None)."""
    if raw is None:
        return BAD_JSON
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return BAD_JSON


def _is_envelope(value: object) -> bool:
    return (
        is_object(value)
        and isinstance(value.get("data"), list)
        and all(key in ENVELOPE_KEYS for key in value)
    )


def _json_document(stream: BinaryIO) -> Iterator[Record]:
    """Items of a JSON array, streamed; or whole JSON values (objects) one after another.

    A paged API response `{"data": [...], "page": …}` yields the records inside it.
    """
    splitter = JsonSplitter(stream)
    in_array = splitter.open_array()
    number = 0
    while not isinstance(value := splitter.next_item(in_array), _End):
        for record in value["data"] if not in_array and _is_envelope(value) else (value,):
            number += 1
            yield number, record


def _csv_rows(stream: BinaryIO, delimiter: str) -> Iterator[Record]:
    """Rows of a CSV (or TSV) file as dicts of strings; empty cells are missing values.

    Cells may be large (exports put whole prompts and JSON bodies in them), so the csv module's
    128 KiB field limit is lifted. The text wrapper is detached at the end so that it never closes
    (or warns about) the byte stream its caller owns.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
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
    finally:
        text.detach()


def _parquet_rows(stream: BinaryIO) -> Iterator[Record]:
    """Rows of a Parquet file, one record batch at a time; a corrupt file is an OSError (exit 3)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = stream if stream.seekable() else io.BytesIO(stream.read())
    number = 0
    try:
        parquet = pq.ParquetFile(data)
        for batch in parquet.iter_batches(batch_size=CSV_BATCH_ROWS):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except pa.ArrowException as exc:
        raise OSError(f"not a readable Parquet file: {exc}") from None


SNIFF_LINES = 20


def _looks_like_json_lines(head: bytes) -> bool:
    """JSON lines when most of the first complete lines are JSON objects on their own.

    A pretty-printed document has almost no such lines; a JSON-lines file whose first line is
    garbled still has many. Without one complete line in the head (a very long first record), the
    document reader is used: it splits concatenated objects just as well, line breaks or not.
    """
    objects = others = 0
    for line in head.split(b"\n")[:-1][:SNIFF_LINES]:
        if not line.strip():
            continue
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError:
            others += 1
            continue
        if isinstance(parsed, dict):
            objects += 1
        else:
            others += 1
    return objects > 0 and objects >= others


def _container(stream: BinaryIO) -> tuple[str, Iterator[Record]]:
    """Recognise the container from the first bytes: Parquet, JSON array/object, JSON lines or CSV."""
    head = stream.peek(65_536)[:65_536] if hasattr(stream, "peek") else b""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet", _parquet_rows(stream)
    if stripped.startswith(b"["):
        return "json", _json_document(stream)
    if stripped.startswith(b"{"):
        if _looks_like_json_lines(stripped):
            return "jsonl", _json_lines(stream)
        return "json", _json_document(stream)
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

    def read(
        self,
        source: Source,
        builder: TableBuilder,
        progress: Progress | None,
        early: EarlyRead | None = None,
    ) -> FileReport:
        """Read one input; anything wrong with the file as a whole is an InputError naming it."""
        report = FileReport(name=source.name, format="(empty)")
        if self._read_fast(source, builder, report, progress, early):
            return report
        with source.open() as stream:
            try:
                self._read_stream(source.name, stream, builder, report, progress)
            except (csv.Error, UnicodeDecodeError) as exc:
                where = f"after record {report.records}" if report.records else "at the start"
                raise InputError(
                    source.name, f"unreadable {report.container} {where}: {exc}"
                ) from None
            except (EOFError, zlib.error) as exc:
                raise InputError(
                    source.name, f"compressed data is cut off or corrupt ({exc})"
                ) from None
            except OSError as exc:
                raise InputError(source.name, f"cannot read ({exc})") from None
        return report

    def _fast_candidate(self, stream: BinaryIO, name: str) -> bool:
        """Plain OpenAI usage lines (judged from the first lines) that the vectorized reader can take."""
        if self.options.mapping or self.options.format not in (None, "openai"):
            return False
        head_bytes = stream.peek(1 << 20)[: 1 << 20] if hasattr(stream, "peek") else b""
        if not head_bytes.lstrip().startswith(b"{") or not _looks_like_json_lines(
            head_bytes.lstrip()
        ):
            return False
        head: list[Record] = []
        for number, line in enumerate(head_bytes.split(b"\n")[:-1][:DETECTION_RECORDS], 1):
            try:
                head.append((number, orjson.loads(line)))
            except orjson.JSONDecodeError:
                return False
        if not head:
            return False
        try:
            fmt = self._choose(head, "jsonl", name)
        except InputError:
            return False
        return fmt.name == "openai" and fastpath.eligible([value for _, value in head])

    def _read_fast(
        self,
        source: Source,
        builder: TableBuilder,
        report: FileReport,
        progress: Progress | None,
        early: EarlyRead | None,
    ) -> bool:
        """Read a file with the vectorized reader when it fits; False means "read it record by record"."""
        if source.path is None:
            return False
        try:
            with source.open() as stream:
                if not self._fast_candidate(stream, source.name):
                    if early is not None:
                        early.decline(source.path)
                    return False
            batches = fastpath.read_usage_file(
                source.path, fastpath.block_bytes(self.options.chunk_rows), early
            )
        except (fastpath.NotFast, OSError, EOFError, zlib.error):
            return False
        for batch in batches:
            builder.add_usage_batch(source.name, batch)
            report.records += batch.rows
            if progress is not None:
                progress(builder.rows)
        report.format, report.container = "openai", "jsonl"
        return True

    def _read_stream(
        self,
        name: str,
        stream: BinaryIO,
        builder: TableBuilder,
        report: FileReport,
        progress: Progress | None,
    ) -> None:
        container, records = _container(stream)
        report.container = container
        if container == "binary":
            raise InputError(name, "binary data, not a log file")
        try:
            self._read_records(name, container, records, builder, report, progress)
        finally:
            if isinstance(records, Generator):
                records.close()

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
        """One record → its drafts (none for records that are not billed calls, e.g. non-GenAI spans).

        A format may return a BadRecord among its drafts when one call inside a multi-call record
        (one span of an OTLP batch) is unusable: it is skipped on its own, the others are kept.
        """
        try:
            if value is BAD_JSON:
                raise BadRecord("malformed JSON")
            if not is_object(value):
                raise BadRecord("not a JSON object")
            drafts = fmt.extract(value)
        except BadRecord as bad:
            drafts = [bad]
        for draft in (drafts,) if isinstance(drafts, Draft) else drafts:
            report.records += 1
            if isinstance(draft, BadRecord):
                self.problems.skip(file, number, draft.reason)
                continue
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
    early: EarlyRead | None = None,
) -> Workload:
    """Read every input named by `specs` into one canonical request table (a file whose parse
    `early` started is taken from it)."""
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
    )

    reader = FileReader(formats, options, problems)
    try:
        reports = [
            reader.read(source, builder, progress, early) for source in expand_sources(specs)
        ]
        columns = builder.finish()
    finally:
        builder.close()
    records_read = sum(report.records for report in reports)
    if records_read != len(columns) + problems.skipped_total:
        raise AssertionError("record accounting is inconsistent: read != kept + skipped")
    prefix = builder.prefix_blocks()
    return Workload(
        prefix_blocks=PrefixBlocks(*prefix) if prefix is not None else None,
        columns=columns,
        files=reports,
        problems=problems,
        records_read=records_read,
        estimated_encodings=builder.estimated_encodings,
        labelled_prompts=builder.labelled_prompts if options.keep_labelled_prompts else None,
    )
