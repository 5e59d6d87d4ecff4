"""`costaudit simulate --group-by / --months` and unpriced requests, in every output format."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from costaudit.cli.app import app
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
SMALL = data_file("cli/openai_small.jsonl")
SCENARIO = """\
workload:
  logs: [logs.jsonl]
  days: 30
  growth: {monthly: 10%}
scenarios:
  - name: current
  - name: mini for search
    routing: {tiers: [{model: gpt-4o-mini}], applies_to: {feature: search}}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def project(tmp_path: Path, scenario: str = SCENARIO, logs: str | None = None) -> Path:
    (tmp_path / "logs.jsonl").write_text(logs if logs is not None else SMALL.read_text())
    path = tmp_path / "costaudit.yaml"
    path.write_text(scenario)
    return path


def simulate(path: Path, *extra: str) -> tuple[int, str, str]:
    return run("simulate", "--scenario", str(path), "--pricing", PRICES, *extra)


def test_json_breaks_every_scenario_down_by_model_and_group(tmp_path: Path) -> None:
    code, out, err = simulate(project(tmp_path), "--group-by", "feature", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["group_by"] == ["feature"]
    for scenario in doc["scenarios"]:
        breakdown = scenario["breakdown"]
        total = Decimal(scenario["monthly_usd"])
        models = sum(Decimal(row["monthly_usd"]) for row in breakdown["models"])
        features = sum(Decimal(row["monthly_usd"]) for row in breakdown["groups"]["feature"])
        assert abs(models - total) < Decimal("0.00001")
        assert abs(features - total) < Decimal("0.00001")
        assert set(breakdown["models"][0]) == {
            "model",
            "requests",
            "monthly_usd",
            "unpriced_requests",
        }
    routed = {row["group"]: row for row in doc["scenarios"][1]["breakdown"]["groups"]["feature"]}
    current = {row["group"]: row for row in doc["scenarios"][0]["breakdown"]["groups"]["feature"]}
    assert routed["chat"]["monthly_usd"] == current["chat"]["monthly_usd"]
    assert Decimal(routed["search"]["monthly_usd"]) < Decimal(current["search"]["monthly_usd"])


def test_table_markdown_and_csv_show_the_breakdowns(tmp_path: Path) -> None:
    path = project(tmp_path)
    code, out, _ = simulate(path, "--group-by", "feature")
    assert code == 0
    assert "Monthly cost by model" in out and "Monthly cost by feature" in out
    code, out, _ = simulate(path, "--group-by", "feature", "-o", "markdown")
    assert "**Monthly cost by feature**" in out
    assert "| feature | current | mini for search |" in out
    code, out, _ = simulate(path, "--group-by", "feature", "-o", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    totals = [row for row in rows if not row["breakdown"]]
    assert [row["scenario"] for row in totals] == ["current", "mini for search"]
    search = [r for r in rows if r["breakdown"] == "feature" and r["group"] == "search"]
    assert [r["scenario"] for r in search] == ["current", "mini for search"]
    assert {r["breakdown"] for r in rows} == {"", "model", "feature"}


def test_an_unknown_group_by_field_is_bad_input_with_a_suggestion(tmp_path: Path) -> None:
    code, out, err = simulate(project(tmp_path), "--group-by", "featur")
    assert code == 3
    assert out == ""
    assert "--group-by: the workload has no `featur` field" in err
    assert "did you mean `feature`?" in err


def test_months_prints_the_forecast_and_the_cumulative_saving(tmp_path: Path) -> None:
    path = project(tmp_path)
    code, out, err = simulate(path, "--months", "3", "-o", "json")
    assert code == 0, err
    forecast = json.loads(out)["forecast"]
    assert (forecast["months"], forecast["growth_monthly_pct"], forecast["growth_source"]) == (
        3,
        "10",
        "declared",
    )
    current, routed = forecast["scenarios"]
    first, second, third = (Decimal(v) for v in current["monthly_usd"])
    # Money in JSON is rounded to the micro-dollar.
    assert abs(second - first * Decimal("1.1")) <= Decimal("0.000002")
    assert abs(third - first * Decimal("1.21")) <= Decimal("0.000002")
    assert Decimal(routed["cumulative_savings_usd"]) == Decimal(current["total_usd"]) - Decimal(
        routed["total_usd"]
    )
    code, out, _ = simulate(path, "--months", "3")
    assert "Forecast, 3 months, traffic +10% a month (declared)" in out
    assert "cumulative saving" in out
    assert run("simulate", "-s", str(path), "--months", "0")[0] == 2


def test_unpriced_requests_show_on_the_row_and_void_the_saving(tmp_path: Path) -> None:
    """Batch requests routed to a model without batch prices cannot be priced: the row says how many
    and no saving is claimed."""
    line = json.loads(SMALL.read_text().splitlines()[0])
    line["batch"] = True
    scenario = (
        "workload: {logs: [logs.jsonl], days: 1}\nscenarios:\n  - name: current\n"
        "  - name: mini\n    routing: {tiers: [{model: gpt-4o-mini}]}\n"
    )
    path = project(tmp_path, scenario, logs=json.dumps(line) + "\n")
    code, out, _ = simulate(path, "-o", "json")
    assert code == 0
    mini = json.loads(out)["scenarios"][1]
    assert mini["unpriced_requests"] == 1
    assert mini["savings_usd"] is None and mini["savings_pct"] is None
    assert mini["breakdown"]["models"][0]["unpriced_requests"] == 1
    code, out, _ = simulate(path)
    assert "+ 1 unpriced requests" in out
