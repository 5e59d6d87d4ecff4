"""`costaudit simulate` as a user runs it: scenario validation, workload sources, outputs and plots."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from support import REPO, data_file

PRICES = str(data_file("cli/prices.yaml"))
SMALL = str(data_file("cli/openai_small.jsonl"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_design_card_example_reproduces_90000_a_month() -> None:
    code, out, err = run(
        "simulate", "--scenario", str(REPO / "examples/scenarios/design-card.yaml"), "-o", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "costaudit.simulate/1"
    assert doc["baseline"] == {"name": "gpt-4-turbo API", "monthly_usd": "90000"}
    assert doc["workload"]["requests"] == 100_000
    by_name = {s["name"]: s for s in doc["scenarios"]}
    assert Decimal(by_name["gpt-4-turbo API"]["usd_per_mtok"]) == Decimal(15)
    assert Decimal(by_name["claude-3.5-sonnet API"]["monthly_usd"]) == Decimal(36_000)
    tiered = by_name["tiered gpt-4o-mini / gpt-4o"]
    assert Decimal(tiered["p10"]) < Decimal(tiered["monthly_usd"]) < Decimal(tiered["p90"])
    hosting = by_name["quantized 13B on spot"]["details"]["hosting"]
    for key in (
        "gpu",
        "replicas",
        "max_output_tokens_per_s",
        "slo_output_tokens_per_s",
        "utilization",
        "usd_per_mtok",
    ):
        assert key in hosting
    # 100,000 requests/day cost $0.03 each on GPT-4 Turbo: far above any self-hosting break-even
    assert Decimal(hosting["break_even"]["api_usd_per_request"]) == Decimal("0.03")
    assert 0 < hosting["break_even"]["requests_per_day"] < 100_000
    # ... and the plot marks where the traffic is today: 100,000 requests over one day.
    assert hosting["break_even"]["current_requests_per_day"] == 100_000


def test_logs_workload_with_relative_paths_and_cli_override(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.jsonl").write_text(Path(SMALL).read_text())
    scenario = write(
        tmp_path,
        "workload: {logs: [logs/a.jsonl]}\nscenarios:\n  - name: current\n  - name: mini\n"
        "    routing: {tiers: [{model: gpt-4o-mini}]}\n",
    )
    code, out, err = run("simulate", "--scenario", str(scenario), "--pricing", PRICES, "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert Decimal(doc["baseline"]["monthly_usd"]) == Decimal("0.02636") * 30 / 4
    assert doc["scenarios"][1]["unpriced_requests"] == 0
    code, out, _ = run(
        "simulate", SMALL, SMALL, "--scenario", str(scenario), "--pricing", PRICES, "-o", "json"
    )
    assert json.loads(out)["workload"]["requests"] == 5


def test_saved_workload_source(tmp_path: Path) -> None:
    saved = tmp_path / "w.parquet"
    assert run("analyze", SMALL, "--pricing", PRICES, "--save-workload", str(saved))[0] == 0
    scenario = write(
        tmp_path, f"workload: {{workload: {saved.name}}}\nscenarios: [{{name: current}}]\n"
    )
    code, out, _ = run("simulate", "-s", str(scenario), "--pricing", PRICES, "-o", "json")
    assert code == 0
    assert Decimal(json.loads(out)["baseline"]["monthly_usd"]) == Decimal("0.02636") * 30 / 4
    code, out, _ = run(
        "simulate", "-s", str(scenario), "--workload", str(saved), "--pricing", PRICES, "-o", "csv"
    )
    assert code == 0
    assert out.splitlines()[0].startswith("scenario,monthly_usd,savings_usd")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            "scenarios: [{name: a, routing: {tierz: []}}]",
            "scenarios[0].routing.tierz",
            "unknown key",
        ),
        (
            "scenarios: [{name: a, routing: {tiers: [{model: gpt-9}]}}]",
            "scenarios[0].routing.tiers[0].model",
            "unknown model `gpt-9`",
        ),
        (
            "scenarios: [{name: a, response_cache: {ttl: 5 parsecs}}]",
            "scenarios[0].response_cache.ttl",
            "is not a duration",
        ),
        (
            "scenarios: [{name: a, batching: {share: 1.5}}]",
            "scenarios[0].batching.share",
            "less than or equal to 1",
        ),
        (
            "scenarios: [{name: a, routing: {tiers: [{model: gpt-4o-mini, share: 0.7}, {model: gpt-4o, share: 0.6}, {model: gpt-4o}]}}]",
            "scenarios[0].routing",
            "tier shares add up to 1.3, more than 1",
        ),
        ("scenarios: [{name: a}, {name: a}]", "scenarios", "scenario names must be unique: a"),
        (
            "scenarios: [{name: a, hosting: {model: llama-9, gpu: b200}}]",
            "scenarios[0].hosting.model",
            "not a self_hosted model",
        ),
    ],
)
def test_invalid_scenarios_exit_3_naming_file_and_field(
    tmp_path: Path, body: str, field: str, message: str
) -> None:
    scenario = write(
        tmp_path,
        "workload: {synthetic: {requests_per_day: 10, model: gpt-4o, input_tokens: 1, output_tokens: 1}}\n"
        + body,
    )
    code, out, err = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3, err
    assert out == ""
    assert f"{scenario}: {field}:" in err
    assert message in err
    assert "Traceback" not in err


def test_workload_needs_exactly_one_source(tmp_path: Path) -> None:
    scenario = write(
        tmp_path, "workload: {logs: [a.jsonl], workload: b.parquet}\nscenarios: [{name: a}]\n"
    )
    code, _, err = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3
    assert "give exactly one of `logs`, `workload` or `synthetic`" in err


def test_missing_prompt_file_exits_3(tmp_path: Path) -> None:
    scenario = write(
        tmp_path,
        "workload: {synthetic: {requests_per_day: 10, model: gpt-4o, input_tokens: 1, "
        "output_tokens: 1, system_prompt: {file: nope.md}}}\nscenarios: [{name: a}]\n",
    )
    code, _, err = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3
    assert "nope.md: workload.synthetic.system_prompt: prompt file not found" in err


def test_prompt_cache_without_text_needs_shared_prefix(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(
        "timestamp,model,input_tokens,output_tokens\n2026-01-01T00:00:00Z,gpt-4o,2000,10\n"
    )
    scenario = write(
        tmp_path,
        "workload: {logs: [trace.csv]}\nscenarios: [{name: c, prompt_cache: {preset: openai}}]\n",
    )
    table = str(REPO / "pricing" / "default.yaml")
    code, _, err = run("simulate", "-s", str(scenario), "--pricing", table)
    assert code == 3
    assert "shared_prefix_tokens" in err


def test_markdown_table_and_plots(tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    scenario = REPO / "examples" / "scenarios" / "design-card.yaml"
    code, out, err = run("simulate", "-s", str(scenario), "-o", "markdown", "--plots", str(plots))
    assert code == 0, err
    assert "| scenario | monthly | Δ vs baseline | Δ % | $/1k req | $/1M tok | key figure |" in out
    names = sorted(p.name for p in plots.iterdir())
    assert "monthly_cost_by_scenario.png" in names
    assert any(name.startswith("routing_curve_") for name in names)


def test_markdown_names_the_workload_and_the_cascade_escalations(tmp_path: Path) -> None:
    scenario = write(
        tmp_path,
        """
workload:
  synthetic: {requests_per_day: 1000, days: 2, model: gpt-4o, input_tokens: 100, output_tokens: 10}
scenarios:
  - name: as is
  - name: cascade
    routing:
      mode: cascade
      escalation_rate: 0.5
      tiers: [{model: gpt-4o-mini, share: 1}, {model: gpt-4o}]
""",
    )
    code, out, err = run("simulate", "-s", str(scenario), "-o", "json")
    assert code == 0, err
    escalated = json.loads(out)["scenarios"][1]["details"]["routing"]["escalated_requests"]
    code, out, err = run("simulate", "-s", str(scenario), "-o", "markdown")
    assert code == 0, err
    assert "Workload: synthetic, 1 stream (2,000 requests, 2 days)." in out
    share = f"{escalated / 2000 * 100:.0f}%"
    assert f"| gpt-4o-mini 100%, {escalated:,} ({share}) escalated |" in out


def test_seed_changes_random_choices_but_not_exact_scenarios(tmp_path: Path) -> None:
    scenario = REPO / "examples" / "scenarios" / "design-card.yaml"
    one = json.loads(run("simulate", "-s", str(scenario), "-o", "json")[1])
    two = json.loads(run("simulate", "-s", str(scenario), "-o", "json")[1])
    assert one == two
    other = json.loads(run("simulate", "-s", str(scenario), "-o", "json", "--seed", "99")[1])
    assert other["baseline"] == one["baseline"]


@pytest.mark.shared_data
def test_routing_quality_on_routellm_gsm8k_labels(tmp_path: Path, shared_data: Path) -> None:
    """Per-model correctness labels give quality retained, CPT and APGR; a random router recovers ~half."""
    data = shared_data / "routellm-gsm8k" / "gsm8k_responses.csv"
    scenario = write(
        tmp_path,
        f"""
workload:
  logs: ["{data}"]
  model: gpt-4o
  days: 1

  map:
    prompt: prompt
    completion: gpt-4-1106-preview_response
    "quality:weak": mistralai/Mixtral-8x7B-Instruct-v0.1
    "quality:strong": gpt-4-1106-preview
scenarios:
  - name: all strong
  - name: routed
    routing: {{tiers: [{{model: gpt-4o-mini, share: 0.5, label: weak}}, {{model: gpt-4o, label: strong}}]}}
""",
    )
    code, out, err = run(
        "simulate",
        "-s",
        str(scenario),
        "-o",
        "json",
        "--pricing",
        str(REPO / "pricing" / "default.yaml"),
        "--allow-path",
        str(data.parent),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["workload"]["requests"] == 1319
    quality = doc["scenarios"][1]["details"]["routing"]["quality"]
    assert quality["source"] == "labels"
    assert quality["random_apgr"] == pytest.approx(0.5, abs=0.03)
    strong_only, weak_only = 1130 / 1319, 842 / 1319
    assert weak_only < quality["quality"] < strong_only
    assert quality["cpt50"] is not None and 0 < quality["cpt50"] < 1
    assert 0 <= quality["apgr"] <= 1.2
    curve = doc["scenarios"][1]["curve"]
    assert [point["strong_share"] for point in curve] == [i / 10 for i in range(11)]
    assert curve[0]["quality"] == pytest.approx(weak_only) and curve[-1][
        "quality"
    ] == pytest.approx(strong_only)
    assert Decimal(curve[0]["monthly_usd"]) < Decimal(curve[-1]["monthly_usd"])


@pytest.mark.shared_data
def test_mooncake_prompt_cache_matches_an_independent_replay(
    tmp_path: Path, shared_data: Path
) -> None:
    """512-token hash blocks, no minimum, unbounded TTL: the high end of the band is the trace's own
    infinite-cache hit rate, replayed here independently (full blocks only, as a provider caches)."""
    trace = shared_data / "mooncake-fast25" / "conversation_trace.jsonl"
    seen: set[int] = set()
    hit = total = 0
    for line in trace.read_text().splitlines():
        record = json.loads(line)
        full_blocks = record["hash_ids"][: record["input_length"] // 512]
        matched = 0
        for block in full_blocks:
            if block not in seen:
                break
            matched += 1
        hit += matched * 512
        total += record["input_length"]
        seen.update(full_blocks)
    scenario = write(
        tmp_path,
        f"""
workload: {{logs: ["{trace}"], model: gpt-4o}}
scenarios:
  - name: cached
    prompt_cache: {{preset: openai, block_tokens: 512, min_prefix_tokens: 0, ttl: none, ttl_low: 5m}}
""",
    )
    code, out, err = run(
        "simulate",
        "-s",
        str(scenario),
        "-o",
        "json",
        "--pricing",
        str(REPO / "pricing" / "default.yaml"),
        "--allow-path",
        str(Path(trace).parent),
    )
    assert code == 0, err
    details = json.loads(out)["scenarios"][0]["details"]["prompt_cache"]
    band = details["hit_rate"]
    assert details["cached_tokens"] == hit  # exact, token for token
    assert band["high"] == pytest.approx(hit / total, abs=1e-6)  # JSON rounds rates to 6 decimals

    assert band["central"] == band["high"]
    assert band["low"] < band["central"]
