"""OpenInference spans as Arize Phoenix exports them: span records, one per line or row.

Phoenix gives spans out in two shapes besides OTLP (which the `otel` reader takes):
- its REST API's span objects, `{name, context: {trace_id, span_id}, span_kind, parent_id,
  start_time, end_time, status_code, status_message, attributes: {…}, events}` (alone, one per JSON
  line, or in a `{"data": [...], "next_cursor": …}` page); attributes are flat dotted keys
  (`llm.token_count.prompt`) or nested objects;
- the spans dataframe (`px.Client().get_spans_dataframe()`, `TraceDataset` Parquet), written as
  JSON lines, CSV or Parquet: one row per span with columns `context.span_id`, `context.trace_id`,
  `parent_id`, `span_kind`, `start_time` and one `attributes.<name>` column per attribute.

Attributes follow the OpenInference semantic conventions, read by the OTel reader's rules
(`otel.apply_usage`): `llm.token_count.prompt` is the whole prompt and its
`prompt_details.cache_read`/`cache_write` are parts of it; `llm.token_count.completion` includes
`completion_details.reasoning`. The role comes from `span_kind`: LLM and EMBEDDING spans are calls,
AGENT, CHAIN, TOOL, RETRIEVER… spans wrap calls and are never billed (set aside when they carry usage),
UNKNOWN spans are decided by the trace tree (`costaudit.ingest.spans`).

Model: `llm.model_name` (`llm.response.model_name`, `embedding.model_name`). Groups: provider
(`llm.provider`/`llm.system`), user (`user.id`), session (`session.id`), span name, and any attribute
named by `--group-by`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costaudit.ingest.formats import otel
from costaudit.ingest.formats.common import dig, is_object, put_group
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.spans import Role, Span
from costaudit.ingest.table import Draft

NAME = "openinference"
ATTRIBUTE_PREFIX = "attributes."
ID_COLUMNS = ("context.span_id", "context.trace_id")
EXAMPLE = '{"context":{"trace_id":"…","span_id":"…"},"span_kind":"LLM","attributes":{"llm.token_count.prompt":100}}'


def _is_span(record: Mapping[str, Any]) -> bool:
    if "span_kind" not in record:
        return False
    return is_object(record.get("context")) or "context.span_id" in record


def detect(record: Mapping[str, Any]) -> bool:
    if _is_span(record):
        return True
    page = record.get("data")
    return isinstance(page, list) and bool(page) and is_object(page[0]) and _is_span(page[0])


def detect_columns(columns: list[str]) -> bool:
    return "span_kind" in columns and all(name in columns for name in ID_COLUMNS)


def flat_attributes(record: Mapping[str, Any]) -> dict[str, object]:
    """A span's attributes as one flat dotted-key mapping, from an `attributes` object (flat or
    nested) and from `attributes.<name>` columns; empty and NaN cells count as absent."""
    found: dict[str, object] = {}
    nested = record.get("attributes")
    if is_object(nested):
        _flatten(nested, "", found)
    for key, value in record.items():
        if key.startswith(ATTRIBUTE_PREFIX) and _present(value):
            found[key[len(ATTRIBUTE_PREFIX) :]] = value
    return found


def _flatten(mapping: Mapping[str, Any], prefix: str, into: dict[str, object]) -> None:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if is_object(value):
            _flatten(value, f"{name}.", into)
        elif _present(value):
            into[name] = value


def _present(value: object) -> bool:
    if value is None or value == "":
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if not _present(value) else str(value)


@dataclass(frozen=True)
class OpenInferenceFormat:
    """The Phoenix span reader; `group_fields` are extra attribute names to group by."""

    group_fields: tuple[str, ...] = ()

    def extract(self, record: Mapping[str, Any]) -> list[Span]:
        """One span record, or every span of a `{"data": [...]}` page."""
        if _is_span(record):
            return [self._span(record)]
        page = record.get("data")
        if not isinstance(page, list):
            raise BadRecord("`data` is not a list of spans")
        return [self._span(item) if is_object(item) else _not_a_span() for item in page]

    def _span(self, record: Mapping[str, Any]) -> Span:
        attrs = flat_attributes(record)
        kind = record.get("span_kind")
        role = (
            otel.openinference_role(kind)
            if isinstance(kind, str) and kind
            else otel.span_role(attrs)
        )
        usage = otel.has_usage(attrs)
        item: Draft | BadRecord | None = None
        if role is Role.CALL or (role is Role.UNKNOWN and usage):
            try:
                item = self._draft(record, attrs)
            except BadRecord as bad:
                item = bad
        context = record.get("context")
        return Span(
            trace=_text(dig(record, "context", "trace_id") or record.get("context.trace_id")),
            span=_text(
                context.get("span_id") if is_object(context) else record.get("context.span_id")
            ),
            parent=_text(record.get("parent_id")) or None,
            role=role,
            usage=usage,
            item=item,
        )

    def _draft(self, record: Mapping[str, Any], attrs: Mapping[str, object]) -> Draft:
        status = str(record.get("status_code") or "").upper()
        draft = otel.attribute_draft(attrs, record.get("start_time"), failed=status == "ERROR")
        groups: dict[str, str] = {}
        put_group(groups, "provider", attrs.get("llm.provider") or attrs.get("llm.system"))
        put_group(groups, "user", attrs.get("user.id"))
        put_group(groups, "session", attrs.get("session.id"))
        put_group(groups, "name", record.get("name"))
        for name in self.group_fields:
            put_group(groups, name, attrs.get(name))
        draft.groups = groups or None
        return draft


def _not_a_span() -> Span:
    return Span("", "", None, Role.CALL, False, BadRecord("a span in `data` is not an object"))
