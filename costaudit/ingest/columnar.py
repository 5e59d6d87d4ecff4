"""The columnar path: a block of JSON lines parsed by pyarrow straight into typed columns.

Parsing a large usage log record by record in Python costs several times the JSON parse itself. A
format that offers a columnar extractor (`formats.Columnar`) names the fields it needs as a pyarrow
schema; each block of whole lines is parsed into those columns by pyarrow's C++ reader (without the
GIL, so blocks are parsed on worker threads while the reader goes on), and the extractor turns the
columns into canonical ones and says which rows it takes. The rows it does not take, and every line
of a block pyarrow cannot parse, go to the record path from memory, in order: the file is never read
twice, and the validator judges both kinds of rows alike.

Before a parsed block is used, each of its rows is proven to be exactly one line of the block, since
pyarrow also accepts what the record path rejects line by line (two objects on one line, one object
across lines): every non-blank line must start with `{` and end with `}`, and there must be as many
rows as such lines. The block must also be valid UTF-8, which pyarrow does not check in the fields
it skips.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.json as pa_json

from costaudit.ingest.table import RowGroups
from costaudit.ingest.validation import Counts, Verdict, judge

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_ARROW_ERRORS = (pa.ArrowException, UnicodeDecodeError)
_NEWLINE, _OPEN, _CLOSE, _RETURN = ord("\n"), ord("{"), ord("}"), ord("\r")
_JSON_SPACE = b" \t\r"


@dataclass(frozen=True)
class RowLines:
    """Where each parsed row of a block came from: `line[i]` is the row's line (0-based, within the
    block), bytes `start[i]:end[i]` of the block are that line without its line break."""

    line: Int64s
    start: Int64s
    end: Int64s

    def text(self, data: bytes | bytearray, row: int) -> bytes | bytearray:
        return data[int(self.start[row]) : int(self.end[row])]


@dataclass(frozen=True)
class ParsedBlock:
    """A block of whole lines, with its columns when pyarrow parsed it one row per line."""

    data: bytes | bytearray
    lines: int
    batch: pa.RecordBatch | None
    rows: RowLines | None


@dataclass(frozen=True)
class ColumnBlock:
    """What a columnar extractor makes of a parsed block: canonical columns for every row, and
    `take`, the rows it takes (the others are read by the record path)."""

    take: Bools
    counts: Counts
    model: pa.Array[Any]
    timestamp_ns: Int64s
    batch: Bools
    groups: RowGroups | None = None
    verdict: Verdict | None = None
    """The validator's verdict on every row (see `judged`)."""
    model_names: list[str | None] | None = None
    model_index: npt.NDArray[np.int32] | None = None
    """Each row's index into `model_names` (see `judged`)."""

    def judged(self) -> ColumnBlock:
        """The block with its verdict and its model dictionary worked out once, on the worker
        thread, rather than for each run of rows the reader adds (neither has side effects)."""
        names, index = distinct_strings(self.model)
        return replace(self, verdict=judge(self.counts), model_names=names, model_index=index)

    def slice(self, start: int, stop: int) -> ColumnBlock:
        verdict = self.verdict
        return ColumnBlock(
            take=self.take[start:stop],
            counts=self.counts.slice(start, stop),
            model=self.model.slice(start, stop - start),
            timestamp_ns=self.timestamp_ns[start:stop],
            batch=self.batch[start:stop],
            groups=None if self.groups is None else self.groups.slice(start, stop),
            verdict=None
            if verdict is None
            else Verdict(verdict.reason[start:stop], verdict.reasons),
            model_names=self.model_names,
            model_index=None if self.model_index is None else self.model_index[start:stop],
        )

    def judge(self) -> Verdict:
        return self.verdict if self.verdict is not None else judge(self.counts)

    def models(self, keep: Bools) -> tuple[list[str], npt.NDArray[np.int32]]:
        """The distinct model names of the rows in `keep`, first seen first, and each row's index."""
        if self.model_names is None or self.model_index is None:
            column = self.model if keep.all() else self.model.filter(pa.array(keep))
            only = only_value(column)
            if only is not None:
                return [only], np.zeros(len(column), dtype=np.int32)
            names, codes = distinct_strings(column)
            return [name or "" for name in names], codes
        index = self.model_index[keep]
        used, first = np.unique(index, return_index=True)
        order = used[np.argsort(first)]
        position = np.empty(len(self.model_names), dtype=np.int32)
        position[order] = np.arange(len(order), dtype=np.int32)
        return [self.model_names[code] or "" for code in order.tolist()], position[index]


class ColumnarExtractor(Protocol):
    """A format's vectorized extractor (see the module docstring)."""

    schema: pa.Schema
    """The fields to parse; anything else on a line is skipped by the C++ parser."""

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Canonical columns of a parsed block (`data` its bytes, `rows` where each row came from)."""
        ...


ColumnarLoader = Callable[[], ColumnarExtractor]


def parse_block(data: bytes | bytearray, schema: pa.Schema) -> ParsedBlock:
    """Parse whole lines into `schema`'s columns; `batch` is None unless every row is one line.

    Runs on a worker thread: pyarrow and numpy release the GIL for the heavy parts.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(arr == _NEWLINE)
    lines = len(breaks)
    if not data.isascii() and not _valid_utf8(data):
        return ParsedBlock(data, lines, None, None)
    try:
        table = pa_json.read_json(
            pa.BufferReader(data),  # type: ignore[arg-type]  # stubs list only Python files
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=pa_json.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except _ARROW_ERRORS:
        return ParsedBlock(data, lines, None, None)
    rows = _one_line_each(data, arr, breaks, table.num_rows)
    if rows is None:
        return ParsedBlock(data, lines, None, None)
    batches = table.combine_chunks().to_batches()
    batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)
    return ParsedBlock(data, lines, batch, rows)


def parse_and_extract(
    data: bytes | bytearray, extractor: ColumnarExtractor
) -> tuple[ParsedBlock, ColumnBlock | None]:
    """A block parsed, and its columns as the extractor makes them (None when it did not parse one
    row per line). Runs on a worker thread."""
    parsed = parse_block(data, extractor.schema)
    if parsed.batch is None or parsed.rows is None:
        return parsed, None
    return parsed, extractor.extract(parsed.batch, parsed.data, parsed.rows).judged()


def _valid_utf8(data: bytes | bytearray) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _one_line_each(
    data: bytes | bytearray, arr: npt.NDArray[np.uint8], breaks: Int64s, rows: int
) -> RowLines | None:
    """Each row's line when the block provably holds one object per non-blank line, else None."""
    lines = len(breaks)
    if rows == lines and lines:
        starts = np.empty(lines, dtype=np.int64)
        starts[0] = 0
        starts[1:] = breaks[:-1] + 1
        ends = breaks - (arr[breaks - 1] == _RETURN) if breaks[0] > 0 else breaks.copy()
        if (
            (arr[starts] == _OPEN).all()
            and (ends > starts).all()
            and (arr[ends - 1] == _CLOSE).all()
        ):
            return RowLines(np.arange(lines, dtype=np.int64), starts, ends)
    return _one_line_each_slowly(data, breaks, rows)


def _one_line_each_slowly(data: bytes | bytearray, breaks: Int64s, rows: int) -> RowLines | None:
    """The same proof for a block with blank lines or spaces around its objects."""
    found_lines: list[int] = []
    found_starts: list[int] = []
    found_ends: list[int] = []
    start = 0
    for number, end in enumerate(breaks.tolist()):
        text = data[start:end]
        stripped = text.strip(_JSON_SPACE)
        if stripped:
            if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
                return None
            found_lines.append(number)
            found_starts.append(start)
            found_ends.append(end)
        start = end + 1
    if len(found_lines) != rows:
        return None
    return RowLines(
        np.asarray(found_lines, dtype=np.int64),
        np.asarray(found_starts, dtype=np.int64),
        np.asarray(found_ends, dtype=np.int64),
    )


# --- helpers for extractors: read arrow arrays without pandas ------------------------------------


def nulls(array: Any) -> Bools:
    """Which entries of an arrow array are null, from its validity bitmap."""
    count = len(array)
    if not array.null_count:
        return np.zeros(count, dtype=np.bool_)
    start = array.offset
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, bitorder="little")[start : start + count]
    return np.asarray(valid == 0, dtype=np.bool_)


def values(array: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A primitive arrow array's values straight from its data buffer (nulls hold anything).

    pyarrow's own conversions (`to_numpy`, `fill_null` with a Python value) import pandas, which
    reading and pricing usage never need; a buffer view costs nothing.
    """
    start, count = array.offset, len(array)
    data = array.buffers()[1]
    if data is None or not count:
        return np.zeros(count, dtype=dtype)
    return np.frombuffer(data, dtype=dtype, count=start + count)[start:]


def nested(struct: Any, *path: str) -> tuple[Any, Bools]:
    """A field nested in structs, and where it or any struct on its path is null."""
    missing = nulls(struct)
    array = struct
    for name in path:
        array = array.field(name)
        missing |= nulls(array)
    return array, missing


def counts_at(struct: Any, *path: str) -> tuple[Int64s, Bools]:
    """int64 counts of a nested field (0 where absent) and where they are absent."""
    array, missing = nested(struct, *path)
    counts = values(array, np.int64)
    return np.where(missing, 0, counts), missing


def floats_at(struct: Any, *path: str) -> tuple[npt.NDArray[np.float64], Bools]:
    """float64 values of a nested field (0 where absent) and where they are absent."""
    array, missing = nested(struct, *path)
    numbers = values(array, np.float64)
    return np.where(missing, 0.0, numbers), missing


def present(batch: pa.RecordBatch, name: str) -> Bools:
    """Rows where a top-level field is present and not null."""
    return ~nulls(batch.column(name))


def nonempty_strings(array: Any) -> Bools:
    """Rows holding a string of at least one character."""
    count, start = len(array), array.offset
    if not count:
        return np.zeros(0, dtype=np.bool_)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=start + count + 1)[start:]
    return np.asarray((np.diff(offsets) > 0) & ~nulls(array), dtype=np.bool_)


def string_in(array: Any, allowed: tuple[str, ...]) -> Bools:
    """Rows holding one of the `allowed` strings (never a null row)."""
    only = only_value(array)
    if only is not None:
        return np.full(len(array), only in allowed, dtype=np.bool_)
    names, codes = distinct_strings(array)
    wanted = np.array([name in allowed for name in names] or [False], dtype=np.bool_)
    return np.asarray(wanted[codes], dtype=np.bool_) if len(codes) else np.zeros(0, np.bool_)


def only_value(array: Any) -> str | None:
    """The value of a string column whose rows all hold the same non-empty string (None otherwise):
    the usual `object` or `model` column, checked on its buffers in one comparison."""
    count, start = len(array), array.offset
    if not count or array.null_count:
        return None
    _, offset_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32, count=start + count + 1)[start:]
    width = int(offsets[1] - offsets[0])
    if not width or int(offsets[-1] - offsets[0]) != width * count:
        return None
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(
        count, width
    )
    if not (data == data[0]).all():
        return None
    return str(data[0].tobytes().decode())


def distinct_strings(array: Any) -> tuple[list[str | None], npt.NDArray[np.int32]]:
    """A string column's distinct values in first-seen order (then None, if any row is null) and
    each row's index into them, by pyarrow's hashing."""
    encoded = array.dictionary_encode()
    found: list[str | None] = encoded.dictionary.to_pylist()
    codes = values(encoded.indices, np.int32).copy()
    missing = nulls(encoded.indices)
    if missing.any():
        found.append(None)
        codes[missing] = len(found) - 1
    return found, codes


# --- flat objects cut from the lines: a key's object that pyarrow cannot type ---------------------

SHORT_OBJECT = 512
"""Objects up to this many bytes are told apart as rows of one array (see `object_texts`)."""
_COLON_BYTE = ord(":")


def object_texts(
    data: bytes | bytearray, rows: RowLines, key: bytes, wanted: Bools
) -> tuple[list[bytes], npt.NDArray[np.int32]]:
    """The distinct texts of the objects that follow `key` (a quoted name, e.g. `b'"metadata"'`)
    in the `wanted` rows' lines, first seen first, and each row's index into them: -1 for a row
    not wanted, and for one whose object cannot be cut here.

    An object is cut from the line when `key` occurs there exactly once and is followed by a `{`
    whose first `}` closes it: the text is the whole object when it parses (JSON objects are
    self-delimiting), which the caller checks; a nested object does not parse. Lines mostly repeat
    a few objects: they are cut and told apart with array operations over the whole block, so each
    distinct one is parsed once. An object written with spaces around its colon, or longer than
    SHORT_OBJECT bytes, is cut on its own.
    """
    codes = np.full(len(wanted), -1, dtype=np.int32)
    picked = np.flatnonzero(wanted)
    seen: dict[bytes, int] = {}
    if not len(picked):
        return [], codes
    arr = np.frombuffer(data, dtype=np.uint8)
    at = _single_key_at(data, rows, key, len(wanted))[picked]
    ends = rows.end[picked]
    start, length = _compact_objects(arr, at, ends, len(key))
    found = np.full(len(picked), -1, dtype=np.int32)
    quick = np.flatnonzero(length > 0)
    if len(quick):
        first, inverse = _distinct_texts(arr, start[quick], length[quick])
        known = np.empty(len(first), dtype=np.int32)
        for number, row in enumerate(quick[first].tolist()):
            text = bytes(data[int(start[row]) : int(start[row] + length[row])])
            known[number] = seen.setdefault(text, len(seen))
        found[quick] = known[inverse]
    spaced = _object_after(key)
    for row in np.flatnonzero((length == 0) & (at >= 0)).tolist():
        cut = spaced.match(data, int(at[row]), int(ends[row]))
        if cut is not None:
            found[row] = seen.setdefault(bytes(cut.group(1)), len(seen))
    codes[picked] = found
    return list(seen), codes


def _single_key_at(data: bytes | bytearray, rows: RowLines, key: bytes, count: int) -> Int64s:
    """Where `key` starts in each row's line, or -1 unless it occurs there exactly once."""
    found = _key_starts(data, key)
    row_of = np.searchsorted(rows.start, found, side="right") - 1
    inside = (row_of >= 0) & (found < rows.end[np.maximum(row_of, 0)])
    found, row_of = found[inside], row_of[inside]
    at = np.full(count, -1, dtype=np.int64)
    at[row_of] = found
    at[np.bincount(row_of, minlength=count) != 1] = -1
    return at


def _compact_objects(
    arr: npt.NDArray[np.uint8], at: Int64s, ends: Int64s, key_length: int
) -> tuple[Int64s, Int64s]:
    """Start and length of the `{…}` right after each key at `at` written `"key":{` (no spaces),
    up to its first `}` on the line and at most SHORT_OBJECT bytes; length 0 where the key is
    written otherwise, is missing, or the object does not end so soon."""
    start = at + key_length + 1
    key = at >= 0
    safe = np.where(key, np.minimum(start, len(arr) - 1), 0)
    compact = key & (start < ends) & (arr[safe - 1] == _COLON_BYTE) & (arr[safe] == _OPEN)
    closes = np.flatnonzero(arr == _CLOSE)
    after = np.searchsorted(closes, start)
    close = closes[np.minimum(after, len(closes) - 1)] if len(closes) else start
    length = close + 1 - start
    fits = compact & (after < len(closes)) & (close < ends) & (length <= SHORT_OBJECT)
    return start, np.where(fits, length, 0)


def _distinct_texts(
    arr: npt.NDArray[np.uint8], start: Int64s, length: Int64s
) -> tuple[Int64s, Int64s]:
    """The first of each distinct byte string `arr[start:start+length]` (in row order) and each
    row's index among them: the strings are laid out as rows of a zero-padded matrix (a JSON text
    holds no zero byte) and compared whole."""
    width = int(length.max())
    columns = np.arange(width, dtype=np.int64)
    grid = arr[np.minimum(start[:, None] + columns, len(arr) - 1)]
    grid[columns >= length[:, None]] = 0
    keys = np.ascontiguousarray(grid).view(np.dtype((np.void, width))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def _key_starts(data: bytes | bytearray, key: bytes) -> Int64s:
    """Every position where `key` starts in `data`, overlapping ones included (two can share a
    quote only in text that is not valid JSON, so they are looked for only when one is there)."""
    if key + key[1:] in data:
        return np.fromiter(
            (hit.start() for hit in _overlapping(key).finditer(data)), dtype=np.int64
        )
    between = np.fromiter(map(len, data.split(key)), dtype=np.int64)
    return np.cumsum(between[:-1]) + np.arange(len(between) - 1, dtype=np.int64) * len(key)


@functools.cache
def _overlapping(key: bytes) -> re.Pattern[bytes]:
    return re.compile(b"(?=" + re.escape(key) + b")")


@functools.cache
def _object_after(key: bytes) -> re.Pattern[bytes]:
    """`key`, a colon and a flat object, with any JSON space around the colon."""
    return re.compile(re.escape(key) + rb"[ \t\r\n]*:[ \t\r\n]*(\{[^}]*\})")


_ISO_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":")}
_ISO_DIGITS = [position for position in range(19) if position not in _ISO_SEPARATORS]
_ZERO, _DOT, _ZULU = ord("0"), ord("."), ord("Z")
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
SAFE_YEARS = (1700, 2200)
"""Years whose instants int64 nanoseconds hold with room to spare; others go the record way."""


def iso_utc_ns(array: Any) -> tuple[Int64s, Bools]:
    """Nanoseconds since the epoch of strings `YYYY-MM-DDTHH:MM:SS[.f…]Z` (1 to 9 fraction digits),
    and which rows had such a string with a real date and time. The record path reads the same
    strings to the same nanoseconds (`timestamps._iso_to_ns`); rows with any other spelling are
    for it to read."""
    count, start = len(array), array.offset
    result = np.zeros(count, dtype=np.int64)
    if not count or array.buffers()[2] is None:
        return result, np.zeros(count, dtype=np.bool_)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=start + count + 1)[start:]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    begin, length = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    ok = ~nulls(array) & ((length == 20) | ((length >= 22) & (length <= 30)))
    rows = np.flatnonzero(ok)
    text = data[begin[rows, None] + np.arange(19)]
    digits = text.astype(np.int64) - _ZERO
    good = (digits[:, _ISO_DIGITS] >= 0).all(axis=1) & (digits[:, _ISO_DIGITS] <= 9).all(axis=1)
    for position, separator in _ISO_SEPARATORS.items():
        good &= text[:, position] == separator
    good &= data[begin[rows] + length[rows] - 1] == _ZULU
    fraction_ns, fraction_ok = _fractions(data, begin[rows], length[rows])
    good &= fraction_ok

    def number(*positions: int) -> Int64s:
        value = np.zeros(len(rows), dtype=np.int64)
        for position in positions:
            value = value * 10 + digits[:, position]
        return value

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    hour, minute, second = number(11, 12), number(14, 15), number(17, 18)
    good &= (year >= SAFE_YEARS[0]) & (year <= SAFE_YEARS[1]) & (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days_in_month = _DAYS_IN_MONTH[np.clip(month, 1, 12)] + (leap & (month == 2))
    good &= (day >= 1) & (day <= days_in_month) & (hour <= 23) & (minute <= 59) & (second <= 59)
    days = _days_from_civil(year, month, day)
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
    result[rows] = np.where(good, seconds * 1_000_000_000 + fraction_ns, 0)
    ok[rows] = good
    return result, ok


def _fractions(data: npt.NDArray[np.uint8], begin: Int64s, length: Int64s) -> tuple[Int64s, Bools]:
    """Nanoseconds of the `.f…` part between the seconds and the `Z` (0 without one)."""
    has = length > 20
    places = np.arange(9)
    width = np.where(has, length - 21, 0)
    used = places < width[:, None]
    index = np.where(used, begin[:, None] + 20 + places, 0)
    digits = np.where(used, data[index].astype(np.int64) - _ZERO, 0)
    ok = ~has | (data[np.where(has, begin + 19, 0)] == _DOT)
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    return digits @ (10 ** (8 - places)).astype(np.int64), ok


def _days_from_civil(year: Int64s, month: Int64s, day: Int64s) -> Int64s:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil)."""
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: Int64s = era * 146_097 + day_of_era - 719_468
    return days
