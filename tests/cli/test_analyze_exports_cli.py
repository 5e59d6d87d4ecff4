"""`costaudit analyze` on exports as a new user drops them on it: formats detected without --format,
aggregate spans counted apart, the window guarded, and --group-by keys checked (stdout, stderr and exit
code separately)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from support import data_file

runner = CliRunner()
PRICES = str(data_file("cli/prices.yaml"))
SMALL = str(data_file("cli/openai_small.jsonl"))


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "records"),
    [
        ("bedrock_invocation_logs.jsonl", {"read": 5, "priced": 4, "unpriced": 0, "skipped": 1}),
        ("otel_pydantic_ai.jsonl", {"read": 3, "priced": 2, "unpriced": 0, "skipped": 1}),
        ("phoenix_spans.jsonl", {"read": 5, "priced": 2, "unpriced": 1, "skipped": 2}),
        ("langsmith_runs.jsonl", {"read": 3, "priced": 2, "unpriced": 0, "skipped": 1}),
        ("mlflow_trace.json", {"read": 3, "priced": 2, "unpriced": 0, "skipped": 1}),
    ],
)
def test_exports_are_read_without_format(name: str, records: dict[str, int]) -> None:
    code, out, err = run("analyze", str(data_file(f"logs/{name}")), "-o", "json")
    assert code == 0, err
    assert json.loads(out)["records"] == records


def test_aggregate_spans_have_their_own_problem_kind() -> None:
    code, out, err = run("analyze", str(data_file("logs/otel_pydantic_ai.jsonl")), "-o", "json")
    assert code == 0, err
    problems = {problem["kind"]: problem for problem in json.loads(out)["problems"]}
    assert problems["aggregate"] == {
        "kind": "aggregate",
        "detail": "aggregate span: its usage repeats the model calls under it (not billed)",
        "count": 1,
    }
    assert "skipped" not in problems


def test_a_sub_hour_trace_gets_no_monthly_figure_and_says_why() -> None:
    path = str(data_file("logs/otel_pydantic_ai.jsonl"))
    code, out, err = run("analyze", path, "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["cost"]["monthly_usd"] is None
    factor = Decimal(30) / (Decimal("0.83") / 86_400)
    assert Decimal(doc["cost"]["extrapolation_factor"]) == round(factor, 6)
    assert "warning: the timestamps span only 830 ms: too short to extrapolate to a month" in err
    code, out, err = run("analyze", path, "--days", "1", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["cost"]["monthly_usd"] == "0.011325"
    assert "warning" not in err


def test_a_window_under_a_day_warns_with_its_factor() -> None:
    code, out, err = run("analyze", str(data_file("logs/bedrock_invocation_logs.jsonl")))
    assert code == 0, err
    assert "warning: monthly figure extrapolates 1.5 hours to 30 days (×480)" in err
    assert "1.5 hours; the span of 4 requests' timestamps" in out


def test_undated_requests_are_said_on_stderr_and_in_the_window(tmp_path: Path) -> None:
    lines = [
        json.loads(line)
        for line in data_file("logs/bedrock_invocation_logs.jsonl").read_text().splitlines()
    ]
    del lines[1]["timestamp"]
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, out, err = run("analyze", str(path), "-o", "markdown")
    assert code == 0, err
    assert "note: 1 request without a timestamp: counted in the cost" in err
    assert (
        "the span of 3 requests' timestamps; 1 without a timestamp taken to fall within it" in out
    )


def test_unknown_group_key_is_a_usage_error_with_the_available_keys() -> None:
    code, out, err = run("analyze", SMALL, "--pricing", PRICES, "--group-by", "featur")
    assert code == 2
    assert out == ""
    message = " ".join(err.split())
    assert "no grouping key `featur` in these logs" in message
    assert "available: model, provider, source, hour, day, week, feature" in message
    assert "did you mean `feature`?" in message


def test_group_by_source_gives_one_row_per_file() -> None:
    other = str(data_file("logs/openai_chat.jsonl"))
    code, out, err = run(
        "analyze", SMALL, other, "--pricing", PRICES, "--group-by", "source", "-o", "csv"
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted(row["source"] for row in rows) == sorted([SMALL, other])
    assert sum(int(row["requests"]) for row in rows) == 5 + 3


@pytest.mark.parametrize("output", ["table", "markdown", "csv", "json"])
def test_cost_per_day_in_every_output(output: str) -> None:
    """openai_small.jsonl spans 4 days, one request a day (the fine-tune unpriced)."""
    code, out, err = run("analyze", SMALL, "--pricing", PRICES, "--group-by", "day", "-o", output)
    assert code == 0, err
    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    if output == "json":
        rows = json.loads(out)["groups"]["rows"]
        assert [row["group"]["day"] for row in rows] == days
        assert [row["monthly_usd"] for row in rows] == [None] * 5
        assert [row["cost_usd"] for row in rows] == [
            "0.00725",
            "0.00036",
            "0.0175",
            None,
            "0.00125",
        ]
    elif output == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [row["day"] for row in rows] == days
        assert list(rows[0]) == [
            "day",
            "requests",
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "output_tokens",
            "reasoning_tokens",
            "cost_usd",
            "monthly_usd",
        ]
    else:
        groups = out[out.index("| day |" if output == "markdown" else "Cost by day") :]
        positions = [groups.index(day) for day in days]
        assert positions == sorted(positions)


def test_formats_lists_fields_and_examples() -> None:
    code, out, err = run("formats", "-o", "json")
    assert code == 0, err
    formats = {entry["name"]: entry for entry in json.loads(out)["formats"]}
    assert {"bedrock", "openinference", "langsmith", "mlflow"} <= set(formats)
    assert "ModelInvocationLog" in formats["bedrock"]["detected_by"]
    assert formats["langsmith"]["example"].startswith("{")
