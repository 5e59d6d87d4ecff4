"""Traces from agent frameworks and tracing tools: only model calls are billed, never the agent, chain or
workflow spans that repeat their usage (pydantic-ai over OTLP, Phoenix/OpenInference, LangSmith, MLflow)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from costaudit.ingest.spans import CALLS_MISSING, REPEATS_CALLS
from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)


def test_pydantic_ai_agent_run_is_not_a_third_call(
    read: Read, table_rows: Rows, usage: Usage, price: Price, make_table: MakeTable
) -> None:
    """The agent run span carries the SUM of its two chat spans (103 in, 12 out) and names no
    operation; it arrives in the batch after its children. Billing it would double the tokens."""
    workload = read("otel_pydantic_ai.jsonl")
    assert [report.format for report in workload.files] == ["otel"]
    assert workload.records_read == 3
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 1}
    assert table_rows(workload) == [
        usage("gpt-4o-2024-08-06", 51, 4),
        usage("gpt-4o-2024-08-06", 52, 8),
    ]
    table = make_table(
        **{"gpt-4o": {"input": "2.50", "output": "10.00", "aliases": ["gpt-4o-2024-08-06"]}}
    )
    assert price(table, workload.requests) == (103 * Decimal("2.50") + 12 * Decimal("10")) / M


def test_a_trace_spread_over_files_is_resolved_at_the_end(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    calls, agent = (logs / "otel_pydantic_ai.jsonl").read_text().splitlines()
    (tmp_path / "a.jsonl").write_text(agent + "\n")
    (tmp_path / "b.jsonl").write_text(calls + "\n")
    workload = read(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 1}
    assert [report.records for report in workload.files] == [1, 2]
    assert table_rows(workload) == [
        usage("gpt-4o-2024-08-06", 51, 4),
        usage("gpt-4o-2024-08-06", 52, 8),
    ]


def test_phoenix_span_objects(read: Read, table_rows: Rows, usage: Usage, column: Column) -> None:
    """AGENT span with its calls' summed counts set aside; the OpenAI call's cache reads and the
    Anthropic call's cache writes are parts of `llm.token_count.prompt`; embeddings have no output;
    a failed LLM span without counts is skipped; the TOOL span is not a record."""
    workload = read("phoenix_spans.jsonl")
    assert [report.format for report in workload.files] == ["openinference"]
    assert workload.records_read == 5
    assert dict(workload.problems.skipped) == {
        REPEATS_CALLS: 1,
        "failed GenAI call without token usage (not billed)": 1,
    }
    assert table_rows(workload) == [
        usage("gpt-4o-mini-2024-07-18", 2150, 160, cached=1920),
        usage("claude-haiku-4-5", 1200, 250, write=1024),
        usage("text-embedding-3-small", 12, 0),
    ]
    assert column(workload, "provider") == ["openai", "anthropic", None]
    assert column(workload, "session") == ["s-4411", "s-4411", None]


def test_phoenix_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "gpt-4o-mini": {
                "input": "0.15",
                "cached_input": "0.075",
                "output": "0.60",
                "aliases": ["gpt-4o-mini-2024-07-18"],
            },
            "claude-haiku-4-5": {"input": "1.00", "cache_write": "1.25", "output": "5.00"},
        }
    )
    mini = 230 * Decimal("0.15") + 1920 * Decimal("0.075") + 160 * Decimal("0.60")
    haiku = 176 * Decimal("1.00") + 1024 * Decimal("1.25") + 250 * Decimal("5.00")
    assert price(table, read("phoenix_spans.jsonl").requests) == (mini + haiku) / M


def _otlp_value(value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"intValue": str(value)}
    return {"stringValue": str(value)}


def test_openinference_spans_over_otlp(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows
) -> None:
    """The same Phoenix trace sent as OTLP JSON (how OpenInference instrumentors export it): the
    OTel reader bills the same calls and sets the same AGENT span aside."""
    spans = []
    for line in (logs / "phoenix_spans.jsonl").read_text().splitlines():
        span = json.loads(line)
        spans.append(
            {
                "traceId": span["context"]["trace_id"],
                "spanId": span["context"]["span_id"],
                "parentSpanId": span["parent_id"] or "",
                "name": span["name"],
                "startTimeUnixNano": "1791277200000000000",
                "attributes": [
                    {"key": key, "value": _otlp_value(value)}
                    for key, value in span["attributes"].items()
                ],
                "status": {"code": 2 if span["status_code"] == "ERROR" else 1},
            }
        )
    path = tmp_path / "openinference.jsonl"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}) + "\n")
    workload = read(path)
    assert [report.format for report in workload.files] == ["otel"]
    assert dict(workload.problems.skipped) == dict(read("phoenix_spans.jsonl").problems.skipped)
    assert table_rows(workload) == table_rows(read("phoenix_spans.jsonl"))


def test_phoenix_dataframe_csv_and_parquet(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    """The spans dataframe as CSV, and the same frame as Parquet (TraceDataset's format)."""
    expected = [usage("gpt-4o", 900, 75, cached=512), usage("gpt-4o", 300, 40)]
    workload = read("phoenix_spans_dataframe.csv")
    assert [report.format for report in workload.files] == ["openinference"]
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 1}
    assert table_rows(workload) == expected
    frame = pd.read_csv(logs / "phoenix_spans_dataframe.csv")
    frame.to_parquet(tmp_path / "spans.parquet")
    parquet = read(tmp_path / "spans.parquet")
    assert [report.format for report in parquet.files] == ["openinference"]
    assert table_rows(parquet) == expected


def test_phoenix_page_of_spans(read: Read, logs: Path, tmp_path: Path, table_rows: Rows) -> None:
    spans = [json.loads(line) for line in (logs / "phoenix_spans.jsonl").read_text().splitlines()]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"data": spans, "next_cursor": None}))
    assert table_rows(read(page)) == table_rows(read("phoenix_spans.jsonl"))


def test_langsmith_runs(read: Read, table_rows: Rows, usage: Usage, column: Column) -> None:
    """The chain run's counts (LangSmith's sum of its children) are set aside; the tool run (zero
    counts) is not a record; the llm runs' usage_metadata is inclusive of cache reads and writes."""
    workload = read("langsmith_runs.jsonl")
    assert [report.format for report in workload.files] == ["langsmith"]
    assert workload.records_read == 3
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 1}
    assert table_rows(workload) == [
        usage("gpt-4o-mini", 3200, 40, cached=3072),
        usage("claude-haiku-4-5-20251001", 2270, 150, write=2048, write_1h=2048),
    ]
    assert column(workload, "feature") == ["rates", "rates"]
    assert column(workload, "provider") == ["openai", "anthropic"]
    assert column(workload, "session") == ["support-prod", "support-prod"]
    assert "thread_id" not in workload.requests.groups


def test_langsmith_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "gpt-4o-mini": {"input": "0.15", "cached_input": "0.075", "output": "0.60"},
            "claude-haiku-4-5": {
                "input": "1.00",
                "cache_write": "1.25",
                "cache_write_1h": "2.00",
                "output": "5.00",
                "aliases": ["claude-haiku-4-5-20251001"],
            },
        }
    )
    mini = 128 * Decimal("0.15") + 3072 * Decimal("0.075") + 40 * Decimal("0.60")
    haiku = 222 * Decimal("1.00") + 2048 * Decimal("2.00") + 150 * Decimal("5.00")
    assert price(table, read("langsmith_runs.jsonl").requests) == (mini + haiku) / M


def test_langsmith_page_with_a_root_run_whose_calls_are_missing(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    workload = read("langsmith_runs_page.json")
    assert [report.format for report in workload.files] == ["langsmith"]
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 1, CALLS_MISSING: 1}
    assert table_rows(workload) == [usage("gpt-4o-mini", 120, 12)]


def test_langsmith_parquet_export(read: Read, logs: Path, tmp_path: Path, table_rows: Rows) -> None:
    """A bulk export as Parquet: nested columns as JSON text."""
    runs = [json.loads(line) for line in (logs / "langsmith_runs.jsonl").read_text().splitlines()]
    for run in runs:
        for key in (
            "inputs",
            "outputs",
            "extra",
            "prompt_token_details",
            "completion_token_details",
        ):
            run[key] = json.dumps(run.get(key))
        run["tags"] = json.dumps(run["tags"])
    pd.DataFrame(runs).to_parquet(tmp_path / "runs.parquet")
    workload = read(tmp_path / "runs.parquet")
    assert [report.format for report in workload.files] == ["langsmith"]
    assert table_rows(workload) == table_rows(read("langsmith_runs.jsonl"))


def test_mlflow_trace_document(
    read: Read, table_rows: Rows, usage: Usage, column: Column, price: Price, make_table: MakeTable
) -> None:
    """AGENT and TOOL spans carry nothing; the CHAIN span repeats its chat's usage (set aside); the
    trace's own `mlflow.trace.tokenUsage` metadata is never read."""
    workload = read("mlflow_trace.json")
    assert [report.format for report in workload.files] == ["mlflow"]
    assert workload.records_read == 3
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 1}
    assert table_rows(workload) == [
        usage("gpt-4o-mini", 1600, 210, cached=1024),
        usage("claude-haiku-4-5", 800, 120, write=512),
    ]
    assert column(workload, "user") == ["alice", "alice"]
    assert column(workload, "trace") == ["trip_planner", "trip_planner"]
    table = make_table(
        **{
            "gpt-4o-mini": {"input": "0.15", "cached_input": "0.075", "output": "0.60"},
            "claude-haiku-4-5": {
                "input": "1.00",
                "cached_input": "0.10",
                "cache_write": "1.25",
                "output": "5.00",
            },
        }
    )
    mini = 576 * Decimal("0.15") + 1024 * Decimal("0.075") + 210 * Decimal("0.60")
    haiku = 288 * Decimal("1.00") + 512 * Decimal("1.25") + 120 * Decimal("5.00")
    assert price(table, workload.requests) == (mini + haiku) / M


def test_mlflow_trace_table_decides_unknown_spans_by_the_tree(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    """`summarise` is an UNKNOWN span with usage above a CHAT_MODEL span with usage: an aggregate."""
    workload = read("mlflow_traces_table.jsonl")
    assert [report.format for report in workload.files] == ["mlflow"]
    assert dict(workload.problems.skipped) == {REPEATS_CALLS: 2}
    assert table_rows(workload) == [usage("gpt-4o-mini", 300, 40), usage("gpt-4o-mini", 420, 55)]


def test_mlflow_trace_table_as_csv(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows
) -> None:
    rows = [
        json.loads(line) for line in (logs / "mlflow_traces_table.jsonl").read_text().splitlines()
    ]
    for row in rows:
        for key in ("spans", "request_metadata", "tags"):
            row[key] = json.dumps(row[key])
    pd.DataFrame(rows).to_csv(tmp_path / "traces.csv", index=False)
    workload = read(tmp_path / "traces.csv")
    assert [report.format for report in workload.files] == ["mlflow"]
    assert table_rows(workload) == table_rows(read("mlflow_traces_table.jsonl"))


@pytest.mark.parametrize(
    "name",
    [
        "otel_pydantic_ai.jsonl",
        "phoenix_spans_dataframe.csv",
        "langsmith_runs.jsonl",
        "mlflow_trace.json",
    ],
)
def test_aggregates_are_not_errors_under_strict(read: Read, name: str) -> None:
    """--strict stops at a bad record; a set-aside aggregate is not one."""
    workload = read(name, strict=True)
    assert workload.problems.set_aside_reasons == {REPEATS_CALLS}
