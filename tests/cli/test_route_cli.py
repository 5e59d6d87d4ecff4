"""`costaudit route fit` as a user runs it, and the saved scorer used by `simulate` and `check`."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from support import data_file, labelled_prompts

PRICES = str(data_file("cli/prices.yaml"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def labelled_log(tmp_path: Path, count: int = 600, *, judge: bool = False) -> Path:
    """A JSONL log with prompts and both models' labels (0/1, or judge scores 1–10)."""
    prompts, weak, strong = labelled_prompts(count)
    path = tmp_path / "graded.jsonl"
    with path.open("wb") as out:
        for index, (prompt, w, s) in enumerate(zip(prompts, weak, strong, strict=True)):
            record = {
                "timestamp": f"2026-11-01T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}Z",
                "model": "gpt-4o",
                "prompt": prompt,
                "completion": "ok",
                "quality:small": float(1 + 9 * w) if judge else bool(w),
                "quality:big": float(1 + 9 * s) if judge else bool(s),
            }
            out.write(orjson.dumps(record) + b"\n")
    return path


def fit(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    log = labelled_log(tmp_path)
    return run("route", "fit", str(log), "--pricing", PRICES, *extra)


def test_fit_reports_out_of_fold_metrics_next_to_the_references(tmp_path: Path) -> None:
    code, out, err = fit(tmp_path, "--weak", "small", "--strong", "big", "--folds", "5")
    assert code == 0, err
    for row in (
        "fitted on your labels, out of fold (5-fold)",
        "built-in complexity score (label-free)",
        "prompt length alone",
        "random (exact expectation)",
        "oracle (knows the labels)",
    ):
        assert row in out
    assert "CPT(50%)" in out and "90% interval" in out
    assert "costaudit: fitted on 600 labelled prompts — out-of-fold APGR" in err


def test_fit_json_and_saved_scorer(tmp_path: Path) -> None:
    saved = tmp_path / "router.json"
    code, out, err = fit(tmp_path, "-o", "json", "--save", str(saved))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "costaudit.route-fit/1"
    assert doc["labels"]["weak"] == "small" and doc["labels"]["strong"] == "big"
    routers = {router["name"]: router for router in doc["routers"]}
    assert list(routers) == ["fitted", "builtin", "length", "random", "oracle"]
    assert routers["fitted"]["apgr"] > routers["builtin"]["apgr"] + 0.15
    assert routers["random"]["apgr"] == pytest.approx(0.5, abs=0.01)
    assert doc["saved"] == str(saved)
    scorer = json.loads(saved.read_text())
    assert scorer["schema"] == "costaudit.scorer/1"
    assert scorer["out_of_fold"]["apgr"] == pytest.approx(routers["fitted"]["apgr"], abs=1e-6)
    assert "ref12" not in saved.read_text()  # hashes, never words
    assert f"scorer written to {saved}" in err


def test_judge_scores_need_their_scale(tmp_path: Path) -> None:
    log = labelled_log(tmp_path, judge=True)
    code, out, err = run("route", "fit", str(log), "--pricing", PRICES)
    assert code == 3
    assert "--label-scale" in err and "outside the scale [0, 1]" in err
    assert out == ""
    code, out, err = run("route", "fit", str(log), "--pricing", PRICES, "--label-scale", "1,10")
    assert code == 0, err
    assert "fitted on your labels" in out


def test_fit_names_the_labels_it_needs(tmp_path: Path) -> None:
    code, _, err = fit(tmp_path, "--weak", "tiny", "--strong", "big")
    assert code == 3
    assert "no `quality:tiny` labels in the logs (labels found: big, small)" in err


def scenario(tmp_path: Path, log: Path, routing: str, name: str = "scenario") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"""
workload: {{logs: ["{log.name}"]}}
scenarios:
  - name: as logged
  - name: routed
    routing: {routing}
"""
    )
    return path


def test_simulate_routes_by_the_saved_scorer(tmp_path: Path) -> None:
    code, _, err = fit(tmp_path, "--save", str(tmp_path / "router.json"))
    assert code == 0, err
    tiers = "[{model: gpt-4o-mini, share: 0.5, label: small}, {model: gpt-4o, label: big}]"
    fitted = scenario(
        tmp_path, tmp_path / "graded.jsonl", f"{{scorer: router.json, tiers: {tiers}}}"
    )
    code, out, err = run("simulate", "-s", str(fitted), "--pricing", PRICES, "-o", "json")
    assert code == 0, err
    routing = json.loads(out)["scenarios"][1]["details"]["routing"]
    assert routing["scores"]["source"] == "fitted"
    assert routing["scores"]["out_of_fold_apgr"] > 0.7
    builtin = scenario(tmp_path, tmp_path / "graded.jsonl", f"{{tiers: {tiers}}}", "builtin")
    code, out, err = run("simulate", "-s", str(builtin), "--pricing", PRICES, "-o", "json")
    assert code == 0, err
    plain = json.loads(out)["scenarios"][1]["details"]["routing"]
    assert routing["quality"]["quality"] > plain["quality"]["quality"]
    code, out, err = run("simulate", "-s", str(fitted), "--pricing", PRICES, "-o", "markdown")
    assert code == 0, err
    assert "APGR" in out and "CPT(50%)" in out
    assert "ranked by the fitted scorer router.json: out-of-fold APGR" in out


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{not json", "router.json:1: invalid JSON"),
        ("DUPLICATE_KEY", "router.json:1: duplicate key `schema`"),
        ('{"schema": "something/1"}', "router.json: schema: not a costaudit scorer"),
        ("MISSING_TOKENS", "router.json: tokens: required key is missing"),
        ("SHORT_MEAN", "router.json: (top level): mean has"),
    ],
)
def test_a_malformed_scorer_file_is_exit_3_naming_file_and_field(
    tmp_path: Path, content: str, field: str
) -> None:
    code, _, err = fit(tmp_path, "--save", str(tmp_path / "good.json"))
    assert code == 0, err
    good = json.loads((tmp_path / "good.json").read_text())
    if content == "MISSING_TOKENS":
        del good["tokens"]
        content = json.dumps(good)
    elif content == "DUPLICATE_KEY":
        content = json.dumps(good).replace("{", '{"schema": "costaudit.scorer/0", ', 1)
    elif content == "SHORT_MEAN":
        good["mean"] = good["mean"][:3]
        content = json.dumps(good)
    (tmp_path / "router.json").write_text(content)
    tiers = "[{model: gpt-4o-mini, share: 0.5}, {model: gpt-4o}]"
    path = scenario(tmp_path, tmp_path / "graded.jsonl", f"{{scorer: router.json, tiers: {tiers}}}")
    code, out, err = run("simulate", "-s", str(path), "--pricing", PRICES)
    assert code == 3, err
    assert field in err
    assert str(tmp_path / "router.json") in err
    assert out == ""


def test_a_missing_scorer_names_the_scenario_field(tmp_path: Path) -> None:
    log = labelled_log(tmp_path)
    path = scenario(
        tmp_path,
        log,
        "{scorer: nowhere.json, tiers: [{model: gpt-4o-mini, share: 0.5}, {model: gpt-4o}]}",
    )
    code, _, err = run("simulate", "-s", str(path), "--pricing", PRICES)
    assert code == 3
    assert "nowhere.json: scenarios[1].routing.scorer: scorer file not found" in err


def test_labels_outside_the_scenario_scale_name_the_field(tmp_path: Path) -> None:
    log = labelled_log(tmp_path, judge=True)
    tiers = "[{model: gpt-4o-mini, share: 0.5, label: small}, {model: gpt-4o, label: big}]"
    path = scenario(tmp_path, log, f"{{tiers: {tiers}}}")
    code, _, err = run("simulate", "-s", str(path), "--pricing", PRICES)
    assert code == 3
    assert "scenarios[1].routing.label_scale: `quality:" in err
    assert "labels range from 1 to 10, outside the scale [0, 1]" in err
    scaled = scenario(tmp_path, log, f"{{label_scale: [1, 10], tiers: {tiers}}}")
    code, out, err = run("simulate", "-s", str(scaled), "--pricing", PRICES, "-o", "json")
    assert code == 0, err
    quality = json.loads(out)["scenarios"][1]["details"]["routing"]["quality"]
    assert 0 < quality["quality"] < 1 and quality["apgr"] is not None


def test_routing_without_labels_says_the_score_is_a_label_free_estimate(tmp_path: Path) -> None:
    log = tmp_path / "plain.jsonl"
    log.write_text(
        "".join(
            json.dumps({"model": "gpt-4o", "prompt": "word " * (index + 1)}) + "\n"
            for index in range(40)
        )
    )
    path = scenario(tmp_path, log, "{tiers: [{model: gpt-4o-mini, share: 0.5}, {model: gpt-4o}]}")
    code, out, err = run("simulate", "-s", str(path), "--pricing", PRICES, "-o", "markdown")
    assert code == 0, err
    text = " ".join(out.split())
    assert "ranked by the complexity score, a label-free estimate" in text
    assert "(APGR 0.56–0.60 on public labelled sets, random 0.50" in text
    code, out, err = run("simulate", "-s", str(path), "--pricing", PRICES, "-o", "json")
    assert code == 0, err
    scores = json.loads(out)["scenarios"][1]["details"]["routing"]["scores"]
    assert scores == {"source": "complexity", "label_free": True, "measured_apgr": [0.56, 0.6]}


def test_a_scorer_needs_logs_with_prompts(tmp_path: Path) -> None:
    code, _, err = fit(tmp_path, "--save", str(tmp_path / "router.json"))
    assert code == 0, err
    path = tmp_path / "synthetic.yaml"
    path.write_text(
        """
workload:
  synthetic: {requests_per_day: 100, model: gpt-4o, input_tokens: 100, output_tokens: 10}
scenarios:
  - name: routed
    routing: {scorer: router.json, tiers: [{model: gpt-4o-mini, share: 0.5}, {model: gpt-4o}]}
"""
    )
    code, out, err = run("simulate", "-s", str(path), "--pricing", PRICES)
    assert code == 3
    assert "synthetic.yaml: scenarios[0].routing.scorer: router.json scores prompt text" in err
    assert out == ""


def test_the_routing_plot_marks_the_scenario_operating_point(tmp_path: Path) -> None:
    from costaudit.api.scenarios import build_workload, load_scenario
    from costaudit.core.simulate.engine import simulate as run_simulation
    from costaudit.pricetable.layers import load_prices
    from costaudit.render.plots import simulation_plots

    tiers = "[{model: gpt-4o-mini, share: 0.7, label: small}, {model: gpt-4o, label: big}]"
    path = scenario(tmp_path, labelled_log(tmp_path), f"{{tiers: {tiers}}}")
    table = load_prices([Path(PRICES)]).table
    loaded = load_scenario(path, table)
    result = run_simulation(build_workload(loaded, table).workload, loaded.config, table)
    routed = result.scenarios[1]
    routing = routed.details.routing
    assert routing is not None and routing.quality is not None
    assert routing.tiers[-1].share == pytest.approx(0.3)
    assert routed.monthly_usd is not None and routed.curve is not None
    assert all(point.quality is not None for point in routed.curve)
    written = simulation_plots(result, tmp_path / "plots")
    assert (tmp_path / "plots" / "routing_curve_routed.png") in written


def test_check_applies_the_scorer_and_a_refitted_one_is_a_scenario_change(tmp_path: Path) -> None:
    code, _, err = fit(tmp_path, "--save", str(tmp_path / "router.json"))
    assert code == 0, err
    tiers = "[{model: gpt-4o-mini, share: 0.5}, {model: gpt-4o}]"
    path = scenario(tmp_path, tmp_path / "graded.jsonl", f"{{scorer: router.json, tiers: {tiers}}}")
    baseline = str(tmp_path / "baseline.json")
    args = ("check", "-s", str(path), "--baseline", baseline, "--pricing", PRICES)
    code, _, err = run(*args, "--update-baseline")
    assert code == 0, err
    code, out, err = run(*args, "-o", "json", "--report-only")
    assert code == 0, err
    assert json.loads(out)["verdict"]["causes"] == []
    code, _, err = fit(
        tmp_path, "--save", str(tmp_path / "router.json"), "--seed", "8", "--folds", "4"
    )
    assert code == 0, err
    code, out, err = run(*args, "-o", "json", "--max-increase", "50")
    assert code in (0, 1), err
    assert json.loads(out)["verdict"]["causes"] == ["scenario"]
