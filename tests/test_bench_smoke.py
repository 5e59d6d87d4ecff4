"""Smoke test of the benchmark harness in bench/ (`make bench` is the real run; see bench/README.md).

It checks that the generator is deterministic and that `bench/run.py --quick` completes and reports
every section with numbers. It asserts nothing about speed: timing claims come from the benchmark.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from support import bench_script

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    return bench_script(name)


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *(str(arg) for arg in args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("kind", _load("generate").KINDS)
def test_generator_is_deterministic_and_writes_json_lines(tmp_path: Path, kind: str) -> None:
    generate = _load("generate")
    first = generate.write(kind, 40, tmp_path / "a.jsonl", seed=3)
    second = generate.write(kind, 40, tmp_path / "b.jsonl", seed=3)
    other = generate.write(kind, 40, tmp_path / "c.jsonl", seed=4)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    records = [orjson.loads(line) for line in first.read_bytes().splitlines()]
    assert len(records) == 40
    if kind in {"openai-text", "openai-distinct-text"}:
        assert all("usage" not in record["response"] for record in records)
        assert all(record["request"]["messages"][-1]["content"] for record in records)
    if kind == "openai-distinct-text":
        prompts = [record["request"]["messages"][-1]["content"] for record in records]
        assert len(set(prompts)) == len(prompts)
        assert all(50 <= len(prompt.split()) <= 900 for prompt in prompts)


def test_usage_text_file_has_the_same_requests_as_usage_only(tmp_path: Path) -> None:
    generate = _load("generate")
    plain = generate.write("openai-usage", 30, tmp_path / "plain.jsonl")
    padded = generate.write("openai-usage-text", 30, tmp_path / "padded.jsonl")
    a = [orjson.loads(line) for line in plain.read_bytes().splitlines()]
    b = [orjson.loads(line) for line in padded.read_bytes().splitlines()]
    assert [(r["model"], r["usage"]) for r in a] == [(r["model"], r["usage"]) for r in b]
    assert padded.stat().st_size > 2 * plain.stat().st_size


def test_references_count_records_and_tokens(tmp_path: Path) -> None:
    generate = _load("generate")
    path = generate.write("openai-text", 25, tmp_path / "text.jsonl")
    parsed = _run(BENCH / "references.py", "parse", path)
    tokenized = _run(BENCH / "references.py", "tokenize", path)
    assert parsed.returncode == 0, parsed.stderr
    assert tokenized.returncode == 0, tokenized.stderr
    assert json.loads(parsed.stdout)["records"] == 25
    counts = json.loads(tokenized.stdout)
    assert counts["records"] == 25
    assert counts["texts"] >= 3 * 25  # system, user and completion at least
    assert counts["tokens"] > 100 * 25


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One `bench/run.py --quick` run: its results file and the Markdown it printed."""
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "results.json"
    done = _run(BENCH / "run.py", "--quick", "--data-dir", folder / "data", "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


def test_quick_run_reports_every_section(quick_run: tuple[Path, str]) -> None:
    out, printed = quick_run
    results = json.loads(out.read_text())

    assert results["quick"] is True
    assert results["machine"]["cores"] >= 1 and results["machine"]["python"]
    kinds = [case["file"]["kind"] for case in results["analyze"]]
    assert kinds == ["openai-usage", "anthropic-batch", "openai-text", "openai-distinct-text"]
    for case in results["analyze"]:
        analyze = case["commands"]["analyze"]
        assert _numbers(analyze["median_s"], analyze["cpu_s"], analyze["max_rss_bytes"])
        assert _numbers(case["records_per_s"], case["mb_per_s"], *case["ratios"].values())
        assert analyze["summary"]["read"] == case["file"]["records"]
        assert case["commands"]["parse"]["output"]["records"] == case["file"]["records"]
    assert "tokenize" in results["analyze"][-1]["ratios"]

    peer = results["peer"]
    if importlib.util.find_spec("litellm") is None:
        assert peer == {"skipped": "litellm not installed"}
    else:
        assert peer["peer"]["output"]["failed"] == 0
        assert _numbers(peer["ratio_peer_over_analyze"], peer["records_per_s"])

    rss = results["rss"]
    assert set(rss["runs"]) == {"openai-usage", "openai-usage-text"}
    assert _numbers(
        rss["rss_per_file_byte"] + 10, *(r["max_rss_bytes"] for r in rss["runs"].values())
    )

    scale = results["scale"]
    assert set(scale["runs"]) == {"2000", "6000"}
    assert _numbers(scale["rss_growth"]) and scale["records_growth"] == 3
    assert all(run["summary"]["read"] == int(n) for n, run in scale["runs"].items())

    dask = results["dask"]
    if importlib.util.find_spec("distributed") is None:
        assert dask == {"skipped": "dask[distributed] not installed"}
    else:
        assert dask["identical"] is True
        assert _numbers(dask["paired_ratio"]["median"])

    simulate = results["simulate"]
    assert simulate["requests"] == 20_000
    assert len(simulate["scenarios"]) == 5
    assert all(_numbers(entry["median_s"]) for entry in simulate["scenarios"].values())
    assert _numbers(simulate["replay"]["blocks_per_s"], simulate["replay"]["hit_rate"])
    assert any("blocks_per_s" in entry for entry in simulate["scenarios"].values())

    startup = results["startup"]
    assert set(startup) == {"costaudit_help", "analyze_one_record", "stack_imports", "python_bare"}
    assert _numbers(*(entry["median_s"] for entry in startup.values()))
    names = [row["target"] for row in results["targets"]]
    assert len(names) >= 9
    assert all(isinstance(row["pass"], bool) for row in results["targets"])

    for heading in (
        "**Targets**",
        "**analyze**",
        "**Peer**",
        "**Peak RSS**",
        "**Memory at scale**",
        "**Dask**",
        "**simulate**",
        "**Start-up**",
    ):
        assert heading in printed


def test_markdown_block_replaces_the_readme_section(
    quick_run: tuple[Path, str], tmp_path: Path
) -> None:
    out, printed = quick_run
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- BEGIN results -->\nold\n<!-- END results -->\noutro\n")
    done = _run(BENCH / "run.py", "--markdown", "--out", out, "--write-readme", "--readme", readme)
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert "old" not in text
    assert text.startswith("intro\n<!-- BEGIN results -->\n")
    assert text.endswith("<!-- END results -->\noutro\n")
    assert done.stdout == printed
    assert printed in text


def test_quick_results_never_go_into_the_bench_readme(quick_run: tuple[Path, str]) -> None:
    out, _ = quick_run
    done = _run(BENCH / "run.py", "--markdown", "--out", out, "--write-readme")
    assert done.returncode != 0
    assert "refusing" in done.stderr


def test_encoder_benchmark_quick_run_compares_both_encoders() -> None:
    result = _run(BENCH / "encoders.py", "--quick")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["cl100k_base", "o200k_base"]


def test_scoring_share_quick_run_reports_both_targets(tmp_path: Path) -> None:
    done = _run(BENCH / "scoring_share.py", "--quick", "--data-dir", tmp_path / "data")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scoring ÷ tokenizing the same prompts" in done.stdout
    assert "scoring ÷ analyze CPU time" in done.stdout
    assert "2,000 distinct prompts of" in done.stdout


def test_readers_quick_run_reports_each_reader_with_its_counts(tmp_path: Path) -> None:
    done = _run(
        BENCH / "readers.py",
        "--quick",
        "--readers",
        "openai_chat,otel_spans,anthropic-batch",
        "--data-dir",
        tmp_path / "data",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| fixture", "| gen"))]
    assert [row.split("|")[1].strip() for row in rows] == [
        "fixture `openai_chat`",
        "fixture `otel_spans`",
        "generated `anthropic-batch`",
    ]
    # 2,000 gateway lines, every one priced.
    assert rows[0].endswith("| 2,000 · 2,000 · 0 · 0 |")
    assert (tmp_path / "data" / "openai_chat-2000.jsonl").read_bytes().count(b"\n") == 2_000
    # The generated batch: every line read, the errored and expired results skipped, none unpriced.
    read, priced, unpriced, skipped = (
        int(count.replace(",", "")) for count in rows[2].split("|")[-2].split("·")
    )
    assert read == 2_000 and unpriced == 0 and 0 < skipped < 100 and priced + skipped == read


def test_readers_refuses_an_unknown_reader(tmp_path: Path) -> None:
    done = _run(BENCH / "readers.py", "--quick", "--readers", "nope", "--data-dir", tmp_path)
    assert done.returncode == 2
    assert "unknown reader(s): nope" in done.stderr
