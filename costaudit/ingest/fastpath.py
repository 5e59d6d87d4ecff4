"""A vectorized reader for the most common large log: OpenAI response bodies with usage, one per line.

Parsing such a file record by record in Python costs several times the JSON parse itself. Here pyarrow's
C++ JSON reader parses the lines straight into typed columns of only the fields costaudit needs, and the
same checks the record-by-record reader makes (counts present, non-negative, plausible and consistent)
run vectorized. The fast path is all-or-nothing: at the first line it cannot take exactly as the
record-by-record reader would (a malformed line, an odd type, an impossible count), it gives up and the
file is read again the careful way, so bad records are still reported with their line numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.json as pa_json

from costaudit.ingest.formats.common import MAX_TOKENS, TIMESTAMP_KEYS
from costaudit.ingest.sources import GZIP_MAGIC, ZSTD_MAGIC
from costaudit.ingest.timestamps import NAT, epoch_numbers_to_ns

MAX_BLOCK_BYTES = 2 << 20
MIN_BLOCK_BYTES = 1 << 20

RESPONSE_OBJECTS = {None, "chat.completion", "response", "text_completion"}
USAGE_TIME_KEYS = {"created", "created_at"}

_DETAILS_IN = pa.struct([("cached_tokens", pa.int64()), ("cache_write_tokens", pa.int64())])
_DETAILS_OUT = pa.struct([("reasoning_tokens", pa.int64())])
_FIELDS: list[pa.Field[Any]] = [
    pa.field("object", pa.string()),
    pa.field("model", pa.string()),
    pa.field("created", pa.float64()),
    pa.field("created_at", pa.float64()),
    pa.field(
        "usage",
        pa.struct(
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
        ),
    ),
]
SCHEMA = pa.schema(_FIELDS)
"""Only the fields pricing needs; anything else on the line is skipped by the C++ parser."""


class NotFast(Exception):
    """The file holds something the fast path does not take exactly; read it record by record."""


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
    for record in head:
        if not isinstance(record, Mapping) or not isinstance(record.get("usage"), Mapping):
            return False
        if (
            record.get("object") not in RESPONSE_OBJECTS
            or "request" in record
            or "custom_id" in record
        ):
            return False
        if any(key in record for key in TIMESTAMP_KEYS if key not in USAGE_TIME_KEYS):
            return False
    return True


def _field(struct: Any, *path: str) -> Any:
    """A nested struct field (pyarrow's stubs do not type StructArray.field)."""
    for name in path:
        struct = struct.field(name)
    return struct


MISSING = -(2**62)
"""Stands for an absent count inside int64 arrays (a real count is never this negative)."""


def _counts(array: Any) -> npt.NDArray[np.int64]:
    """int64 counts with absent values as MISSING."""
    return np.asarray(array.fill_null(MISSING).to_numpy(zero_copy_only=False), dtype=np.int64)


def _negative(values: npt.NDArray[np.int64]) -> bool:
    return bool(((values < 0) & (values != MISSING)).any())


def _usage_columns(usage: Any) -> dict[str, npt.NDArray[np.int64]]:
    chat_input = _counts(_field(usage, "prompt_tokens"))
    chat_output = _counts(_field(usage, "completion_tokens"))
    chat = (chat_input != MISSING) | (chat_output != MISSING)
    responses_input = _counts(_field(usage, "input_tokens"))
    responses_output = _counts(_field(usage, "output_tokens"))
    if (~chat & (responses_input == MISSING) & (responses_output == MISSING)).any():
        raise NotFast("usage without token counts")

    def pick(chat_path: tuple[str, ...], responses_path: tuple[str, ...]) -> npt.NDArray[np.int64]:
        return np.where(
            chat, _counts(_field(usage, *chat_path)), _counts(_field(usage, *responses_path))
        )

    return {
        "input_tokens": np.maximum(np.where(chat, chat_input, responses_input), 0),
        "output_tokens": np.maximum(np.where(chat, chat_output, responses_output), 0),
        "cached_input_tokens": np.maximum(
            pick(
                ("prompt_tokens_details", "cached_tokens"),
                ("input_tokens_details", "cached_tokens"),
            ),
            0,
        ),
        "cache_write_tokens": np.maximum(
            pick(
                ("prompt_tokens_details", "cache_write_tokens"),
                ("input_tokens_details", "cache_write_tokens"),
            ),
            0,
        ),
        "reasoning_tokens": np.maximum(
            pick(
                ("completion_tokens_details", "reasoning_tokens"),
                ("output_tokens_details", "reasoning_tokens"),
            ),
            0,
        ),
    }


def _check(usage: Any, tokens: Mapping[str, npt.NDArray[np.int64]]) -> None:
    """Refuse anything the record-by-record reader would skip: it must report those with line numbers."""
    for name in ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens"):
        raw = _counts(_field(usage, name))
        if _negative(raw) or (raw > MAX_TOKENS).any():
            raise NotFast(f"negative or implausible {name}")
    for values in tokens.values():
        if (values > MAX_TOKENS).any():
            raise NotFast("implausible count")
    details = (
        ("prompt_tokens_details", "cached_tokens"),
        ("prompt_tokens_details", "cache_write_tokens"),
        ("input_tokens_details", "cached_tokens"),
        ("input_tokens_details", "cache_write_tokens"),
        ("completion_tokens_details", "reasoning_tokens"),
        ("output_tokens_details", "reasoning_tokens"),
    )
    for path in details:
        if _negative(_counts(_field(usage, *path))):
            raise NotFast("negative detail count")
    if (
        tokens["cached_input_tokens"] + tokens["cache_write_tokens"] > tokens["input_tokens"]
    ).any():
        raise NotFast("cached plus cache-write tokens exceed input tokens")
    if (tokens["reasoning_tokens"] > tokens["output_tokens"]).any():
        raise NotFast("reasoning tokens exceed output tokens")


def _models(batch: pa.RecordBatch) -> tuple[list[str], npt.NDArray[np.int32]]:
    models = batch.column("model")
    if models.null_count:
        raise NotFast("record without a model name")
    encoded = models.dictionary_encode()
    names = [str(name) for name in encoded.dictionary.to_pylist()]
    if any(not name for name in names):
        raise NotFast("empty model name")
    return names, np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)


def _epoch(batch: pa.RecordBatch) -> npt.NDArray[np.float64]:
    created = np.asarray(batch.column("created").to_numpy(zero_copy_only=False), dtype=np.float64)
    created_at = np.asarray(
        batch.column("created_at").to_numpy(zero_copy_only=False), dtype=np.float64
    )
    epoch = np.where(np.isnan(created), created_at, created)
    present = ~np.isnan(epoch) & (epoch != 0)
    if ((epoch[present] < 0) | (epochs_to_ns_out_of_range(epoch[present]))).any():
        raise NotFast("timestamp the careful reader must judge")
    return epoch


def epochs_to_ns_out_of_range(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return np.asarray(epoch_numbers_to_ns(values) == NAT)


def _objects_ok(batch: pa.RecordBatch) -> None:
    objects = batch.column("object")
    values = set(objects.unique().to_pylist())
    if not values <= RESPONSE_OBJECTS:
        raise NotFast("records that are not response bodies")


def convert(batch: pa.RecordBatch) -> UsageBatch:
    """One parsed block → columns, or NotFast when any line needs the careful reader."""
    _objects_ok(batch)
    usage = batch.column("usage")
    if usage.null_count:
        raise NotFast("record without usage")
    tokens = _usage_columns(usage)
    _check(usage, tokens)
    names, index = _models(batch)
    tokens["cache_write_1h_tokens"] = np.zeros(batch.num_rows, dtype=np.int64)
    return UsageBatch(model_names=names, model_index=index, epoch=_epoch(batch), tokens=tokens)


def block_bytes(chunk_rows: int) -> int:
    """Bytes parsed at a time: about a chunk of ~1 KiB lines, between 1 and 2 MiB (pyarrow reads a few
    blocks ahead, so the block size bounds memory)."""
    return min(MAX_BLOCK_BYTES, max(MIN_BLOCK_BYTES, chunk_rows * 1024))


def _compression(path: Path) -> Literal["gzip", "zstd"] | None:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def read_usage_file(path: Path, block: int = MAX_BLOCK_BYTES) -> list[UsageBatch]:
    """Every line of the file as column batches; NotFast as soon as one line does not fit.

    The file is read and decompressed by pyarrow's native streams and parsed on every core in blocks of
    `block` bytes; memory holds a few blocks and the columns, never the file.
    """
    parse = pa_json.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
    read = pa_json.ReadOptions(block_size=block, use_threads=True)
    try:
        codec: Any = _compression(path)  # None: read as is (pyarrow's stubs only list codec names)
        with pa.input_stream(str(path), compression=codec) as stream:
            reader = pa_json.open_json(
                stream,  # type: ignore[arg-type]
                read_options=read,
                parse_options=parse,
                memory_pool=pa.system_memory_pool(),
            )
            return [convert(batch) for batch in reader]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
        raise NotFast(str(exc)) from None
