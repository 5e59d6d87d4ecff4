"""The Python API: the functions the CLI calls give what the CLI prints, from any form of the table."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import costaudit
from costaudit.cli.app import app
from costaudit.errors import InputError
from support import REPO, data_file

LOGS = str(REPO / "examples" / "logs")
DYNAMIC_BATCHING = REPO / "examples" / "scenarios" / "dynamic-batching.yaml"


def cli_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, [*args, "-o", "json"])
    assert result.exit_code in (0, 1), result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_analyze_gives_the_totals_the_cli_prints() -> None:
    analysis = costaudit.analyze(LOGS, group_by=["feature"])
    document = cli_json("analyze", LOGS, "--group-by", "feature")
    cost = document["cost"]
    assert isinstance(cost, dict)
    assert str(analysis.total_cost) == cost["total_usd"]
    assert analysis.records_read == 2208 and analysis.records_skipped == 8
    assert sum(row.requests for row in analysis.groups) == analysis.records_priced
    assert analysis.pricing is not None and analysis.pricing.sha256 == document["pricing"]["sha256"]  # type: ignore[index]


def test_analyze_takes_logs_a_table_or_a_dataframe_alike() -> None:
    prices = costaudit.load_prices()
    logs = costaudit.read_logs(LOGS, prices=prices)
    from_logs = costaudit.analyze(logs, prices=prices)
    from_table = costaudit.analyze(logs.requests, prices=prices)
    from_frame = costaudit.analyze(logs.requests.to_frame(), prices=prices)
    assert from_logs.total_cost == from_table.total_cost == from_frame.total_cost
    assert from_logs.monthly_cost == from_frame.monthly_cost
    # Only the logs know what was skipped while reading.
    assert (from_logs.records_read, from_table.records_read) == (2208, 2200)


def test_a_dataframe_built_by_hand_is_priced_exactly() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2026-11-01", "2026-11-02"], utc=True),
            "model": ["gpt-4o-mini", "gpt-4o-mini"],
            "input_tokens": [1_000_000, 4_000_000],
            "output_tokens": [500_000, 0],
            "team": ["a", "b"],
        }
    )
    analysis = costaudit.analyze(frame, group_by=["team"])
    # gpt-4o-mini: $0.15 per 1M input, $0.60 per 1M output (pricing/default.yaml)
    assert analysis.total_cost == 5 * Decimal("0.15") + Decimal("0.5") * Decimal("0.60")
    assert [row.key for row in analysis.groups] == [("b",), ("a",)]


def test_simulate_and_check_return_typed_results() -> None:
    result = costaudit.simulate(REPO / "examples" / "scenarios" / "design-card.yaml")
    assert result.baseline.monthly_usd == Decimal(90_000)
    assert all(s.monthly_usd is not None for s in result.scenarios)
    verdict = costaudit.check(
        REPO / "examples" / "ci" / "costaudit.yaml",
        REPO / "examples" / "ci" / "costaudit-baseline.json",
        max_increase_pct=1,
    )
    assert verdict.passed and verdict.reasons == ()
    assert verdict.simulation is not None and verdict.compared_to is not None
    over = costaudit.check(
        REPO / "examples" / "ci" / "costaudit.yaml",
        REPO / "examples" / "ci" / "costaudit-baseline.json",
        budget_usd=1000,
    )
    assert not over.passed and {c.status for c in over.failures} == {"over_budget"}


def test_saved_workloads_round_trip(tmp_path: Path) -> None:
    logs = costaudit.read_logs(LOGS, prompt_hashes=True)
    target = tmp_path / "workload.parquet"
    costaudit.save_workload(logs, target)
    back = costaudit.load_workload(target)
    assert len(back) == len(logs.requests)
    assert back.token_sum("cached_input_tokens") == logs.requests.token_sum("cached_input_tokens")
    assert back.model.values() == logs.requests.model.values()
    assert costaudit.analyze(back).total_cost == costaudit.analyze(logs).total_cost


def test_bad_input_raises_an_error_naming_the_place(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.jsonl: file not found"):
        costaudit.analyze(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match=r"bad_lines\.jsonl:2: malformed JSON"):
        costaudit.read_logs(data_file("cli/bad_lines.jsonl"), strict=True)


def test_importing_costaudit_loads_no_heavy_library() -> None:
    code = "import sys, costaudit; print(sorted(m for m in ('numpy', 'pydantic', 'pandas') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_readme_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, "examples/python_api.py"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "check passed" in done.stdout
    assert "total $10.53, monthly $45.16" in done.stdout


def test_long_simulation_work_reports_what_it_is_doing() -> None:
    """Each scenario is announced as it begins, and the serving replay and its search tell a
    progress line what they are doing."""
    said: list[str] = []
    costaudit.simulate(DYNAMIC_BATCHING, report=said.append)
    assert any("serving search:" in line or "serving replay:" in line for line in said)
    names = [s.name for s in costaudit.load_scenario(DYNAMIC_BATCHING).config.scenarios]
    announced = [f"scenario {n}/{len(names)}: {name}" for n, name in enumerate(names, start=1)]
    assert [line for line in said if line in announced] == announced  # each, in the file's order
    # What long work inside a scenario says carries its count and name in front.
    assert all(any(line.startswith(start) for start in announced) for line in said)


CI_SCENARIO = REPO / "examples" / "ci" / "costaudit.yaml"
CI_LINES = [
    "scenario 1/3: production",
    "scenario 2/3: production with prompt caching",
    "scenario 3/3: chat routed 60/40",
]


def test_check_and_update_baseline_report_each_scenario_run(tmp_path: Path) -> None:
    """The lines `simulate` reports reach check's and update_baseline's `report` too, and telling
    it changes neither the verdict nor the baseline written."""
    from costaudit.jsonio import dumps
    from costaudit.render.check import check_document

    baseline = REPO / "examples" / "ci" / "costaudit-baseline.json"
    said: list[str] = []
    told = costaudit.check(CI_SCENARIO, baseline, report=said.append)
    assert said == CI_LINES
    assert dumps(check_document(told)) == dumps(
        check_document(costaudit.check(CI_SCENARIO, baseline))
    )
    said.clear()
    written = tmp_path / "baseline.json"
    costaudit.update_baseline(CI_SCENARIO, written, report=said.append, only=["production"])
    assert said == CI_LINES  # every scenario runs; `only` picks what is kept
    quiet = tmp_path / "quiet.json"
    costaudit.update_baseline(CI_SCENARIO, quiet, only=["production"])
    assert written.read_text().replace(str(written), "") == quiet.read_text().replace(
        str(quiet), ""
    )
