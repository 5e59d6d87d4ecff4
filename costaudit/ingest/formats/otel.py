"""OpenTelemetry GenAI spans in OTLP JSON (the file exporter's JSON lines, or one pretty-printed document).

One record is a `TracesData` object: `resourceSpans[].scopeSpans[].spans[]`. Every GenAI inference span
in it is one billed call and becomes one draft; other spans (HTTP, database, agent and tool spans) are
not calls and are passed over without being counted as records. A span is an inference span when its
`gen_ai.operation.name` is an inference operation (chat, text_completion, generate_content, embeddings…)
or, lacking one, when it carries GenAI token usage (OpenInference `LLM` spans included). Agent,
workflow and tool spans are never counted even when they carry usage: frameworks put the SUM of their
child calls there, and counting both would bill the same tokens twice.

Attributes are accepted under their current names and the deprecated/third-party ones (`gen_ai.system`,
`gen_ai.usage.prompt_tokens`/`completion_tokens`, Sentry's `…cache_read_input_tokens`, OpenInference's
`llm.token_count.*`). OTLP encodes int64 as decimal strings; both strings and numbers are read.

Token convention: `gen_ai.usage.input_tokens` SHOULD include cache reads and cache writes, and
`output_tokens` SHOULD include reasoning. The input count is trusted unless it cannot be inclusive
(cache counts larger than it: an emitter that passed Anthropic's exclusive count through), in which
case the cache counts that do not fit are added to it (see `common.included_input`). Reasoning above
the output count is likewise treated as excluded and added.

Timestamp: `startTimeUnixNano`. Model: `gen_ai.response.model`, else `gen_ai.request.model`. Groups:
provider (`gen_ai.provider.name`/`gen_ai.system`), service (resource `service.name`), environment,
user (`user.id`), plus any attribute named by `--group-by`. `gen_ai.conversation.id` is not a group:
it has about as many values as there are calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from costaudit.ingest.formats.common import (
    included_input,
    is_object,
    model_name,
    put_group,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft, Message

NAME = "otel"

INFERENCE_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "completion", "embeddings", "responses"}
)
AGGREGATE_OPERATIONS = frozenset(
    {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow", "retrieval"}
)
"""Operations whose spans wrap calls rather than being one (any usage on them is a sum of children)."""

INPUT_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
)
OUTPUT_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.input_tokens.cached",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.input_tokens.cache_write",
    "llm.token_count.prompt_details.cache_write",
)
REASONING_KEYS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.output_tokens.reasoning",
    "llm.token_count.completion_details.reasoning",
)
USAGE_KEYS = (*INPUT_KEYS, *OUTPUT_KEYS)
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
INPUT_MESSAGE_KEYS = ("gen_ai.input.messages", "gen_ai.prompt")
ERROR_STATUS = 2


def detect(record: Mapping[str, Any]) -> bool:
    return isinstance(record.get("resourceSpans"), list)


def _any_value(value: object) -> object:
    """The Python value of an OTLP `AnyValue` (`{"stringValue": …}`, `{"intValue": "12"}`, …)."""
    if not is_object(value):
        return value
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in value:
            return value[key]
    array = value.get("arrayValue")
    if is_object(array):
        values = array.get("values")
        return [_any_value(item) for item in values] if isinstance(values, list) else []
    kvlist = value.get("kvlistValue")
    if is_object(kvlist):
        return attributes(kvlist.get("values"))
    return None


def attributes(raw: object) -> dict[str, object]:
    """OTLP `[{key, value}]` attributes as a plain dict; a plain mapping is accepted as it is.

    Entries without a string key are ignored: without a name they cannot mean anything here.
    """
    if is_object(raw):
        return {str(key): value for key, value in raw.items()}
    result: dict[str, object] = {}
    if isinstance(raw, list):
        for entry in raw:
            if is_object(entry) and isinstance(entry.get("key"), str):
                result[entry["key"]] = _any_value(entry.get("value"))
    return result


def _first(attrs: Mapping[str, object], keys: Sequence[str]) -> object:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _count(draft: Draft, attrs: Mapping[str, object], keys: Sequence[str]) -> int | None:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return token_count(draft, value, key)
    return None


def is_inference_span(attrs: Mapping[str, object]) -> bool:
    """A billed model call (see the module docstring for the rule)."""
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation:
        if operation in AGGREGATE_OPERATIONS:
            return False
        if operation in INFERENCE_OPERATIONS:
            return True
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind:
        return kind.upper() in {"LLM", "EMBEDDING"}
    return any(attrs.get(key) not in (None, "") for key in USAGE_KEYS)


def _apply_usage(draft: Draft, attrs: Mapping[str, object]) -> None:
    reported = _count(draft, attrs, INPUT_KEYS)
    output = _count(draft, attrs, OUTPUT_KEYS)
    reads = _count(draft, attrs, CACHE_READ_KEYS) or 0
    writes = _count(draft, attrs, CACHE_WRITE_KEYS) or 0
    reasoning = _count(draft, attrs, REASONING_KEYS) or 0
    if reported is not None:
        draft.input_tokens = included_input(reported, reads, writes)
        draft.cached_input_tokens = reads
        draft.cache_write_tokens = writes
    if output is not None:
        draft.output_tokens = output if reasoning <= output else output + reasoning
        draft.reasoning_tokens = reasoning


def _messages(attrs: Mapping[str, object]) -> list[Message] | None:
    """Opt-in prompt content (`gen_ai.input.messages`, JSON text or structured) as chat messages."""
    raw = _first(attrs, INPUT_MESSAGE_KEYS)
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [("user", raw, None)]
    if not isinstance(raw, list):
        return None
    messages: list[Message] = []
    for message in raw:
        if is_object(message):
            role = message.get("role")
            messages.append((role if isinstance(role, str) else "user", _parts_text(message), None))
    return messages or None


def _parts_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = message.get("parts")
    texts = []
    for part in parts if isinstance(parts, list) else []:
        if is_object(part):
            text = part.get("content", part.get("text"))
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts)


@dataclass(frozen=True)
class OtelFormat:
    """The OTLP reader; `group_fields` are extra attribute names to group by (from `--group-by`)."""

    group_fields: tuple[str, ...] = ()

    def extract(self, record: Mapping[str, Any]) -> list[Draft | BadRecord]:
        """Every GenAI inference span of one TracesData record (bad ones as BadRecord)."""
        resource_spans = record.get("resourceSpans")
        if not isinstance(resource_spans, list):
            raise BadRecord("`resourceSpans` is not a list")
        drafts: list[Draft | BadRecord] = []
        for resource_span in resource_spans:
            if not is_object(resource_span):
                drafts.append(BadRecord("a resourceSpans entry is not an object"))
                continue
            resource = attributes(_attribute_list(resource_span.get("resource")))
            for span in _spans(resource_span, drafts):
                drafts.extend(self._span_drafts(span, resource))
        return drafts

    def _span_drafts(
        self, span: Mapping[str, Any], resource: Mapping[str, object]
    ) -> list[Draft | BadRecord]:
        attrs = attributes(span.get("attributes"))
        if not is_inference_span(attrs):
            return []
        try:
            return [self._draft(span, attrs, resource)]
        except BadRecord as bad:
            return [bad]

    def _draft(
        self, span: Mapping[str, Any], attrs: Mapping[str, object], resource: Mapping[str, object]
    ) -> Draft:
        draft = Draft(timestamp=span.get("startTimeUnixNano"))
        model = _first(attrs, MODEL_KEYS)
        draft.model = model_name(model if isinstance(model, str) else None)
        _apply_usage(draft, attrs)
        if draft.output_tokens is None and attrs.get("gen_ai.operation.name") == "embeddings":
            draft.output_tokens = 0
        if draft.input_tokens is None:
            draft.messages = _messages(attrs)
            if draft.messages is None:
                raise BadRecord(_no_usage_reason(span))
        draft.groups = self._groups(attrs, resource) or None
        return draft

    def _groups(
        self, attrs: Mapping[str, object], resource: Mapping[str, object]
    ) -> dict[str, str]:
        groups: dict[str, str] = {}
        put_group(groups, "provider", _first(attrs, PROVIDER_KEYS))
        put_group(groups, "service", resource.get("service.name"))
        put_group(
            groups,
            "environment",
            _first(resource, ("deployment.environment.name", "deployment.environment")),
        )
        put_group(groups, "user", attrs.get("user.id", resource.get("user.id")))
        for name in self.group_fields:
            put_group(groups, name, attrs.get(name, resource.get(name)))
        return groups


def _no_usage_reason(span: Mapping[str, Any]) -> str:
    status = span.get("status")
    code = status.get("code") if is_object(status) else None
    if code in (ERROR_STATUS, "STATUS_CODE_ERROR"):
        return "failed GenAI call without token usage (not billed)"
    return "GenAI span without token usage or prompt"


def _attribute_list(holder: object) -> object:
    return holder.get("attributes") if is_object(holder) else None


def _spans(
    resource_span: Mapping[str, Any], problems: list[Draft | BadRecord]
) -> list[Mapping[str, Any]]:
    """Spans of every scope (`scopeSpans`, or `instrumentationLibrarySpans` in old exporters)."""
    scopes = resource_span.get("scopeSpans", resource_span.get("instrumentationLibrarySpans"))
    if scopes is None:
        return []
    if not isinstance(scopes, list):
        problems.append(BadRecord("`scopeSpans` is not a list"))
        return []
    spans: list[Mapping[str, Any]] = []
    for scope in scopes:
        raw = scope.get("spans") if is_object(scope) else None
        if not isinstance(raw, list):
            if raw is not None or not is_object(scope):
                problems.append(BadRecord("a scopeSpans entry has no list of spans"))
            continue
        for span in raw:
            if is_object(span):
                spans.append(span)
            else:
                problems.append(BadRecord("a span is not an object"))
    return spans
