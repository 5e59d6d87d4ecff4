"""Every JSON-lines reader at 10⁵ records, next to the orjson loop on the same file.

    python bench/readers.py                  # 10⁵ records per file, 3 paired rounds
    python bench/readers.py --write-readme   # run, then replace the block in bench/README.md
    python bench/readers.py --quick          # 2,000 records, one round (numbers meaningless)
    python bench/readers.py --markdown --write-readme   # the block from the last results

Two kinds of file are measured. A *fixture* file repeats the lines of one of the test suite's logs
(tests/data/logs, exports taken from the providers' and tools' own documentation and SDK tests) until
it holds `--records` lines, so every reader is measured on the shapes its users' logs have — including
the odd ones the fixtures collect (failed requests, wrappers, nulls), often half of their lines. The
lines repeat: identical prompts are counted and scored once per chunk, and trace spans repeat their
ids, so the figures are a reader's own cost, not a workload's. A *generated* file (bench/generate.py)
is the typical log of one format at volume: distinct ids and token counts, the usual share of
failures. Each round runs the orjson loop (`references.py parse`: read every line, nothing else) and
then `costaudit analyze FILE -o json --out /dev/null`, both as subprocesses from spawn to exit; the
ratio is analyze ÷ reference within the round, and the table shows its median and min–max.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402 - bench/ is on the path above
import run as harness  # noqa: E402

LOGS = BENCH.parent / "tests" / "data" / "logs"
RECORDS = 100_000
LIMIT = 2.5
RESULTS = BENCH / "results" / "readers.json"
BEGIN, END = "<!-- BEGIN readers -->", "<!-- END readers -->"

READERS = {
    "anthropic_batch_results": "Anthropic Message Batches results",
    "anthropic_messages": "Anthropic Messages responses, with and without the request",
    "bedrock_invocation_logs": "Bedrock model invocation logs",
    "bedrock_responses": "Bedrock Converse / InvokeModel responses",
    "gemini": "Gemini generateContent responses",
    "helicone": "Helicone request export",
    "langfuse_observations": "Langfuse observations",
    "langsmith_runs": "LangSmith runs (a trace tree)",
    "litellm_payloads": "LiteLLM callback payloads",
    "litellm_standard_payloads": "LiteLLM standard logging payloads",
    "mooncake": "Mooncake trace (no model: unpriced)",
    "openai_batch_output": "OpenAI Batch API output",
    "openai_chat": "OpenAI Chat Completions, gateway lines with the request",
    "otel_spans": "OpenTelemetry GenAI spans (a trace tree)",
    "phoenix_spans": "Phoenix / OpenInference spans (a trace tree)",
}
"""Fixture (tests/data/logs/NAME.jsonl) → what its lines are."""

GENERATED = {
    "openai-usage": "OpenAI Chat Completions response bodies with usage",
    "openai-batch-output": "OpenAI Batch API output",
    "anthropic-messages": "Anthropic Messages response bodies (logging wrapper's time and metadata)",
    "anthropic-batch": "Anthropic Message Batches results, about 1% errored or expired",
    "gemini-responses": "Vertex AI Gemini generateContent response bodies",
    "helicone-export": "Helicone export rows, about 1% failed and 2% response-cache hits",
    "litellm-spend-logs": "LiteLLM proxy spend-log rows without prompts",
}
"""bench/generate.py kind → what its lines are: the typical file of each format that has one."""


assert not READERS.keys() & GENERATED.keys(), "a fixture and a generated kind share a name"


def describe(name: str) -> str:
    return READERS.get(name) or GENERATED[name]


def build(name: str, records: int, data_dir: Path) -> Path:
    """The file measured for `name`: a generated kind, or the fixture's lines repeated in order
    until the file holds `records` lines (both reused)."""
    if name in GENERATED:
        return generate.cached_file(data_dir, name, records)
    path = data_dir / f"{name}-{records}.jsonl"
    if path.is_file():
        return path
    lines = [line for line in (LOGS / f"{name}.jsonl").read_bytes().splitlines() if line.strip()]
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        for line in itertools.islice(itertools.cycle(lines), records):
            out.write(line + b"\n")
    partial.replace(path)
    return path


def measure_reader(name: str, path: Path, rounds: int) -> dict[str, Any]:
    analyze, reference, ratios = [], [], []
    summary: dict[str, Any] = {}
    for _ in range(rounds):
        base = harness.run_command(harness.reference_command("parse", path))
        run = harness.run_command(harness.analyze_command(path))
        summary = harness.analyze_summary(run.stderr)
        analyze.append(run.wall_s)
        reference.append(base.wall_s)
        ratios.append(run.wall_s / base.wall_s)
    return {
        "reader": name,
        "file": "generated" if name in GENERATED else "fixture",
        "lines": describe(name),
        "bytes": path.stat().st_size,
        "analyze_s": round(statistics.median(analyze), 3),
        "reference_s": round(statistics.median(reference), 3),
        "ratio": round(statistics.median(ratios), 2),
        "ratio_min": round(min(ratios), 2),
        "ratio_max": round(max(ratios), 2),
        "summary": summary,
    }


def measure(records: int, rounds: int, names: list[str], data_dir: Path) -> dict[str, Any]:
    harness.compile_package()
    results = []
    for name in names:
        path = build(name, records, data_dir)
        harness.log(f"{name}: {rounds} round(s) on {path.stat().st_size / 1e6:.0f} MB")
        results.append(measure_reader(name, path, rounds))
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(),
        "records": records,
        "rounds": rounds,
        "readers": results,
    }


def markdown(result: dict[str, Any]) -> str:
    machine = result["machine"]
    met = sum(1 for row in result["readers"] if row["ratio"] <= LIMIT)
    lines = [
        f"Run of {result['when']} on `{machine.get('cpu', '?')}`, {machine.get('cores', '?')} cores, "
        f"costaudit at {machine.get('git_commit') or '?'}; {result['records']:,} lines per file, "
        f"{result['rounds']} paired rounds; {met} of {len(result['readers'])} files within "
        f"{LIMIT}× the orjson loop.",
        "",
        "| file | lines | MB | analyze | orjson loop | ratio (min–max) | read · priced · unpriced · skipped |",
        "|---|---|--:|--:|--:|--:|---|",
    ]
    for row in result["readers"]:
        counts = row["summary"]
        read = " · ".join(
            f"{counts.get(key, 0):,}" for key in ("read", "priced", "unpriced", "skipped")
        )
        kind = row.get("file", "fixture")
        lines.append(
            f"| {kind} `{row['reader']}` | {row['lines']} | {row['bytes'] / 1e6:.0f} | "
            f"{row['analyze_s']:.2f} s | {row['reference_s']:.2f} s | "
            f"{row['ratio']:.2f}× ({row['ratio_min']:.2f}–{row['ratio_max']:.2f}) | {read} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--readers",
        default=",".join((*READERS, *GENERATED)),
        help="comma-separated fixture names and generated kinds (all)",
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data" / "readers")
    parser.add_argument("--quick", action="store_true", help="2,000 records, one round")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument(
        "--markdown", action="store_true", help=f"no run: the block from {RESULTS.name}"
    )
    args = parser.parse_args(argv)
    names = [name for name in args.readers.split(",") if name]
    unknown = sorted(set(names) - set(READERS) - set(GENERATED))
    if unknown:
        parser.error(f"unknown reader(s): {', '.join(unknown)}")
    records, rounds = (2_000, 1) if args.quick else (args.records, args.rounds)
    harness.results_block(
        RESULTS,
        lambda: measure(records, rounds, names, args.data_dir),
        markdown,
        saved=args.markdown,
        keep=not args.quick,
        readme_markers=(BEGIN, END) if args.write_readme else None,
    )


if __name__ == "__main__":
    main()
