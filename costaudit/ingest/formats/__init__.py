"""The log formats costaudit reads, in the order they are tried when detecting a file's format.

Each format has a name, `detect(record) -> bool` and `extract(record) -> Draft | list[Draft | BadRecord]`
for JSON records, optionally `detect_columns(columns) -> bool` for CSV/Parquet files, whose rows are
handed to `extract` as records of strings, and optionally a columnar extractor that reads blocks of
JSON lines as columns (costaudit.ingest.columnar). More specific formats come first; `generic` is last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costaudit.ingest.formats import (
    anthropic,
    bedrock,
    gemini,
    generic,
    helicone,
    langfuse,
    langsmith,
    litellm,
    mlflow,
    openai,
    openinference,
    otel,
    traces,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.spans import Span
from costaudit.ingest.table import Draft

if TYPE_CHECKING:
    from costaudit.ingest.columnar import ColumnarLoader

Extractor = Callable[[Mapping[str, Any]], "Draft | Sequence[Draft | BadRecord | Span]"]
"""One record → one draft, or several (an OTLP batch of spans), possibly none (nothing billed in it);
a BadRecord in the list skips that one call with its reason; a Span is a trace span whose billing the
trace tree decides (costaudit.ingest.spans)."""


@dataclass(frozen=True)
class Columnar:
    """A format's columnar extractor: `suits(record)` tells, from the first records of a JSON-lines
    file, whether to read it the columnar way; `load()` gives the extractor (it imports pyarrow)."""

    suits: Callable[[Mapping[str, Any]], bool]
    load: ColumnarLoader


@dataclass(frozen=True)
class Format:
    """A log format: how to recognise its records and how to turn one into drafts, and optionally
    how to read blocks of its JSON lines as columns."""

    name: str
    detect: Callable[[Mapping[str, Any]], bool]
    extract: Extractor
    detect_columns: Callable[[list[str]], bool] | None = None
    columnar: tuple[Columnar, ...] = ()
    """Columnar extractors for JSON lines of some shapes of the format: a file is read with the
    first one that every one of its first records suits, else the record way."""
    spans: bool = False
    """Records are trace spans, billed once their whole trace is read: a file of them is read
    front to back by one reader, never in parts."""


def builtin_formats(
    mapping: Mapping[str, str] | None = None, group_fields: Sequence[str] = ()
) -> list[Format]:
    """Every format, most specific first; `mapping`/`group_fields` configure the generic reader."""
    fields = tuple(dict.fromkeys((*generic.DEFAULT_GROUP_FIELDS, *group_fields)))
    generic_format = generic.GenericFormat(mapping=dict(mapping or {}), group_fields=fields)
    otel_format = otel.OtelFormat(group_fields=tuple(group_fields))
    phoenix = openinference.OpenInferenceFormat(group_fields=tuple(group_fields))
    runs = langsmith.LangSmithFormat(group_fields=tuple(group_fields))
    return [
        Format(otel.NAME, otel.detect, otel_format.extract, spans=True),
        Format(
            openinference.NAME,
            openinference.detect,
            phoenix.extract,
            openinference.detect_columns,
            spans=True,
        ),
        Format(
            langsmith.NAME, langsmith.detect, runs.extract, langsmith.detect_columns, spans=True
        ),
        Format(mlflow.NAME, mlflow.detect, mlflow.extract, mlflow.detect_columns, spans=True),
        Format(bedrock.NAME, bedrock.detect, bedrock.extract, bedrock.detect_columns),
        Format(
            anthropic.NAME,
            anthropic.detect,
            anthropic.extract,
            columnar=(
                Columnar(anthropic.is_batch_result, anthropic.batch_result_columns),
                Columnar(anthropic.is_message_body, anthropic.message_columns),
            ),
        ),
        Format(
            gemini.NAME,
            gemini.detect,
            gemini.extract,
            columnar=(Columnar(gemini.is_response_body, gemini.response_columns),),
        ),
        Format(
            litellm.NAME,
            litellm.detect,
            litellm.extract,
            columnar=(Columnar(litellm.is_spend_log_row, litellm.spend_log_columns),),
        ),
        Format(langfuse.NAME, langfuse.detect, langfuse.extract),
        Format(
            helicone.NAME,
            helicone.detect,
            helicone.extract,
            columnar=(Columnar(helicone.is_request_row, helicone.request_columns),),
        ),
        Format(
            openai.NAME,
            openai.detect,
            openai.extract,
            columnar=(
                Columnar(openai.is_usage_body, openai.usage_columns),
                Columnar(openai.is_batch_output, openai.batch_output_columns),
            ),
        ),
        Format(traces.AZURE, traces.detect_azure, traces.extract_azure),
        Format(traces.MOONCAKE, traces.detect_mooncake, traces.extract_mooncake),
        Format(traces.BURSTGPT, traces.detect_burstgpt, traces.extract_burstgpt),
        Format(generic.NAME, generic.detect, generic_format.extract, generic.detect_columns),
    ]


def format_names() -> list[str]:
    return [fmt.name for fmt in builtin_formats()]


@dataclass(frozen=True)
class FormatDoc:
    """What `costaudit formats` and the README say about a format."""

    reads: str
    detected_by: str
    """The fields that identify the format's records (how detection recognises it)."""
    example: str
    """One short record of the format (elided with …)."""


DOCS = {
    otel.NAME: FormatDoc(
        "OpenTelemetry GenAI spans, OTLP JSON (lines or a document), incl. OpenInference and "
        "pydantic-ai spans; agent/chain spans that sum their calls are set aside",
        "`resourceSpans[].scopeSpans[].spans[]`; `gen_ai.usage.*` or `llm.token_count.*` attributes",
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"chat gpt-4o","attributes":[{"key":'
        '"gen_ai.usage.input_tokens","value":{"intValue":"1200"}}]}]}]}]}',
    ),
    openinference.NAME: FormatDoc(
        "Arize Phoenix span exports (REST span objects, spans dataframe as JSON lines/CSV/Parquet); "
        "LLM spans billed, AGENT/CHAIN spans set aside",
        "`span_kind` with `context.span_id`; `llm.token_count.prompt`/`completion` attributes",
        openinference.EXAMPLE,
    ),
    langsmith.NAME: FormatDoc(
        "LangSmith runs (JSON lines, `runs` pages, Parquet/CSV exports); `run_type` llm billed, chain "
        "runs with summed tokens set aside",
        "`run_type` with `id`/`trace_id`; `usage_metadata` or `prompt_tokens`/`completion_tokens`",
        langsmith.EXAMPLE,
    ),
    mlflow.NAME: FormatDoc(
        "MLflow traces (`Trace.to_json()` documents, `search_traces()` tables); CHAT_MODEL/LLM spans "
        "billed, AGENT/CHAIN spans set aside",
        "`info` + `data.spans`, or `trace_id`/`request_id` + `spans`; `mlflow.chat.tokenUsage`",
        mlflow.EXAMPLE,
    ),
    bedrock.NAME: FormatDoc(
        "Amazon Bedrock invocation logs (S3, CloudWatch events/exports) and Converse, ConverseStream, "
        "InvokeModel bodies (Llama, Nova, Mistral, Titan); input excludes cache",
        "`schemaType: ModelInvocationLog`/`modelId` + `inputTokenCount`; `usage.inputTokens`; "
        "`prompt_token_count`; `x-amzn-bedrock-*-token-count` headers",
        bedrock.EXAMPLE,
    ),
    anthropic.NAME: FormatDoc(
        "Anthropic Messages responses and Message Batches results (input_tokens excludes cache)",
        "`type: message` with `usage.input_tokens`; batch `custom_id` + `result`",
        '{"type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":7,"output_tokens":445}}',
    ),
    gemini.NAME: FormatDoc(
        "Google Gemini / Vertex AI generateContent responses (usageMetadata; thoughts billed as output)",
        "`usageMetadata.promptTokenCount`",
        '{"modelVersion":"gemini-2.5-flash","usageMetadata":{"promptTokenCount":800}}',
    ),
    litellm.NAME: FormatDoc(
        "LiteLLM proxy spend logs (JSON array, paged JSON, JSON lines, CSV) and StandardLoggingPayload "
        "callbacks; cache and reasoning from usage_object, response.usage or metadata",
        "`startTime` + `spend`/`response_cost` + `prompt_tokens`",
        '{"request_id":"…","call_type":"acompletion","spend":0.0004,"prompt_tokens":1200,"startTime":"…"}',
    ),
    langfuse.NAME: FormatDoc(
        "Langfuse observation exports (API JSON, export CSV/JSON lines/Parquet; usage_details)",
        "`traceId`/`trace_id` + `startTime`/`start_time` + `type`",
        '{"type":"GENERATION","traceId":"…","startTime":"…","usageDetails":{"input":900}}',
    ),
    helicone.NAME: FormatDoc(
        "Helicone request exports (JSON lines rows, 12-column CSV)",
        "`request_created_at` + `prompt_tokens`/`request_id`",
        '{"request_id":"…","request_created_at":"…","model":"gpt-4o","prompt_tokens":120}',
    ),
    openai.NAME: FormatDoc(
        "OpenAI Chat Completions / Responses: bodies, request+response gateway lines, requests, Batch API",
        "`usage.prompt_tokens`/`input_tokens` with `model`; `request`/`response`; batch `custom_id`",
        '{"object":"chat.completion","model":"gpt-4o","usage":{"prompt_tokens":1200}}',
    ),
    traces.AZURE: FormatDoc(
        "Azure LLM inference trace CSV; needs --model",
        "`ContextTokens` + `GeneratedTokens` (+ `TIMESTAMP`)",
        "TIMESTAMP,ContextTokens,GeneratedTokens",
    ),
    traces.MOONCAKE: FormatDoc(
        "Mooncake trace JSON lines (relative ms timestamps, 512-token hash_ids); needs --model",
        "`input_length` + `output_length`",
        '{"timestamp":0,"input_length":6955,"output_length":52,"hash_ids":[46,47]}',
    ),
    traces.BURSTGPT: FormatDoc(
        "BurstGPT-style CSV (relative timestamps, Model, Request/Response tokens)",
        "`Request tokens` + `Response tokens`",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
    ),
    generic.NAME: FormatDoc(
        "any JSON lines/JSON/CSV/Parquet with the canonical column names, or mapped with --map",
        "`input_tokens`, or `prompt` + `model`",
        '{"timestamp":"…","model":"gpt-4o","input_tokens":1200,"output_tokens":85}',
    ),
}
"""What each format reads, how it is recognised, and an example, for `costaudit formats` and the README."""

DESCRIPTIONS = {name: doc.reads for name, doc in DOCS.items()}
"""One line per format."""
