"""LiteLLM proxy spend logs and callback payloads.

Accepted records:
- `LiteLLM_SpendLogs` rows, as returned by `/spend/logs` (a JSON array), `/spend/logs/v2` (a paged
  `{"data": [...]}` document), written as JSON lines, or exported from Postgres to CSV (JSON columns
  such as `metadata` and `request_tags` are then JSON text);
- the `StandardLoggingPayload` LiteLLM sends to callbacks (float epoch `startTime`, `response_cost`).

Tokens: `prompt_tokens`/`completion_tokens` (top level, or `usage` in early rows). Cache and reasoning
counts are not columns; each is taken from the first of these that holds it: `metadata.usage_object`
(the full usage LiteLLM records), `metadata.additional_usage_values` (provider extras; often `{}`
beside a full usage object), the payload's `response.usage` (a StandardLoggingPayload's response), and
an early row's `usage`. Cache reads: `cache_read_input_tokens` or `prompt_tokens_details.cached_tokens`;
cache writes: `cache_creation_input_tokens` or `prompt_tokens_details.cache_creation_tokens`, their
1-hour part `cache_creation.ephemeral_1h_input_tokens` or
`prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens`; reasoning:
`completion_tokens_details.reasoning_tokens`. Current LiteLLM folds Anthropic cache reads and writes
into `prompt_tokens` (OpenAI convention); older versions did not, or folded in reads only. The count is
trusted unless a cache count cannot fit inside it, and then added (`common.included_input`). A record
with no prompt or completion count anywhere is skipped (`no litellm usage fields`), never priced at $0.

Not billed, so skipped with a reason: LiteLLM response-cache hits (`cache_hit` true: no provider call)
and failed calls (`status` failure). Groups: user, end_user, team, team_alias, organization,
key_alias, tags (`request_tags`), provider (`custom_llm_provider`), model_group, call_type, and every
scalar key of `metadata.spend_logs_metadata` (what callers attach, e.g. `feature`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from costaudit.ingest.formats.common import (
    dig,
    included_input,
    is_object,
    joined_tags,
    json_value,
    model_name,
    put_group,
    string_groups,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft

if TYPE_CHECKING:
    from costaudit.ingest.columnar import ColumnarExtractor

NAME = "litellm"
TRUE_TEXT = frozenset({"true", "1", "yes"})


def detect(record: Mapping[str, Any]) -> bool:
    has_tokens = "prompt_tokens" in record or is_object(record.get("usage"))
    spend_log = "spend" in record and ("request_id" in record or "call_type" in record)
    payload = "response_cost" in record and "call_type" in record
    return has_tokens and "startTime" in record and (spend_log or payload)


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    """A JSON object column: an object, JSON text of one (CSV exports), or empty."""
    if isinstance(value, str):
        value = json_value(value, field)
    return value if is_object(value) else {}


def _is_true(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_TEXT
    return value is True


def _usage_sources(
    record: Mapping[str, Any], metadata: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """Where a record's usage may be, most complete first (module docstring)."""
    sources = [metadata.get("usage_object"), metadata.get("additional_usage_values")]
    response = record.get("response")
    if isinstance(
        response, str
    ):  # a CSV cell; stored responses are optional, so unreadable is none
        try:
            response = json_value(response, "response")
        except BadRecord:
            response = None
    sources.append(response.get("usage") if is_object(response) else None)
    sources.append(record.get("usage"))
    return [source for source in sources if is_object(source) and source]


def _first_count(
    draft: Draft, sources: list[Mapping[str, Any]], paths: tuple[tuple[str, ...], ...], field: str
) -> int:
    """The first count found under any of `paths` in the first source that has one (0: none)."""
    for source in sources:
        for path in paths:
            value = dig(source, *path)
            if value is not None and value != "":
                return token_count(draft, value, field)
    return 0


READS = (("cache_read_input_tokens",), ("prompt_tokens_details", "cached_tokens"))
WRITES = (("cache_creation_input_tokens",), ("prompt_tokens_details", "cache_creation_tokens"))
ONE_HOUR = (
    ("cache_creation", "ephemeral_1h_input_tokens"),
    ("prompt_tokens_details", "cache_creation_token_details", "ephemeral_1h_input_tokens"),
)
FIVE_MINUTES = (
    ("cache_creation", "ephemeral_5m_input_tokens"),
    ("prompt_tokens_details", "cache_creation_token_details", "ephemeral_5m_input_tokens"),
)
REASONING = (("completion_tokens_details", "reasoning_tokens"),)


def _count_field(
    draft: Draft, record: Mapping[str, Any], sources: list[Mapping[str, Any]], key: str
) -> int | None:
    """`key` (prompt_tokens / completion_tokens) from the row itself, else from a usage source."""
    for holder in (record, *sources):
        value = holder.get(key)
        if value is not None and value != "":
            return token_count(draft, value, key)
    return None


def _apply_usage(draft: Draft, record: Mapping[str, Any], metadata: Mapping[str, Any]) -> None:
    sources = _usage_sources(record, metadata)
    prompt = _count_field(draft, record, sources, "prompt_tokens")
    completion = _count_field(draft, record, sources, "completion_tokens")
    if prompt is None and completion is None:
        raise BadRecord(f"no {NAME} usage fields")
    reads = _first_count(draft, sources, READS, "cache_read_input_tokens")
    writes = _first_count(draft, sources, WRITES, "cache_creation_input_tokens")
    one_hour = _first_count(draft, sources, ONE_HOUR, "1-hour cache-creation tokens")
    if not writes:  # writes given only by TTL (Anthropic's `cache_creation` split)
        writes = one_hour + _first_count(
            draft, sources, FIVE_MINUTES, "5-minute cache-creation tokens"
        )
    reasoning = _first_count(draft, sources, REASONING, "reasoning tokens")
    prompt = prompt or 0
    completion = completion or 0
    draft.input_tokens = included_input(prompt, reads, writes)
    draft.cached_input_tokens = reads
    draft.cache_write_tokens = writes
    draft.cache_write_1h_tokens = min(one_hour, writes)
    draft.output_tokens = completion if reasoning <= completion else completion + reasoning
    draft.reasoning_tokens = reasoning


def _groups(record: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, str]:
    groups = string_groups(_mapping(metadata.get("spend_logs_metadata"), "spend_logs_metadata"))
    put_group(groups, "user", record.get("user") or metadata.get("user_api_key_user_id"))
    put_group(groups, "end_user", record.get("end_user"))
    put_group(groups, "team", record.get("team_id") or metadata.get("user_api_key_team_id"))
    put_group(groups, "team_alias", metadata.get("user_api_key_team_alias"))
    put_group(
        groups, "organization", record.get("organization_id") or metadata.get("user_api_key_org_id")
    )
    put_group(groups, "key_alias", metadata.get("user_api_key_alias"))
    put_group(groups, "provider", record.get("custom_llm_provider"))
    put_group(groups, "model_group", record.get("model_group"))
    put_group(groups, "call_type", record.get("call_type"))
    tags = joined_tags(record.get("request_tags"))
    if tags:
        groups["tags"] = tags
    return groups


def extract(record: Mapping[str, Any]) -> Draft:
    """One spend-log row or callback payload → a draft (cache hits and failures are skipped)."""
    if _is_true(record.get("cache_hit")):
        raise BadRecord("response-cache hit (served by the gateway, no provider call)")
    if str(record.get("status") or "").lower() == "failure":
        raise BadRecord("failed call (not billed)")
    metadata = _mapping(record.get("metadata"), "metadata")
    draft = Draft(timestamp=record.get("startTime"))
    draft.model = model_name(record.get("model")) or model_name(record.get("model_group"))
    _apply_usage(draft, record, metadata)
    draft.groups = _groups(record, metadata) or None
    return draft


def is_spend_log_row(record: Mapping[str, Any]) -> bool:
    """A proxy spend-log row as LiteLLM stores it unless prompts are stored: an ISO `startTime`
    string, integer counts, no prompt (`messages` empty or absent) and no usage object beside the
    counts. A file whose first records all are is read the columnar way (costaudit.ingest.columnar),
    which leaves its other rows (failures, cache hits, rows with prompts) to `extract`."""
    response = record.get("response")
    return (
        "spend" in record
        and "request_id" in record
        and isinstance(record.get("startTime"), str)
        and type(record.get("prompt_tokens")) is int
        and type(record.get("completion_tokens")) is int
        and not record.get("messages")
        and record.get("usage") is None
        and not (is_object(response) and response.get("usage") is not None)
        and (record.get("metadata") is None or is_object(record.get("metadata")))
    )


def spend_log_columns() -> ColumnarExtractor:
    """The columnar extractor of spend-log rows."""
    from costaudit.ingest.formats.litellm_columns import SpendLogColumns

    return SpendLogColumns()
