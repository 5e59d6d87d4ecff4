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
    gemini,
    generic,
    helicone,
    langfuse,
    litellm,
    openai,
    otel,
    traces,
)
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft

if TYPE_CHECKING:
    from costaudit.ingest.columnar import ColumnarLoader

Extractor = Callable[[Mapping[str, Any]], "Draft | Sequence[Draft | BadRecord]"]
"""One record → one draft, or several (an OTLP batch of spans), possibly none (nothing billed in it);
a BadRecord in the list skips that one call with its reason."""


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
    columnar: Columnar | None = None


def builtin_formats(
    mapping: Mapping[str, str] | None = None, group_fields: Sequence[str] = ()
) -> list[Format]:
    """Every format, most specific first; `mapping`/`group_fields` configure the generic reader."""
    fields = tuple(dict.fromkeys((*generic.DEFAULT_GROUP_FIELDS, *group_fields)))
    generic_format = generic.GenericFormat(mapping=dict(mapping or {}), group_fields=fields)
    otel_format = otel.OtelFormat(group_fields=tuple(group_fields))
    return [
        Format(otel.NAME, otel.detect, otel_format.extract),
        Format(
            anthropic.NAME,
            anthropic.detect,
            anthropic.extract,
            columnar=Columnar(anthropic.is_batch_result, anthropic.batch_result_columns),
        ),
        Format(gemini.NAME, gemini.detect, gemini.extract),
        Format(litellm.NAME, litellm.detect, litellm.extract),
        Format(langfuse.NAME, langfuse.detect, langfuse.extract),
        Format(helicone.NAME, helicone.detect, helicone.extract),
        Format(
            openai.NAME,
            openai.detect,
            openai.extract,
            columnar=Columnar(openai.is_usage_body, openai.usage_columns),
        ),
        Format(traces.AZURE, traces.detect_azure, traces.extract_azure),
        Format(traces.MOONCAKE, traces.detect_mooncake, traces.extract_mooncake),
        Format(traces.BURSTGPT, traces.detect_burstgpt, traces.extract_burstgpt),
        Format(generic.NAME, generic.detect, generic_format.extract, generic.detect_columns),
    ]


def format_names() -> list[str]:
    return [fmt.name for fmt in builtin_formats()]


DESCRIPTIONS = {
    otel.NAME: "OpenTelemetry GenAI spans, OTLP JSON (lines or a document); current and deprecated gen_ai.* names",
    anthropic.NAME: "Anthropic Messages responses and Message Batches results (input_tokens excludes cache)",
    gemini.NAME: "Google Gemini / Vertex AI generateContent responses (usageMetadata; thoughts billed as output)",
    litellm.NAME: "LiteLLM proxy spend logs (JSON array, paged JSON, JSON lines, CSV) and callback payloads",
    langfuse.NAME: "Langfuse observation exports (API JSON, export CSV/JSON lines/Parquet; usage_details)",
    helicone.NAME: "Helicone request exports (JSON lines rows, 12-column CSV)",
    openai.NAME: "OpenAI Chat Completions / Responses: bodies, request+response gateway lines, requests, Batch API",
    traces.AZURE: "Azure LLM inference trace CSV (TIMESTAMP, ContextTokens, GeneratedTokens); needs --model",
    traces.MOONCAKE: "Mooncake trace JSON lines (relative ms timestamps, token lengths, 512-token hash_ids); needs --model",
    traces.BURSTGPT: "BurstGPT-style CSV (relative timestamps, Model, Request/Response tokens)",
    generic.NAME: "any JSON lines/JSON/CSV/Parquet with the canonical column names, or mapped with --map",
}
"""One line per format, for `costaudit formats` and the README."""
