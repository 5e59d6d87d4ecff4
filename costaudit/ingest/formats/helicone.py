"""Helicone request exports: `HeliconeRequest` rows (REST `{"data": [...]}`, CLI JSON / JSON lines) and
the CLI's 12-column CSV (`response_id, response_created_at, response_status, request_created_at,
request_body, request_properties, request_user_id, model, prompt_tokens, completion_tokens, latency,
cost_usd` — `cost` in older versions).

Token convention: Helicone stores usage as additive parts. `prompt_tokens` is the input EXCLUDING cache
reads, cache writes and audio (its `ModelUsage.input` is "excluding cached or audio tokens", and its
cost code bills `prompt_tokens` at the input price plus `prompt_cache_read_tokens`,
`prompt_cache_write_tokens` and `prompt_audio_tokens` at their own prices). So
input = prompt_tokens + prompt_cache_read_tokens + prompt_cache_write_tokens + prompt_audio_tokens and
output = completion_tokens + completion_audio_tokens. Recent Helicone versions also leave reasoning
tokens out of `completion_tokens` and export no reasoning column: those tokens cannot be recovered
from an export. The CSV has no cache columns at all, so cached tokens in a CSV export are invisible
(priced as nothing; use the JSON lines export to see them). Helicone's own `cost` is not used: prices
come from the price table.

Helicone records response-cache hits (a `cache_reference_id` other than the all-zero id) with zero
tokens; they cost nothing and are kept as $0 requests. Failed requests (HTTP status ≥ 400) were not
billed and are skipped with their status. Groups: user (`request_user_id`), provider, and every custom
property (`request_properties`/`properties`, from `Helicone-Property-*` headers).

JSON-lines exports, the large Helicone log, are also read the columnar way (`helicone_columns`,
loaded on demand since it needs pyarrow).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from costaudit.ingest.formats.common import (
    is_object,
    json_value,
    model_name,
    optional_count,
    put_group,
    string_groups,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft

if TYPE_CHECKING:
    from costaudit.ingest.columnar import ColumnarExtractor

NAME = "helicone"
FIRST_FAILED_STATUS = 400
MODEL_KEYS = ("model", "response_model", "request_model", "model_override")


def detect(record: Mapping[str, Any]) -> bool:
    return "request_created_at" in record and ("prompt_tokens" in record or "request_id" in record)


def _status(value: object) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value)  # `isdigit` alone admits digits such as `²` that `int` refuses
    return None


def _apply_usage(draft: Draft, record: Mapping[str, Any]) -> None:
    prompt = record.get("prompt_tokens")
    if prompt is None or prompt == "":
        raise BadRecord("no prompt_tokens")
    reads = optional_count(draft, record, "prompt_cache_read_tokens", "prompt_cache_read_tokens")
    writes = optional_count(draft, record, "prompt_cache_write_tokens", "prompt_cache_write_tokens")
    audio_in = optional_count(draft, record, "prompt_audio_tokens", "prompt_audio_tokens")
    audio_out = optional_count(draft, record, "completion_audio_tokens", "completion_audio_tokens")
    draft.input_tokens = token_count(draft, prompt, "prompt_tokens") + reads + writes + audio_in
    draft.cached_input_tokens = reads
    draft.cache_write_tokens = writes
    draft.output_tokens = (
        optional_count(draft, record, "completion_tokens", "completion_tokens") + audio_out
    )


def _model(record: Mapping[str, Any]) -> str | None:
    for key in MODEL_KEYS:
        found = model_name(record.get(key))
        if found:
            return found
    return None


def request_groups(record: Mapping[str, Any]) -> dict[str, str]:
    """The custom properties, user and provider of a request row, as grouping keys."""
    properties = json_value(
        record.get("request_properties") or record.get("properties"), "request_properties"
    )
    user = record.get("request_user_id") or record.get("helicone_user")
    return with_user_and_provider(string_groups(properties), user, record.get("provider"))


def with_user_and_provider(
    groups: dict[str, str], user: object, provider: object
) -> dict[str, str]:
    """`groups` (the properties) with the user and provider added, as the last grouping keys."""
    put_group(groups, "user", user)
    put_group(groups, "provider", provider)
    return groups


def extract(record: Mapping[str, Any]) -> Draft:
    """One Helicone request row → a draft; failed requests are skipped."""
    status = _status(record.get("response_status"))
    if status is not None and status >= FIRST_FAILED_STATUS:
        raise BadRecord(f"failed request (HTTP {status}, not billed)")
    draft = Draft(timestamp=record.get("request_created_at"), model=_model(record))
    _apply_usage(draft, record)
    draft.groups = request_groups(record) or None
    return draft


COUNT_FIELDS = (
    "prompt_cache_read_tokens",
    "prompt_cache_write_tokens",
    "prompt_audio_tokens",
    "completion_audio_tokens",
    "prompt_tokens",
    "completion_tokens",
)
"""The counts `_apply_usage` reads, in its order (each under its own name)."""
TEXT_FIELDS = ("request_created_at", "model", "provider", "request_user_id", "helicone_user")
PROPERTY_FIELDS = ("request_properties", "properties")


def is_request_row(record: Mapping[str, Any]) -> bool:
    """A JSON-lines export row whose fields have the JSON types the columnar extractor parses them
    as (text, whole-number counts and status, property objects): the records it is for (a file
    whose first records all are is read the columnar way; failed requests among them are left to
    `extract` one by one)."""
    return (
        all(record.get(key) is None or type(record[key]) is int for key in COUNT_FIELDS)
        and all(record.get(key) is None or isinstance(record[key], str) for key in TEXT_FIELDS)
        and all(record.get(key) is None or is_object(record[key]) for key in PROPERTY_FIELDS)
        and (record.get("response_status") is None or type(record["response_status"]) is int)
    )


def request_columns() -> ColumnarExtractor:
    """The columnar extractor of JSON-lines export rows."""
    from costaudit.ingest.formats.helicone_columns import RequestColumns

    return RequestColumns()
