"""Langfuse observations: public API JSON (v1 camelCase, v2) and UI/blob-storage exports (CSV, JSON lines).

Only observations of type GENERATION (and EMBEDDING) are model calls. Spans, events, agents, tools and
the other observation types are the structure around calls: they are passed over and not counted as
records at all, as non-GenAI spans are in OTLP files (they were never billed).

Usage lives in `usageDetails` (API) / `usage_details` (export; JSON text in CSV), a free-form map of
usage type → count. Langfuse's convention, which its SDK integrations follow, is that the types are
ADDITIVE parts: `input` is the input WITHOUT cached tokens (`input_cached_tokens`, `input_cache_read`,
`cache_read_input_tokens`, `cache_creation_input_tokens`, … are separate parts) and `output` is the
output without `output_reasoning_tokens`; `total` is the sum of all parts. So:
- input_tokens = sum of every type naming input, prompt or cache (`input*`, `*input*`, `prompt*`, `cache*`);
- cached_input_tokens = those naming `cached` or `cache_read`; cache_write_tokens = those naming
  `cache_creation` or `cache_write` (1-hour when they also name `1h`);
- output_tokens = sum of every type naming output, completion or reasoning; reasoning_tokens = those
  naming reasoning;
- other types (e.g. per-image units) are not tokens and are ignored, and so is `total`.
A producer that instead reports `input`/`output` INCLUDING those parts gives itself away by its
`total` (total == input + output although the parts add up to more): then `input`/`output` are the
totals and the other types are their subsets. Rows with only the deprecated `usage`
`{input, output, total, unit}` use input/output as totals (unit must be TOKENS).

Timestamp `startTime`/`start_time`; model `model`/`providedModelName`/`provided_model_name`. Groups:
user, session, tags, environment, release, name (the observation's name: usually the feature), prompt
(prompt name), trace (trace name), and every scalar `metadata` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costaudit.errors import echoed
from costaudit.ingest.formats.common import (
    content_text,
    is_object,
    joined_tags,
    json_value,
    model_name,
    put_group,
    string_groups,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft, Message

NAME = "langfuse"
BILLED_TYPES = frozenset({"GENERATION", "EMBEDDING"})
INPUT_WORDS = ("input", "prompt")
OUTPUT_WORDS = ("output", "completion", "reasoning")


def _pick(record: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return value
    return None


def detect(record: Mapping[str, Any]) -> bool:
    has_trace = "traceId" in record or "trace_id" in record
    has_start = "startTime" in record or "start_time" in record
    return has_trace and has_start and "type" in record


@dataclass
class UsageParts:
    """Counts of one usage-details map, by what the usage type names."""

    input: int = 0
    output: int = 0
    cached: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    bare_input: int | None = None
    bare_output: int | None = None
    total: int | None = None

    def add(self, key: str, count: int) -> None:
        name = key.lower()
        if name == "total":
            self.total = count
        elif name.startswith("cache") or any(word in name for word in INPUT_WORDS):
            self._add_input(name, count)
        elif any(word in name for word in OUTPUT_WORDS):
            self.output += count
            self.reasoning += count if "reasoning" in name else 0
            self.bare_output = count if name == "output" else self.bare_output

    def _add_input(self, name: str, count: int) -> None:
        self.input += count
        if "cached" in name or "cache_read" in name:
            self.cached += count
        elif "cache_creation" in name or "cache_write" in name:
            self.cache_write += count
            self.cache_write_1h += count if "1h" in name else 0
        self.bare_input = count if name == "input" else self.bare_input

    def reports_totals(self) -> bool:
        """`input`/`output` are totals when `total` equals them and not the sum of the parts."""
        if self.total is None or self.bare_input is None:
            return False
        bare_sum = self.bare_input + (self.bare_output or 0)
        fits = self.cached + self.cache_write <= self.bare_input
        fits &= self.reasoning <= (self.bare_output or 0)
        return self.total == bare_sum != self.input + self.output and fits


def _pairs_as_mapping(value: object) -> object:
    """Parquet map columns arrive as lists of (key, value) pairs."""
    if isinstance(value, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in value):
        return {str(key): item for key, item in value}
    return value


def _usage_map(value: object) -> Mapping[str, Any] | None:
    """The usage-details map: an object, JSON text (CSV), or key/value pairs (Parquet)."""
    value = _pairs_as_mapping(json_value(value, "usage_details"))
    if value is None or (is_object(value) and not value):
        return None
    if not is_object(value):
        raise BadRecord("usage details are not an object")
    return value


def _apply_details(draft: Draft, details: Mapping[str, Any]) -> None:
    parts = UsageParts()
    for key, value in details.items():
        if value is not None:
            parts.add(str(key), token_count(draft, value, f"usage_details.{key}"))
    totals = parts.reports_totals()
    draft.input_tokens = (
        parts.bare_input if totals and parts.bare_input is not None else parts.input
    )
    draft.output_tokens = (parts.bare_output or 0) if totals else parts.output
    draft.cached_input_tokens = parts.cached
    draft.cache_write_tokens = parts.cache_write
    draft.cache_write_1h_tokens = parts.cache_write_1h
    draft.reasoning_tokens = parts.reasoning


def _apply_legacy_usage(draft: Draft, usage: Mapping[str, Any]) -> None:
    """The deprecated `usage` object: input/output totals in a unit that must be tokens."""
    unit = usage.get("unit")
    if unit not in (None, "", "TOKENS"):
        raise BadRecord(f"usage counted in {echoed(unit)}, not tokens")
    given = _pick(usage, "input", "promptTokens")
    produced = _pick(usage, "output", "completionTokens")
    if given is None and produced is None:
        raise BadRecord("generation without token usage")
    draft.input_tokens = token_count(draft, given or 0, "usage.input")
    draft.output_tokens = token_count(draft, produced or 0, "usage.output")


def _io_messages(value: object) -> list[Message] | None:
    """Logged prompt (`input`): text, a list of chat messages, or `{messages: [...]}`."""
    if is_object(value) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, str) and value:
        return [("user", value, None)]
    if isinstance(value, list):
        messages: list[Message] = [
            (str(item.get("role") or "user"), content_text(item.get("content")), None)
            for item in value
            if is_object(item)
        ]
        return messages or None
    return None


def _io_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if is_object(value):
        return content_text(value.get("content")) or None
    return None


def _apply_usage(draft: Draft, record: Mapping[str, Any]) -> None:
    details = _usage_map(_pick(record, "usageDetails", "usage_details"))
    usage = record.get("usage")
    if details is not None:
        _apply_details(draft, details)
    elif is_object(usage) and usage:
        _apply_legacy_usage(draft, usage)
    else:
        draft.messages = _io_messages(record.get("input"))
        draft.completion = _io_text(record.get("output"))
        if draft.messages is None:
            raise BadRecord("generation without token usage or prompt")


def _groups(record: Mapping[str, Any]) -> dict[str, str]:
    metadata = _pairs_as_mapping(json_value(record.get("metadata"), "metadata"))
    groups = string_groups(metadata)
    put_group(groups, "user", _pick(record, "userId", "user_id"))
    put_group(groups, "session", _pick(record, "sessionId", "session_id"))
    put_group(groups, "environment", record.get("environment"))
    put_group(groups, "release", record.get("release"))
    put_group(groups, "name", record.get("name"))
    put_group(groups, "prompt", _pick(record, "promptName", "prompt_name"))
    put_group(groups, "trace", _pick(record, "traceName", "trace_name"))
    tags = joined_tags(record.get("tags"))
    if tags:
        groups["tags"] = tags
    return groups


def extract(record: Mapping[str, Any]) -> list[Draft]:
    """A generation → one draft; any other observation type → none (it is not a call)."""
    kind = record.get("type")
    if not isinstance(kind, str) or kind.upper() not in BILLED_TYPES:
        if kind is None or isinstance(kind, str):
            return []
        raise BadRecord("observation `type` is not text")
    draft = Draft(timestamp=_pick(record, "startTime", "start_time"))
    model = _pick(record, "model", "providedModelName", "provided_model_name")
    draft.model = model_name(model)
    _apply_usage(draft, record)
    draft.groups = _groups(record) or None
    return [draft]
