"""Token-count traces published for serving research: no prompts, just arrival times and token counts.

- Azure LLM inference traces (CSV `TIMESTAMP, ContextTokens, GeneratedTokens`, optionally `NumImages`):
  `TIMESTAMP` is a zone-less `YYYY-MM-DD HH:MM:SS.fffffff`, read as UTC. No model is logged.
- Mooncake traces (JSON lines `timestamp, input_length, output_length, hash_ids`): `timestamp` is
  milliseconds from the start of the trace, not a date, so rows are marked relative (durations and
  arrival rates are right; prices are today's). `hash_ids` are chained hashes of 512-token prompt
  blocks and become the rows' prefix hashes for prompt-cache replay. No model is logged.
- BurstGPT-style CSV (`Timestamp, Model, Request tokens, Response tokens, Total tokens, Log Type`,
  optionally `Session ID`, `Elapsed time`): `Timestamp` is seconds from the start of the trace
  (relative). The two models BurstGPT logs are named by their API ids (`ChatGPT` → gpt-3.5-turbo,
  `GPT-4` → gpt-4) so they can be priced; any other name is kept as logged. `Log Type`
  (conversation vs API traffic) is a group; `Session ID` is not (one value per conversation).

Where no model is logged, `--model M` names it; without it the rows are read but stay unpriced.
In every trace the input count is the whole prompt, no cache is reported and there is no reasoning.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from costaudit.ingest.formats.common import model_name, put_group, token_count
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft

AZURE = "azure-trace"
MOONCAKE = "mooncake"
BURSTGPT = "burstgpt"
MOONCAKE_BLOCK_TOKENS = 512
MAX_HASH = 2**64
MAX_OFFSET_SECONDS = 100 * 365 * 86_400
"""A trace-relative time beyond a century is not one (and would overflow the ns timestamp)."""
BURSTGPT_MODELS = {"chatgpt": "gpt-3.5-turbo", "gpt-4": "gpt-4"}


def detect_azure(record: Mapping[str, Any]) -> bool:
    return "ContextTokens" in record and "GeneratedTokens" in record


def extract_azure(record: Mapping[str, Any]) -> Draft:
    draft = Draft(timestamp=record.get("TIMESTAMP"))
    draft.input_tokens = token_count(draft, record.get("ContextTokens"), "ContextTokens")
    draft.output_tokens = token_count(draft, record.get("GeneratedTokens"), "GeneratedTokens")
    return draft


def detect_mooncake(record: Mapping[str, Any]) -> bool:
    return "input_length" in record and "output_length" in record


def trace_offset(value: object, unit: str, field: str) -> timedelta | None:
    """A relative trace time (a non-negative number of `unit`: seconds or milliseconds) as an offset."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise BadRecord(f"`{field}` is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRecord(f"`{field}` is not a number")
    seconds = float(value) / 1000 if unit == "milliseconds" else float(value)
    if not 0 <= seconds < MAX_OFFSET_SECONDS:
        raise BadRecord(f"`{field}` is not a time since the start of the trace")
    return timedelta(**{unit: value})


def _hashes(value: object) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        type(item) is int and 0 <= item < MAX_HASH for item in value
    ):
        raise BadRecord("`hash_ids` is not a list of block ids")
    return value


def extract_mooncake(record: Mapping[str, Any]) -> Draft:
    draft = Draft(
        timestamp=trace_offset(record.get("timestamp"), "milliseconds", "timestamp"),
        relative_time=True,
    )
    draft.input_tokens = token_count(draft, record.get("input_length"), "input_length")
    draft.output_tokens = token_count(draft, record.get("output_length"), "output_length")
    draft.model = model_name(record.get("model"))
    draft.prefix_hashes = _hashes(record.get("hash_ids"))
    if draft.prefix_hashes is not None:
        draft.prefix_block_tokens = MOONCAKE_BLOCK_TOKENS
    return draft


def detect_burstgpt(record: Mapping[str, Any]) -> bool:
    return "Request tokens" in record and "Response tokens" in record


def _burstgpt_model(value: object) -> str | None:
    name = model_name(value)
    if name is None:
        return None
    return BURSTGPT_MODELS.get(name.strip().lower(), name)


def extract_burstgpt(record: Mapping[str, Any]) -> Draft:
    draft = Draft(
        timestamp=trace_offset(record.get("Timestamp"), "seconds", "Timestamp"),
        relative_time=True,
        model=_burstgpt_model(record.get("Model")),
    )
    draft.input_tokens = token_count(draft, record.get("Request tokens"), "Request tokens")
    draft.output_tokens = token_count(draft, record.get("Response tokens"), "Response tokens")
    groups: dict[str, str] = {}
    put_group(groups, "log_type", record.get("Log Type"))
    draft.groups = groups or None
    return draft
