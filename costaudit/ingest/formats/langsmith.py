"""LangSmith runs: the run objects of its API and exports, one per JSON line or Parquet/CSV row, or a
`{"runs": [...]}` page as `POST /runs/query` returns it.

A trace is a tree of runs (`id`, `parent_run_id`, `trace_id`, `dotted_order`). Only runs of
`run_type` llm (and embedding) are model calls. LangSmith also shows token counts on the chain, tool
and agent runs above them — the SUM of their children's — so those are never billed: they are set
aside under their own problem kind when they carry counts (`costaudit.ingest.spans`). A run without a
run_type is decided by the trace tree.

Usage of a model-call run, first found of:
1. `usage_metadata` in `outputs` (how LangSmith's wrappers and `@traceable(run_type="llm")` record it),
   in the LangChain message of `outputs.generations`, or in `extra.metadata`;
2. the run's own `prompt_tokens`/`completion_tokens` with `prompt_token_details`/`completion_token_details`
   (what the API returns);
3. `outputs.llm_output.token_usage` (OpenAI-style counts from older LangChain).
LangChain's convention is OpenAI's: `input_tokens` is the whole prompt, `input_token_details.cache_read`
and `cache_creation` are parts of it (`ephemeral_1h_input_tokens` the 1-hour writes), and
`output_tokens` includes `output_token_details.reasoning`; a count that cannot hold its parts is
treated as exclusive (`common.included_input`). A model-call run without any usage is counted from its
`inputs.messages` text when there is one.

Model: `extra.metadata.ls_model_name`, `extra.invocation_params.model`/`model_name`, then the model the
outputs name. Timestamp: `start_time`. Groups: provider (`ls_provider`), name (the run's name), session
(the project), tags, and the scalar keys of `extra.metadata` that callers attach (not LangSmith's own
`ls_*`, LangGraph's bookkeeping or thread ids), plus any key named by `--group-by`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costaudit.ingest.formats.common import (
    content_text,
    dig,
    included_input,
    is_object,
    joined_tags,
    json_value,
    model_name,
    optional_count,
    put_group,
    token_count,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.spans import Role, Span
from costaudit.ingest.table import Draft, Message

NAME = "langsmith"
EXAMPLE = (
    '{"id":"…","trace_id":"…","run_type":"llm","outputs":{"usage_metadata":{"input_tokens":9}}}'
)
CALL_TYPES = frozenset({"llm", "embedding"})
WRAPPER_TYPES = frozenset({"chain", "tool", "retriever", "prompt", "parser"})
PRIVATE_METADATA = ("ls_", "langgraph_", "checkpoint", "lc_", "__")
HIDDEN_METADATA = frozenset({"thread_id", "run_id", "revision_id", "usage_metadata"})
"""Metadata that is bookkeeping, or has a value per run or conversation: never a grouping field."""
ROLES = {
    "human": "user",
    "humanmessage": "user",
    "ai": "assistant",
    "aimessage": "assistant",
    "system": "system",
    "systemmessage": "system",
    "tool": "tool",
    "toolmessage": "tool",
}


def _is_run(record: Mapping[str, Any]) -> bool:
    return "run_type" in record and any(key in record for key in ("id", "trace_id", "dotted_order"))


def detect(record: Mapping[str, Any]) -> bool:
    if _is_run(record):
        return True
    runs = record.get("runs")
    return isinstance(runs, list) and bool(runs) and is_object(runs[0]) and _is_run(runs[0])


def detect_columns(columns: list[str]) -> bool:
    return "run_type" in columns and "id" in columns


def _object(value: object, field: str) -> Mapping[str, Any]:
    value = json_value(value, field)
    return value if is_object(value) else {}


def _segment_id(segment: str) -> str:
    """The run id of one `dotted_order` segment (`20230914T223155647Z<uuid>`)."""
    _, _, run = segment.partition("Z")
    return run


def _tree(run: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(trace, run, parent) ids, from the id fields or else from `dotted_order`."""
    segments = [part for part in str(run.get("dotted_order") or "").split(".") if part]
    run_id = str(run.get("id") or "") or (_segment_id(segments[-1]) if segments else "")
    trace = str(run.get("trace_id") or "") or (_segment_id(segments[0]) if segments else run_id)
    parent = run.get("parent_run_id")
    if not parent and len(segments) > 1:
        parent = _segment_id(segments[-2])
    return trace, run_id, str(parent) if parent else None


def _role(run: Mapping[str, Any]) -> Role:
    kind = str(run.get("run_type") or "").strip().lower()
    if kind in CALL_TYPES:
        return Role.CALL
    return Role.AGGREGATE if kind in WRAPPER_TYPES else Role.UNKNOWN


def _first_message(outputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The LangChain message of the first generation (its `kwargs` when serialized)."""
    generations = outputs.get("generations")
    while isinstance(generations, list) and generations:
        generations = generations[0]
    message = generations.get("message") if is_object(generations) else None
    if not is_object(message):
        return {}
    kwargs = message.get("kwargs")
    return kwargs if is_object(kwargs) else message


def _usage_metadata(
    outputs: Mapping[str, Any], extra: Mapping[str, Any]
) -> tuple[Mapping[str, Any], str] | None:
    for found, where in (
        (outputs.get("usage_metadata"), "outputs.usage_metadata"),
        (_first_message(outputs).get("usage_metadata"), "usage_metadata"),
        (dig(extra, "metadata", "usage_metadata"), "extra.metadata.usage_metadata"),
    ):
        if is_object(found) and ("input_tokens" in found or "output_tokens" in found):
            return found, where
    return None


def _apply_counts(
    draft: Draft,
    prompt: int,
    completion: int,
    prompt_details: object,
    completion_details: object,
    where: str,
) -> None:
    reads = optional_count(draft, prompt_details, "cache_read", f"{where}.cache_read")
    writes = optional_count(draft, prompt_details, "cache_creation", f"{where}.cache_creation")
    one_hour = optional_count(
        draft, prompt_details, "ephemeral_1h_input_tokens", f"{where}.ephemeral_1h_input_tokens"
    )
    reasoning = optional_count(draft, completion_details, "reasoning", f"{where}.reasoning")
    draft.input_tokens = included_input(prompt, reads, writes)
    draft.cached_input_tokens = reads
    draft.cache_write_tokens = writes
    draft.cache_write_1h_tokens = min(one_hour, writes)
    draft.output_tokens = completion if reasoning <= completion else completion + reasoning
    draft.reasoning_tokens = reasoning


def _apply_usage(
    draft: Draft, run: Mapping[str, Any], outputs: Mapping[str, Any], extra: Mapping[str, Any]
) -> bool:
    """Token counts from the first place that holds them; False when none does."""
    metadata = _usage_metadata(outputs, extra)
    if metadata is not None:
        usage, where = metadata
        _apply_counts(
            draft,
            optional_count(draft, usage, "input_tokens", f"{where}.input_tokens"),
            optional_count(draft, usage, "output_tokens", f"{where}.output_tokens"),
            usage.get("input_token_details"),
            usage.get("output_token_details"),
            where,
        )
        return True
    if run.get("prompt_tokens") not in (None, "") or run.get("completion_tokens") not in (None, ""):
        _apply_counts(
            draft,
            optional_count(draft, run, "prompt_tokens", "prompt_tokens"),
            optional_count(draft, run, "completion_tokens", "completion_tokens"),
            _object(run.get("prompt_token_details"), "prompt_token_details"),
            _object(run.get("completion_token_details"), "completion_token_details"),
            "token_details",
        )
        return True
    token_usage = dig(outputs, "llm_output", "token_usage")
    if is_object(token_usage) and "prompt_tokens" in token_usage:
        prompt = token_count(
            draft, token_usage.get("prompt_tokens") or 0, "token_usage.prompt_tokens"
        )
        completion = optional_count(
            draft, token_usage, "completion_tokens", "token_usage.completion_tokens"
        )
        cached = optional_count(
            draft, token_usage.get("prompt_tokens_details"), "cached_tokens", "cached_tokens"
        )
        reasoning = optional_count(
            draft,
            token_usage.get("completion_tokens_details"),
            "reasoning_tokens",
            "reasoning_tokens",
        )
        draft.input_tokens = included_input(prompt, cached, 0)
        draft.cached_input_tokens = cached
        draft.output_tokens = completion if reasoning <= completion else completion + reasoning
        draft.reasoning_tokens = reasoning
        return True
    return False


def _model(
    run: Mapping[str, Any], outputs: Mapping[str, Any], extra: Mapping[str, Any]
) -> str | None:
    message = _first_message(outputs)
    for value in (
        dig(extra, "metadata", "ls_model_name"),
        dig(extra, "invocation_params", "model"),
        dig(extra, "invocation_params", "model_name"),
        dig(outputs, "llm_output", "model_name"),
        dig(message, "response_metadata", "model_name"),
        dig(message, "response_metadata", "model"),
        outputs.get("model"),
    ):
        name = model_name(value)
        if name is not None:
            return name
    return None


def _message(item: Mapping[str, Any]) -> Message | None:
    kwargs = item.get("kwargs")
    if is_object(kwargs):
        kind = item.get("id")
        role_hint = kind[-1] if isinstance(kind, list) and kind else kwargs.get("type")
        return (
            ROLES.get(str(role_hint).lower(), "user"),
            content_text(kwargs.get("content")),
            None,
        )
    role = item.get("role") or ROLES.get(str(item.get("type") or "").lower(), "user")
    if "content" not in item:
        return None
    return (str(role), content_text(item.get("content")), None)


def _messages(inputs: Mapping[str, Any]) -> list[Message] | None:
    """Prompt messages in OpenAI form or LangChain's (serialized, possibly a list of lists)."""
    raw = inputs.get("messages")
    pending = list(raw) if isinstance(raw, list) else []
    messages: list[Message] = []
    while pending:
        item = pending.pop(0)
        if isinstance(item, list):
            pending[:0] = item
        elif is_object(item) and (message := _message(item)) is not None:
            messages.append(message)
    if not messages and isinstance(inputs.get("prompt"), str):
        messages.append(("user", inputs["prompt"], None))
    return messages or None


@dataclass(frozen=True)
class LangSmithFormat:
    """The LangSmith run reader; `group_fields` are extra metadata keys to group by."""

    group_fields: tuple[str, ...] = ()

    def extract(self, record: Mapping[str, Any]) -> list[Span]:
        """One run, or every run of a `{"runs": [...]}` page."""
        if _is_run(record):
            return [self._span(record)]
        runs = record.get("runs")
        if not isinstance(runs, list):
            raise BadRecord("`runs` is not a list")
        return [
            self._span(run)
            if is_object(run)
            else Span("", "", None, Role.CALL, False, BadRecord("a run is not an object"))
            for run in runs
        ]

    def _span(self, run: Mapping[str, Any]) -> Span:
        trace, run_id, parent = _tree(run)
        role = _role(run)
        item: Draft | BadRecord | None = None
        usage = False
        try:
            outputs = _object(run.get("outputs"), "outputs")
            extra = _object(run.get("extra"), "extra")
            draft = Draft(timestamp=run.get("start_time"))
            found = _apply_usage(draft, run, outputs, extra)
            usage = any(draft.read_counts[1::2])
            if role is Role.CALL or (role is Role.UNKNOWN and usage):
                item = self._finish(draft, run, outputs, extra, found)
        except BadRecord as bad:
            item = bad
        return Span(trace, run_id, parent, role, usage, item)

    def _finish(
        self,
        draft: Draft,
        run: Mapping[str, Any],
        outputs: Mapping[str, Any],
        extra: Mapping[str, Any],
        found: bool,
    ) -> Draft:
        if not found:
            if run.get("error"):
                raise BadRecord("failed call without token usage (not billed)")
            draft.messages = _messages(_object(run.get("inputs"), "inputs"))
            if draft.messages is None:
                raise BadRecord("llm run without token usage or prompt")
        draft.model = _model(run, outputs, extra)
        draft.groups = self._groups(run, extra) or None
        return draft

    def _groups(self, run: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, str]:
        metadata = extra.get("metadata")
        groups: dict[str, str] = {}
        if is_object(metadata):
            for key, value in metadata.items():
                if key not in HIDDEN_METADATA and not key.startswith(PRIVATE_METADATA):
                    put_group(groups, key, value if not isinstance(value, bool) else None)
            put_group(groups, "provider", metadata.get("ls_provider"))
            for name in self.group_fields:
                put_group(groups, name, metadata.get(name))
        put_group(groups, "name", run.get("name"))
        put_group(groups, "session", run.get("session_name"))
        tags = joined_tags(run.get("tags"))
        if tags:
            groups["tags"] = tags
        return groups
