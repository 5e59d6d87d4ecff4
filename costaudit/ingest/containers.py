"""Containers: how one opened stream is cut into records (JSON lines, a JSON document, CSV/TSV, Parquet).

The container is sniffed once, from the head of the stream, and the records are then cut from the
same stream as it is read. Every record has a size limit, MAX_RECORD_BYTES: a JSON line, an item of
a JSON document or a CSV record larger than that is passed over without being kept (scanning it
takes linear time and bounded memory) and reported as OVERSIZED, which the reader skips with its
reason. A CSV quote that is never closed is an error of the whole file, naming the line it opens on:
from there on, where rows begin and end cannot be known, and reading on would either swallow every
row after it into one cell or invent rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from costaudit.errors import InputError, Location
from costaudit.ingest.formats.common import is_object

MAX_RECORD_BYTES = 64 << 20
"""Largest record read (64 MiB): far above any real log record (prompts and responses included),
small enough that one record never takes more than a few hundred MB to parse."""
TOO_LONG = f"record larger than {MAX_RECORD_BYTES >> 20} MiB (not read)"
COLUMNAR_BLOCK_BYTES = 4 << 20
"""JSON lines read the columnar way are parsed in blocks of about this many bytes of whole lines."""
RECORD_BLOCK_BYTES = 1 << 18
"""JSON lines read the record way are read in blocks of about this many bytes (memory holds a few)."""
HEAD_BYTES = 65_536
"""The head the container is sniffed from."""
SNIFF_LINES = 20
CSV_BATCH_ROWS = 16_384

Record = tuple[int, Any]
"""(line or item number, parsed value — or BAD_JSON / OVERSIZED) of one record."""


class Marker:
    """A stand-in for a record that is not there to be read (see BAD_JSON, OVERSIZED)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


BAD_JSON = Marker("BAD_JSON")
"""A record that is not valid JSON."""
OVERSIZED = Marker("OVERSIZED")
"""A record larger than MAX_RECORD_BYTES, passed over unread."""
END = Marker("END")

BOM = b"\xef\xbb\xbf"
ENVELOPE_KEYS = frozenset(
    {"data", "object", "page", "page_size", "total", "total_pages", "meta", "pagination"}
    | {"has_more", "next", "next_cursor", "cursor", "first_id", "last_id"}
)
"""Keys of a paged API response `{"data": [records…], …}` (LiteLLM /spend/logs/v2, Helicone, OpenAI lists)."""


def is_envelope(value: object) -> bool:
    return (
        is_object(value)
        and isinstance(value.get("data"), list)
        and all(key in ENVELOPE_KEYS for key in value)
    )


# --- sniffing --------------------------------------------------------------------------------------


def sniff(head: bytes) -> tuple[str, str]:
    """(container, CSV delimiter) from the first bytes: parquet, json (array or document), jsonl,
    csv (comma or tab separated), empty or binary."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet", ""
    if stripped.startswith(b"["):
        return "json", ""
    if stripped.startswith(b"{"):
        return ("jsonl" if looks_like_json_lines(stripped) else "json"), ""
    if not stripped:
        return "empty", ""
    if b"\x00" in head[:4096]:
        return "binary", ""
    header = head.split(b"\n", 1)[0]
    return "csv", "\t" if header.count(b"\t") > header.count(b",") else ","


def looks_like_json_lines(head: bytes) -> bool:
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


# --- JSON lines ------------------------------------------------------------------------------------


class LineBlocks:
    """The stream as blocks of whole lines, each ending with a line break; a line longer than
    MAX_RECORD_BYTES comes as OVERSIZED instead (scanned past, never held).

    Blocks are about `block_bytes` long; the reader may change it between blocks (small while the
    format is recognised and for the record path, large for the columnar path). Each block is a
    fresh bytearray the stream is read straight into; only the start of a line that goes on in
    the next read is copied, to the front of the next block."""

    def __init__(self, stream: io.BufferedIOBase) -> None:
        self.stream = stream
        self.block_bytes = RECORD_BLOCK_BYTES

    def __iter__(self) -> Iterator[bytearray | Marker]:
        limit = MAX_RECORD_BYTES
        carry = b""
        """The start of a line that goes on in the next read."""
        while True:
            size = min(max(self.block_bytes, len(carry)), limit)
            block = bytearray(len(carry) + size)
            block[: len(carry)] = carry
            got = self.stream.readinto(memoryview(block)[len(carry) :])
            filled = len(carry) + got
            if not got:
                if carry:
                    yield OVERSIZED if len(carry) > limit else bytearray(carry + b"\n")
                return
            cut = block.rfind(b"\n", 0, filled) + 1
            if not cut:
                carry = bytes(memoryview(block)[:filled])
                if len(carry) > limit:
                    carry = b""
                    yield OVERSIZED
                    carry = _skip_line(self.stream, size)
                continue
            first = block.find(b"\n", 0, cut)
            if len(carry) and first > limit:  # the line that went on from before is too long
                yield OVERSIZED
                del block[: first + 1]
                cut -= first + 1
                filled -= first + 1
            carry = bytes(memoryview(block)[cut:filled])
            del block[cut:]
            if cut:
                yield block


def _skip_line(stream: io.BufferedIOBase, block_bytes: int) -> bytes:
    """Read past the rest of an over-long line; what follows its line break (b"" at the end)."""
    while True:
        data = stream.read(block_bytes)
        if not data:
            return b""
        end = data.find(b"\n")
        if end >= 0:
            return data[end + 1 :]


def line_records(line: bytes | bytearray) -> list[Any]:
    """The records of one non-blank JSON line: its object, the records of a paged response, or
    BAD_JSON. A byte-order mark that a concatenated file left at a line's start is ignored."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        if not line.startswith(BOM):
            return [BAD_JSON]
        return line_records(line[len(BOM) :])
    return value["data"] if is_envelope(value) else [value]


def block_records(first: int, block: bytes | bytearray) -> Iterator[Record]:
    """(line number, record) of every record in a block of lines whose first line is `first`."""
    number = first - 1
    for line in block.split(b"\n")[:-1]:
        number += 1
        if not line or line.isspace():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            for record in line_records(line):
                yield number, record
            continue
        if type(value) is dict and "data" in value and is_envelope(value):
            for record in value["data"]:
                yield number, record
        else:
            yield number, value


# --- JSON documents --------------------------------------------------------------------------------

JSON_BLOCK_BYTES = 3 << 18
"""How much of a JSON array/document is read at a time (768 KiB, which with the 256 KiB read buffer
keeps reading under 1 MiB); memory holds one block plus one item."""

_JSON_TOKEN = re.compile(rb'[{}\[\]]|"(?:[^"\\]++|\\.)*+"|"', re.DOTALL)
"""A bracket, a whole string (skipped in one step), or a lone quote: a string the block cut off."""
_BRACKET_OR_QUOTE = re.compile(rb'[{}\[\]"]')
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_JSON_GAP = re.compile(rb"[\s,]*")
_JSON_SCALAR = re.compile(rb'[^\s,\[\]{}"]+')
_WHITESPACE = re.compile(rb"\s*")
_LEADING = re.compile(rb"[\s\xef\xbb\xbf]*")
_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset(b"{["), frozenset(b"}]"), ord('"'), ord("\\")
_MISS = object()
FAST_GUESSES = 8
_OBJECT_END = re.compile(rb"\}(?=\s*[,\]])")


class JsonSplitter:
    """Cuts a JSON array — or a sequence of concatenated JSON values — into its top-level items.

    Only brackets and string boundaries are scanned (a string is skipped by one regex step), so each
    item's bytes can be handed to orjson whole while the file is read in bounded blocks: an array
    larger than memory is read item by item. A cut-off or garbled tail becomes one BAD_JSON item,
    an item larger than MAX_RECORD_BYTES is scanned past and comes as OVERSIZED.

    Fast path for arrays of objects: the item most likely ends at the next `}` followed by `,` or
    `]`, and if the bytes up to there parse, that IS the item (JSON values are self-delimiting, so a
    parse that succeeds from the item's true start cannot stop early). A few such guesses inside the
    current block are tried before the exact scan; they make arrays read about as fast as lines.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.limit = MAX_RECORD_BYTES
        self.data = b""
        self.pos = 0
        self.eof = False

    def _fill(self, keep_from: int) -> bool:
        """Drop the bytes before `keep_from` and read more; False at the end of the file.

        At least as much is read as is kept, so an item growing over many blocks is copied a
        bounded number of times in all (linear time, however long it is)."""
        kept = len(self.data) - keep_from
        block = b"" if self.eof else self.stream.read(max(JSON_BLOCK_BYTES, kept))
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
        """The next top-level item, parsed; BAD_JSON for a garbled one, OVERSIZED for one too large
        to read, END after the last."""
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
            if search_from - start > self.limit:
                break
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

    def _nested(self) -> bytes | Marker | None:
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
                    return self.data[start:resume] if resume - start <= self.limit else OVERSIZED
            if len(self.data) - start > self.limit:
                return self._pass_over(depth, resume)
            if not self._fill(start):
                self.pos = len(self.data)
                return None
            resume, start = resume - start, 0

    def _pass_over(self, depth: int, resume: int) -> Marker | None:
        """Scan to the end of an item too large to keep, dropping what is scanned (OVERSIZED), or
        to the end of the file when it never ends (None: a cut-off item)."""
        self.pos = resume
        in_string = False
        while True:
            data, pos = self.data, self.pos
            while pos < len(data):
                if in_string:
                    rest = _STRING_REST.match(data, pos)
                    pos = rest.end() if rest else pos
                    if pos >= len(data) or data[pos] == _BACKSLASH:
                        break
                    in_string, pos = False, pos + 1
                    if depth <= 0:  # the item was this one string
                        self.pos = pos
                        return OVERSIZED
                    continue
                match = _BRACKET_OR_QUOTE.search(data, pos)
                if match is None:
                    pos = len(data)
                    break
                char, pos = data[match.start()], match.end()
                if char == _QUOTE:
                    in_string = True
                    continue
                depth += 1 if char in _OPEN else -1
                if depth <= 0:
                    self.pos = pos
                    return OVERSIZED
            self.pos = pos
            if not self._fill(pos):
                self.pos = len(self.data)
                return None

    def _scalar(self) -> bytes | Marker | None:
        while True:
            match = _JSON_SCALAR.match(self.data, self.pos)
            end = match.end() if match else self.pos
            if end < len(self.data):
                break
            if end - self.pos > self.limit:
                return self._pass_over_scalar()
            if not self._fill(self.pos):
                break
        start, self.pos = self.pos, max(end, self.pos + 1)
        if end - start > self.limit:
            return OVERSIZED
        return self.data[start:end] if end > start else None

    def _pass_over_scalar(self) -> Marker:
        """Drop the rest of a scalar too large to keep."""
        while self._fill(len(self.data)):
            match = _JSON_SCALAR.match(self.data, 0)
            self.pos = match.end() if match else 0
            if self.pos < len(self.data):
                return OVERSIZED
        self.pos = len(self.data)
        return OVERSIZED


def _parsed(raw: bytes | Marker | None) -> Any:
    """orjson's reading of one item's bytes, or BAD_JSON (also for a cut-off item, None)."""
    if raw is None:
        return BAD_JSON
    if isinstance(raw, Marker):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return BAD_JSON


def json_document(stream: BinaryIO) -> Iterator[Record]:
    """Items of a JSON array, streamed; or whole JSON values (objects) one after another.

    A paged API response `{"data": [...], "page": …}` yields the records inside it.
    """
    splitter = JsonSplitter(stream)
    in_array = splitter.open_array()
    number = 0
    while (value := splitter.next_item(in_array)) is not END:
        for record in value["data"] if not in_array and is_envelope(value) else (value,):
            number += 1
            yield number, record


# --- CSV -------------------------------------------------------------------------------------------

CSV_FIELD_LIMIT = 2**31 - 1
_CSV_QUOTED = re.compile(rb'(?:[^"]++|"")*+')
UNCLOSED_QUOTE = "a quoted CSV field is never closed (the rest of the file would be one cell)"
CSV_BLOCK_BYTES = 1 << 20


def _csv_record_pattern(delimiter: str) -> re.Pattern[bytes]:
    """One CSV record as the csv module reads it (quotes open a field only at its start, `""` is a
    quote inside quotes, text after a closing quote belongs to the field), ending with its line
    break (CR, LF or CRLF) outside quotes."""
    d = re.escape(delimiter.encode())
    field = rb'(?:"(?:[^"]++|"")*+"[^' + d + rb"\r\n]*+|[^" + d + rb'"\r\n][^' + d + rb"\r\n]*+|)"
    return re.compile(field + rb"(?:" + d + field + rb")*+(?:\r\n|\r|\n)")


class CsvRecords:
    """Cuts a CSV stream into rows (lists of cells, as the csv module parses them) with the line
    each record ends on; a record larger than MAX_RECORD_BYTES comes as OVERSIZED (passed over
    unread).

    Stretches of whole lines without a quote, a CR or a NUL are split directly: there every line is
    one record and the csv module's cells are the pieces between delimiters. Elsewhere each record
    is cut by a pattern that follows the csv module's quoting, then parsed by the csv module."""

    def __init__(self, stream: BinaryIO, delimiter: str, name: str) -> None:
        self.stream = stream
        self.delimiter = ord(delimiter)
        self.separator = delimiter
        self.pattern = _csv_record_pattern(delimiter)
        self.name = name
        self.limit = MAX_RECORD_BYTES
        self.data = b""
        self.pos = 0
        self.line = 0
        self.opened_on = 0
        """The line an oversized record starts on."""
        self.eof = False

    def __iter__(self) -> Iterator[tuple[int, list[str] | Marker]]:
        while True:
            plain = self._plain_lines()
            if plain:
                yield from plain
                continue
            match = self.pattern.match(self.data, self.pos)
            if match is not None and (match.end() < len(self.data) or self.eof):
                record = match.group()
                self.pos = match.end()
                self.line += _line_breaks(record)
                if len(record) > self.limit:
                    yield self.line, OVERSIZED
                else:
                    yield self.line, _csv_row(record, self.separator)
                continue
            if self.pos == len(self.data) and self.eof:
                return
            if len(self.data) - self.pos > self.limit:
                self._pass_over()
                yield self.line, OVERSIZED
                continue
            if self._more() or match is not None or self.pos == len(self.data):
                continue
            if not self.data.endswith((b"\n", b"\r")):
                self.data += b"\n"
                continue
            raise InputError(Location(self.name, line=self.line + 1), UNCLOSED_QUOTE)

    def _plain_lines(self) -> list[tuple[int, list[str] | Marker]]:
        """The rows of the whole lines from the current position when none holds a quote, a CR or a
        NUL (see the class docstring); empty when there are none such."""
        end = self.data.rfind(b"\n", self.pos) + 1
        if end <= self.pos:
            return []
        stretch = self.data[self.pos : end]
        if b'"' in stretch or b"\r" in stretch or b"\x00" in stretch:
            return []
        self.pos = end
        rows: list[tuple[int, list[str] | Marker]] = []
        separator, limit, line = self.separator, self.limit, self.line
        for text in stretch.decode("utf-8").split("\n")[:-1]:
            line += 1
            if len(text) >= limit:
                rows.append(
                    (line, OVERSIZED if len(text.encode()) > limit else text.split(separator))
                )
            else:
                rows.append((line, text.split(separator) if text else []))
        self.line = line
        return rows

    def _more(self) -> bool:
        """Read more (at least as much as is kept, for linear time); False at the end."""
        if self.eof:
            return False
        kept = len(self.data) - self.pos
        block = self.stream.read(max(CSV_BLOCK_BYTES, kept))
        if not block:
            self.eof = True
            return False
        self.data = self.data[self.pos :] + block
        self.pos = 0
        return True

    def _pass_over(self) -> None:
        """Scan to the end of a record too large to keep, counting its lines and dropping its bytes.

        The scan follows the csv module's states: a quote opens a field only at the field's start,
        and a record ends at a line break outside quotes. A CR at the end of what is read so far is
        kept for the next read, which may start with the LF of a CRLF."""
        state = "start"
        self.opened_on = self.line + 1
        while True:
            data, pos = self.data, self.pos
            while pos < len(data):
                if state == "quoted":
                    pos, closed = self._scan_quoted(data, pos)
                    if not closed:
                        break
                    state = "quote"
                    continue
                if data[pos] in (10, 13):
                    if data[pos] == 13 and pos + 1 == len(data) and not self.eof:
                        break
                    self.pos = pos + (2 if data[pos : pos + 2] == b"\r\n" else 1)
                    self.line += 1
                    return
                state, pos = _csv_step(state, data, pos, self.delimiter)
            self.pos = pos
            if not self._more():
                self._end_of_oversized(quoted=state == "quoted")
                return

    def _end_of_oversized(self, *, quoted: bool) -> None:
        if quoted:
            raise InputError(Location(self.name, line=self.opened_on), UNCLOSED_QUOTE)
        if self.pos < len(self.data):
            self.line += 1
        self.pos = len(self.data)

    def _scan_quoted(self, data: bytes, pos: int) -> tuple[int, bool]:
        """Inside quotes: (the position after the closing quote, True), or (where the data read so
        far stops being judgeable, False), counting the line breaks passed. Quoted text and `""`
        pairs are skipped in one regex step; a quote or CR that ends the data read so far may be
        the first half of `""` or CRLF, so it is kept for the next read."""
        end = _CSV_QUOTED.match(data, pos).end()  # type: ignore[union-attr]  # matches empty
        if end < len(data) - 1 or (end == len(data) - 1 and self.eof):
            self.line += _line_breaks(data[pos:end])
            return end + 1, True
        if end == len(data) and data.endswith(b"\r") and not self.eof:
            end -= 1
        self.line += _line_breaks(data[pos:end])
        return end, False


def _csv_step(state: str, data: bytes, pos: int, delimiter: int) -> tuple[str, int]:
    """The state after the (not line-breaking) byte at `pos`, and where to look next."""
    char = data[pos]
    if char == delimiter:
        return "start", pos + 1
    if char == _QUOTE and state in ("start", "quote"):
        return "quoted", pos + 1
    return "field", _next_special(data, pos + 1, delimiter)


def _next_special(data: bytes, pos: int, delimiter: int) -> int:
    """The next delimiter or line break at or after `pos` (len(data) when there is none)."""
    ends = [data.find(bytes((byte,)), pos) for byte in (delimiter, 10, 13)]
    found = [end for end in ends if end >= 0]
    return min(found) if found else len(data)


def _line_breaks(text: bytes) -> int:
    """Line breaks in `text` as the csv module counts lines: CRLF once, CR and LF each once."""
    if b"\r" not in text:
        return text.count(b"\n")
    return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")


def csv_rows(stream: BinaryIO, delimiter: str, name: str) -> Iterator[Record]:
    """Rows of a CSV (or TSV) file as dicts of strings; empty cells are missing values.

    Records are cut by CsvRecords (bounded, with line numbers) and parsed as the csv module parses
    them; rows are keyed by the header's names and numbered by the line they end on, as
    csv.DictReader keys and numbers them, and blank rows are passed over as it passes them over.
    Cells may be large (exports put whole prompts and JSON bodies in them), so the csv module's
    128 KiB field limit is lifted; the record limit bounds them instead.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    header: list[str] | None = None
    for line, row in CsvRecords(stream, delimiter, name):
        if isinstance(row, Marker):
            if header is None:
                raise InputError(Location(name, line=line), f"CSV header {TOO_LONG}")
            yield line, OVERSIZED
        elif header is None:
            header = row
        elif row:
            yield line, _keyed(header, row)


def _csv_row(record: bytes, delimiter: str) -> list[str]:
    reader = csv.reader([record.decode("utf-8")], delimiter=delimiter)
    row = next(reader, [])
    if reader.line_num != 1 or next(reader, None) is not None:
        raise csv.Error("a record did not parse as one row")
    return row


def _keyed(header: list[str], row: list[str]) -> dict[str, Any]:
    """A row as csv.DictReader makes it (extra cells under None are dropped, missing ones are
    None), with empty cells as None."""
    cells = dict(zip(header, row, strict=False))
    if len(row) < len(header):
        for key in header[len(row) :]:
            cells[key] = None  # type: ignore[assignment]
    return {key: (value if value != "" else None) for key, value in cells.items()}


# --- Parquet ---------------------------------------------------------------------------------------


def parquet_rows(stream: BinaryIO) -> Iterator[Record]:
    """Rows of a Parquet file, one record batch at a time; a corrupt file is an OSError (exit 3).

    Parquet needs random access (its index is at the end), so a stream that cannot seek (a pipe) is
    read into memory first."""
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
