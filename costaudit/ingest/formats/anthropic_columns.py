"""The Anthropic format's columnar extractor: Message Batches result lines, a block at a time.

It takes exactly the rows that `anthropic.extract` reads from a succeeded result's model and usage,
the line's `timestamp` (in the `YYYY-MM-DDTHH:MM:SS[.f]Z` form) and its flat `metadata` (groups),
and leaves every other row to it: errored and expired results, other time keys or spellings, nested
metadata. The counts it takes are handed to the validator under the names the record path reads
them with, clipped as the record path clips them before adding them up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from costaudit.ingest.columnar import (
    ColumnBlock,
    RowLines,
    counts_at,
    iso_utc_ns,
    nested,
    nonempty_strings,
    nulls,
    object_texts,
    present,
    string_in,
)
from costaudit.ingest.formats.common import TIMESTAMP_KEYS, string_groups
from costaudit.ingest.table import RowGroups
from costaudit.ingest.timestamps import NAT
from costaudit.ingest.validation import COUNT_LIMIT, Counts, ReadCounts

OTHER_TIME_KEYS = tuple(key for key in TIMESTAMP_KEYS if key != "timestamp")
WRAPPER_KEYS = ("custom_id", "result", "response", "request")

_CACHE_SPLIT = pa.struct(
    [
        pa.field("ephemeral_1h_input_tokens", pa.int64()),
        pa.field("ephemeral_5m_input_tokens", pa.int64()),
    ]
)
_USAGE = pa.struct(
    [
        pa.field("input_tokens", pa.int64()),
        pa.field("cache_read_input_tokens", pa.int64()),
        pa.field("cache_creation_input_tokens", pa.int64()),
        pa.field("cache_creation", _CACHE_SPLIT),
        pa.field("output_tokens", pa.int64()),
        pa.field("output_tokens_details", pa.struct([pa.field("thinking_tokens", pa.int64())])),
    ]
)
_MESSAGE = pa.struct([pa.field("model", pa.string()), pa.field("usage", _USAGE)])
_FIELDS: list[pa.Field[Any]] = [
    pa.field("custom_id", pa.string()),
    pa.field("result", pa.struct([pa.field("type", pa.string()), pa.field("message", _MESSAGE)])),
    pa.field("timestamp", pa.string()),
    pa.field("metadata", pa.struct([])),
    *(pa.field(key, pa.null()) for key in OTHER_TIME_KEYS),
]
SCHEMA = pa.schema(_FIELDS)
"""What pricing and grouping need. Another time key is declared null: a line that gives one a
value makes its block unparseable, which sends the block to the record path (right, if slower)."""

_BODY_USAGE = pa.struct([*_USAGE, pa.field("service_tier", pa.string())])
MESSAGE_SCHEMA = pa.schema(
    [
        pa.field("model", pa.string()),
        pa.field("usage", _BODY_USAGE),
        pa.field("timestamp", pa.string()),
        pa.field("metadata", pa.struct([])),
        *(pa.field(key, pa.null()) for key in (*WRAPPER_KEYS, *OTHER_TIME_KEYS)),
    ]
)
"""Messages API response bodies: the message's fields SCHEMA reads under `result.message`, its
`service_tier` (`batch` bills at batch prices), and the line's own `timestamp` and `metadata`. The
keys that make `anthropic.extract` read a line as a batch result or a request/response wrapper are
declared null, as are the other time keys: a line giving one a value sends its block to the record
path."""

FIELD_NAMES = (
    "usage.input_tokens",
    "cache-read tokens",
    "cache-creation tokens",
    "1-hour cache-creation tokens",
    "5-minute cache-creation tokens",
    "usage.output_tokens",
    "thinking tokens",
)
"""The names `anthropic.apply_usage` reads counts under, in its order."""
_METADATA = b'"metadata"'

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class BatchResultColumns:
    """Anthropic Message Batches result lines, as columns."""

    schema = SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows read exactly as `anthropic.extract` reads
        them: a `custom_id`, a succeeded result whose message has a non-empty model and a usage
        with input and output counts (a count given as null is the record path's to refuse), no
        time key but `timestamp` in the form above, and `metadata` absent or a flat object."""
        result: Any = batch.column("result")
        message, no_message = nested(result, "message")
        usage, no_usage = nested(message, "usage")
        succeeded = string_in(result.field("type"), ("succeeded",)) & ~nulls(result)
        wrapper = present(batch, "custom_id") & succeeded & ~no_message
        billed_batch = np.ones(batch.num_rows, dtype=np.bool_)
        return _message_block(
            batch, message.field("model"), usage, no_usage, wrapper, billed_batch, data, rows
        )


class MessageColumns:
    """Anthropic Messages API response bodies, as columns."""

    schema = MESSAGE_SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows read exactly as `anthropic.extract` reads a
        response body: a non-empty `model` and a usage with input and output counts (a count given
        as null is the record path's to refuse), no time key but `timestamp` in the form above, and
        `metadata` absent or a flat object."""
        usage, no_usage = nested(batch.column("usage"))
        every = np.ones(batch.num_rows, dtype=np.bool_)
        billed_batch = string_in(usage.field("service_tier"), ("batch",))
        return _message_block(
            batch, batch.column("model"), usage, no_usage, every, billed_batch, data, rows
        )


def _message_block(
    batch: pa.RecordBatch,
    model: Any,
    usage: Any,
    no_usage: Bools,
    wrapper: Bools,
    billed_batch: Bools,
    data: bytes | bytearray,
    rows: RowLines,
) -> ColumnBlock:
    """The columns of a message's `model` and `usage` (wherever the line holds them) and of the
    line's own `timestamp` and `metadata`. `take` is `wrapper` (the rows whose wrapper is read as
    the record path reads it) where the usage has input and output counts, the model is not empty
    and the timestamp, if any, is in the form above."""
    read = _usage_counts(usage)
    timestamp_ns, readable_time = iso_utc_ns(batch.column("timestamp"))
    take = (
        wrapper
        & ~no_usage
        & ~read[0][1]
        & ~read[5][1]
        & nonempty_strings(model)
        & (readable_time | ~present(batch, "timestamp"))
    )
    groups = _metadata_groups(data, rows, take & present(batch, "metadata"), take)
    split = ~nested(usage, "cache_creation")[1]
    return ColumnBlock(
        take=take,
        counts=_counts([np.clip(values, -COUNT_LIMIT, COUNT_LIMIT) for values, _ in read], split),
        model=model,
        timestamp_ns=np.where(readable_time, timestamp_ns, NAT),
        batch=billed_batch,
        groups=groups,
    )


def _usage_counts(usage: Any) -> list[tuple[Int64s, Bools]]:
    """The counts `anthropic.apply_usage` reads, in its order, and where each is absent."""
    return [
        counts_at(usage, "input_tokens"),
        counts_at(usage, "cache_read_input_tokens"),
        counts_at(usage, "cache_creation_input_tokens"),
        counts_at(usage, "cache_creation", "ephemeral_1h_input_tokens"),
        counts_at(usage, "cache_creation", "ephemeral_5m_input_tokens"),
        counts_at(usage, "output_tokens"),
        counts_at(usage, "output_tokens_details", "thinking_tokens"),
    ]


def _counts(read: list[Int64s], split: Bools) -> Counts:
    """Canonical counts as `anthropic.apply_usage` makes them: total input = uncached + cache reads
    + cache writes; writes are the 1-hour plus 5-minute split when only the split is given."""
    uncached, reads, writes, one_hour, five_minutes, output, thinking = read
    writes = np.where(split & (writes == 0), one_hour + five_minutes, writes)
    tokens = {
        "input_tokens": uncached + reads + writes,
        "cached_input_tokens": reads,
        "cache_write_tokens": writes,
        "cache_write_1h_tokens": one_hour,
        "output_tokens": output,
        "reasoning_tokens": thinking,
        "audio_input_tokens": np.zeros(len(uncached), dtype=np.int64),
    }
    return Counts(
        tokens=tokens,
        read=ReadCounts.row_by_row(read, FIELD_NAMES),
    )


def _metadata_groups(
    data: bytes | bytearray, rows: RowLines, with_metadata: Bools, take: Bools
) -> RowGroups:
    """Each row's groups from its `metadata` object (marks `take` False where it cannot be read
    here): the object is cut from the line (`columnar.object_texts`), and each distinct one is
    parsed once."""
    texts, codes = object_texts(data, rows, _METADATA, with_metadata)
    values: list[dict[str, str]] = []
    parsed = np.array([*(_parsed_groups(text, values) for text in texts), -1], dtype=np.int32)
    index = parsed[codes]
    take[with_metadata & (index < 0)] = False
    return RowGroups(values, index)


def _parsed_groups(text: bytes, values: list[dict[str, str]]) -> int:
    """Index of the groups of a metadata object's text, appended to `values`; -1 when it does not
    parse (not flat, after all)."""
    try:
        metadata = orjson.loads(text)
    except orjson.JSONDecodeError:
        return -1
    if not isinstance(metadata, dict):
        return -1
    values.append(string_groups(metadata))
    return len(values) - 1
