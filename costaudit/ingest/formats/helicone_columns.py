"""The Helicone format's columnar extractor: JSON-lines export rows, a block of lines at a time.

It takes exactly the rows that `helicone.extract` reads from their counts, `model`, the
`request_created_at` time (in the `YYYY-MM-DDTHH:MM:SS[.f]Z` form) and the groups it makes of the
flat property objects, user and provider, and leaves every other row to it: failed requests, rows
without `prompt_tokens` or a `model`, audio tokens, other time spellings, nested properties. The
counts it takes are handed to the validator under the names the record path reads them with,
clipped as the record path clips them before adding them up.

Helicone's counts are additive parts whatever the provider (see `helicone`): input = prompt +
cache reads + cache writes (+ audio), output = completion (+ audio).
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
    distinct_strings,
    iso_utc_ns,
    nonempty_strings,
    object_texts,
    present,
)
from costaudit.ingest.formats.common import string_groups
from costaudit.ingest.formats.helicone import (
    COUNT_FIELDS,
    FIRST_FAILED_STATUS,
    PROPERTY_FIELDS,
    TEXT_FIELDS,
    with_user_and_provider,
)
from costaudit.ingest.table import RowGroups
from costaudit.ingest.timestamps import NAT
from costaudit.ingest.validation import COUNT_LIMIT, Counts, ReadCounts

_FIELDS: list[pa.Field[Any]] = [
    *(pa.field(key, pa.string()) for key in TEXT_FIELDS),
    pa.field("response_status", pa.int64()),
    *(pa.field(key, pa.int64()) for key in COUNT_FIELDS),
    *(pa.field(key, pa.struct([])) for key in PROPERTY_FIELDS),
]
SCHEMA = pa.schema(_FIELDS)
"""What pricing and grouping need. A line giving one of these another JSON type (a count as text
or a fraction, properties as a JSON string, a number as the user) makes its block unparseable,
which sends the block to the record path (right, if slower). The property objects are parsed as
empty structs, which only tells whether there is one: their text is cut from the line."""

_OWN_PROPERTIES, _PROPERTIES = (f'"{key}"'.encode() for key in PROPERTY_FIELDS)

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Bools = npt.NDArray[np.bool_]


class RequestColumns:
    """Helicone request rows of a JSON-lines export, as columns."""

    schema = SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows read exactly as `helicone.extract` reads
        them: a `response_status` absent, null or below 400, a `prompt_tokens` count, a non-empty
        `model` (the first of the model keys the record path tries), no audio tokens, a
        `request_created_at` absent, null or in the form above, and the properties it uses (the
        first of `request_properties` and `properties` that is a non-empty object) flat."""
        read = [counts_at(batch.column(key)) for key in COUNT_FIELDS]
        reads, writes, audio_in, audio_out, prompt, completion = (
            np.clip(values, -COUNT_LIMIT, COUNT_LIMIT) for values, _ in read
        )
        status, no_status = counts_at(batch.column("response_status"))
        timestamp_ns, readable_time = iso_utc_ns(batch.column("request_created_at"))
        take = (
            (no_status | (status < FIRST_FAILED_STATUS))
            & ~read[COUNT_FIELDS.index("prompt_tokens")][1]
            & nonempty_strings(batch.column("model"))
            & (audio_in == 0)
            & (audio_out == 0)
            & (readable_time | ~present(batch, "request_created_at"))
        )
        groups = _groups(batch, data, rows, take)
        count = batch.num_rows
        zeros = np.zeros(count, dtype=np.int64)
        tokens = {
            "input_tokens": prompt + reads + writes + audio_in,
            "cached_input_tokens": reads,
            "cache_write_tokens": writes,
            "cache_write_1h_tokens": zeros,
            "output_tokens": completion + audio_out,
            "reasoning_tokens": zeros,
            "audio_input_tokens": zeros,
        }
        clipped = [reads, writes, audio_in, audio_out, prompt, completion]
        return ColumnBlock(
            take=take,
            counts=Counts(
                tokens=tokens,
                read=ReadCounts.row_by_row(clipped, COUNT_FIELDS),
            ),
            model=batch.column("model"),
            timestamp_ns=np.where(readable_time, timestamp_ns, NAT),
            batch=np.zeros(count, dtype=np.bool_),
            groups=groups,
        )


def _groups(
    batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines, take: Bools
) -> RowGroups:
    """Each taken row's groups, as `helicone.request_groups` makes them of the row's properties
    object, user and provider (marks `take` False where the properties cannot be read here).
    Each distinct object's groups are made once, each distinct combination with a user and a
    provider once, in the order rows first show them."""
    properties, objects = _properties(batch, data, rows, take)
    bases = [string_groups(found) for found in objects]
    texts = [distinct_strings(batch.column(key)) for key in TEXT_FIELDS[2:]]
    (providers, provider), (users, user), (helicone_users, helicone_user) = texts
    key = np.zeros(len(take), dtype=np.int64)
    for column, size in [(properties, len(objects)), *((c, len(n)) for n, c in texts)]:
        # each part's codes are -1 (rows with no object) to size - 1: renumbered after each
        # part, the combined key stays below the number of rows
        key = np.unique(key * (size + 1) + (column + 1), return_inverse=True)[1].ravel()
    index = np.full(len(take), -1, dtype=np.int32)
    if not take.any():
        return RowGroups([], index)
    _, first, inverse = np.unique(key[take], return_index=True, return_inverse=True)
    rows_taken = np.flatnonzero(take)[first]
    order = np.argsort(first)
    values: list[dict[str, str]] = []
    codes = np.empty(len(first), dtype=np.int32)
    for number, row in zip(order.tolist(), rows_taken[order].tolist(), strict=True):
        found = int(properties[row])
        groups = with_user_and_provider(
            dict(bases[found]) if found >= 0 else {},
            users[user[row]] or helicone_users[helicone_user[row]],
            providers[provider[row]],
        )
        codes[number] = len(values) if groups else -1
        if groups:
            values.append(groups)
    index[take] = codes[inverse.ravel()]
    return RowGroups(values, index)


def _properties(
    batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines, take: Bools
) -> tuple[Int32s, list[dict[str, Any]]]:
    """Each row's properties object as the record path picks it (`request_properties`, or
    `properties` when that is absent or empty), as an index into the distinct objects (-1: none);
    `take` is marked False where the object it picks cannot be cut from the line and parsed."""
    objects: list[dict[str, Any]] = []
    own = take & present(batch, PROPERTY_FIELDS[0])
    own_index = _parsed_objects(data, rows, _OWN_PROPERTIES, own, objects)
    take &= ~own | (own_index != -2)
    empty = np.array([not found for found in objects] + [True, True], dtype=np.bool_)
    other = take & ~(own & ~empty[own_index]) & present(batch, PROPERTY_FIELDS[1])
    other_index = _parsed_objects(data, rows, _PROPERTIES, other, objects)
    take &= ~other | (other_index != -2)
    chosen = np.where(own & ~empty[own_index], own_index, -1)
    chosen = np.where(other, other_index, chosen)
    return np.asarray(np.where(take, chosen, -1), dtype=np.int32), objects


def _parsed_objects(
    data: bytes | bytearray,
    rows: RowLines,
    key: bytes,
    wanted: Bools,
    objects: list[dict[str, Any]],
) -> Int32s:
    """Each wanted row's object after `key`, as an index into `objects` (the distinct ones are
    parsed and appended): -1 for a row not wanted, -2 where the object cannot be cut or parsed."""
    texts, codes = object_texts(data, rows, key, wanted)
    parsed = []
    for text in texts:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed.append(-2)
            continue
        parsed.append(len(objects))
        objects.append(value)
    lookup = np.array([*parsed, -2], dtype=np.int32)
    return np.asarray(np.where(wanted, lookup[codes], -1), dtype=np.int32)
