"""OpenTelemetry GenAI spans in OTLP JSON (the file exporter's JSON lines, or one pretty-printed document).

One record is a `TracesData` object: `resourceSpans[].scopeSpans[].spans[]`. Every GenAI inference span
in it is one billed call and becomes one draft; other spans (HTTP, database, agent and tool spans) are
not calls. A span's role comes from its kind (`costaudit.ingest.spans`): a model call when its
`gen_ai.operation.name` is an inference operation (chat, text_completion, generate_content,
embeddings…) or its OpenInference `openinference.span.kind` is LLM/EMBEDDING; a wrapper of calls when
the operation is invoke_agent, execute_tool, invoke_workflow… or the OpenInference kind is AGENT, CHAIN,
TOOL…; unknown otherwise. Wrappers and unknown spans that carry usage are decided by the trace tree: a
span whose descendants also carry usage repeats their SUM (pydantic-ai's agent run span does, without
any operation name) and is set aside, counted but never billed; an unknown span with usage and no
usage below it is a call. Spans without usage and without a call kind are not records at all.

Attributes are accepted under their current names and the deprecated/third-party ones (`gen_ai.system`,
`gen_ai.usage.prompt_tokens`/`completion_tokens`, Sentry's `…cache_read_input_tokens`, OpenInference's
`llm.token_count.*`). OTLP encodes int64 as decimal strings; both strings and numbers are read.

Token convention: `gen_ai.usage.input_tokens` SHOULD include cache reads and cache writes, and
`output_tokens` SHOULD include reasoning (OpenInference's `llm.token_count.prompt_details.*` are likewise
parts of `llm.token_count.prompt`). The input count is trusted unless it cannot be inclusive (cache
counts larger than it: an emitter that passed Anthropic's exclusive count through), in which case the
cache counts that do not fit are added to it (see `common.included_input`). Reasoning above the output
count is likewise treated as excluded and added.

Timestamp: `startTimeUnixNano`. Model: `gen_ai.response.model`, else `gen_ai.request.model` (OpenInference:
`llm.response.model_name`, `llm.model_name`, `llm.request.model_name`). Groups: provider
(`gen_ai.provider.name`/`gen_ai.system`), service (resource `service.name`), environment, user
(`user.id`), plus any attribute named by `--group-by`. `gen_ai.conversation.id` is not a group: it has
about as many values as there are calls.
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
from costaudit.ingest.spans import Role, Span
from costaudit.ingest.table import Draft, Message

NAME = "otel"

INFERENCE_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "completion", "embeddings", "responses"}
)
AGGREGATE_OPERATIONS = frozenset(
    {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow", "retrieval"}
)
"""Operations whose spans wrap calls rather than being one (any usage on them is a sum of children)."""
OPENINFERENCE_CALLS = frozenset({"LLM", "EMBEDDING"})
"""OpenInference span kinds that are model calls; every other kind but UNKNOWN wraps calls."""
TRACELOOP_CALLS = frozenset({"chat", "completion", "embedding", "rerank"})
"""OpenLLMetry (Traceloop) `llm.request.type` values of model-call spans."""
TRACELOOP_WRAPPERS = frozenset({"workflow", "task", "agent", "tool"})
"""OpenLLMetry `traceloop.span.kind` values of the spans around calls."""

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
AGGREGATED_USAGE_KEYS = (
    "gen_ai.aggregated_usage.input_tokens",
    "gen_ai.aggregated_usage.output_tokens",
)
"""Usage that an agent span declares to be the sum of its calls (pydantic-ai's newer spans)."""
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
)
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


def span_role(attrs: Mapping[str, object]) -> Role:
    """What a span is by its kind (see the module docstring); UNKNOWN when it records none."""
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation:
        if operation in AGGREGATE_OPERATIONS:
            return Role.AGGREGATE
        if operation in INFERENCE_OPERATIONS:
            return Role.CALL
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind:
        return openinference_role(kind)
    if attrs.get("llm.request.type") in TRACELOOP_CALLS:
        return Role.CALL
    if attrs.get("traceloop.span.kind") in TRACELOOP_WRAPPERS:
        return Role.AGGREGATE
    return Role.UNKNOWN


def openinference_role(kind: str) -> Role:
    name = kind.strip().upper()
    if name in OPENINFERENCE_CALLS:
        return Role.CALL
    return Role.UNKNOWN if name in {"", "UNKNOWN"} else Role.AGGREGATE


def has_usage(attrs: Mapping[str, object]) -> bool:
    """Whether a span carries token usage (counts of zero are no usage: a wrapper span with zero
    counts repeats nothing)."""
    return any(_nonzero(attrs.get(key)) for key in (*USAGE_KEYS, *AGGREGATED_USAGE_KEYS))


def _nonzero(value: object) -> bool:
    if value is None or value == "":
        return False
    try:
        return float(value) != 0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True  # not a number: the validator will say so


def apply_usage(draft: Draft, attrs: Mapping[str, object]) -> None:
    """Token counts from GenAI / OpenInference usage attributes (module docstring's convention)."""
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

    def extract(self, record: Mapping[str, Any]) -> list[Span | BadRecord]:
        """Every span of one TracesData record, with its role (bad entries as BadRecord)."""
        resource_spans = record.get("resourceSpans")
        if not isinstance(resource_spans, list):
            raise BadRecord("`resourceSpans` is not a list")
        spans: list[Span | BadRecord] = []
        for resource_span in resource_spans:
            if not is_object(resource_span):
                spans.append(BadRecord("a resourceSpans entry is not an object"))
                continue
            resource = attributes(_attribute_list(resource_span.get("resource")))
            problems: list[BadRecord] = []
            spans.extend(self._span(span, resource) for span in _spans(resource_span, problems))
            spans.extend(problems)
        return spans

    def _span(self, span: Mapping[str, Any], resource: Mapping[str, object]) -> Span:
        attrs = attributes(span.get("attributes"))
        role = span_role(attrs)
        item: Draft | BadRecord | None = None
        if role is Role.CALL:
            item = self._draft_or_reason(span, attrs, resource)
            usage = any(item.read_counts[1::2]) if isinstance(item, Draft) else has_usage(attrs)
        else:
            usage = has_usage(attrs)
            if role is Role.UNKNOWN and usage:
                item = self._draft_or_reason(span, attrs, resource)
        return Span(
            trace=_id(span.get("traceId")),
            span=_id(span.get("spanId")),
            parent=_id(span.get("parentSpanId")) or None,
            role=role,
            usage=usage,
            item=item,
        )

    def _draft_or_reason(
        self, span: Mapping[str, Any], attrs: Mapping[str, object], resource: Mapping[str, object]
    ) -> Draft | BadRecord:
        try:
            return self._draft(span, attrs, resource)
        except BadRecord as bad:
            return bad

    def _draft(
        self, span: Mapping[str, Any], attrs: Mapping[str, object], resource: Mapping[str, object]
    ) -> Draft:
        status = span.get("status")
        code = status.get("code") if is_object(status) else None
        draft = attribute_draft(
            attrs, span.get("startTimeUnixNano"), failed=code in (ERROR_STATUS, "STATUS_CODE_ERROR")
        )
        draft.groups = self.groups(attrs, resource) or None
        return draft

    def groups(self, attrs: Mapping[str, object], resource: Mapping[str, object]) -> dict[str, str]:
        """A span's grouping values (module docstring), from its and its resource's attributes."""
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


def _id(value: object) -> str:
    """A trace or span id as text (hex in OTLP JSON; whatever it is elsewhere)."""
    return value if isinstance(value, str) else "" if value is None else str(value)


def attribute_draft(attrs: Mapping[str, object], timestamp: object, *, failed: bool) -> Draft:
    """A model-call span's draft from its (flattened) attributes: model, usage, or opt-in prompt
    text; a span with neither usage nor prompt is a BadRecord (`failed`: its status was an error)."""
    draft = Draft(timestamp=timestamp)
    model = _first(attrs, MODEL_KEYS)
    draft.model = model_name(model if isinstance(model, str) else None)
    apply_usage(draft, attrs)
    embedding = attrs.get("gen_ai.operation.name") == "embeddings" or (
        str(attrs.get("openinference.span.kind", "")).upper() == "EMBEDDING"
    )
    if draft.output_tokens is None and embedding:
        draft.output_tokens = 0
    if draft.input_tokens is None:
        draft.messages = _messages(attrs)
        if draft.messages is None:
            raise BadRecord(
                "failed GenAI call without token usage (not billed)"
                if failed
                else "GenAI span without token usage or prompt"
            )
    return draft


def _attribute_list(holder: object) -> object:
    return holder.get("attributes") if is_object(holder) else None


def _spans(resource_span: Mapping[str, Any], problems: list[BadRecord]) -> list[Mapping[str, Any]]:
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
