"""The Gemini format's columnar extractor: `generateContent` response bodies as on the wire
(camelCase, with or without Vertex's `createTime`), a block of lines at a time.

It takes exactly the rows that `gemini.extract` reads from the counts of `usageMetadata`, the
`modelVersion` and the `createTime` alone, and leaves every other row to it: SDK dumps (snake_case),
logging wrappers and bodies with their request (prompts and labels), other time keys or spellings,
and any line that may name the AUDIO modality (audio input is billed at its own rate, less what the
cache served: the record path works that out). The counts it takes are handed to the validator under
the names the record path reads them with, clipped as the record path clips them before adding
them up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from costaudit.ingest.columnar import (
    ColumnBlock,
    RowLines,
    counts_at,
    iso_utc_ns,
    nested,
    nonempty_strings,
    present,
    values,
)
from costaudit.ingest.formats.common import TIMESTAMP_KEYS
from costaudit.ingest.formats.gemini import COUNT_FIELDS, OTHER_KEYS, snake
from costaudit.ingest.timestamps import NAT
from costaudit.ingest.validation import COUNT_LIMIT, Counts, ReadCounts

_USAGE = pa.struct(
    [
        *(pa.field(name, pa.int64()) for name in COUNT_FIELDS),
        *(pa.field(snake(name), pa.null()) for name in COUNT_FIELDS),
    ]
)
SCHEMA = pa.schema(
    [
        pa.field("modelVersion", pa.string()),
        pa.field("createTime", pa.string()),
        pa.field("usageMetadata", _USAGE),
        *(pa.field(key, pa.null()) for key in (*TIMESTAMP_KEYS, *OTHER_KEYS)),
    ]
)
"""What pricing needs, plus the keys whose presence makes `gemini.extract` read a line another way,
declared null: a count's snake_case twin (read when the camelCase count is null), the request, the
SDK's `create_time` and the time keys a wrapper adds. A line that gives one of them a value makes
its block unparseable, which sends the block to the record path (right, if slower; such lines are
rare in a file whose first lines are bare response bodies)."""

_AUDIO = "audio"
_ESCAPED_AUDIO_LETTER = r"\\u(?:00(?:[46][149Ff]|[57]5)|0131)"
"""A JSON escape of a character that `str.upper` turns into one of A, U, D, I, O: those letters in
either case, and the dotless ı (U+0131)."""
_DOTLESS_I = "\u0131"

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class ResponseColumns:
    """Gemini / Vertex AI `generateContent` response bodies, as columns."""

    schema = SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows read exactly as `gemini.extract` reads them:
        a `usageMetadata` object with at least one of its counts (a body with none is the record
        path's to skip), a non-empty `modelVersion`, a `createTime` absent or in the
        `YYYY-MM-DDTHH:MM:SS[.f]Z` form, and a line that cannot name the AUDIO modality."""
        usage, no_usage = nested(batch.column("usageMetadata"))
        read = [counts_at(usage, name) for name in COUNT_FIELDS]
        some_count = ~np.logical_and.reduce([missing for _, missing in read])
        model = batch.column("modelVersion")
        timestamp_ns, readable_time = iso_utc_ns(batch.column("createTime"))
        take = (
            ~no_usage
            & some_count
            & nonempty_strings(model)
            & (readable_time | ~present(batch, "createTime"))
        )
        _leave_audio(take, data, rows)
        return ColumnBlock(
            take=take,
            counts=_counts([np.clip(count, -COUNT_LIMIT, COUNT_LIMIT) for count, _ in read]),
            model=model,
            timestamp_ns=np.where(readable_time, timestamp_ns, NAT),
            batch=np.zeros(batch.num_rows, dtype=np.bool_),
        )


def _counts(read: list[Int64s]) -> Counts:
    """Canonical counts as `gemini.apply_usage` makes them: input = prompt + tool-use prompt (the
    prompt already holds the cached content), output = candidates + thoughts, thoughts are the
    reasoning."""
    prompt, tool_prompt, candidates, thoughts, cached = read
    zeros = np.zeros(len(prompt), dtype=np.int64)
    tokens = {
        "input_tokens": prompt + tool_prompt,
        "cached_input_tokens": cached,
        "cache_write_tokens": zeros,
        "cache_write_1h_tokens": zeros,
        "output_tokens": candidates + thoughts,
        "reasoning_tokens": thoughts,
        "audio_input_tokens": zeros,
    }
    return Counts(
        tokens=tokens,
        read=ReadCounts.row_by_row(read, COUNT_FIELDS),
    )


def _leave_audio(take: Bools, data: bytes | bytearray, rows: RowLines) -> None:
    """Leave to the record path the rows whose line may name the AUDIO modality. `gemini.apply_usage`
    compares each modality uppercased, so any spelling of the word counts: `audio` in any case, a
    letter escaped (`\\u0041`), a dotless ı (the one other character `str.upper` turns into one
    of the word's letters). Arrow's kernels search the block's bytes whole, and each line only when
    the block holds a hit; escapes are looked for only in blocks with a backslash, the dotless ı
    only in blocks that are not ASCII. A hit elsewhere in a line (in a text, say) only costs that
    row the columnar path."""
    if not take.any():
        return
    searches = [_word_in_any_case]
    if b"\\" in data:
        searches.append(_escaped_letter)
    if not data.isascii():
        searches.append(_dotless_i)
    block = _binary(data, np.array([0, len(data)], dtype=np.int64))
    lines = None
    for search in searches:
        if search(block)[0].as_py():
            lines = _binary(data, np.append(rows.start, len(data))) if lines is None else lines
            take[values(pc.indices_nonzero(search(lines)), np.uint64)] = False


def _word_in_any_case(strings: pa.Array[Any]) -> pa.BooleanArray:
    return pc.match_substring(strings, _AUDIO, ignore_case=True)


def _escaped_letter(strings: pa.Array[Any]) -> pa.BooleanArray:
    return pc.match_substring_regex(strings, _ESCAPED_AUDIO_LETTER)


def _dotless_i(strings: pa.Array[Any]) -> pa.BooleanArray:
    return pc.match_substring(strings, _DOTLESS_I)


def _binary(data: bytes | bytearray, offsets: Int64s) -> pa.Array[Any]:
    """The block's bytes cut at `offsets` as an Arrow binary array, without copying them: the whole
    block, or each row's line (with the blank lines after it, if any)."""
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.large_binary(), len(offsets) - 1, buffers)
