"""Google Gemini / Vertex AI `generateContent` responses, as on the wire (camelCase) or as the Python SDK
dumps them (`response.model_dump()`: snake_case `usage_metadata`, `prompt_token_count`, …).

`promptTokenCount` already includes `cachedContentTokenCount` (the canonical convention), but
`candidatesTokenCount` EXCLUDES `thoughtsTokenCount`: thinking is billed as output, so output =
candidates + thoughts, with thoughts recorded as reasoning. Tool-use prompt tokens are input.
The model is `modelVersion`; Vertex responses carry `createTime`. A logging wrapper
`{timestamp, request, response, metadata}` adds a time, the prompt and groups: Vertex request
`labels` and the wrapper's scalar `metadata`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from costaudit.ingest.formats.common import (
    TIMESTAMP_KEYS,
    content_text,
    first_timestamp,
    is_object,
    model_name,
    optional_count,
    string_groups,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft, Message

if TYPE_CHECKING:
    from costaudit.ingest.columnar import ColumnarExtractor

NAME = "gemini"
COUNT_FIELDS = (
    "promptTokenCount",
    "toolUsePromptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
)
"""The `usageMetadata` counts `apply_usage` reads, in its order (each also under its snake_case twin)."""
OTHER_KEYS = ("request", "create_time")
"""Top-level keys that make `extract` read a body with `usageMetadata` from more than its counts,
`modelVersion` and `createTime`: the request (prompt and labels), and the SDK's snake_case time
(read when `createTime` is absent)."""
_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """The snake_case twin of a camelCase field name (`promptTokenCount` → `prompt_token_count`)."""
    return _CAMEL_HUMP.sub("_", name).lower()


def _get(mapping: Mapping[str, Any], camel: str) -> Any:
    """`mapping[camel]`, or its snake_case twin (SDK dumps)."""
    value = mapping.get(camel)
    return mapping.get(snake(camel)) if value is None else value


def _body(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if is_object(_get(record, "usageMetadata")):
        return record
    response = record.get("response")
    if is_object(response) and is_object(_get(response, "usageMetadata")):
        return response
    return None


def detect(record: Mapping[str, Any]) -> bool:
    return _body(record) is not None


def _count(draft: Draft, usage: Mapping[str, Any], camel: str) -> int:
    key = camel if usage.get(camel) is not None else snake(camel)
    return optional_count(draft, usage, key, camel)


def apply_usage(draft: Draft, usage: Mapping[str, Any]) -> None:
    prompt, tool_prompt, candidates, thoughts, cached = (
        _count(draft, usage, name) for name in COUNT_FIELDS
    )
    draft.input_tokens = prompt + tool_prompt
    draft.cached_input_tokens = cached
    draft.output_tokens = candidates + thoughts
    draft.reasoning_tokens = thoughts
    audio = _modality_count(draft, usage, "promptTokensDetails", "AUDIO")
    cached_audio = _modality_count(draft, usage, "cacheTokensDetails", "AUDIO")
    draft.audio_input_tokens = max(audio - cached_audio, 0)


def _modality_count(draft: Draft, usage: Mapping[str, Any], camel: str, modality: str) -> int:
    """The `tokenCount` of one modality in a `[{modality, tokenCount}]` breakdown (0 when absent)."""
    details = _get(usage, camel)
    if not isinstance(details, list):
        return 0
    return sum(
        _count(draft, item, "tokenCount")
        for item in details
        if is_object(item) and str(item.get("modality", "")).upper() == modality
    )


def request_messages(request: Mapping[str, Any]) -> list[Message]:
    messages: list[Message] = []
    system = _get(request, "systemInstruction")
    if is_object(system):
        messages.append(("system", content_text(system.get("parts")), None))
    contents = request.get("contents")
    if isinstance(contents, list):
        for content in contents:
            if is_object(content):
                role = "assistant" if content.get("role") == "model" else "user"
                messages.append((role, content_text(content.get("parts")), None))
    return messages


def extract(record: Mapping[str, Any]) -> Draft:
    body = _body(record)
    if body is None:
        raise BadRecord("no usageMetadata")
    draft = Draft(timestamp=first_timestamp(record) or _get(body, "createTime"))
    draft.model = model_name(_get(body, "modelVersion")) or model_name(record.get("model"))
    apply_usage(draft, _get(body, "usageMetadata"))
    request = record.get("request")
    groups = string_groups(record.get("metadata")) if body is not record else {}
    if is_object(request):
        draft.messages = request_messages(request) or None
        draft.model = draft.model or model_name(request.get("model"))
        groups.update(string_groups(request.get("labels")))
    draft.groups = groups or None
    if draft.model is None:
        raise BadRecord("no model name (modelVersion)")
    return draft


def is_response_body(record: Mapping[str, Any]) -> bool:
    """A bare response body as on the wire: a camelCase `usageMetadata` object whose counts have no
    snake_case twins, no `request` (prompts) and no time but Vertex's `createTime` string. The
    records the columnar extractor is for (a file whose first records all are is read the columnar
    way; odd lines among the rest are left to `extract` one by one)."""
    usage = record.get("usageMetadata")
    created = record.get("createTime")
    return (
        is_object(usage)
        and not any(usage.get(snake(name)) is not None for name in COUNT_FIELDS)
        and (created is None or isinstance(created, str))
        and not any(record.get(key) is not None for key in (*TIMESTAMP_KEYS, *OTHER_KEYS))
    )


def response_columns() -> ColumnarExtractor:
    """The columnar extractor of response bodies."""
    from costaudit.ingest.formats.gemini_columns import ResponseColumns

    return ResponseColumns()
