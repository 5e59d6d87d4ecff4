"""Every fixture log is recognised as its format without --format, and the documented examples are
recognised as the format they document (detection order: more specific formats first)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from costaudit.errors import InputError
from costaudit.ingest.formats import DOCS, builtin_formats, format_names
from support import Read

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"
DETECTED = {
    "anthropic_batch_results.jsonl": "anthropic",
    "anthropic_messages.jsonl": "anthropic",
    "azure_trace.csv": "azure-trace",
    "bedrock_cloudwatch_events.json": "bedrock",
    "bedrock_invocation_logs.jsonl": "bedrock",
    "bedrock_responses.jsonl": "bedrock",
    "burstgpt.csv": "burstgpt",
    "gemini.jsonl": "gemini",
    "generic_canonical.csv": "generic",
    "helicone.csv": "helicone",
    "helicone.jsonl": "helicone",
    "helicone_old_cost.csv": "helicone",
    "langfuse_observations.csv": "langfuse",
    "langfuse_observations.jsonl": "langfuse",
    "langsmith_runs.jsonl": "langsmith",
    "langsmith_runs_page.json": "langsmith",
    "litellm_payloads.jsonl": "litellm",
    "litellm_spend_logs.json": "litellm",
    "litellm_standard_payloads.jsonl": "litellm",
    "mlflow_trace.json": "mlflow",
    "mlflow_traces_table.jsonl": "mlflow",
    "mooncake.jsonl": "mooncake",
    "openai_batch_output.jsonl": "openai",
    "openai_chat.jsonl": "openai",
    "otel_document.json": "otel",
    "otel_pydantic_ai.jsonl": "otel",
    "otel_spans.jsonl": "otel",
    "phoenix_spans.jsonl": "openinference",
    "phoenix_spans_dataframe.csv": "openinference",
}
NEEDS_MAP = {"generic_mapped.csv", "generic_nested.jsonl"}


def test_every_fixture_is_listed() -> None:
    assert {path.name for path in LOGS.iterdir()} == set(DETECTED) | NEEDS_MAP


@pytest.mark.parametrize(("name", "expected"), sorted(DETECTED.items()))
def test_fixture_is_detected(read: Read, name: str, expected: str) -> None:
    assert [report.format for report in read(name).files] == [expected]


@pytest.mark.parametrize("name", sorted(NEEDS_MAP))
def test_layouts_of_no_known_format_need_a_mapping(read: Read, name: str) -> None:
    with pytest.raises(InputError, match="not a log format costaudit recognises"):
        read(name)


def _first_match(record: dict[str, object]) -> str | None:
    for fmt in builtin_formats():
        if fmt.detect(record):
            return fmt.name
    return None


@pytest.mark.parametrize("name", format_names())
def test_documented_example_is_detected_as_its_format(name: str) -> None:
    example = DOCS[name].example.replace("…", "x")
    if not example.startswith("{"):  # a CSV header: its columns identify the format
        columns = example.split(",")
        matches = [
            fmt.name
            for fmt in builtin_formats()
            if (fmt.detect_columns is not None and fmt.detect_columns(columns))
            or fmt.detect(dict.fromkeys(columns, "1"))
        ]
        assert matches[0] == name
        return
    assert _first_match(orjson.loads(example)) == name
