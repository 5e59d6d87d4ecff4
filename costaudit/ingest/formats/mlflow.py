"""MLflow traces: `mlflow.get_trace(...).to_json()` documents and the trace table `mlflow.search_traces()`
returns (written as JSON lines, CSV or Parquet).

A trace document is `{"info": {...}, "data": {"spans": [...]}}`; a trace-table row has the trace's id
(`trace_id`, or `request_id` before MLflow 3) and its `spans` (a list, or JSON text in CSV), or the whole
trace as JSON text in `trace`. Spans come in MLflow 3's shape (`span_id`, `parent_span_id`,
`start_time_unix_nano`, `status.code`) or MLflow 2's (`context.span_id`, `parent_id`, `start_time`),
and MLflow stores every attribute value JSON-encoded (`"mlflow.spanType": "\\"CHAT_MODEL\\""`).

The role comes from `mlflow.spanType`: CHAT_MODEL, LLM and EMBEDDING spans are model calls; AGENT,
CHAIN, TOOL, RETRIEVER, PARSER, RERANKER and MEMORY spans wrap them and are never billed (set aside when
they carry usage); UNKNOWN spans are decided by their GenAI attributes or by the trace tree
(`costaudit.ingest.spans`). The trace-level `mlflow.trace.tokenUsage` metadata is a sum over the trace
and is never read.

Usage: `mlflow.chat.tokenUsage` (`input_tokens`, `output_tokens`, `cache_read_input_tokens`,
`cache_creation_input_tokens`), else the span's `gen_ai.usage.*` / `llm.token_count.*` attributes (read
as the OTel reader reads them). MLflow normalises every provider to input tokens that include the cache
parts; a count that cannot hold them is treated as exclusive (`common.included_input`).

Model: `mlflow.llm.model`, the GenAI model attributes, or the `model` of the span's inputs. Timestamp: the
span's start. Groups: provider (`mlflow.llm.provider`), user and session (`mlflow.trace.user`,
`mlflow.trace.session` of the trace metadata), trace (the trace's name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from costaudit.ingest.formats import otel
from costaudit.ingest.formats.common import (
    dig,
    included_input,
    is_object,
    json_value,
    model_name,
    optional_count,
    put_group,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.spans import Role, Span
from costaudit.ingest.table import Draft

NAME = "mlflow"
EXAMPLE = '{"info":{"trace_id":"tr-…"},"data":{"spans":[{"attributes":{"mlflow.spanType":"\\"CHAT_MODEL\\""}}]}}'
CALL_TYPES = frozenset({"CHAT_MODEL", "LLM", "EMBEDDING"})
WRAPPER_TYPES = frozenset({"AGENT", "CHAIN", "TOOL", "RETRIEVER", "PARSER", "RERANKER", "MEMORY"})
USAGE = "mlflow.chat.tokenUsage"
DECODED = (
    "mlflow.spanType",
    USAGE,
    "mlflow.llm.model",
    "mlflow.llm.provider",
    *otel.USAGE_KEYS,
    *otel.CACHE_READ_KEYS,
    *otel.CACHE_WRITE_KEYS,
    *otel.REASONING_KEYS,
    *otel.MODEL_KEYS,
    "gen_ai.operation.name",
)
"""The attributes read (each JSON-decoded); inputs and outputs are decoded only when needed."""


def _is_trace(record: Mapping[str, Any]) -> bool:
    return is_object(record.get("info")) and isinstance(dig(record, "data", "spans"), list)


def _is_row(record: Mapping[str, Any]) -> bool:
    has_id = "trace_id" in record or "request_id" in record
    return has_id and ("spans" in record or "trace" in record) and "run_type" not in record


def detect(record: Mapping[str, Any]) -> bool:
    return _is_trace(record) or _is_row(record)


def detect_columns(columns: list[str]) -> bool:
    return ("trace_id" in columns or "request_id" in columns) and (
        "spans" in columns or "trace" in columns
    )


def _decoded(value: object) -> object:
    """An MLflow attribute value: JSON text decoded, anything else as it is."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _attributes(span: Mapping[str, Any]) -> dict[str, object]:
    raw = span.get("attributes")
    if not is_object(raw):
        return {}
    return {key: _decoded(raw[key]) for key in DECODED if key in raw}


def _metadata(info: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("trace_metadata", "request_metadata"):
        found = json_value(info.get(key), key)
        if is_object(found):
            return found
    return {}


def _role(attrs: Mapping[str, object]) -> Role:
    kind = attrs.get("mlflow.spanType")
    name = kind.strip().upper() if isinstance(kind, str) else ""
    if name in CALL_TYPES:
        return Role.CALL
    if name in WRAPPER_TYPES:
        return Role.AGGREGATE
    return otel.span_role(attrs)


def _apply_usage(draft: Draft, attrs: Mapping[str, object]) -> None:
    usage = attrs.get(USAGE)
    if not is_object(usage):
        otel.apply_usage(draft, attrs)
        return
    prompt = optional_count(draft, usage, "input_tokens", f"{USAGE}.input_tokens") or (
        optional_count(draft, usage, "prompt_tokens", f"{USAGE}.prompt_tokens")
    )
    completion = optional_count(draft, usage, "output_tokens", f"{USAGE}.output_tokens") or (
        optional_count(draft, usage, "completion_tokens", f"{USAGE}.completion_tokens")
    )
    reads = optional_count(
        draft, usage, "cache_read_input_tokens", f"{USAGE}.cache_read_input_tokens"
    )
    writes = optional_count(
        draft, usage, "cache_creation_input_tokens", f"{USAGE}.cache_creation_input_tokens"
    )
    draft.input_tokens = included_input(prompt, reads, writes)
    draft.cached_input_tokens = reads
    draft.cache_write_tokens = writes
    draft.output_tokens = completion


def _model(span: Mapping[str, Any], attrs: Mapping[str, object]) -> str | None:
    for key in ("mlflow.llm.model", *otel.MODEL_KEYS):
        name = model_name(attrs.get(key))
        if name is not None:
            return name
    inputs = _decoded(dig(span, "attributes", "mlflow.spanInputs"))
    return model_name(inputs.get("model")) if is_object(inputs) else None


def _failed(span: Mapping[str, Any]) -> bool:
    code = dig(span, "status", "code") or span.get("status_code")
    return str(code or "").upper() in {"ERROR", "STATUS_CODE_ERROR", "2"}


def _trace(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Any]]:
    """(info, spans) of a trace document or a trace-table row."""
    if _is_trace(record):
        return record["info"], record["data"]["spans"]
    spans = json_value(record.get("spans"), "spans")
    if spans is None and record.get("trace") is not None:
        trace = json_value(record.get("trace"), "trace")
        if is_object(trace) and _is_trace(trace):
            return trace["info"], trace["data"]["spans"]
        raise BadRecord("`trace` is not an MLflow trace")
    if not isinstance(spans, list):
        raise BadRecord("`spans` is not a list of spans")
    return record, spans


def extract(record: Mapping[str, Any]) -> list[Span]:
    """Every span of one trace, with its role."""
    info, spans = _trace(record)
    trace_id = str(info.get("trace_id") or info.get("request_id") or "")
    groups = _trace_groups(info)
    return [
        _span(span, trace_id, groups)
        if is_object(span)
        else Span(trace_id, "", None, Role.CALL, False, BadRecord("a span is not an object"))
        for span in spans
    ]


def _trace_groups(info: Mapping[str, Any]) -> dict[str, str]:
    metadata = _metadata(info)
    groups: dict[str, str] = {}
    put_group(groups, "user", metadata.get("mlflow.trace.user"))
    put_group(groups, "session", metadata.get("mlflow.trace.session"))
    tags = json_value(info.get("tags"), "tags")
    if is_object(tags):
        put_group(groups, "trace", tags.get("mlflow.traceName"))
    return groups


def _span(span: Mapping[str, Any], trace_id: str, groups: Mapping[str, str]) -> Span:
    attrs = _attributes(span)
    role = _role(attrs)
    usage = otel.has_usage(attrs) or _has_chat_usage(attrs)
    item: Draft | BadRecord | None = None
    if role is Role.CALL or (role is Role.UNKNOWN and usage):
        try:
            item = _draft(span, attrs, groups)
        except BadRecord as bad:
            item = bad
    parent = span.get("parent_span_id", span.get("parent_id"))
    return Span(
        trace=str(span.get("trace_id") or dig(span, "context", "trace_id") or trace_id),
        span=str(span.get("span_id") or dig(span, "context", "span_id") or ""),
        parent=str(parent) if parent else None,
        role=role,
        usage=usage,
        item=item,
    )


def _has_chat_usage(attrs: Mapping[str, object]) -> bool:
    usage = attrs.get(USAGE)
    return is_object(usage) and any(
        isinstance(value, int | float) and value for value in usage.values()
    )


def _draft(
    span: Mapping[str, Any], attrs: Mapping[str, object], groups: Mapping[str, str]
) -> Draft:
    draft = Draft(timestamp=span.get("start_time_unix_nano", span.get("start_time")))
    _apply_usage(draft, attrs)
    if draft.input_tokens is None:
        raise BadRecord(
            "failed model call without token usage (not billed)"
            if _failed(span)
            else "model-call span without token usage"
        )
    if draft.output_tokens is None and attrs.get("mlflow.spanType") == "EMBEDDING":
        draft.output_tokens = 0
    draft.model = _model(span, attrs)
    span_groups = dict(groups)
    put_group(span_groups, "provider", attrs.get("mlflow.llm.provider"))
    draft.groups = span_groups or None
    return draft
