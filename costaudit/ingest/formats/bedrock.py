"""Amazon Bedrock: model-invocation logs (as S3 and CloudWatch Logs deliver them) and the response
bodies of the runtime API (Converse, ConverseStream, InvokeModel for Anthropic, Llama, Nova, Mistral
and Titan models).

Shapes read, each one record:
- an invocation log record (`schemaType: ModelInvocationLog`): `modelId`, `timestamp`, `operation`,
  `input.inputTokenCount` (+ `cacheReadInputTokenCount`, `cacheWriteInputTokenCount`) and
  `output.outputTokenCount`, as Bedrock writes them to S3 (JSON lines, gzip) or CloudWatch Logs; a
  CloudWatch `filter-log-events`/`get-log-events` result (`{"events": [{"message": "<record>"}]}`), a
  subscription delivery (`{"logEvents": [...]}`) or an exported row with the record in `message` /
  `@message` gives the records inside it;
- a Converse response (`output`, `stopReason`, `usage.inputTokens`/`outputTokens`/
  `cacheReadInputTokens`/`cacheWriteInputTokens`, `cacheDetails` by TTL) and a ConverseStream
  `metadata` event; Amazon Nova's InvokeModel body has the same shape, its cache counts named
  `cacheReadInputTokenCount`/`cacheWriteInputTokenCount`; the other stream events are not calls;
- an InvokeModel body of Meta Llama (`prompt_token_count`, `generation_token_count`), Amazon Titan
  (`inputTextTokenCount`, `results[].tokenCount`) or Mistral (`outputs`/`choices` with `stop_reason`:
  no counts in the body); a streamed body's last chunk carries `amazon-bedrock-invocationMetrics`
  (its other chunks are not calls);
- an Anthropic Messages body (`type: message`, Anthropic's own usage and convention) inside a
  logged boto3 response;
- a logged boto3 response: the counts Bedrock bills are in the HTTP headers
  (`ResponseMetadata.HTTPHeaders["x-amzn-bedrock-input-token-count"]`, `…-output-token-count`,
  `…-cache-read-input-token-count`, `…-cache-write-input-token-count`), which win over the body.
  Anthropic Messages bodies without such a wrapper are read by the `anthropic` reader.

Token convention: Bedrock's input counts EXCLUDE cache reads and writes, as Anthropic's do (the
invocation log of a cache-writing call reports e.g. 3 input and 25,037 cache-write tokens), so the total
input is input + cache reads + cache writes. Llama and Titan report the whole prompt (no prompt cache).
Output counts include any reasoning. The billing meters (invocation log, headers, invocation metrics)
win over counts in the body.

Model: `modelId` (an ARN's `foundation-model/` or `inference-profile/` id); response bodies name none, so
`--model` prices them. Timestamp: the log's `timestamp`, the CloudWatch event's, a wrapper's
`timestamp`-like key, or the response's HTTP `date`. Groups: operation, region, account, identity (the
caller's ARN), and every scalar key of the invocation's `requestMetadata` (what callers attach, e.g.
`feature`).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from costaudit.ingest.formats import anthropic
from costaudit.ingest.formats.common import (
    dig,
    first_timestamp,
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

NAME = "bedrock"
EXAMPLE = '{"schemaType":"ModelInvocationLog","modelId":"…","input":{"inputTokenCount":15},"output":{"outputTokenCount":12}}'
METRICS = "amazon-bedrock-invocationMetrics"
HEADER = "x-amzn-bedrock-"
STREAM_EVENTS = frozenset(
    {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop"}
)
"""ConverseStream events other than `metadata`: parts of a response, not calls."""
ENVELOPE_KEYS = ("events", "logEvents")
MESSAGE_KEYS = ("message", "@message")
ARN_MODEL_KINDS = ("foundation-model/", "inference-profile/")


def _is_log(record: Mapping[str, Any]) -> bool:
    if record.get("schemaType") == "ModelInvocationLog":
        return True
    given, produced = record.get("input"), record.get("output")
    return "modelId" in record and (
        (is_object(given) and "inputTokenCount" in given)
        or (is_object(produced) and "outputTokenCount" in produced)
    )


def _logged_message(value: object) -> bool:
    return isinstance(value, str) and '"modelId"' in value and "TokenCount" in value


def _envelope(record: Mapping[str, Any]) -> list[Any] | None:
    for key in ENVELOPE_KEYS:
        events = record.get(key)
        if isinstance(events, list) and events and is_object(events[0]):
            return events if _logged_message(events[0].get("message")) else None
    return None


def _is_converse(record: Mapping[str, Any]) -> bool:
    usage = record.get("usage")
    return (
        is_object(usage)
        and ("inputTokens" in usage or "outputTokens" in usage)
        and any(key in record for key in ("output", "stopReason", "metrics"))
    )


def _is_invoke_body(record: Mapping[str, Any]) -> bool:
    if METRICS in record:
        return True
    if "generation" in record and "generation_token_count" in record:
        return True
    if "inputTextTokenCount" in record:
        return True
    outputs = record.get("outputs", record.get("choices"))
    return (
        isinstance(outputs, list)
        and bool(outputs)
        and is_object(outputs[0])
        and "stop_reason" in outputs[0]
    )


def _headers(record: Mapping[str, Any]) -> Mapping[str, Any]:
    headers = dig(record, "ResponseMetadata", "HTTPHeaders")
    return headers if is_object(headers) else {}


def detect(record: Mapping[str, Any]) -> bool:
    if _is_log(record) or _envelope(record) is not None:
        return True
    if any(_logged_message(record.get(key)) for key in MESSAGE_KEYS):
        return True
    if _is_converse(record) or _is_invoke_body(record):
        return True
    if is_object(record.get("metadata")) and is_object(dig(record, "metadata", "usage")):
        return "inputTokens" in record["metadata"]["usage"]
    if any(key in record for key in STREAM_EVENTS) and len(record) <= 2:
        return True
    return any(str(key).startswith(HEADER) for key in _headers(record))


def detect_columns(columns: list[str]) -> bool:
    return any(name in columns for name in MESSAGE_KEYS) and (
        "timestamp" in columns or "@timestamp" in columns
    )


def model_id(value: object) -> str | None:
    """A Bedrock model id from `modelId`: an ARN's `foundation-model/…` or `inference-profile/…` id;
    an application inference profile ARN names no model and is kept as it is."""
    name = model_name(value)
    if name is None or not name.startswith("arn:"):
        return name
    for kind in ARN_MODEL_KINDS:
        marker = name.find(kind)
        if marker >= 0 and "application-inference-profile/" not in name:
            return name[marker + len(kind) :] or name
    return name


def _exclusive(draft: Draft, uncached: int, reads: int, writes: int) -> None:
    draft.input_tokens = uncached + reads + writes
    draft.cached_input_tokens = reads
    draft.cache_write_tokens = writes


def _one_hour(draft: Draft, usage: object) -> int:
    """1-hour cache writes from a Converse `cacheDetails` list or an Anthropic `cache_creation`."""
    details = usage.get("cacheDetails") if is_object(usage) else None
    if isinstance(details, list):
        return sum(
            optional_count(draft, item, "inputTokens", "cacheDetails.inputTokens")
            for item in details
            if is_object(item) and item.get("ttl") == "1h"
        )
    split = usage.get("cache_creation") if is_object(usage) else None
    return optional_count(draft, split, "ephemeral_1h_input_tokens", "1-hour cache-creation tokens")


def _body_usage(body: object) -> object:
    """The usage object of a logged response body (Converse or Anthropic), if any."""
    if isinstance(body, list):  # a streamed body: its chunks
        found = [_body_usage(chunk) for chunk in body]
        return next((usage for usage in found if usage is not None), None)
    if not is_object(body):
        return None
    usage = body.get("usage", dig(body, "message", "usage"))
    return usage if is_object(usage) else None


def _from_log(record: Mapping[str, Any]) -> Draft:
    if record.get("errorCode") and not is_object(record.get("output")):
        raise BadRecord("failed invocation (not billed)")
    given = record.get("input")
    produced = record.get("output")
    if not is_object(given) or given.get("inputTokenCount") is None:
        raise BadRecord("invocation log without input.inputTokenCount")
    draft = Draft(timestamp=record.get("timestamp"))
    draft.model = model_id(record.get("modelId"))
    _exclusive(
        draft,
        token_count(draft, given["inputTokenCount"], "input.inputTokenCount"),
        optional_count(draft, given, "cacheReadInputTokenCount", "input.cacheReadInputTokenCount"),
        optional_count(
            draft, given, "cacheWriteInputTokenCount", "input.cacheWriteInputTokenCount"
        ),
    )
    draft.output_tokens = optional_count(
        draft, produced, "outputTokenCount", "output.outputTokenCount"
    )
    body = produced.get("outputBodyJson") if is_object(produced) else None
    draft.cache_write_1h_tokens = min(_one_hour(draft, _body_usage(body)), draft.cache_write_tokens)
    draft.groups = _log_groups(record) or None
    return draft


def _log_groups(record: Mapping[str, Any]) -> dict[str, str]:
    metadata = json_value(record.get("requestMetadata"), "requestMetadata")
    groups = string_groups(metadata)
    put_group(groups, "operation", record.get("operation"))
    put_group(groups, "region", record.get("region"))
    put_group(groups, "account", record.get("accountId"))
    put_group(groups, "identity", dig(record, "identity", "arn"))
    return groups


def _from_meter(draft: Draft, meter: Mapping[str, Any], names: tuple[str, str, str, str]) -> bool:
    """Counts from a billing meter (headers or invocation metrics); False when it has none."""
    uncached, reads, writes, output = names
    if meter.get(uncached) is None:
        return False
    _exclusive(
        draft,
        token_count(draft, meter[uncached], uncached),
        optional_count(draft, meter, reads, reads),
        optional_count(draft, meter, writes, writes),
    )
    draft.output_tokens = optional_count(draft, meter, output, output)
    return True


HEADER_NAMES = (
    f"{HEADER}input-token-count",
    f"{HEADER}cache-read-input-token-count",
    f"{HEADER}cache-write-input-token-count",
    f"{HEADER}output-token-count",
)
METRIC_NAMES = (
    "inputTokenCount",
    "cacheReadInputTokenCount",
    "cacheWriteInputTokenCount",
    "outputTokenCount",
)


def _from_converse(draft: Draft, usage: Mapping[str, Any]) -> None:
    reads = optional_count(draft, usage, "cacheReadInputTokens", "usage.cacheReadInputTokens") or (
        optional_count(draft, usage, "cacheReadInputTokenCount", "usage.cacheReadInputTokenCount")
    )
    writes = optional_count(
        draft, usage, "cacheWriteInputTokens", "usage.cacheWriteInputTokens"
    ) or optional_count(
        draft, usage, "cacheWriteInputTokenCount", "usage.cacheWriteInputTokenCount"
    )
    _exclusive(
        draft, optional_count(draft, usage, "inputTokens", "usage.inputTokens"), reads, writes
    )
    draft.output_tokens = optional_count(draft, usage, "outputTokens", "usage.outputTokens")
    draft.cache_write_1h_tokens = min(_one_hour(draft, usage), writes)


def _from_body(draft: Draft, body: Mapping[str, Any]) -> bool:
    """Counts from a response body of a known shape; False when the body holds none."""
    if body.get("type") == "message" and is_object(body.get("usage")):
        anthropic.apply_usage(
            draft, body["usage"]
        )  # Anthropic's Messages body, as Bedrock returns it
        return True
    if _is_converse(body):
        _from_converse(draft, body["usage"])
        return True
    if "generation_token_count" in body:
        draft.input_tokens = token_count(draft, body["prompt_token_count"], "prompt_token_count")
        draft.output_tokens = token_count(
            draft, body["generation_token_count"], "generation_token_count"
        )
        return True
    if "inputTextTokenCount" in body and isinstance(body.get("results"), list):
        draft.input_tokens = token_count(draft, body["inputTextTokenCount"], "inputTextTokenCount")
        draft.output_tokens = sum(
            optional_count(draft, result, "tokenCount", "results.tokenCount")
            for result in body["results"]
        )
        return True
    if "inputTextTokenCount" in body and "embedding" in body:
        draft.input_tokens = token_count(draft, body["inputTextTokenCount"], "inputTextTokenCount")
        draft.output_tokens = 0
        return True
    return False


def _stream_part(body: Mapping[str, Any]) -> bool:
    """A chunk of a streamed InvokeModel body before the last (no stop reason yet, no metrics):
    part of a response, not a call (the last chunk carries the call's invocation metrics)."""
    if "generation_token_count" in body:
        return body.get("stop_reason") is None
    if "outputText" in body:
        return body.get("completionReason") is None
    outputs = body.get("outputs", body.get("choices"))
    if isinstance(outputs, list) and outputs and is_object(outputs[0]):
        return outputs[0].get("stop_reason") is None
    return False


def _response_time(record: Mapping[str, Any]) -> object:
    stamp = first_timestamp(record)
    if stamp is not None:
        return stamp
    date = _headers(record).get("date")
    if isinstance(date, str):
        try:
            return parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return None
    return None


def _from_response(record: Mapping[str, Any]) -> list[Draft]:
    """A runtime response body (or a logged boto3 response around one); [] for a stream part."""
    if any(key in record for key in STREAM_EVENTS) and len(record) <= 2:
        return []
    wrapped = record.get("body")
    body: Mapping[str, Any] = wrapped if is_object(wrapped) else record
    event = body.get("metadata")
    if is_object(event) and is_object(event.get("usage")):
        body = {**event, "stopReason": None}  # a ConverseStream metadata event
    draft = Draft(timestamp=_response_time(record))
    draft.model = model_id(record.get("modelId") or record.get("model_id")) or model_name(
        body.get("model")
    )
    metrics = body.get(METRICS)
    metered = _from_meter(draft, _headers(record), HEADER_NAMES) or (
        is_object(metrics) and _from_meter(draft, metrics, METRIC_NAMES)
    )
    if not metered and _stream_part(body):
        return []
    if not metered and not _from_body(draft, body):
        raise BadRecord(
            "Bedrock response body without token counts (Bedrock reports them in the "
            "x-amzn-bedrock-*-token-count headers and the invocation logs)"
        )
    if draft.cache_write_tokens:
        draft.cache_write_1h_tokens = min(
            _one_hour(draft, body.get("usage")), draft.cache_write_tokens
        )
    return [draft]


def _message_record(text: str) -> Mapping[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRecord("CloudWatch message is not a JSON invocation log") from None
    if not is_object(value) or not _is_log(value):
        raise BadRecord("CloudWatch message is not an invocation log")
    return value


def _from_event(event: object) -> Draft | BadRecord:
    """One CloudWatch log event: its `message` is an invocation log (its own timestamp wins)."""
    if not is_object(event) or not isinstance(event.get("message"), str):
        return BadRecord("CloudWatch event without a message")
    try:
        record = _message_record(event["message"])
        if "timestamp" not in record and "timestamp" in event:
            record = {**record, "timestamp": event["timestamp"]}
        return _from_log(record)
    except BadRecord as bad:
        return bad


def extract(record: Mapping[str, Any]) -> list[Draft | BadRecord] | Draft:
    """One invocation log or response → its draft; a CloudWatch page → one per event."""
    if _is_log(record):
        return _from_log(record)
    events = _envelope(record)
    if events is not None:
        return [_from_event(event) for event in events]
    for key in MESSAGE_KEYS:
        if isinstance(record.get(key), str) and record[key].lstrip().startswith("{"):
            logged = _message_record(record[key])
            stamp = record.get("timestamp", record.get("@timestamp"))
            if "timestamp" not in logged and stamp is not None:
                logged = {**logged, "timestamp": stamp}
            return _from_log(logged)
    return list(_from_response(record))
