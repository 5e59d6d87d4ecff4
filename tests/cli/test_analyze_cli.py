"""`costaudit analyze` as a user runs it: stdout, stderr and exit code checked separately."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.ingest.workload_io import load_workload
from support import REPO, data_file

runner = CliRunner()
PRICES = str(data_file("cli/prices.yaml"))
SMALL = str(data_file("cli/openai_small.jsonl"))

# openai_small.jsonl priced by hand (USD per 1M tokens: gpt-4o 2.50 / cached 1.25 / 10; mini 0.15 / 0.60):
#   gpt-4o  1000 in (200 cached), 500 out: 800×2.50 + 200×1.25 + 500×10   =  7,250
#   mini    2000 in, 100 out:              2000×0.15 + 100×0.60           =    360
#   gpt-4o  3000 in, 1000 out:             3000×2.50 + 1000×10            = 17,500
#   private fine-tune: unpriced
#   gpt-4o  100 in, 100 out:               100×2.50 + 100×10              =  1,250
SMALL_TOTAL = Decimal(7250 + 360 + 17500 + 1250) / 1_000_000
SMALL_DAYS = Decimal(4)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_document_prices_exactly_and_counts_add_up() -> None:
    code, out, err = run("analyze", SMALL, "--pricing", PRICES, "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "costaudit.analyze/1"
    assert doc["records"] == {"read": 5, "priced": 4, "unpriced": 1, "skipped": 0}
    assert Decimal(doc["cost"]["total_usd"]) == SMALL_TOTAL == Decimal("0.02636")
    assert Decimal(doc["window"]["days"]) == SMALL_DAYS
    assert Decimal(doc["cost"]["monthly_usd"]) == SMALL_TOTAL * 30 / SMALL_DAYS
    assert doc["tokens"]["input"] == 1000 + 2000 + 3000 + 10 + 100
    assert doc["tokens"]["cached_input"] == 200
    unpriced = [m for m in doc["models"] if m["price_id"] is None]
    assert unpriced == [
        {
            "model": "my-private-finetune",
            "price_id": None,
            "requests": 1,
            "input_tokens": 10,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "output_tokens": 10,
            "reasoning_tokens": 0,
            "cost_usd": None,
            "monthly_usd": None,
        }
    ]
    assert {"kind": "unpriced_model", "detail": "my-private-finetune", "count": 1} in doc[
        "problems"
    ]
    assert "costaudit: 5 records, 4 priced, 1 unpriced, 0 skipped" in err


def test_table_report_on_stdout_and_summary_on_stderr() -> None:
    code, out, err = run("analyze", SMALL, "--pricing", PRICES)
    assert code == 0
    assert "Cost by model" in out and "gpt-4o-2024-08-06" in out and "unpriced" in out
    assert "Complexity" in out
    assert "costaudit:" not in out
    assert "$0.02636 total" in err


def test_costs_say_they_leave_unpriced_requests_out_and_how_to_price_them() -> None:
    code, out, err = run("analyze", SMALL, "--pricing", PRICES)
    assert code == 0, err
    assert "Total cost      $0.02636 (without the 1 unpriced request)" in out
    assert "not in the price table: `costaudit pricing show NAME` suggests close names" in out
    trace = str(REPO / "tests" / "data" / "logs" / "azure_trace.csv")
    code, out, err = run("analyze", trace, "-o", "markdown")
    assert code == 0, err
    assert "- **Total cost:** $0.00 (without the 5 unpriced requests)" in out
    code, out, err = run("analyze", trace)
    assert "these records name no model: give --model M to price them as M" in out


def test_group_by_splits_cost_per_group() -> None:
    code, out, _ = run(
        "analyze", SMALL, "--pricing", PRICES, "--group-by", "user,feature", "-o", "json"
    )
    assert code == 0
    rows = {
        (r["group"]["user"], r["group"]["feature"]): r for r in json.loads(out)["groups"]["rows"]
    }
    assert Decimal(rows[("alice", "chat")]["cost_usd"]) == Decimal("0.00725")
    assert Decimal(rows[("alice", "search")]["cost_usd"]) == Decimal("0.0175")
    assert Decimal(rows[("bob", "search")]["cost_usd"]) == Decimal("0.00036")
    assert rows[(None, None)]["requests"] == 2


def test_group_by_provider_comes_from_the_price_table() -> None:
    code, out, _ = run(
        "analyze", SMALL, "--pricing", PRICES, "--group-by", "provider", "-o", "json"
    )
    assert code == 0
    rows = {r["group"]["provider"]: r for r in json.loads(out)["groups"]["rows"]}
    assert Decimal(rows["openai"]["cost_usd"]) == SMALL_TOTAL
    assert rows[None]["requests"] == 1


def test_days_overrides_the_timestamp_window() -> None:
    code, out, _ = run("analyze", SMALL, "--pricing", PRICES, "--days", "2", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["window"]["source"] == "--days"
    assert Decimal(doc["cost"]["monthly_usd"]) == SMALL_TOTAL * 15
    for given, shown in (("1", "1 day (from --days)"), ("2.5", "2.5 days (from --days)")):
        code, out, _ = run("analyze", SMALL, "--pricing", PRICES, "--days", given)
        assert code == 0
        assert f"Window          {shown}" in out


@pytest.mark.parametrize("fmt", ["csv", "markdown", "json", "table"])
def test_prompt_text_never_appears_in_any_output(fmt: str, tmp_path: Path) -> None:
    saved = tmp_path / "w.parquet"
    out_file = tmp_path / f"report.{fmt}"
    args = (
        "analyze",
        SMALL,
        "--pricing",
        PRICES,
        "-o",
        fmt,
        "--group-by",
        "user",
        "--save-workload",
        str(saved),
    )
    code, out, err = run(*args)
    code_file, _, _ = run(*args, "--out", str(out_file))
    assert code == code_file == 0
    for text in (out, err, out_file.read_text(), saved.read_bytes().decode("latin-1")):
        assert (
            "PRIVATE-PROMPT" not in text and "PRIVATE-ANSWER" not in text and "medical" not in text
        )


def test_out_writes_the_report_and_keeps_stdout_empty(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "report.json"
    code, out, err = run("analyze", SMALL, "--pricing", PRICES, "-o", "json", "--out", str(target))
    assert code == 0
    assert out == ""
    assert json.loads(target.read_text())["records"]["read"] == 5
    assert f"report written to {target}" in err


def test_save_workload_round_trips_the_request_table(tmp_path: Path) -> None:
    saved = tmp_path / "workload.parquet"
    code, _, _ = run("analyze", SMALL, "--pricing", PRICES, "--save-workload", str(saved))
    assert code == 0
    table = load_workload(saved)
    blocks = table.prefix_blocks
    assert len(table) == 5
    assert blocks is not None and blocks.n_requests == 5 and blocks.block_tokens == 64
    assert table.token_sum("input_tokens") == 6110
    assert set(table.group("user").values()) == {"alice", "bob", None}


def test_plots_write_one_png_per_chart(tmp_path: Path) -> None:
    code, _, err = run(
        "analyze",
        SMALL,
        "--pricing",
        PRICES,
        "--group-by",
        "feature",
        "--plots",
        str(tmp_path / "plots"),
    )
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == [
        "complexity_histogram.png",
        "cost_by_feature.png",
        "cost_by_model.png",
        "cost_over_time.png",
        "requests_per_hour.png",
        "tokens_histogram.png",
    ]
    assert all((tmp_path / "plots" / n).read_bytes().startswith(b"\x89PNG") for n in names)


def test_bad_records_are_skipped_counted_and_shown_with_file_and_line() -> None:
    bad = str(data_file("cli/bad_lines.jsonl"))
    code, out, _ = run("analyze", bad, "--pricing", PRICES, "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["records"] == {"read": 3, "priced": 1, "unpriced": 0, "skipped": 2}
    kinds = {(p["kind"], p["detail"]) for p in doc["problems"]}
    assert ("skipped", "malformed JSON") in kinds
    assert ("skipped", "usage.prompt_tokens is not a whole number of tokens") in kinds
    code, out, _ = run("analyze", bad, "--pricing", PRICES)
    assert f"{bad}:2: malformed JSON" in out


def test_strict_stops_at_the_first_bad_record_with_exit_3() -> None:
    bad = str(data_file("cli/bad_lines.jsonl"))
    code, out, err = run("analyze", bad, "--pricing", PRICES, "--strict")
    assert code == 3
    assert out == ""
    assert f"error: {bad}:2: malformed JSON" in err
    assert "Traceback" not in err


def test_missing_file_exits_3_naming_it(tmp_path: Path) -> None:
    code, _, err = run("analyze", str(tmp_path / "nope.jsonl"), "--pricing", PRICES)
    assert code == 3
    assert f"error: {tmp_path / 'nope.jsonl'}: file not found" in err


def test_invalid_price_table_exits_3_naming_each_field() -> None:
    bad = str(data_file("cli/bad_prices.yaml"))
    code, _, err = run("analyze", SMALL, "--pricing", bad)
    assert code == 3
    assert f"{bad}: models.gpt-4o.input: Input should be greater than or equal to 0" in err
    assert f"{bad}: models.gpt-4o.outptu: unknown key `outptu` (did you mean `output`?)" in err
    assert f"{bad}: models.gpt-4o.output: required key is missing" in err


def test_malformed_yaml_exits_3_with_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: 1\nmodels: [unclosed\n")
    code, _, err = run("analyze", SMALL, "--pricing", str(broken))
    assert code == 3
    assert f"error: {broken}:3: invalid YAML" in err


def test_empty_file_is_not_an_error_but_has_no_window(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, out, _ = run("analyze", str(empty), "--pricing", PRICES, "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["records"] == {"read": 0, "priced": 0, "unpriced": 0, "skipped": 0}
    assert doc["cost"]["monthly_usd"] is None
    assert any(p["kind"] == "no_window" for p in doc["problems"])


def test_binary_junk_exits_3(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(bytes(range(256)) * 8)
    code, _, err = run("analyze", str(junk), "--pricing", PRICES)
    assert code == 3
    assert "binary data" in err


def test_requests_without_usage_are_tokenized_offline(tmp_path: Path) -> None:
    """o200k_base ships offline (bpe-openai's verified rank file): gpt-4o's counts are exact."""
    log = tmp_path / "requests.jsonl"
    log.write_text(
        json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]})
        + "\n"
    )
    code, out, err = run("analyze", str(log), "--pricing", PRICES, "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert (
        doc["tokens"]["input"] == 9
    )  # 3 reply priming + 3 message framing + "user" (1) + "hello there" (2)
    assert doc["token_sources"] == {"usage": 0, "tokenized": 9, "estimated": 0}
    assert "not available offline" not in err


def test_an_encoding_that_is_not_offline_is_estimated_with_cl100k(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costaudit.ingest.tokenizer import encoder_for

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    encoder_for.cache_clear()
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "schema_version: 1\neffective: 2026-11-25\nmodels:\n  legacy:\n    provider: openai\n"
        "    tokenizer: p50k_base\n    input: 1\n    output: 1\n    source: test\n"
        "    checked: 2026-11-25\n",
        encoding="utf-8",
    )
    log = tmp_path / "requests.jsonl"
    log.write_text(
        json.dumps({"model": "legacy", "messages": [{"role": "user", "content": "hello there"}]})
        + "\n"
    )
    try:
        code, out, err = run("analyze", str(log), "--pricing", str(prices), "-o", "json")
    finally:
        encoder_for.cache_clear()
    assert code == 0
    assert json.loads(out)["token_sources"] == {"usage": 0, "tokenized": 0, "estimated": 9}
    assert "p50k_base tokenizer is not available offline" in err


def test_unexpected_errors_exit_4_not_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("costaudit.core.partials.finish", boom)
    code, _, err = run("analyze", SMALL, "--pricing", PRICES)
    assert code == 4
    assert "internal error: RuntimeError: simulated bug" in err


def test_help_explains_the_command() -> None:
    code, out, _ = run("analyze", "--help")
    assert code == 0
    for flag in (
        "--format",
        "--map",
        "--model",
        "--pricing",
        "--days",
        "--group-by",
        "--output",
        "--out",
        "--plots",
        "--save-workload",
        "--strict",
    ):
        assert flag in out


def test_bundled_examples_price_with_the_default_table() -> None:
    code, out, err = run("analyze", str(REPO / "examples" / "logs"), "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert (
        doc["records"]["read"]
        == doc["records"]["priced"] + doc["records"]["unpriced"] + doc["records"]["skipped"]
    )
    assert doc["records"]["unpriced"] == 0
    assert Decimal(doc["cost"]["monthly_usd"]) > 0


def test_complexity_title_says_which_requests_were_scored() -> None:
    """The bundled Anthropic batch carries no prompt text, so its 200 requests are not scored."""
    code, out, err = run("analyze", str(REPO / "examples" / "logs"), "-o", "json")
    assert code == 0, err
    complexity = json.loads(out)["complexity"]
    assert (complexity["scored"], complexity["unscored"]) == (2000, 200)
    code, out, err = run("analyze", str(REPO / "examples" / "logs"))
    assert code == 0, err
    assert "Complexity of the 2,000 requests with a prompt (200 without: not scored)" in out


def _features_log(tmp_path: Path) -> Path:
    """Two features: short FAQ questions (simple) and long contract questions (complex)."""
    clause = (
        "The tenant shall keep the premises in good repair and notify the landlord of defects. "
    )
    records = [
        {"model": "gpt-4o", "prompt": "What are your opening hours?", "feature": "faq"},
        {"model": "gpt-4o", "prompt": "Where is my invoice?", "feature": "faq"},
        {"model": "gpt-4o", "prompt": clause * 60 + "Who pays for repairs?", "feature": "legal"},
    ]
    path = tmp_path / "features.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_group_by_feature_shows_complexity_classes_per_group(tmp_path: Path) -> None:
    log = str(_features_log(tmp_path))
    code, out, err = run("analyze", log, "--pricing", PRICES, "--group-by", "feature", "-o", "json")
    assert code == 0, err
    by_group = {
        row["group"]["feature"]: row["classes"] for row in json.loads(out)["complexity"]["by_group"]
    }
    assert by_group == {
        "faq": {"simple": 2, "medium": 0, "complex": 0},
        "legal": {"simple": 0, "medium": 0, "complex": 1},
    }
    code, out, err = run("analyze", log, "--pricing", PRICES, "--group-by", "feature")
    assert code == 0, err
    assert "Complexity by feature" in out
    code, out, err = run(
        "analyze", log, "--pricing", PRICES, "--group-by", "feature", "-o", "markdown"
    )
    assert code == 0, err
    assert "| feature | scored | simple | medium | complex |" in out
    assert "| faq | 2 | 100.0% | 0.0% | 0.0% |" in out


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_complexity_section_says_the_score_is_a_label_free_estimate(
    fmt: str, tmp_path: Path
) -> None:
    code, out, err = run("analyze", str(_features_log(tmp_path)), "--pricing", PRICES, "-o", fmt)
    assert code == 0, err
    if fmt == "json":
        complexity = json.loads(out)["complexity"]
        assert complexity["label_free"] is True
        assert complexity["measured_apgr"] == [0.56, 0.6]
    else:
        assert "label-free estimate: its APGR is 0.56–0.60" in " ".join(out.split())
