"""`costaudit pricing ...` as a user runs it: stdout, stderr and exit code checked separately.

Exit codes: 0 ok, 2 usage error, 3 bad file or field (named on stderr).
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.pricetable.layers import PRICING_ENV, load_prices
from costaudit.pricetable.schema import schema_text
from support import REPO, data_file

runner = CliRunner()
DEFAULT = str(REPO / "pricing" / "default.yaml")
OVERRIDES = str(REPO / "pricing" / "overrides.example.yaml")
LITELLM = str(data_file("pricing/litellm_excerpt.json"))
GENAI = str(data_file("pricing/genai_prices_excerpt.json"))
INVALID = data_file("pricing/invalid/many_problems.yaml")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------------------------------- list


def test_list_shows_every_model_as_a_table() -> None:
    code, out, err = run("pricing", "list", "--pricing", DEFAULT)
    assert (code, err) == (0, "")
    assert "USD per 1M tokens" in out
    for model_id in ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "o3"):
        assert model_id in out


def test_list_json_filters_by_provider() -> None:
    code, out, err = run("pricing", "list", "--provider", "anthropic", "--output", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["schema"] == "costaudit.pricing/1"
    assert doc["effective"] == "2026-11-25"
    assert {model["provider"] for model in doc["models"]} == {"anthropic"}
    sonnet = next(model for model in doc["models"] if model["id"] == "claude-sonnet-4-5")
    assert set(sonnet) >= {
        "id", "provider", "tokenizer", "input", "cached_input", "cache_write", "cache_write_1h",
        "output", "batch", "tiers", "history", "aliases", "source", "checked",
    }  # fmt: skip
    assert (sonnet["input"], sonnet["cache_write_1h"], sonnet["batch"]["discount"]) == (
        "3",
        "6",
        "0.5",
    )
    assert sonnet["tiers"][0]["above_input_tokens"] == 200000
    assert sonnet["tiers"][0]["output"] == "22.5"


def test_list_unknown_provider_is_a_bad_input() -> None:
    code, out, err = run("pricing", "list", "--provider", "nobody", "--pricing", DEFAULT)
    assert (code, out) == (3, "")
    assert f"{DEFAULT}: models: no model is billed by `nobody`" in err


def test_list_rejects_an_unknown_output_format() -> None:
    code, out, _err = run("pricing", "list", "--output", "xml")
    assert (code, out) == (2, "")


# ------------------------------------------------------------------------------------------- show


def test_show_resolves_an_alias_and_prints_every_part() -> None:
    code, out, err = run("pricing", "show", "o3-2025-04-16")
    assert (code, err) == (0, "")
    for text in (
        "o3",
        "before 2025-06-10",
        "Billed rates",
        "o3-2025-04-16",
        "checked",
        "2026-11-25",
    ):
        assert text in out


def test_show_json_has_history_and_batch() -> None:
    code, out, err = run("pricing", "show", "openai/o3", "-o", "json")
    assert (code, err) == (0, "")
    [o3] = json.loads(out)["models"]
    assert o3["id"] == "o3"
    assert [(entry["until"], entry["input"], entry["output"]) for entry in o3["history"]] == [
        ("2025-06-10", "10", "40")
    ]
    assert o3["batch"]["input"] == "1"
    assert o3["aliases"] == ["o3-2025-04-16"]


def test_show_unknown_model_suggests_close_names() -> None:
    code, out, err = run("pricing", "show", "gpt-4o-minii")
    assert (code, out) == (3, "")
    assert "no model, alias or pattern matches `gpt-4o-minii`; did you mean gpt-4o-mini" in err


def test_show_without_a_model_is_a_usage_error() -> None:
    code, out, _err = run("pricing", "show")
    assert (code, out) == (2, "")


def test_show_uses_the_layered_tables_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRICING_ENV, os.pathsep.join([DEFAULT, OVERRIDES]))
    code, out, err = run("pricing", "show", "gpt-4o", "--output", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["files"] == [DEFAULT, OVERRIDES]
    assert doc["models"][0]["input"] == "2.125"


# --------------------------------------------------------------------------------------- validate


def default_model_count() -> int:
    return len(load_prices([Path(DEFAULT)]).table.models)


def test_validate_the_active_tables() -> None:
    """The packaged default is the generated layer under the curated table, checked together."""
    code, out, err = run("pricing", "validate")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    assert out.startswith("OK: ")
    assert "generated.json" in out and "default.yaml layered" in out
    packaged = len(load_prices().table.models)
    assert packaged >= 300 + default_model_count()
    assert f"{packaged} models" in out and "effective 2026-11-25" in out


def test_validate_layered_files() -> None:
    code, out, err = run("pricing", "validate", DEFAULT, OVERRIDES)
    assert (code, err) == (0, "")
    assert f"layered: {default_model_count() + 1} models" in out


def test_validate_and_analyze_warn_when_an_override_drops_aliases(tmp_path: Path) -> None:
    override = tmp_path / "discount.yaml"
    override.write_text(
        "schema_version: 1\neffective: 2026-11-01\nmodels:\n  open-mistral-nemo:\n"
        "    provider: mistral\n    input: 0.1\n    output: 0.1\n    source: negotiated (test)\n"
        "    checked: 2026-11-01\n",
        encoding="utf-8",
    )
    warning = (
        f"warning: {override}: open-mistral-nemo replaces the earlier entry whole and drops "
        "mistral-nemo; requests logged under those names are unpriced unless the override "
        "restates them\n"
    )
    code, out, err = run("pricing", "validate", DEFAULT, str(override))
    assert (code, err) == (0, warning)
    assert out.startswith("OK: ")
    logs = str(REPO / "examples" / "logs")
    code, out, err = run(
        "analyze", logs, "--pricing", DEFAULT, "--pricing", str(override), "-o", "json"
    )
    assert code == 0
    assert err.startswith(warning)


def test_an_override_that_drops_snapshot_aliases_still_prices_them(tmp_path: Path) -> None:
    """Dated snapshot names still reach the override's entry by their suffix: no warning, and the
    requests logged under them are billed at the override's prices."""
    override = tmp_path / "discount.yaml"
    override.write_text(
        "schema_version: 1\neffective: 2026-11-01\nmodels:\n  gpt-4o:\n    provider: openai\n"
        "    input: 2\n    output: 8\n    source: negotiated (test)\n    checked: 2026-11-01\n",
        encoding="utf-8",
    )
    code, out, err = run("pricing", "validate", DEFAULT, str(override))
    assert (code, err) == (0, "")
    code, out, err = run(
        "pricing",
        "show",
        "gpt-4o-2024-08-06",
        "--pricing",
        DEFAULT,
        "--pricing",
        str(override),
        "-o",
        "json",
    )
    assert code == 0
    [model] = json.loads(out)["models"]
    assert (model["id"], model["input"], model["output"]) == ("gpt-4o", "2", "8")


def test_validate_reports_every_problem_with_file_and_field() -> None:
    code, out, err = run("pricing", "validate", str(INVALID))
    assert (code, out) == (3, "")
    lines = err.strip().splitlines()
    assert lines[-1] == "costaudit: 6 problems in 1 price table file"
    problems = lines[:-1]
    assert len(problems) == 6
    assert all(line.startswith(f"error: {INVALID}: models") for line in problems)
    assert f"error: {INVALID}: models.alpha.sourse: unknown key (check the spelling)" in problems


def test_validate_a_missing_file() -> None:
    code, out, err = run("pricing", "validate", "no/such.yaml")
    assert (code, out) == (3, "")
    assert "error: no/such.yaml: file not found" in err


# ------------------------------------------------------------------------------------------- diff


def test_diff_json_gives_each_changed_price_with_its_percentage() -> None:
    code, out, err = run("pricing", "diff", DEFAULT, OVERRIDES, "--output", "json")
    assert code == 0
    assert err.startswith(f"costaudit: 1 added, {default_model_count() - 1} removed, 1 changed")
    doc = json.loads(out)
    assert doc["schema"] == "costaudit.pricing-diff/1"
    assert doc["added"] == ["acme-support-8b"]
    [gpt] = doc["changed"]
    changes = {change["field"]: change for change in gpt["prices"]}
    assert changes["input"] == {"field": "input", "old": "2.5", "new": "2.125", "change_pct": "-15"}
    assert changes["batch.output"]["change_pct"] == "-15"


def test_diff_table_lists_changes() -> None:
    code, out, _err = run("pricing", "diff", DEFAULT, OVERRIDES)
    assert code == 0
    assert "-15.0%" in out and "acme-support-8b" in out


def test_diff_with_an_invalid_table_is_a_bad_input() -> None:
    code, out, err = run("pricing", "diff", DEFAULT, str(INVALID))
    assert (code, out) == (3, "")
    assert str(INVALID) in err


def test_diff_needs_two_files() -> None:
    assert run("pricing", "diff", DEFAULT)[0] == 2


# ----------------------------------------------------------------------------------------- schema


def test_schema_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    code, out, err = run("pricing", "schema")
    assert (code, err) == (0, "")
    assert out == schema_text()
    target = tmp_path / "schema.json"
    code, out, err = run("pricing", "schema", "--out", str(target))
    assert (code, out) == (0, "")
    assert target.read_text(encoding="utf-8") == schema_text()
    assert f"schema written to {target}" in err


# ----------------------------------------------------------------------------------------- import


def test_import_litellm_writes_a_valid_table(tmp_path: Path) -> None:
    target = tmp_path / "litellm.yaml"
    code, out, err = run(
        "pricing",
        "import",
        "litellm",
        "--from",
        LITELLM,
        "--out",
        str(target),
        "--date",
        "2026-11-25",
    )
    assert (code, out) == (0, "")
    assert "costaudit: 10 models imported; 3 skipped: " in err
    assert "1 not a text model (mode=embedding)" in err
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./price-table.schema.json\n")
    assert (
        "LiteLLM model_prices_and_context_window.json (litellm_excerpt.json, imported 2026-11-25)"
        in text
    )
    code, out, err = run("pricing", "validate", str(target))
    assert (code, err) == (0, "")
    code, out, _err = run("pricing", "show", "gpt-4o", "--pricing", str(target), "-o", "json")
    assert json.loads(out)["models"][0]["batch"]["cached_input"] == "1.25"


def test_import_litellm_to_stdout() -> None:
    code, out, err = run("pricing", "import", "litellm", "--from", LITELLM, "--date", "2026-11-25")
    assert code == 0
    assert "  gpt-4o:\n" in out
    assert "models imported" in err


def test_import_litellm_needs_its_file() -> None:
    code, out, err = run("pricing", "import", "litellm")
    assert (code, out) == (2, "")
    assert "--from" in err


def test_import_rejects_a_bad_date_and_an_unknown_source() -> None:
    assert run("pricing", "import", "litellm", "--from", LITELLM, "--date", "tomorrow")[0] == 2
    assert run("pricing", "import", "tokencost")[0] == 2


def test_import_reports_broken_json_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "gpt-4o": {\n', encoding="utf-8")
    code, out, err = run("pricing", "import", "litellm", "--from", str(broken))
    assert (code, out) == (3, "")
    assert f"error: {broken}:3: invalid JSON" in err


def test_import_genai_prices_from_a_data_file() -> None:
    code, out, err = run(
        "pricing",
        "import",
        "genai-prices",
        "--from",
        GENAI,
        "--date",
        "2026-11-25",
        "--provider",
        "all",
    )
    assert code == 0
    assert "azure/gpt-4o:" in out and "  o3:\n" in out
    assert "costaudit: 10 models imported; 2 skipped" in err


def test_import_genai_prices_unknown_provider_is_a_usage_error() -> None:
    code, out, err = run("pricing", "import", "genai-prices", "--from", GENAI, "--provider", "nope")
    assert (code, out) == (2, "")
    assert "unknown provider nope" in err


def test_import_genai_prices_without_the_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "genai_prices", None)
    code, out, err = run("pricing", "import", "genai-prices")
    assert (code, out) == (3, "")
    assert "install costaudit[import]" in err
    assert "Traceback" not in err


def test_imported_genai_prices_table_prices_o3_by_date(tmp_path: Path) -> None:
    target = tmp_path / "genai.yaml"
    assert run("pricing", "import", "genai-prices", "--from", GENAI, "--out", str(target))[0] == 0
    code, out, _err = run("pricing", "show", "o3", "--pricing", str(target), "-o", "json")
    assert code == 0
    [o3] = json.loads(out)["models"]
    assert (Decimal(o3["input"]), Decimal(o3["history"][0]["input"])) == (Decimal(2), Decimal(10))


def test_pricing_without_a_command_prints_help_as_a_usage_error() -> None:
    code, out, err = run("pricing")
    assert (code, out) == (2, "")
    assert "list" in err and "validate" in err and "import" in err


# ------------------------------------------------------------------- filters, hardware, self-hosted


def test_list_filters_by_provider_and_search_together() -> None:
    code, out, err = run(
        "pricing", "list", "--provider", "groq", "--search", "LLAMA-3.3", "-o", "json"
    )
    assert (code, err) == (0, "")
    models = json.loads(out)["models"]
    assert models, "Groq serves Llama 3.3"
    assert {model["provider"] for model in models} == {"groq"}
    assert all(
        any("llama-3.3" in name.lower() for name in (model["id"], *model["aliases"]))
        for model in models
    )


def test_list_search_matches_aliases() -> None:
    code, out, err = run("pricing", "list", "--search", "claude-sonnet-4-5-20250929", "-o", "json")
    assert (code, err) == (0, "")
    ids = [model["id"] for model in json.loads(out)["models"]]
    assert "claude-sonnet-4-5" in ids, "found through its alias claude-sonnet-4-5-20250929"
    assert all(
        "claude-sonnet-4-5-20250929" in model_id
        for model_id in ids
        if model_id != "claude-sonnet-4-5"
    )


def test_list_search_without_matches_lists_nothing() -> None:
    code, out, err = run("pricing", "list", "--search", "no-such-model-anywhere", "-o", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["models"] == []


def test_list_hardware() -> None:
    code, out, err = run("pricing", "list", "--hardware", "-o", "json")
    assert (code, err) == (0, "")
    hardware = {entry["id"]: entry for entry in json.loads(out)["hardware"]}
    assert hardware["h100"]["hourly"] == "2.69"
    assert hardware["h100"]["memory_gb"] == "80"
    code, out, err = run("pricing", "list", "--hardware")
    assert (code, err) == (0, "")
    assert "h100" in out and "2.69" in out and "10 entries" in out


def test_list_self_hosted() -> None:
    code, out, err = run("pricing", "list", "--self-hosted", "--search", "llama-3.1", "-o", "json")
    assert (code, err) == (0, "")
    models = json.loads(out)["self_hosted"]
    assert [model["id"] for model in models] == ["llama-3.1-70b", "llama-3.1-8b"]
    assert models[0]["kv_heads"] == 8


def test_list_hardware_and_self_hosted_together_is_a_usage_error() -> None:
    code, out, err = run("pricing", "list", "--hardware", "--self-hosted")
    assert (code, out) == (2, "")
    assert "--hardware" in err


def test_show_a_hardware_entry() -> None:
    code, out, err = run("pricing", "show", "h100")
    assert (code, err) == (0, "")
    assert "NVIDIA H100 80GB SXM" in out and "2.69" in out and "hardware.md" in out
    code, out, err = run("pricing", "show", "h100", "-o", "json")
    assert (code, err) == (0, "")
    [entry] = json.loads(out)["hardware"]
    assert (entry["id"], entry["bandwidth_gbs"], entry["bf16_tflops"]) == ("h100", "3350", "989")


def test_show_says_when_a_platform_name_is_billed_at_the_first_party_price() -> None:
    name = "bedrock/converse/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    code, out, err = run("pricing", "show", name, "-o", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["models"][0]["id"] == "claude-sonnet-4-5"
    assert document["lookup"]["platform"] == "bedrock"
    assert document["lookup"]["billed_at_first_party_price"] == "anthropic"
    code, out, err = run("pricing", "show", name)
    assert code == 0
    assert "billed at the first-party (anthropic) price" in " ".join(out.split())


def test_show_of_a_platform_entry_names_no_first_party() -> None:
    code, out, err = run("pricing", "show", "azure/eu/gpt-4o", "-o", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["models"][0]["provider"] == "azure"
    assert document["lookup"]["billed_at_first_party_price"] is None


def test_list_providers_counts_the_models_each_provider_bills() -> None:
    code, out, err = run("pricing", "list", "--providers", "-o", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    counts = {row["provider"]: row["models"] for row in document["providers"]}
    assert sum(counts.values()) == document["models"] == len(load_prices().table.models)
    covered = {"openai", "anthropic", "google", "xai", "deepseek", "mistral", "amazon", "cohere"}
    covered |= {"together", "groq", "fireworks", "bedrock", "vertex"}
    assert covered <= set(counts)
    code, out, err = run("pricing", "list", "--providers", "--provider", "groq")
    assert (code, err) == (0, "")
    assert f"{counts['groq']} models from 1 provider, effective" in out
