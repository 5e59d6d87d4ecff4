"""OpenAI Chat Completions and Responses API logs, and Batch API input/output lines.

Accepted line shapes:
- a response body (`chat.completion` or `response`);
- a gateway record `{"request": {...}, "response": {...}}` (plus optional timestamp/metadata keys);
- a request alone (`model` + `messages`, or `model` + `input`): tokens are counted from the text;
- Batch API output `{"custom_id", "response": {"body": ...}}` and input `{"custom_id", "body": ...}`,
  both billed at batch prices; lines of failed batch requests (`error`, or an HTTP error status) were
  not billed and are skipped with that reason.

OpenAI's `prompt_tokens`/`input_tokens` already include cached tokens, and `completion_tokens` include
reasoning tokens — the canonical convention, so counts are taken as they are.

Response bodies with usage, the commonest large log, are also read the columnar way
(`openai_columns`, loaded on demand since it needs pyarrow).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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

NAME = "openai"
HTTP_ERROR = 400
RESPONSE_OBJECTS = ("chat.completion", "response", "text_completion")
WRAPPER_KEYS = ("custom_id", "request", "response")
OTHER_TIME_KEYS = tuple(key for key in TIMESTAMP_KEYS if key not in {"created", "created_at"})
"""Time keys a response body does not carry itself: a logging wrapper's, which win over `created`."""


def _is_response_body(record: Mapping[str, Any]) -> bool:
    kind = record.get("object")
    if isinstance(kind, str) and kind in {"chat.completion", "response", "text_completion"}:
        return True
    usage = record.get("usage")
    if is_object(usage):
        chat_usage = "prompt_tokens" in usage or "completion_tokens" in usage
        return chat_usage or "choices" in record or ("output" in record and "input_tokens" in usage)
    return "choices" in record and "model" in record


def _is_request(record: Mapping[str, Any]) -> bool:
    return (
        "model" in record and ("messages" in record or "input" in record) and "usage" not in record
    )


def detect(record: Mapping[str, Any]) -> bool:
    """True for every OpenAI line shape listed in the module docstring."""
    if "custom_id" in record:
        return is_object(record.get("body")) or isinstance(dig(record, "response", "body"), Mapping)
    if is_object(record.get("request")) or is_object(record.get("response")):
        response = record.get("response")
        request = record.get("request")
        return (is_object(response) and _is_response_body(response)) or (
            is_object(request) and _is_request(request)
        )
    return _is_response_body(record) or _is_request(record)


def _tool_call_text(message: Mapping[str, Any]) -> str:
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return ""
    parts = []
    for call in calls:
        function = dig(call, "function") if is_object(call) else None
        if is_object(function):
            parts.append(str(function.get("name") or ""))
            parts.append(str(function.get("arguments") or ""))
    return "\n".join(part for part in parts if part)


def chat_messages(messages: object) -> list[Message]:
    """(role, text, name) for each chat message; tool calls count as the assistant's text."""
    if not isinstance(messages, list):
        raise BadRecord("`messages` is not a list")
    result: list[Message] = []
    for message in messages:
        if not is_object(message):
            raise BadRecord("a message is not an object")
        role = message.get("role")
        text = content_text(message.get("content"))
        tools = _tool_call_text(message)
        if tools:
            text = f"{text}\n{tools}" if text else tools
        name = message.get("name")
        result.append((str(role or "user"), text, name if isinstance(name, str) else None))
    return result


def responses_messages(request: Mapping[str, Any]) -> list[Message]:
    """Messages of a Responses API request: `instructions` as system, then `input` (text or items)."""
    result: list[Message] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str) and instructions:
        result.append(("system", instructions, None))
    items = request.get("input")
    if isinstance(items, str):
        result.append(("user", items, None))
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, str):
                result.append(("user", item, None))
            elif is_object(item):
                text = content_text(item.get("content")) or str(
                    item.get("output") or item.get("arguments") or ""
                )
                result.append((str(item.get("role") or item.get("type") or "user"), text, None))
    else:
        raise BadRecord("`input` is neither text nor a list of items")
    return result


def request_messages(request: Mapping[str, Any]) -> list[Message]:
    if "messages" in request:
        return chat_messages(request["messages"])
    return responses_messages(request)


def _completion_text(response: Mapping[str, Any]) -> str:
    choices = response.get("choices")
    if isinstance(choices, list):
        texts = []
        for choice in choices:
            message = choice.get("message") if is_object(choice) else None
            if is_object(message):
                texts.append(content_text(message.get("content")))
                texts.append(_tool_call_text(message))
            elif is_object(choice) and isinstance(choice.get("text"), str):
                texts.append(choice["text"])
        return "\n".join(text for text in texts if text)
    output = response.get("output")
    if isinstance(output, list):
        return "\n".join(content_text(item.get("content")) for item in output if is_object(item))
    return ""


def apply_usage(draft: Draft, usage: Mapping[str, Any]) -> None:
    """Chat (`prompt_tokens`…) or Responses (`input_tokens`…) usage; both include cached and reasoning."""
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        draft.input_tokens = token_count(
            draft, usage.get("prompt_tokens", 0), "usage.prompt_tokens"
        )
        draft.output_tokens = token_count(
            draft, usage.get("completion_tokens", 0), "usage.completion_tokens"
        )
        input_details = usage.get("prompt_tokens_details")
        output_details = usage.get("completion_tokens_details")
    elif "input_tokens" in usage or "output_tokens" in usage:
        draft.input_tokens = token_count(draft, usage.get("input_tokens", 0), "usage.input_tokens")
        draft.output_tokens = token_count(
            draft, usage.get("output_tokens", 0), "usage.output_tokens"
        )
        input_details = usage.get("input_tokens_details")
        output_details = usage.get("output_tokens_details")
    else:
        raise BadRecord("`usage` has no token counts")
    draft.cached_input_tokens = optional_count(
        draft, input_details, "cached_tokens", "cached tokens"
    )
    draft.cache_write_tokens = optional_count(
        draft, input_details, "cache_write_tokens", "cache-write tokens"
    )
    draft.reasoning_tokens = optional_count(
        draft, output_details, "reasoning_tokens", "reasoning tokens"
    )
    draft.audio_input_tokens = _uncached_audio(draft, input_details)


def _uncached_audio(draft: Draft, input_details: object) -> int:
    """`prompt_tokens_details.audio_tokens` less the audio read from the cache, when reported
    (`cached_tokens_details.audio_tokens`): audio input not read from the cache, billed at its rate."""
    audio = optional_count(draft, input_details, "audio_tokens", "audio tokens")
    if not audio or not isinstance(input_details, Mapping):
        return audio
    cached_audio = optional_count(
        draft, input_details.get("cached_tokens_details"), "audio_tokens", "cached audio tokens"
    )
    return max(audio - cached_audio, 0)


def _request_groups(request: Mapping[str, Any]) -> dict[str, str]:
    groups = string_groups(request.get("metadata"))
    user = request.get("user") or request.get("safety_identifier")
    if isinstance(user, str) and user:
        groups["user"] = user
    return groups


def _fill_from_response(draft: Draft, response: Mapping[str, Any]) -> None:
    draft.model = model_name(response.get("model")) or draft.model
    created = response.get("created", response.get("created_at"))
    if draft.timestamp is None and created is not None:
        draft.timestamp = created
    usage = response.get("usage")
    if is_object(usage):
        apply_usage(draft, usage)
    elif usage is not None:
        raise BadRecord("`usage` is not an object")
    else:
        draft.completion = _completion_text(response)


def _fill_from_request(draft: Draft, request: Mapping[str, Any]) -> None:
    draft.model = draft.model or model_name(request.get("model"))
    if "messages" in request or "input" in request:
        draft.messages = request_messages(request)
    groups = _request_groups(request)
    if groups:
        draft.groups = {**(draft.groups or {}), **groups}


def _reject_failed_batch_line(record: Mapping[str, Any]) -> None:
    """Batch output/error lines of requests that failed: they were not billed."""
    status = dig(record, "response", "status_code")
    if type(status) is int and status >= HTTP_ERROR:
        raise BadRecord(f"batch request failed (HTTP {status}, not billed)")
    output_line = "response" in record or "error" in record
    if output_line and not is_object(dig(record, "response", "body")):
        raise BadRecord("batch request failed (not billed)")


def _split(
    record: Mapping[str, Any],
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None, bool]:
    """(request, response, batch) of any accepted line shape (a null `custom_id`, `request` or
    `response` is the same as an absent one)."""
    if record.get("custom_id") is not None:
        _reject_failed_batch_line(record)
        body = dig(record, "response", "body")
        if is_object(body):
            return None, body, True
        return record.get("body"), None, True
    request = record.get("request")
    response = record.get("response")
    if is_object(request) or is_object(response):
        return (
            request if is_object(request) else None,
            response if is_object(response) else None,
            bool(record.get("batch") is True),
        )
    if _is_response_body(record):
        return None, record, False
    return record, None, False


def extract(record: Mapping[str, Any]) -> Draft:
    """One OpenAI log line → a draft."""
    request, response, batch = _split(record)
    draft = Draft(batch=batch)
    draft.timestamp = first_timestamp(record)
    if request is not None:
        _fill_from_request(draft, request)
    if response is not None:
        if response.get("object") == "chat.completion.chunk" and not response.get("usage"):
            raise BadRecord("stream chunk without usage (not a billed call)")
        _fill_from_response(draft, response)
    if record.get("request") is not None or record.get("response") is not None:
        extra = string_groups(record.get("metadata"))
        if extra:
            draft.groups = {**extra, **(draft.groups or {})}
    if draft.model is None:
        raise BadRecord("no model name")
    return draft


def is_usage_body(record: Mapping[str, Any]) -> bool:
    """A response body with `usage`, no wrapper and no time but its own: the records the columnar
    extractor takes (a file whose first records all are is read the columnar way)."""
    return (
        is_object(record.get("usage"))
        and record.get("object") in (None, *RESPONSE_OBJECTS)
        and not any(record.get(key) is not None for key in (*WRAPPER_KEYS, *OTHER_TIME_KEYS))
    )


def is_batch_output(record: Mapping[str, Any]) -> bool:
    """A Batch API output line of a request that succeeded with a usage body, and no time or
    metadata of its own: the records the batch-output columnar extractor takes."""
    response = record.get("response")
    return (
        record.get("custom_id") is not None
        and is_object(response)
        and type(response.get("status_code")) is int
        and response["status_code"] < HTTP_ERROR
        and is_object(response.get("body"))
        and is_usage_body(response["body"])
        and not any(record.get(key) is not None for key in (*TIMESTAMP_KEYS, "metadata"))
    )


def batch_output_columns() -> ColumnarExtractor:
    """The columnar extractor of Batch API output lines."""
    from costaudit.ingest.formats.openai_columns import BatchOutputColumns

    return BatchOutputColumns()


def usage_columns() -> ColumnarExtractor:
    """The columnar extractor of usage bodies."""
    from costaudit.ingest.formats.openai_columns import UsageColumns

    return UsageColumns()
