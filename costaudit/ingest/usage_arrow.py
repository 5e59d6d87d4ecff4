"""pyarrow's side of the vectorized usage reader: which fields to parse, and the parsing itself.

Kept apart from `fastpath` (which checks and converts what is parsed) so that starting a parse needs
nothing but pyarrow: costaudit.ingest.early starts one before the rest of the program has loaded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeGuard

import pyarrow as pa
import pyarrow.json as pa_json

from costaudit.ingest.sources import GZIP_MAGIC, ZSTD_MAGIC

MAX_BLOCK_BYTES = 2 << 20
MIN_BLOCK_BYTES = 1 << 20

RESPONSE_OBJECTS = {None, "chat.completion", "response", "text_completion"}
"""`object` values of the response bodies the vectorized reader takes (absent counts as None)."""


def is_usage_body(record: object) -> TypeGuard[Mapping[str, Any]]:
    """An OpenAI response body with `usage` and no request wrapped around it (no `request`, no
    batch `custom_id`): the kind of record the vectorized reader parses."""
    return (
        isinstance(record, Mapping)
        and isinstance(record.get("usage"), Mapping)
        and isinstance(record.get("object"), str | None)
        and record.get("object") in RESPONSE_OBJECTS
        and "request" not in record
        and "custom_id" not in record
    )


_DETAILS_IN = pa.struct(
    [
        ("cached_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("audio_tokens", pa.int64()),
    ]
)
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

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError)


class NotFast(Exception):
    """The file holds something the fast path does not take exactly; read it record by record."""


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


@contextlib.contextmanager
def open_usage_stream(path: Path) -> Iterator[Any]:
    """The file as pyarrow's native stream, decompressed when it is gzip or zstd."""
    try:
        codec: Any = _compression(path)  # None: read as is (pyarrow's stubs only list codec names)
        stream = pa.input_stream(str(path), compression=codec)
    except _ARROW_ERRORS as exc:
        raise NotFast(str(exc)) from None
    with stream:
        yield stream


def usage_reader(stream: Any, block: int) -> Any:
    """A streaming JSON-lines reader of the usage fields, parsing `block` bytes at a time on every core."""
    try:
        return pa_json.open_json(
            stream,
            read_options=pa_json.ReadOptions(block_size=block, use_threads=True),
            parse_options=pa_json.ParseOptions(
                explicit_schema=SCHEMA, unexpected_field_behavior="ignore"
            ),
            memory_pool=pa.system_memory_pool(),
        )
    except _ARROW_ERRORS as exc:
        raise NotFast(str(exc)) from None


def blocks(reader: Any) -> Iterator[pa.RecordBatch]:
    """The reader's record batches; a line pyarrow cannot parse as the schema says is NotFast."""
    if reader is not None:
        yield from blocks_until(reader, None)


def blocks_until(reader: Any, stop: threading.Event | None) -> Iterator[pa.RecordBatch]:
    """The reader's record batches, ending early once `stop` is set (the reader can go on later)."""
    while stop is None or not stop.is_set():
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except _ARROW_ERRORS as exc:
            raise NotFast(str(exc)) from None
        yield batch
