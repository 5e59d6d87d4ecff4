"""A vectorized reader for the most common large log: OpenAI response bodies with usage, one per line.

Parsing such a file record by record in Python costs several times the JSON parse itself. Here pyarrow's
C++ JSON reader parses the lines straight into typed columns of only the fields costaudit needs, and the
same checks the record-by-record reader makes (counts present, non-negative, plausible and consistent)
run vectorized. The fast path is all-or-nothing: at the first line it cannot take exactly as the
record-by-record reader would (a malformed line, an odd type, an impossible count), it gives up and the
file is read again the careful way, so bad records are still reported with their line numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from costaudit.ingest.formats.common import MAX_TOKENS, TIMESTAMP_KEYS
from costaudit.ingest.timestamps import NAT, epoch_numbers_to_ns
from costaudit.ingest.usage_arrow import (
    MAX_BLOCK_BYTES,
    RESPONSE_OBJECTS,
    NotFast,
    block_bytes,
    blocks,
    is_usage_body,
    open_usage_stream,
    usage_reader,
)

if TYPE_CHECKING:
    from costaudit.ingest.early import EarlyRead

__all__ = [
    "NotFast",
    "block_bytes",
    "convert",
    "distinct_strings",
    "eligible",
    "only_value",
    "read_usage_file",
]

USAGE_TIME_KEYS = {"created", "created_at"}


@dataclass(frozen=True)
class UsageBatch:
    """One block of lines as columns: model names (dictionary-encoded), epoch times and token counts."""

    model_names: list[str]
    model_index: npt.NDArray[np.int32]
    epoch: npt.NDArray[np.float64]
    tokens: dict[str, npt.NDArray[np.int64]]

    @property
    def rows(self) -> int:
        return len(self.model_index)


def eligible(head: Sequence[object]) -> bool:
    """True when the first records are plain OpenAI response bodies carrying usage (no request, no text)."""
    if not head:
        return False
    return all(
        is_usage_body(record)
        and not any(key in record for key in TIMESTAMP_KEYS if key not in USAGE_TIME_KEYS)
        for record in head
    )


MISSING = -(2**62)
"""Stands for an absent count inside int64 arrays (a real count is never this negative)."""


def _nulls(array: Any) -> npt.NDArray[np.bool_] | None:
    """Which entries of an arrow array are null (None when none are), from its validity bitmap."""
    if not array.null_count:
        return None
    start, count = array.offset, len(array)
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, bitorder="little")[start : start + count]
    return np.asarray(valid == 0, dtype=np.bool_)


def _values(array: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A primitive arrow array's values straight from its data buffer (nulls hold anything).

    pyarrow's own conversions (`to_numpy`, `fill_null` with a Python value) import pandas, which
    reading and pricing usage never need; a buffer view costs nothing.
    """
    start, count = array.offset, len(array)
    data = array.buffers()[1]
    if data is None or not count:
        return np.zeros(count, dtype=dtype)
    return np.frombuffer(data, dtype=dtype, count=start + count)[start:]


def _counts(struct: Any, *path: str) -> npt.NDArray[np.int64]:
    """int64 counts of a nested field, MISSING where it or any struct on its path is absent."""
    missing = np.zeros(len(struct), dtype=np.bool_)
    array = struct
    for name in path:
        array = array.field(name)
        nulls = _nulls(array)
        if nulls is not None:
            missing |= nulls
    values = _values(array, np.int64)
    return np.where(missing, MISSING, values) if missing.any() else values.copy()


def _negative(values: npt.NDArray[np.int64]) -> bool:
    return bool(((values < 0) & (values != MISSING)).any())


TOP_COUNTS = ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")
DETAIL_COUNTS = (
    ("prompt_tokens_details", "cached_tokens"),
    ("prompt_tokens_details", "cache_write_tokens"),
    ("input_tokens_details", "cached_tokens"),
    ("input_tokens_details", "cache_write_tokens"),
    ("completion_tokens_details", "reasoning_tokens"),
    ("output_tokens_details", "reasoning_tokens"),
    ("prompt_tokens_details", "audio_tokens"),
)
"""Every count the fast path reads: Chat Completions names, then Responses API names."""

RawCounts = dict[tuple[str, ...], npt.NDArray[np.int64]]


def _raw_counts(usage: Any) -> RawCounts:
    """Each count field once, MISSING where absent."""
    paths = [(name,) for name in TOP_COUNTS] + list(DETAIL_COUNTS)
    return {path: _counts(usage, *path) for path in paths}


def _usage_columns(raw: RawCounts) -> dict[str, npt.NDArray[np.int64]]:
    chat = (raw[("prompt_tokens",)] != MISSING) | (raw[("completion_tokens",)] != MISSING)
    responses_input, responses_output = raw[("input_tokens",)], raw[("output_tokens",)]
    if (~chat & (responses_input == MISSING) & (responses_output == MISSING)).any():
        raise NotFast("usage without token counts")

    def pick(chat_path: tuple[str, ...], responses_path: tuple[str, ...]) -> npt.NDArray[np.int64]:
        return np.maximum(np.where(chat, raw[chat_path], raw[responses_path]), 0)

    return {
        "input_tokens": pick(("prompt_tokens",), ("input_tokens",)),
        "output_tokens": pick(("completion_tokens",), ("output_tokens",)),
        "cached_input_tokens": pick(
            ("prompt_tokens_details", "cached_tokens"), ("input_tokens_details", "cached_tokens")
        ),
        "cache_write_tokens": pick(
            ("prompt_tokens_details", "cache_write_tokens"),
            ("input_tokens_details", "cache_write_tokens"),
        ),
        "reasoning_tokens": pick(
            ("completion_tokens_details", "reasoning_tokens"),
            ("output_tokens_details", "reasoning_tokens"),
        ),
        "audio_input_tokens": np.zeros(len(chat), dtype=np.int64),
    }


def _check(raw: RawCounts, tokens: Mapping[str, npt.NDArray[np.int64]]) -> None:
    """Refuse anything the record-by-record reader would skip: it must report those with line numbers."""
    for name in TOP_COUNTS:
        values = raw[(name,)]
        if _negative(values) or (values > MAX_TOKENS).any():
            raise NotFast(f"negative or implausible {name}")
    for values in tokens.values():
        if (values > MAX_TOKENS).any():
            raise NotFast("implausible count")
    for path in DETAIL_COUNTS:
        if _negative(raw[path]):
            raise NotFast("negative detail count")
    if (
        tokens["cached_input_tokens"] + tokens["cache_write_tokens"] > tokens["input_tokens"]
    ).any():
        raise NotFast("cached plus cache-write tokens exceed input tokens")
    if (raw[("prompt_tokens_details", "audio_tokens")] > 0).any():
        raise NotFast("audio input tokens (the record reader separates cached audio)")
    if (tokens["reasoning_tokens"] > tokens["output_tokens"]).any():
        raise NotFast("reasoning tokens exceed output tokens")


def only_value(array: Any) -> str | None:
    """The value of a string column whose rows all hold the same non-empty string (None otherwise):
    the usual `object` column, checked on its buffers in one comparison."""
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
    values: list[str | None] = encoded.dictionary.to_pylist()
    codes = _values(encoded.indices, np.int32).copy()
    nulls = _nulls(encoded.indices)
    if nulls is not None:
        values.append(None)
        codes[nulls] = len(values) - 1
    return values, codes


def _models(batch: pa.RecordBatch) -> tuple[list[str], npt.NDArray[np.int32]]:
    models = batch.column("model")
    if models.null_count:
        raise NotFast("record without a model name")
    names, codes = distinct_strings(models)
    if any(not name for name in names):
        raise NotFast("empty model name")
    return [name or "" for name in names], codes


def _epoch(batch: pa.RecordBatch) -> npt.NDArray[np.float64]:
    created = _times(batch.column("created"))
    created_at = _times(batch.column("created_at"))
    epoch = np.where(np.isnan(created), created_at, created)
    present = ~np.isnan(epoch) & (epoch != 0)
    if ((epoch[present] < 0) | (epochs_to_ns_out_of_range(epoch[present]))).any():
        raise NotFast("timestamp the careful reader must judge")
    return epoch


def _times(array: Any) -> npt.NDArray[np.float64]:
    """Epoch numbers as float64, NaN where absent."""
    values = _values(array, np.float64)
    nulls = _nulls(array)
    return np.where(nulls, np.nan, values) if nulls is not None else values


def epochs_to_ns_out_of_range(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return np.asarray(epoch_numbers_to_ns(values) == NAT)


def _objects_ok(batch: pa.RecordBatch) -> None:
    objects = batch.column("object")
    only = only_value(objects)
    values = {only} if only is not None else set(distinct_strings(objects)[0])
    if not values <= RESPONSE_OBJECTS:
        raise NotFast("records that are not response bodies")


def convert(batch: pa.RecordBatch) -> UsageBatch:
    """One parsed block → columns, or NotFast when any line needs the careful reader."""
    _objects_ok(batch)
    usage = batch.column("usage")
    if usage.null_count:
        raise NotFast("record without usage")
    raw = _raw_counts(usage)
    tokens = _usage_columns(raw)
    _check(raw, tokens)
    names, index = _models(batch)
    tokens["cache_write_1h_tokens"] = np.zeros(batch.num_rows, dtype=np.int64)
    return UsageBatch(model_names=names, model_index=index, epoch=_epoch(batch), tokens=tokens)


def read_usage_file(
    path: Path, block: int = MAX_BLOCK_BYTES, early: EarlyRead | None = None
) -> list[UsageBatch]:
    """Every line of the file as column batches; NotFast as soon as one line does not fit.

    The file is read and decompressed by pyarrow's native streams and parsed on every core in blocks of
    `block` bytes; memory holds a few blocks and the columns, never the file. When `early` has already
    parsed the start of this file (see costaudit.ingest.early), its blocks are taken and the read goes on
    from there.
    """
    started = early.take(path, block) if early is not None else None
    if started is not None:
        done, rest = started
        return [convert(batch) for batch in itertools.chain(done, blocks(rest))]
    with open_usage_stream(path) as stream:
        return [convert(batch) for batch in blocks(usage_reader(stream, block))]
