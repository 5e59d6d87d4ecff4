"""Google Gemini / Vertex AI `generateContent` responses.

`promptTokenCount` already includes `cachedContentTokenCount` (the canonical convention), but
`candidatesTokenCount` EXCLUDES `thoughtsTokenCount`: thinking is billed as output, so output =
candidates + thoughts, with thoughts recorded as reasoning. Tool-use prompt tokens are input.
The model is `modelVersion`; Vertex responses carry `createTime`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costaudit.ingest.formats.common import (
    content_text,
    first_timestamp,
    model_name,
    optional_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft, Message

NAME = "gemini"


def _body(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(record.get("usageMetadata"), Mapping):
        return record
    response = record.get("response")
    if isinstance(response, Mapping) and isinstance(response.get("usageMetadata"), Mapping):
        return response
    return None


def detect(record: Mapping[str, Any]) -> bool:
    return _body(record) is not None


def apply_usage(draft: Draft, usage: Mapping[str, Any]) -> None:
    prompt = optional_count(usage, "promptTokenCount", "promptTokenCount")
    tool_prompt = optional_count(usage, "toolUsePromptTokenCount", "toolUsePromptTokenCount")
    candidates = optional_count(usage, "candidatesTokenCount", "candidatesTokenCount")
    thoughts = optional_count(usage, "thoughtsTokenCount", "thoughtsTokenCount")
    cached = optional_count(usage, "cachedContentTokenCount", "cachedContentTokenCount")
    draft.input_tokens = prompt + tool_prompt
    draft.cached_input_tokens = cached
    draft.output_tokens = candidates + thoughts
    draft.reasoning_tokens = thoughts


def request_messages(request: Mapping[str, Any]) -> list[Message]:
    messages: list[Message] = []
    system = request.get("systemInstruction")
    if isinstance(system, Mapping):
        messages.append(("system", content_text(system.get("parts")), None))
    contents = request.get("contents")
    if isinstance(contents, list):
        for content in contents:
            if isinstance(content, Mapping):
                role = "assistant" if content.get("role") == "model" else "user"
                messages.append((role, content_text(content.get("parts")), None))
    return messages


def extract(record: Mapping[str, Any]) -> Draft:
    body = _body(record)
    if body is None:
        raise BadRecord("no usageMetadata")
    draft = Draft(timestamp=first_timestamp(record) or body.get("createTime"))
    draft.model = model_name(body.get("modelVersion")) or model_name(record.get("model"))
    apply_usage(draft, body["usageMetadata"])
    request = record.get("request")
    if isinstance(request, Mapping):
        draft.messages = request_messages(request) or None
        draft.model = draft.model or model_name(request.get("model"))
    if draft.model is None:
        raise BadRecord("no model name (modelVersion)")
    return draft
