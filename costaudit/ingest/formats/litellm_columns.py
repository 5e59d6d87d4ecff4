"""LiteLLM's columnar extractor: proxy spend-log rows without prompts, a block of lines at a time.

The proxy writes one `LiteLLM_SpendLogs` row per call (the table of its Prisma schema, served by
`/spend/logs`): the counts as columns, `startTime` as an ISO string, `cache_hit` and `status` as
text, and a `metadata` object holding the key's user, team and organization, what the caller
attached (`spend_logs_metadata`) and the provider's full usage (`usage_object`,
`additional_usage_values`). Unless prompts are stored (`store_prompts_in_spend_logs`, off by
default), `messages` and `response` are empty.

It takes exactly the rows that `litellm.extract` reads from those fields alone, and leaves every
other row to it: failed calls and response-cache hits (skipped there with their reasons), rows with
a prompt or with a usage object of their own or in their response, rows without both counts or
with an empty `model`, times not in the `YYYY-MM-DDTHH:MM:SS[.f…]Z` form, a `spend_logs_metadata`
that cannot be cut out of the line. The counts it takes are handed to the validator under the names
and in the order the record path reads them, clipped as it clips them; each group is worked out
column by column as `litellm._groups` works it out for a row, and one dict is made for each distinct
combination of values (rows with a customer id each may each have their own).
"""

from __future__ import annotations

import re
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
    nested,
    nonempty_strings,
    nulls,
    object_texts,
    present,
    string_in,
    values,
)
from costaudit.ingest.formats.common import joined_tags, string_groups
from costaudit.ingest.formats.litellm import (
    FIVE_MINUTES,
    ONE_HOUR,
    READS,
    REASONING,
    WRITES,
)
from costaudit.ingest.table import RowGroups
from costaudit.ingest.timestamps import NAT
from costaudit.ingest.validation import COUNT_LIMIT, Counts, ReadCounts

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Paths = tuple[tuple[str, ...], ...]

USAGE_SOURCES = ("usage_object", "additional_usage_values")
"""The metadata objects `litellm._usage_sources` takes cache and reasoning counts from, in its
order (the response's and the row's own usage come after them: rows with either are left)."""
GROUP_SOURCES = (
    ("user", "user", "user_api_key_user_id"),
    ("end_user", "end_user", None),
    ("team", "team_id", "user_api_key_team_id"),
    ("team_alias", None, "user_api_key_team_alias"),
    ("organization", "organization_id", "user_api_key_org_id"),
    ("key_alias", None, "user_api_key_alias"),
    ("provider", "custom_llm_provider", None),
    ("model_group", "model_group", None),
    ("call_type", "call_type", None),
)
"""The groups `litellm._groups` sets after the caller's `spend_logs_metadata`, in its order:
(group, the row's text field, the metadata's text field it falls back to when the row's is empty).
A number in one of these fields makes pyarrow refuse the block, which sends it to the record path
(the record path does not group `0` as it groups `"0"`)."""
ROW_GROUP_FIELDS = tuple(field for _, field, _ in GROUP_SOURCES if field is not None)
METADATA_GROUP_FIELDS = tuple(field for _, _, field in GROUP_SOURCES if field is not None)
NOT_HIT = ("False", "false", "")
"""`cache_hit` values of calls the provider served (LiteLLM writes the text `False`); other texts
are left to `litellm.extract` to judge."""
SUCCEEDED = ("success", "")
FIELD_NAMES = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "1-hour cache-creation tokens",
    "5-minute cache-creation tokens",
    "reasoning tokens",
)
"""The names `litellm._apply_usage` reads counts under, in its order."""
MAX_TAGS = 32
"""Rows with more request tags than this are left to the record path (tags are compared as rows
of a matrix this wide at most)."""

_MESSAGES = b'"messages"'
_EMPTY_VALUE = re.compile(rb'[ \t\r\n]*:[ \t\r\n]*(?:\[[ \t\r\n]*\]|\{[ \t\r\n]*\}|null|"")')
"""What follows a `messages` key whose value is empty (no prompt)."""
_CALLER_METADATA = b'"spend_logs_metadata"'


def _struct_of(paths: Paths) -> pa.DataType:
    """A struct type holding every path of counts (int64 leaves)."""
    tree: dict[str, Any] = {}
    for path in paths:
        branch = tree
        for name in path[:-1]:
            branch = branch.setdefault(name, {})
        branch[path[-1]] = None

    def build(branch: dict[str, Any]) -> pa.DataType:
        return pa.struct(
            [
                pa.field(name, pa.int64() if child is None else build(child))
                for name, child in branch.items()
            ]
        )

    return build(tree)


_USAGE = _struct_of((*READS, *WRITES, *ONE_HOUR, *FIVE_MINUTES, *REASONING))
_METADATA = pa.struct(
    [
        *(pa.field(source, _USAGE) for source in USAGE_SOURCES),
        pa.field("spend_logs_metadata", pa.struct([])),
        *(pa.field(key, pa.string()) for key in METADATA_GROUP_FIELDS),
    ]
)
_FIELDS: list[pa.Field[Any]] = [
    pa.field("model", pa.string()),
    pa.field("startTime", pa.string()),
    pa.field("prompt_tokens", pa.int64()),
    pa.field("completion_tokens", pa.int64()),
    pa.field("cache_hit", pa.string()),
    pa.field("status", pa.string()),
    *(pa.field(key, pa.string()) for key in ROW_GROUP_FIELDS),
    pa.field("request_tags", pa.list_(pa.string())),
    pa.field("metadata", _METADATA),
    pa.field("usage", pa.struct([])),
    pa.field("response", pa.struct([pa.field("usage", pa.struct([]))])),
]
SCHEMA = pa.schema(_FIELDS)
"""What pricing and grouping need, and the usage objects whose presence makes the record path read
a row's counts from elsewhere (the row's own `usage`, its `response.usage`). A value of another
type than declared (a number for a text, a JSON text for an object, as CSV exports write them)
makes its block unparseable, which sends the block to the record path."""


class SpendLogColumns:
    """LiteLLM proxy spend-log rows, as columns."""

    schema = SCHEMA

    def extract(
        self, batch: pa.RecordBatch, data: bytes | bytearray, rows: RowLines
    ) -> ColumnBlock:
        """Columns of every row; `take` marks the rows read exactly as `litellm.extract` reads
        them: both counts given, a non-empty `model`, a `cache_hit` and a `status` of a billed
        call (or none), a `startTime` in the form above (or none), no usage object of the row's own
        or in its `response`, no prompt, and a `spend_logs_metadata` that is absent or a flat
        object."""
        column = batch.column
        count = batch.num_rows
        metadata = column("metadata")
        timestamp_ns, readable_time = iso_utc_ns(column("startTime"))
        take = (
            present(batch, "prompt_tokens")
            & present(batch, "completion_tokens")
            & nonempty_strings(column("model"))
            & (readable_time | ~present(batch, "startTime"))
            & (string_in(column("cache_hit"), NOT_HIT) | nulls(column("cache_hit")))
            & (string_in(column("status"), SUCCEEDED) | nulls(column("status")))
            & nulls(column("usage"))
            & nested(column("response"), "usage")[1]
            & ~_with_prompt(data, rows, count)
        )
        groups = _groups(batch, metadata, data, rows, take)
        return ColumnBlock(
            take=take,
            counts=_counts(batch, metadata),
            model=column("model"),
            timestamp_ns=np.where(readable_time, timestamp_ns, NAT),
            batch=np.zeros(count, dtype=np.bool_),
            groups=groups,
        )


def _clipped(counts: Int64s) -> Int64s:
    return np.clip(counts, -COUNT_LIMIT, COUNT_LIMIT)


def _first_count(metadata: Any, paths: Paths) -> tuple[Int64s, Bools]:
    """Each row's first count under any of `paths` in the first usage source that has one (0 where
    none does, as `litellm._first_count` gives), and where one was found."""
    found = np.zeros(len(metadata), dtype=np.bool_)
    result = np.zeros(len(metadata), dtype=np.int64)
    for source in USAGE_SOURCES:
        for path in paths:
            counts, missing = counts_at(metadata, source, *path)
            new = ~found & ~missing
            result = np.where(new, counts, result)
            found |= new
    return _clipped(result), found


def _counts(batch: pa.RecordBatch, metadata: Any) -> Counts:
    """Canonical counts as `litellm._apply_usage` makes them, with every count it reads."""
    prompt = _clipped(counts_at(batch.column("prompt_tokens"))[0])
    completion = _clipped(counts_at(batch.column("completion_tokens"))[0])
    reads, has_reads = _first_count(metadata, READS)
    written, has_writes = _first_count(metadata, WRITES)
    one_hour, has_one_hour = _first_count(metadata, ONE_HOUR)
    five_minutes, has_five_minutes = _first_count(metadata, FIVE_MINUTES)
    by_split = written == 0  # writes given only by TTL: the 5-minute part is read then only
    has_five_minutes &= by_split
    writes = np.where(by_split, one_hour + five_minutes, written)
    reasoning, has_reasoning = _first_count(metadata, REASONING)
    tokens = {
        "input_tokens": _included_input(prompt, reads, writes),
        "cached_input_tokens": reads,
        "cache_write_tokens": writes,
        "cache_write_1h_tokens": np.minimum(one_hour, writes),
        "output_tokens": np.where(reasoning <= completion, completion, completion + reasoning),
        "reasoning_tokens": reasoning,
        "audio_input_tokens": np.zeros(len(prompt), dtype=np.int64),
    }
    always = np.ones(len(prompt), dtype=np.bool_)
    read = np.stack([prompt, completion, reads, written, one_hour, five_minutes, reasoning], axis=1)
    found = np.stack(
        [always, always, has_reads, has_writes, has_one_hour, has_five_minutes, has_reasoning],
        axis=1,
    )
    row, which = np.nonzero(found)
    return Counts(
        tokens=tokens,
        read=ReadCounts(
            rows=row.astype(np.int64),
            values=read[found],
            field=lambda index: FIELD_NAMES[int(which[index])],
        ),
    )


def _included_input(prompt: Int64s, reads: Int64s, writes: Int64s) -> Int64s:
    """`common.included_input` of every row: the prompt count unless a cache count cannot fit
    inside it, then with the ones that do not added (writes first)."""
    return np.where(
        reads + writes <= prompt,
        prompt,
        np.where(reads <= prompt, prompt + writes, prompt + reads + writes),
    )


def _key_rows(data: bytes | bytearray, key: bytes, rows: RowLines) -> tuple[list[int], Int64s]:
    """Where each occurrence of `key` ends in the block, and the row whose line holds it."""
    ends: list[int] = []
    at = data.find(key)
    while at >= 0:
        ends.append(at + len(key))
        at = data.find(key, at + 1)
    row_of = np.searchsorted(rows.start, np.asarray(ends, dtype=np.int64), side="right") - 1
    return ends, row_of


def _with_prompt(data: bytes | bytearray, rows: RowLines, count: int) -> Bools:
    """Rows whose line has a `messages` key, anywhere, whose value is not empty."""
    found = np.zeros(count, dtype=np.bool_)
    ends, row_of = _key_rows(data, _MESSAGES, rows)
    for end, row in zip(ends, row_of.tolist(), strict=True):
        if _EMPTY_VALUE.match(data, end) is None:
            found[row] = True
    return found


def _caller_metadata(
    data: bytes | bytearray, rows: RowLines, wanted: Bools, take: Bools
) -> tuple[npt.NDArray[np.int32], list[dict[str, Any]]]:
    """Each row's `spend_logs_metadata` object as an index into the distinct objects (-1: none),
    for the rows in `wanted` (those pyarrow found one in), cut from the line by
    `columnar.object_texts`. Rows whose object cannot be cut, or whose cut does not parse as an
    object (a nested one), are marked False in `take`."""
    texts, cut = object_texts(data, rows, _CALLER_METADATA, wanted)
    objects: list[dict[str, Any]] = []
    parsed = np.array([_parsed_object(text, objects) for text in texts] + [-1], dtype=np.int32)
    codes = np.where(wanted, parsed[cut], -1).astype(np.int32)
    take &= ~wanted | (codes >= 0)
    return codes, objects


def _parsed_object(text: bytes, objects: list[dict[str, Any]]) -> int:
    """Index of the object `text` parses to, appended to `objects`; -1 when it is not one."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return -1
    if not isinstance(parsed, dict):
        return -1
    objects.append(parsed)
    return len(objects) - 1


def _usable_texts(
    candidates: list[tuple[Any, Bools]],
) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Each row's first non-empty text among `candidates` ((array, missing) pairs) as an index into
    the distinct texts (-1: none), as `row or metadata` then `put_group` choose it for text."""
    names: list[str] = []
    codes = np.full(len(candidates[0][0]), -1, dtype=np.int32)
    for array, missing in reversed(candidates):
        found, index = distinct_strings(array)
        usable = nonempty_strings(array) & ~missing
        codes = np.where(usable, index + len(names), codes).astype(np.int32)
        names += [name or "" for name in found]
    return names, codes


def _tag_groups(tags: Any, take: Bools) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Each row's `tags` group (`common.joined_tags` of its request tags) as an index into the
    distinct values (-1: none). Lists are told apart as rows of a matrix of tag indexes, so rows
    with more than MAX_TAGS are marked False in `take`."""
    count = len(tags)
    offsets = values(tags.offsets, np.int32).astype(np.int64)
    lengths = np.where(nulls(tags), 0, np.diff(offsets))
    take &= lengths <= MAX_TAGS
    lengths = np.minimum(lengths, MAX_TAGS)
    codes = np.full(count, -1, dtype=np.int32)
    if not lengths.any():
        return [], codes
    names, flat = distinct_strings(tags.values)
    grid = np.full((count, int(lengths.max())), -1, dtype=np.int32)
    row = np.repeat(np.arange(count), lengths)
    place = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid[row, place] = flat[offsets[:-1][row] + place]
    first, inverse = _distinct_rows(grid)
    joined: list[str] = []
    known = np.full(len(first), -1, dtype=np.int32)
    for number, at in enumerate(first.tolist()):
        text = joined_tags([names[code] for code in grid[at].tolist() if code >= 0])
        if text:
            known[number] = len(joined)
            joined.append(text)
    return joined, known[inverse]


def _distinct_rows(matrix: npt.NDArray[np.int32]) -> tuple[Int64s, Int64s]:
    """The first row of each distinct row of an int32 matrix, and each row's index among them."""
    width = matrix.shape[1] * matrix.itemsize
    packed = np.ascontiguousarray(matrix).view(np.dtype((np.void, width))).ravel()
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _groups(
    batch: pa.RecordBatch, metadata: Any, data: bytes | bytearray, rows: RowLines, take: Bools
) -> RowGroups:
    """Each taken row's groups as `litellm._groups` makes them: the caller's metadata, then
    each of GROUP_SOURCES that has a usable text, then the tags. Each group's values are worked out
    column by column, and a dict is built once for each distinct combination of them (marks `take`
    False where the caller's metadata or the tags cannot be read here)."""
    callers, objects = _caller_metadata(
        data, rows, take & ~nested(metadata, "spend_logs_metadata")[1], take
    )
    columns: list[tuple[str, list[str], npt.NDArray[np.int32]]] = []
    for group, own, fallback in GROUP_SOURCES:
        candidates = [] if own is None else [(batch.column(own), nulls(batch.column(own)))]
        if fallback is not None:
            candidates.append(nested(metadata, fallback))
        columns.append((group, *_usable_texts(candidates)))
    columns.append(("tags", *_tag_groups(batch.column("request_tags"), take)))
    index = np.full(len(take), -1, dtype=np.int32)
    chosen = np.flatnonzero(take)
    found: list[dict[str, str]] = []
    if not len(chosen):
        return RowGroups(found, index)
    keys = np.column_stack([callers, *(codes for _, _, codes in columns)])[chosen]
    first, inverse = _distinct_rows(keys.astype(np.int32))
    bases = [string_groups(caller) for caller in objects]
    distinct = np.full(len(first), -1, dtype=np.int32)
    for number, combination in enumerate(keys[first].tolist()):
        caller, *codes = combination
        groups = dict(bases[caller]) if caller >= 0 else {}
        for (group, names, _), code in zip(columns, codes, strict=True):
            if code >= 0:
                groups[group] = names[code]
        if groups:
            distinct[number] = len(found)
            found.append(groups)
    index[chosen] = distinct[inverse]
    return RowGroups(found, index)
