"""What scoring prompts for complexity costs, next to tokenizing them and to the whole `analyze` run.

    python bench/scoring_share.py                  # 40,000 distinct prompts of 50–900 words
    python bench/scoring_share.py --write-readme   # run, then replace the block in bench/README.md
    python bench/scoring_share.py --quick          # 2,000 prompts (numbers meaningless)
    python bench/scoring_share.py --markdown --write-readme   # the block from the last results

The file is `openai-distinct-text` from bench/generate.py: every request one distinct user message
of 50–900 words and no usage, so `analyze` tokenizes and scores every prompt (nothing is shared that
could be counted once). Three measurements, each the median of `--repeats` runs:

- score: CPU time of `costaudit.core.complexity.text_parts` over the prompts' last user turns, in
  this process, on one thread (the work `analyze` does per chunk, in a worker when chunks are large);
- tokenize: CPU time of counting the tokens of the same texts with the encoding `analyze` uses for
  these models, one thread;
- analyze: `costaudit analyze FILE -o json --out /dev/null` as a subprocess, wall time and CPU time
  (user + sys, its worker processes included, from `os.wait4`).

CPU time, not wall time, because the machine is shared: a wall clock also counts the time other
processes held the core, and that varies far more between runs than the work itself.

Targets: score ≤ tokenize (scoring a prompt costs no more than tokenizing it) and score ÷ analyze CPU
time < 25% (the score's share of what `analyze` spends).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402 - bench/ is on the path above
import run as harness  # noqa: E402

from costaudit.core.complexity import text_parts  # noqa: E402
from costaudit.core.pricing import ModelResolver  # noqa: E402
from costaudit.ingest.tokenizer import count_serially, encoder_for  # noqa: E402
from costaudit.pricetable.layers import load_prices  # noqa: E402

KIND = "openai-distinct-text"
RECORDS = 40_000
RESULTS = BENCH / "results" / "scoring.json"
SCORE_TO_TOKENIZE_MAX = 1.0
SHARE_OF_ANALYZE_MAX = 0.25
BEGIN, END = "<!-- BEGIN scoring -->", "<!-- END scoring -->"


def last_user_turns(path: Path) -> tuple[list[tuple[str, int]], str]:
    """(last user turn, user turns) of every request, as the reader hands them to the scorer, and
    the model of the first request."""
    prompts: list[tuple[str, int]] = []
    model = ""
    with path.open("rb") as lines:
        for line in lines:
            request = orjson.loads(line)["request"]
            model = model or request["model"]
            users = [m["content"] for m in request["messages"] if m["role"] == "user"]
            prompts.append((users[-1], len(users)))
    return prompts, model


def cpu_timed(function: Callable[[], object], repeats: int) -> list[float]:
    """CPU seconds of this process per call: on a shared machine, wall time would also count the
    time other processes held the core (`analyze` is measured in CPU seconds too)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return times


def measure(records: int, repeats: int, data_dir: Path) -> dict[str, Any]:
    path = generate.cached_file(data_dir, KIND, records)
    prompts, model = last_user_turns(path)
    texts = [text for text, _ in prompts]
    encoding = ModelResolver(load_prices().table).tokenizer_for(model)
    encoder = encoder_for(encoding)
    load: dict[str, Any] = {}
    with harness.measuring_load(load):
        score = cpu_timed(lambda: text_parts(prompts), repeats)
        tokenize = cpu_timed(lambda: count_serially(encoding, texts), repeats)
        analyze = [harness.run_command(harness.analyze_command(path)) for _ in range(repeats)]
    words = [len(text.split()) for text in texts]
    score_s, tokenize_s = statistics.median(score), statistics.median(tokenize)
    analyze_wall = statistics.median(sample.wall_s for sample in analyze)
    analyze_cpu = statistics.median(sample.cpu_s for sample in analyze)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(),
        "file": {**harness.file_info(KIND, records, path), "words": [min(words), max(words)]},
        "encoding": encoder.requested,
        "encoding_estimated": encoder.estimated,
        "score_s": score,
        "tokenize_s": tokenize,
        "analyze": [{"wall_s": s.wall_s, "cpu_s": s.cpu_s} for s in analyze],
        "score_per_prompt_us": score_s / len(prompts) * 1e6,
        "tokenize_per_prompt_us": tokenize_s / len(prompts) * 1e6,
        "score_to_tokenize": score_s / tokenize_s,
        "share_of_analyze_cpu": score_s / analyze_cpu,
        "share_of_analyze_wall": score_s / analyze_wall,
        "analyze_wall_s": analyze_wall,
        "analyze_cpu_s": analyze_cpu,
        **load,
    }


def markdown(result: dict[str, Any]) -> str:
    info, machine = result["file"], result["machine"]
    low, high = info["words"]
    estimated = (
        " (not available offline: counted with cl100k_base, as analyze does)"
        if result["encoding_estimated"]
        else ""
    )
    ratio_ok = result["score_to_tokenize"] <= SCORE_TO_TOKENIZE_MAX
    share_ok = result["share_of_analyze_cpu"] < SHARE_OF_ANALYZE_MAX
    runs = len(result["analyze"])
    return "\n".join(
        [
            f"Run of {result['date']} on `{machine['cpu']}`, {machine['cores']} cores, "
            f"costaudit at {machine['git_commit']}{' with local changes' if machine['git_dirty'] else ''}; "
            f"{info['records']:,} distinct prompts of "
            f"{low}–{high} words ({info['bytes'] / 1e6:.0f} MB), median of {runs} runs each; other "
            f"load {harness._cores(result.get('load'))}.",
            "",
            "| measure | time | per prompt |",
            "|---|--:|--:|",
            f"| score the prompts (CPU, one thread) | {statistics.median(result['score_s']):.2f} s | "
            f"{result['score_per_prompt_us']:.0f} µs |",
            f"| tokenize the same prompts, {result['encoding']}{estimated}, one thread "
            f"(CPU) | {statistics.median(result['tokenize_s']):.2f} s | "
            f"{result['tokenize_per_prompt_us']:.0f} µs |",
            f"| `costaudit analyze` of the file, wall | {result['analyze_wall_s']:.2f} s | — |",
            f"| `costaudit analyze` of the file, CPU (workers included) | {result['analyze_cpu_s']:.2f} s | — |",
            "",
            "| target | measured | limit | result |",
            "|---|--:|--:|:-:|",
            f"| scoring ÷ tokenizing the same prompts | {result['score_to_tokenize']:.2f} | ≤ "
            f"{SCORE_TO_TOKENIZE_MAX:g} | {'PASS' if ratio_ok else '**FAIL**'} |",
            f"| scoring ÷ analyze CPU time | {result['share_of_analyze_cpu']:.1%} | < "
            f"{SHARE_OF_ANALYZE_MAX:.0%} | {'PASS' if share_ok else '**FAIL**'} |",
            f"| (scoring CPU ÷ analyze wall time) | "
            f"{result['share_of_analyze_wall']:.1%} | — | — |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument("--quick", action="store_true", help="2,000 prompts, one run")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument(
        "--markdown", action="store_true", help=f"no run: the block from {RESULTS.name}"
    )
    args = parser.parse_args(argv)
    records, repeats = (2_000, 1) if args.quick else (args.records, args.repeats)
    harness.results_block(
        RESULTS,
        lambda: measure(records, repeats, args.data_dir),
        markdown,
        saved=args.markdown,
        keep=not args.quick,
        readme_markers=(BEGIN, END) if args.write_readme else None,
    )


if __name__ == "__main__":
    main()
