"""Anthropic Messages API responses and Message Batches results.

Anthropic's `input_tokens` EXCLUDES cache reads and writes, unlike OpenAI's and Gemini's prompt counts:
total input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens. Cache writes are
split into 5-minute and 1-hour TTLs by `cache_creation.ephemeral_{5m,1h}_input_tokens`; thinking tokens
are already inside `output_tokens`. Batch result lines (`{custom_id, result: {type, message}}`) are
billed at batch prices; results that did not succeed were not billed and are skipped with their type.
Responses carry no timestamp, so a logging wrapper's `timestamp`-like key is used when present.

Batch result lines, the large Anthropic log, are also read the columnar way (`anthropic_columns`,
loaded on demand since it needs pyarrow).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from costaudit.errors import echoed
from costaudit.ingest.formats.common import (
    TIMESTAMP_KEYS,
    content_text,
    dig,
    first_timestamp,
    is_object,
    model_name,
    optional_count,
    string_groups,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft, Message

if TYPE_CHECKING:
    from costaudit.ingest.columnar import ColumnarExtractor

NAME = "anthropic"


def _is_message(record: Mapping[str, Any]) -> bool:
    usage = record.get("usage")
    return record.get("type") == "message" and is_object(usage) and "input_tokens" in usage


def detect(record: Mapping[str, Any]) -> bool:
    if "custom_id" in record and is_object(record.get("result")):
        return True
    if _is_message(record):
        return True
    response = record.get("response")
    return is_object(response) and _is_message(response)


def apply_usage(draft: Draft, usage: Mapping[str, Any]) -> None:
    """Convert Anthropic usage to the canonical (OpenAI-inclusive) convention."""
    if "input_tokens" not in usage and "output_tokens" not in usage:
        raise BadRecord(f"no {NAME} usage fields")  # e.g. another provider's usage, format forced
    uncached = token_count(draft, usage.get("input_tokens", 0), "usage.input_tokens")
    reads = optional_count(draft, usage, "cache_read_input_tokens", "cache-read tokens")
    writes = optional_count(draft, usage, "cache_creation_input_tokens", "cache-creation tokens")
    split = usage.get("cache_creation")
    one_hour = optional_count(
        draft, split, "ephemeral_1h_input_tokens", "1-hour cache-creation tokens"
    )
    five_min = optional_count(
        draft, split, "ephemeral_5m_input_tokens", "5-minute cache-creation tokens"
    )
    if is_object(split) and not writes:
        writes = one_hour + five_min
    draft.input_tokens = uncached + reads + writes
    draft.cached_input_tokens = reads
    draft.cache_write_tokens = writes
    draft.cache_write_1h_tokens = one_hour
    draft.output_tokens = token_count(draft, usage.get("output_tokens", 0), "usage.output_tokens")
    draft.reasoning_tokens = optional_count(
        draft, usage.get("output_tokens_details"), "thinking_tokens", "thinking tokens"
    )
    if usage.get("service_tier") == "batch":
        draft.batch = True


def request_messages(request: Mapping[str, Any]) -> list[Message]:
    messages: list[Message] = []
    system = request.get("system")
    if system:
        messages.append(("system", content_text(system), None))
    raw = request.get("messages")
    if raw is not None and not isinstance(raw, list):
        raise BadRecord("`messages` is not a list")
    for message in raw or []:
        if not is_object(message):
            raise BadRecord("a message is not an object")
        messages.append(
            (str(message.get("role") or "user"), content_text(message.get("content")), None)
        )
    return messages


def _message_of(
    record: Mapping[str, Any],
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None, bool]:
    result = record.get("result")
    if "custom_id" in record and is_object(result):
        kind = result.get("type")
        if kind != "succeeded":
            raise BadRecord(f"batch result {echoed(kind) if kind else 'without type'} (not billed)")
        message = result.get("message")
        if not is_object(message):
            raise BadRecord("succeeded batch result without a message")
        return None, message, True
    response = record.get("response")
    if is_object(response):
        request = record.get("request")
        return (request if is_object(request) else None), response, False
    return None, record, False


def extract(record: Mapping[str, Any]) -> Draft:
    request, message, batch = _message_of(record)
    draft = Draft(batch=batch, timestamp=first_timestamp(record))
    if message is not None:
        draft.model = model_name(message.get("model"))
        usage = message.get("usage")
        if not is_object(usage):
            raise BadRecord("message without usage")
        apply_usage(draft, usage)
    if request is not None:
        draft.model = draft.model or model_name(request.get("model"))
        draft.messages = request_messages(request)
        user = dig(request, "metadata", "user_id")
        if isinstance(user, str) and user:
            draft.groups = {"user": user}
    extra = string_groups(record.get("metadata"))
    if extra:
        draft.groups = {**extra, **(draft.groups or {})}
    if draft.model is None:
        raise BadRecord("no model name")
    return draft


def is_batch_result(record: Mapping[str, Any]) -> bool:
    """A Message Batches result line with no time but a `timestamp` string: the records the
    columnar extractor is for (a file whose first records all are is read the columnar way;
    errored results among them are left to `extract` one by one)."""
    timestamp = record.get("timestamp")
    return (
        record.get("custom_id") is not None
        and is_object(record.get("result"))
        and (timestamp is None or isinstance(timestamp, str))
        and not any(record.get(key) is not None for key in TIMESTAMP_KEYS if key != "timestamp")
    )


def is_message_body(record: Mapping[str, Any]) -> bool:
    """A Messages API response body with usage, no wrapper and no time but a `timestamp` string:
    the records the message columnar extractor is for."""
    timestamp = record.get("timestamp")
    return (
        _is_message(record)
        and not any(
            record.get(key) is not None for key in ("custom_id", "result", "response", "request")
        )
        and (timestamp is None or isinstance(timestamp, str))
        and not any(record.get(key) is not None for key in TIMESTAMP_KEYS if key != "timestamp")
    )


def message_columns() -> ColumnarExtractor:
    """The columnar extractor of Messages API response bodies."""
    from costaudit.ingest.formats.anthropic_columns import MessageColumns

    return MessageColumns()


def batch_result_columns() -> ColumnarExtractor:
    """The columnar extractor of batch result lines."""
    from costaudit.ingest.formats.anthropic_columns import BatchResultColumns

    return BatchResultColumns()
