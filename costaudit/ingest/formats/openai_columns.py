"""The OpenAI format's columnar extractors: response bodies with `usage`, and Batch API output lines
whose `response.body` is one, a block of lines at a time.

It takes exactly the rows that `openai.extract` would read the same way from their counts, model and
`created`/`created_at` time alone, and leaves every other row to it (see `UsageColumns.extract`), so
a file reads the same whichever rows take which path. The counts it takes are handed to the
validator under the same field names as the record path reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from costaudit.ingest.columnar import (
    ColumnBlock,
    RowLines,
    counts_at,
    floats_at,
    nested,
    nonempty_strings,
    nulls,
    present,
    string_in,
)
from costaudit.ingest.formats.common import TIMESTAMP_KEYS
from costaudit.ingest.formats.openai import (
    HTTP_ERROR,
    OTHER_TIME_KEYS,
    RESPONSE_OBJECTS,
    WRAPPER_KEYS,
)
from costaudit.ingest.timestamps import NAT, epoch_numbers_to_ns
from costaudit.ingest.validation import Counts, ReadCounts

EXACT_FLOAT = 2.0**53
"""Epoch numbers from this on are not exact in float64 (nanosecond epochs): the record path reads
them as integers, so rows carrying them are left to it."""

_DETAILS_IN = pa.struct(
    [
        ("cached_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("audio_tokens", pa.int64()),
    ]
)
_DETAILS_OUT = pa.struct([("reasoning_tokens", pa.int64())])
_USAGE = pa.struct(
    [
        pa.field("prompt_tokens", pa.int64()),
        pa.field("completion_tokens", pa.int64()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("prompt_tokens_details", _DETAILS_IN),
        pa.field("input_tokens_details", _DETAILS_IN),
        pa.field("completion_tokens_details", _DETAILS_OUT),
        pa.field("output_tokens_details", _DETAILS_OUT),
    ]
)
_FIELDS: list[pa.Field[Any]] = [
    pa.field("object", pa.string()),
    pa.field("model", pa.string()),
    pa.field("created", pa.float64()),
    pa.field("created_at", pa.float64()),
    pa.field("usage", _USAGE),
    *(pa.field(key, pa.null()) for key in (*WRAPPER_KEYS, *OTHER_TIME_KEYS)),
]
SCHEMA = pa.schema(_FIELDS)
"""The fields pricing needs, plus those whose presence makes the record path read a line another
way (a wrapper, another time key). Those are declared null: a line that gives one a value makes its
block unparseable, which sends the block to the record path (right, if slower; such lines are rare
in the logs read this way, and a file that starts with them is read the record way from the start).
A null type costs the parser nothing, where a string or object type would cost it about 15%."""

BATCH_SCHEMA = pa.schema(
    [
        pa.field("custom_id", pa.string()),
        pa.field(
            "response",
            pa.struct([pa.field("status_code", pa.int64()), pa.field("body", pa.struct(_FIELDS))]),
        ),
        *(pa.field(key, pa.null()) for key in (*TIMESTAMP_KEYS, "metadata")),
    ]
)
"""Batch API output lines: the body's fields as SCHEMA's, under `response`. A line's own time keys
(which win over the body's `created`) and its `metadata` (groups) are declared null, as SCHEMA
declares the wrapper keys."""

FIELD_NAMES = (
    "usage.prompt_tokens",
    "usage.completion_tokens",
    "usage.input_tokens",
    "usage.output_tokens",
    "cached tokens",
    "cache-write tokens",
    "reasoning tokens",
)
"""The names `openai.apply_usage` reads counts under (Chat Completions, then Responses names)."""
_CHAT_KEYS = (b'"prompt_tokens"', b'"completion_tokens"')

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class UsageColumns:
    """OpenAI Chat Completions and Responses bodies with usage, as columns."""

    schema = SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows read exactly as `openai.extract` reads them:

        - a response body (`object` one of RESPONSE_OBJECTS, or absent with Chat counts) with a
          `usage` object, a non-empty `model`, and none of the wrapper or other time keys;
        - Chat counts (`prompt_tokens` and `completion_tokens` both given), or Responses counts
          (`input_tokens` and `output_tokens`) on a line that names no Chat count at all: a Chat
          count given as null makes the record path refuse the record, so it must decide;
        - at most one of `created` and `created_at`, zero (no time) or an epoch it converts the
          same way: positive, exact in float64 and within the nanosecond range.
        """
        return _body_block(batch.column, batch.num_rows, data, rows)


class BatchOutputColumns:
    """OpenAI Batch API output lines of requests that succeeded, as columns: the response body read
    as `UsageColumns` reads a body, billed at batch prices."""

    schema = BATCH_SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows `openai.extract` reads the same way: a
        `custom_id`, a `response` whose `status_code` is an integer below 400 (a failed request is
        the record path's to skip) and whose `body` `UsageColumns` takes. The line's own time keys
        and `metadata` are declared null (BATCH_SCHEMA): a line giving one a value sends its block
        to the record path."""
        response = batch.column("response")
        body, no_body = nested(response, "body")
        status, no_status = counts_at(response, "status_code")
        block = _body_block(body.field, batch.num_rows, data, rows)
        take = (
            block.take & ~no_body & ~no_status & (status < HTTP_ERROR) & present(batch, "custom_id")
        )
        return replace(block, take=take, batch=np.ones(batch.num_rows, dtype=np.bool_))


def _body_block(
    column: Callable[[str], Any], count: int, data: bytes | bytearray, rows: RowLines
) -> ColumnBlock:
    """`UsageColumns.extract` of response bodies whose fields `column` gives, `count` rows."""
    usage = column("usage")
    prompt, no_prompt = counts_at(usage, "prompt_tokens")
    completion, no_completion = counts_at(usage, "completion_tokens")
    given, no_given = counts_at(usage, "input_tokens")
    produced, no_produced = counts_at(usage, "output_tokens")
    chat = ~no_prompt & ~no_completion
    responses = no_prompt & no_completion & ~no_given & ~no_produced
    body = string_in(column("object"), RESPONSE_OBJECTS)
    no_object = nulls(column("object"))
    take = (
        ~nulls(usage)
        & ((chat & (body | no_object)) | (responses & body))
        & nonempty_strings(column("model"))
    )
    timestamp_ns, time_ok = _times(column)
    take &= time_ok
    # Audio input is billed at its own rate, less what was read from the cache: rows that carry
    # any go to the record path (OpenAI writes `audio_tokens: 0` on every chat response).
    for details in ("prompt_tokens_details", "input_tokens_details"):
        take &= counts_at(usage, details, "audio_tokens")[0] == 0
    _leave_named_chat_counts(take, responses, data, rows)

    def pick(chat_path: tuple[str, ...], responses_path: tuple[str, ...]) -> Int64s:
        return np.where(chat, counts_at(usage, *chat_path)[0], counts_at(usage, *responses_path)[0])

    tokens = {
        "input_tokens": np.where(chat, prompt, given),
        "cached_input_tokens": pick(
            ("prompt_tokens_details", "cached_tokens"),
            ("input_tokens_details", "cached_tokens"),
        ),
        "cache_write_tokens": pick(
            ("prompt_tokens_details", "cache_write_tokens"),
            ("input_tokens_details", "cache_write_tokens"),
        ),
        "cache_write_1h_tokens": np.zeros(count, dtype=np.int64),
        "output_tokens": np.where(chat, completion, produced),
        "reasoning_tokens": pick(
            ("completion_tokens_details", "reasoning_tokens"),
            ("output_tokens_details", "reasoning_tokens"),
        ),
        "audio_input_tokens": np.zeros(count, dtype=np.int64),
    }
    return ColumnBlock(
        take=take,
        counts=Counts(tokens=tokens, read=_read_counts(tokens, chat)),
        model=column("model"),
        timestamp_ns=timestamp_ns,
        batch=np.zeros(count, dtype=np.bool_),
    )


def _times(column: Callable[[str], Any]) -> tuple[Int64s, Bools]:
    """Each row's time in ns (NaT when none) and whether the columnar path may take it (above)."""
    created, no_created = floats_at(column("created"))
    created_at, no_created_at = floats_at(column("created_at"))
    epoch = np.where(no_created, created_at, created)
    timestamp_ns = epoch_numbers_to_ns(epoch)
    readable = (epoch > 0) & (epoch < EXACT_FLOAT) & (timestamp_ns != NAT)
    return timestamp_ns, (no_created | no_created_at) & ((epoch == 0) | readable)


def _leave_named_chat_counts(
    take: Bools, responses: Bools, data: bytes | bytearray, rows: RowLines
) -> None:
    """Leave to the record path the Responses rows whose line names a Chat count (given as null:
    pyarrow cannot tell null from absent). Only blocks naming one at all are searched line by line."""
    candidates = take & responses
    if not candidates.any() or not any(key in data for key in _CHAT_KEYS):
        return
    for row in np.flatnonzero(candidates).tolist():
        line = rows.text(data, row)
        if any(key in line for key in _CHAT_KEYS):
            take[row] = False


def _read_counts(tokens: dict[str, Int64s], chat: Bools) -> ReadCounts:
    """The five counts of each row as `openai.apply_usage` reads them, under its field names."""
    columns = [
        tokens["input_tokens"],
        tokens["output_tokens"],
        tokens["cached_input_tokens"],
        tokens["cache_write_tokens"],
        tokens["reasoning_tokens"],
    ]

    def field(index: int) -> str:
        row, position = divmod(index, len(columns))
        if position >= 2:
            return FIELD_NAMES[position + 2]
        return FIELD_NAMES[position if chat[row] else position + 2]

    return ReadCounts.row_by_row(columns, field)
