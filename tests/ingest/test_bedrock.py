"""Amazon Bedrock: invocation logs (S3 lines, CloudWatch events and exports) and runtime responses, with
Bedrock's convention (input excludes cache reads and writes) applied."""

from __future__ import annotations

import csv
import gzip
import json
from decimal import Decimal
from pathlib import Path

from costaudit.ingest.formats.bedrock import model_id
from support import Column, MakeTable, Price, Read, Rows, Usage

M = Decimal(1_000_000)
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_invocation_logs_apply_the_exclusive_input_convention(
    read: Read, table_rows: Rows, usage: Usage
) -> None:
    workload = read("bedrock_invocation_logs.jsonl")
    assert [report.format for report in workload.files] == ["bedrock"]
    assert workload.records_read == 5
    assert dict(workload.problems.skipped) == {"failed invocation (not billed)": 1}
    assert table_rows(workload) == [
        usage("meta.llama3-70b-instruct-v1:0", 15, 12),
        # 3 uncached + 25,037 written (20,000 of them for an hour, from the body's cacheDetails)
        usage(SONNET, 3 + 25037, 13, write=25037, write_1h=20000),
        usage(SONNET, 5 + 25037, 220, cached=25037),
        usage("amazon.nova-lite-v1:0", 11, 10),
    ]


def test_invocation_log_groups_and_times(read: Read, column: Column) -> None:
    workload = read("bedrock_invocation_logs.jsonl")
    assert column(workload, "feature") == ["geo-quiz", "support", "support", None]
    assert column(workload, "operation") == [
        "InvokeModel",
        "Converse",
        "ConverseStream",
        "InvokeModel",
    ]
    assert column(workload, "region") == ["us-east-1"] * 4
    assert [stamp.isoformat() for stamp in column(workload, "timestamp")] == [
        "2026-10-05T10:00:00+00:00",
        "2026-10-05T10:30:00+00:00",
        "2026-10-05T11:00:00+00:00",
        "2026-10-05T11:30:00+00:00",
    ]


def test_invocation_logs_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "llama-3-70b": {
                "input": "2.65",
                "output": "3.50",
                "aliases": ["meta.llama3-70b-instruct-v1:0"],
            },
            "sonnet-on-bedrock": {
                "input": "3.30",
                "cached_input": "0.33",
                "cache_write": "4.125",
                "cache_write_1h": "6.60",
                "output": "16.50",
                "aliases": [SONNET],
            },
            "nova-lite": {"input": "0.06", "output": "0.24", "aliases": ["amazon.nova-lite-v1:0"]},
        }
    )
    cost = price(table, read("bedrock_invocation_logs.jsonl").requests)
    llama = 15 * Decimal("2.65") + 12 * Decimal("3.50")
    writing = (
        3 * Decimal("3.30")
        + 5037 * Decimal("4.125")
        + 20000 * Decimal("6.60")
        + 13 * Decimal("16.50")
    )
    reading = 5 * Decimal("3.30") + 25037 * Decimal("0.33") + 220 * Decimal("16.50")
    nova = 11 * Decimal("0.06") + 10 * Decimal("0.24")
    assert cost == (llama + writing + reading + nova) / M
    assert cost == Decimal("0.164995545")


def test_s3_delivery_gzip_reads_the_same(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows
) -> None:
    gz = tmp_path / "20261005T1000Z_0f5c5b8e.json.gz"
    gz.write_bytes(gzip.compress((logs / "bedrock_invocation_logs.jsonl").read_bytes()))
    assert table_rows(read(gz)) == table_rows(read("bedrock_invocation_logs.jsonl"))


def test_cloudwatch_filter_log_events_output(
    read: Read, table_rows: Rows, usage: Usage, column: Column
) -> None:
    workload = read("bedrock_cloudwatch_events.json")
    assert [report.format for report in workload.files] == ["bedrock"]
    assert table_rows(workload) == [
        usage("meta.llama3-70b-instruct-v1:0", 15, 12),
        usage(SONNET, 25040, 13, write=25037, write_1h=20000),
    ]
    assert column(workload, "feature") == ["geo-quiz", "support"]


def test_cloudwatch_insights_csv_export(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    """A Logs Insights result downloaded as CSV: `@timestamp`, `@message` (the record as text)."""
    records = [
        json.loads(line)
        for line in (logs / "bedrock_invocation_logs.jsonl").read_text().splitlines()
    ]
    path = tmp_path / "logs-insights-results.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["@timestamp", "@message"])
        for record in records[:2]:
            writer.writerow(["2026-10-05 10:00:00.000", json.dumps(record)])
    assert table_rows(read(path)) == [
        usage("meta.llama3-70b-instruct-v1:0", 15, 12),
        usage(SONNET, 25040, 13, write=25037, write_1h=20000),
    ]


def test_runtime_responses(read: Read, table_rows: Rows, usage: Usage) -> None:
    """Converse with a cache read (exclusive input), the ConverseStream metadata event (the other four
    stream events are no calls), Llama whose billing headers win over the body, a bare Llama body,
    Mistral with its count headers and without (skipped: the body holds none), Titan, Nova, an
    Anthropic body with headers (headers win) and without (Anthropic's own exclusive usage), and the
    last chunk of an Anthropic stream (its invocation metrics)."""
    workload = read("bedrock_responses.jsonl")
    assert [report.format for report in workload.files] == ["bedrock"]
    assert workload.records_read == 11
    assert list(workload.problems.skipped) == [
        "Bedrock response body without token counts (Bedrock reports them in the "
        "x-amzn-bedrock-*-token-count headers and the invocation logs)"
    ]
    assert table_rows(workload) == [
        usage("amazon.nova-pro-v1:0", 1 + 1024, 49, cached=1024),
        usage(None, 14, 9),
        usage("meta.llama3-70b-instruct-v1:0", 8, 4),
        usage(None, 15, 12),
        usage("mistral.mistral-large-2402-v1:0", 21, 64),
        usage(None, 9, 23),
        usage(None, 11, 10),
        usage("claude-3-haiku-20240307", 14, 36),
        usage("claude-3-haiku-20240307", 12 + 2048, 90, cached=2048),
        usage(None, 8, 4),
    ]


def test_runtime_responses_exact_cost(read: Read, price: Price, make_table: MakeTable) -> None:
    table = make_table(
        **{
            "nova-pro": {
                "input": "0.80",
                "cached_input": "0.20",
                "output": "3.20",
                "aliases": ["amazon.nova-pro-v1:0"],
            },
            "haiku-3": {
                "input": "0.25",
                "cached_input": "0.03",
                "output": "1.25",
                "aliases": ["claude-3-haiku-20240307"],
            },
            "mistral-large": {
                "input": "4.00",
                "output": "12.00",
                "aliases": ["mistral.mistral-large-2402-v1:0"],
            },
        }
    )
    cost = price(table, read("bedrock_responses.jsonl").requests)
    nova = 1 * Decimal("0.80") + 1024 * Decimal("0.20") + 49 * Decimal("3.20")
    haiku = (
        14 * Decimal("0.25")
        + 36 * Decimal("1.25")
        + 12 * Decimal("0.25")
        + 2048 * Decimal("0.03")
        + 90 * Decimal("1.25")
    )
    mistral = 21 * Decimal("4.00") + 64 * Decimal("12.00")
    assert cost == (nova + haiku + mistral) / M
    assert cost == Decimal("0.00143984")


def test_response_time_comes_from_the_http_date(read: Read, column: Column) -> None:
    stamps = column(read("bedrock_responses.jsonl"), "timestamp")
    assert stamps[0].isoformat() == "2026-10-05T12:00:00+00:00"
    assert stamps[1] is None


def test_model_for_bare_bodies(read: Read, column: Column) -> None:
    models = column(read("bedrock_responses.jsonl", default_model="amazon.nova-lite-v1:0"), "model")
    assert models.count("amazon.nova-lite-v1:0") == 5


def test_streamed_invoke_chunks_bill_once(
    read: Read, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    """A streamed Llama body logged chunk by chunk: only the last (with the invocation metrics) bills."""
    chunks = [
        {
            "generation": "4",
            "prompt_token_count": 8,
            "generation_token_count": 1,
            "stop_reason": None,
        },
        {
            "generation": "2",
            "prompt_token_count": None,
            "generation_token_count": 2,
            "stop_reason": None,
        },
        {
            "generation": "",
            "prompt_token_count": None,
            "generation_token_count": 4,
            "stop_reason": "stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 8,
                "outputTokenCount": 4,
                "invocationLatency": 9825,
                "firstByteLatency": 283,
            },
        },
    ]
    path = tmp_path / "stream.jsonl"
    path.write_text("".join(json.dumps(chunk) + "\n" for chunk in chunks))
    workload = read(path)
    assert workload.records_read == 1
    assert table_rows(workload) == [usage(None, 8, 4)]


def test_model_ids_from_arns() -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert model_id(arn) == "anthropic.claude-3-haiku-20240307-v1:0"
    profile = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET}"
    assert model_id(profile) == SONNET
    app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    assert model_id(app) == app
    assert model_id("meta.llama3-70b-instruct-v1:0") == "meta.llama3-70b-instruct-v1:0"
    assert model_id("") is None


def test_cloudwatch_subscription_delivery(
    read: Read, logs: Path, tmp_path: Path, table_rows: Rows, usage: Usage
) -> None:
    """What a CloudWatch Logs subscription (Firehose, Lambda) delivers: gzip'd `logEvents`."""
    records = (logs / "bedrock_invocation_logs.jsonl").read_text().splitlines()
    delivery = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/bedrock/modelinvocations",
        "logStream": "aws/bedrock/modelinvocations",
        "subscriptionFilters": ["to-firehose"],
        "logEvents": [
            {"id": str(n), "timestamp": 1791194400000 + n, "message": line}
            for n, line in enumerate(records[2:4])
        ],
    }
    path = tmp_path / "delivery.gz"
    path.write_bytes(gzip.compress(json.dumps(delivery).encode()))
    assert table_rows(read(path)) == [
        usage(SONNET, 5 + 25037, 220, cached=25037),
        usage("amazon.nova-lite-v1:0", 11, 10),
    ]
