"""`costaudit check`: a limit is required, limits from the scenario file (per scenario, per group),
unpriced requests, and the models and groups that moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
SCENARIO = """\
workload:
  synthetic:
    streams:
      - name: chat
        requests_per_day: 1000
        model: gpt-4o
        system_prompt: {file: prompt.md}
        input_tokens: 100
        output_tokens: 50
        arrival: {pattern: uniform}
        groups: {feature: chat}
      - name: search
        requests_per_day: 500
        model: gpt-4o-mini
        input_tokens: 400
        output_tokens: 20
        arrival: {pattern: uniform}
        groups: {feature: search}
scenarios:
  - name: production
  - name: mini
    routing: {tiers: [{model: gpt-4o-mini}]}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "prompt.md").write_text("You are a helpful assistant.")
    (tmp_path / "costaudit.yaml").write_text(SCENARIO)
    return tmp_path


def check(project: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        "check",
        "--scenario",
        str(project / "costaudit.yaml"),
        "--baseline",
        str(project / "baseline.json"),
        "--pricing",
        PRICES,
        *extra,
    )


def grow_the_prompt(project: Path, times: int = 60) -> None:
    (project / "prompt.md").write_text("You are a helpful assistant. " * times)


def test_without_any_limit_check_is_a_usage_error_that_says_how_to_set_one(project: Path) -> None:
    assert check(project, "--update-baseline")[0] == 0
    code, out, err = check(project)
    assert code == 2
    assert out == ""
    assert "--max-increase PCT" in err and "`check:` section" in err and "--report-only" in err


def test_report_only_reports_a_rise_and_exits_0(project: Path) -> None:
    check(project, "--update-baseline")
    grow_the_prompt(project)
    code, out, err = check(project, "--report-only", "-o", "json")
    assert code == 0
    production = json.loads(out)["verdict"]["scenarios"][0]
    assert production["status"] == "pass"
    assert json.loads(production["delta_pct"]) > 0
    code, out, err = check(project, "--report-only", "--max-increase", "1%")
    assert code == 0
    assert "(report-only: exit 0)" in err


def test_limits_from_the_scenario_file_per_scenario_and_per_group(project: Path) -> None:
    check(project, "--update-baseline")
    limits = """\
check:
  max_increase: 50%
  scenarios:
    mini: {budget: 1}
  groups:
    feature:
      chat: {max_increase: 5%}
"""
    with (project / "costaudit.yaml").open("a") as handle:
        handle.write(limits)
    grow_the_prompt(project, times=6)
    code, out, err = check(project, "-o", "json")
    assert code == 1
    verdict = json.loads(out)["verdict"]
    scenarios = {s["name"]: s["status"] for s in verdict["scenarios"]}
    groups = {(g["scenario"], g["by"], g["value"]): g["status"] for g in verdict["groups"]}
    assert scenarios == {"production": "pass", "mini": "over_budget"}  # production grew < 50 %
    assert groups == {
        ("production", "feature", "chat"): "regression",
        ("mini", "feature", "chat"): "regression",
    }
    assert any(
        reason.startswith("production · feature=chat: monthly cost +")
        for reason in verdict["reasons"]
    )
    # A command-line limit replaces the file's default, not the per-scenario or per-group ones.
    code, out, _ = check(project, "-o", "json", "--max-increase", "1%")
    statuses = {s["name"]: s["status"] for s in json.loads(out)["verdict"]["scenarios"]}
    assert statuses == {"production": "regression", "mini": "regression"}  # mini: also over $1
    code, _, err = check(project, "--max-increase", "1%")
    assert code == 1
    assert "costaudit check failed: 2 scenarios and 2 groups regressed" in err


def test_unknown_scenario_in_check_section_suggests_the_closest(project: Path) -> None:
    with (project / "costaudit.yaml").open("a") as handle:
        handle.write("check:\n  scenarios:\n    producton: {budget: 10}\n")
    code, _, err = check(project, "--update-baseline")
    assert code == 3
    assert "`producton` is not a scenario name (did you mean `production`?)" in err


def test_a_longer_prompt_names_the_model_and_feature_that_moved(project: Path) -> None:
    check(project, "--update-baseline")
    stored = json.loads((project / "baseline.json").read_text())["scenarios"]["production"]
    assert set(stored) == {"monthly_usd", "unpriced_requests", "breakdown"}
    assert set(stored["breakdown"]["groups"]) == {"feature", "stream"}
    grow_the_prompt(project)
    code, out, _ = check(project, "--max-increase", "5%", "-o", "json")
    assert code == 1
    production = json.loads(out)["verdict"]["scenarios"][0]
    movers = [(m["by"], m["name"]) for m in production["movers"]]
    assert movers[0] in {("model", "gpt-4o"), ("feature", "chat"), ("stream", "chat")}
    assert ("model", "gpt-4o-mini") not in movers  # search has no system prompt: it did not move
    code, out, _ = check(project, "--max-increase", "5%", "-o", "markdown")
    assert "| top movers |" in out
    assert "model gpt-4o +$" in out


def test_more_unpriced_requests_than_the_baseline_fail(tmp_path: Path) -> None:
    line = json.loads(data_file("cli/openai_small.jsonl").read_text().splitlines()[0])
    line["batch"] = True
    (tmp_path / "logs.jsonl").write_text(json.dumps(line) + "\n")
    scenario = tmp_path / "costaudit.yaml"
    routed = "workload: {{logs: [logs.jsonl], days: 1}}\nscenarios:\n  - name: routed\n    routing: {{tiers: [{{model: {}}}]}}\n"
    scenario.write_text(routed.format("gpt-4o"))
    assert check(tmp_path, "--update-baseline")[0] == 0
    # gpt-4o-mini has no batch prices in this table: the batch request routed to it cannot be priced,
    # so the scenario looks cheaper while its real cost is unknown.
    scenario.write_text(routed.format("gpt-4o-mini"))
    code, out, err = check(tmp_path, "--max-increase", "50%", "-o", "json")
    assert code == 1
    verdict = json.loads(out)["verdict"]["scenarios"][0]
    assert verdict["status"] == "unpriced"
    assert (verdict["unpriced_before"], verdict["unpriced_after"]) == (0, 1)
    assert "routed: 1 requests are unpriced (baseline: 0)" in err


def test_a_baseline_from_an_older_version_is_still_read(project: Path) -> None:
    check(project, "--update-baseline")
    path = project / "baseline.json"
    document = json.loads(path.read_text())
    for entry in document["scenarios"].values():
        del entry["unpriced_requests"], entry["breakdown"]
    path.write_text(json.dumps(document))
    code, out, _ = check(project, "--max-increase", "5%", "-o", "json")
    assert code == 0
    assert all(s["movers"] == [] for s in json.loads(out)["verdict"]["scenarios"])
