"""`costaudit simulate` with a `serving:` hosting block, as a user runs it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from costaudit.cli.app import app

WORKLOAD = """
workload:
  synthetic:
    requests_per_day: 20000
    model: gpt-4-turbo
    input_tokens: 1500
    output_tokens: 500
    arrival: {pattern: diurnal, peak_to_average: 2}
    seed: 7
scenarios:
  - name: api
"""

REPLAYED = (
    WORKLOAD
    + """
  - name: replayed
    hosting:
      model: llama-2-7b
      gpu: a100-80gb
      precision: fp16
      serving:
        slo: {ttft_p90: 2s, tpot_p99: 200ms}
        search: {gpus: [a100-80gb, h100], precisions: [fp16, fp8]}
"""
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_replayed_fleet_in_json(tmp_path: Path) -> None:
    code, out, err = run("simulate", "--scenario", str(write(tmp_path, REPLAYED)), "-o", "json")
    assert code == 0, err
    scenario = json.loads(out)["scenarios"][1]
    hosting = scenario["details"]["hosting"]
    serving = hosting["serving"]
    assert serving["sized_by"] == "replay"
    assert serving["meets_slo"] is True
    assert serving["requests"] == 20_000
    assert serving["ttft_s"]["p90"] <= 2.0 and serving["tpot_s"]["p99"] <= 0.2
    assert serving["slo"] == [
        {"metric": "ttft", "percentile": 90, "seconds": 2.0},
        {"metric": "tpot", "percentile": 99, "seconds": 0.2},
    ]
    assert 1 <= serving["batch"]["p50"] <= serving["batch"]["max"] <= 256
    assert 0 < serving["busy"]["mean"] <= 1
    # The scenario is priced with the replayed fleet: replicas × 720 h × the GPU's hourly price.
    assert hosting["replicas"] == serving["replicas"]
    assert hosting["gpu"] == serving["gpu"]
    comparison = serving["comparison"]
    assert Decimal(scenario["monthly_usd"]) == Decimal(comparison["replay_monthly_usd"])
    # The cheapest option that met the SLO is the one chosen, and it is on the frontier.
    options = serving["search"]["options"]
    meeting = [o for o in options if o["meets_slo"]]
    assert min(Decimal(o["monthly_usd"]) for o in meeting) == Decimal(scenario["monthly_usd"])
    assert any(o["on_frontier"] for o in options)
    sweep = serving["sweep"]
    assert [point["batch"] for point in sweep][:3] == [1, 2, 4]
    assert sweep[-1]["output_tokens_per_s"] > sweep[0]["output_tokens_per_s"]


def test_replayed_fleet_in_text_and_html(tmp_path: Path) -> None:
    scenario = str(write(tmp_path, REPLAYED))
    code, out, err = run("simulate", "--scenario", scenario, "-o", "markdown")
    assert code == 0, err
    assert "sized by replay (SLO met" in out
    assert "**Serving replay — replayed**" in out
    assert "| TTFT p50 / p90 / p99 (replay) |" in out
    assert "closed form" in out
    assert "**SLO search — replayed**" in out
    assert "Batch-size sweep" in out
    page = tmp_path / "report.html"
    code, _, err = run("simulate", "--scenario", scenario, "-o", "html", "--out", str(page))
    assert code == 0, err
    html = page.read_text()
    assert "Serving replay" in html
    assert "monthly cost against p99 latency" in html
    assert "GPU busy share" in html


def test_scenarios_without_serving_have_no_serving_key(tmp_path: Path) -> None:
    text = WORKLOAD + "  - name: closed\n    hosting: {model: llama-2-7b, gpu: a100-80gb}\n"
    code, out, err = run("simulate", "--scenario", str(write(tmp_path, text)), "-o", "json")
    assert code == 0, err
    assert "serving" not in json.loads(out)["scenarios"][1]["details"]["hosting"]


def test_autoscale_with_serving_is_a_clear_error(tmp_path: Path) -> None:
    text = (
        WORKLOAD
        + "  - name: bad\n    hosting: {model: llama-2-7b, gpu: a100-80gb, autoscale: true, serving: {}}\n"
    )
    code, out, err = run("simulate", "--scenario", str(write(tmp_path, text)))
    assert code == 3
    assert out == ""
    assert "remove `autoscale` or `serving`" in err
    assert "Traceback" not in err


def test_unknown_gpu_in_the_search_is_a_clear_error(tmp_path: Path) -> None:
    text = (
        WORKLOAD + "  - name: bad\n    hosting:\n      model: llama-2-7b\n      gpu: a100-80gb\n"
        "      serving: {search: {gpus: [b300]}}\n"
    )
    code, _, err = run("simulate", "--scenario", str(write(tmp_path, text)))
    assert code == 3
    assert "b300 is not in the price table's hardware" in err
    assert "serving.search.gpus" in err
