"""Which encoder counts cl100k_base and o200k_base tokens faster, with identical counts.

    python bench/encoders.py                  # measure, print the Markdown block
    python bench/encoders.py --write-readme   # measure, replace the encoder block in bench/README.md
    python bench/encoders.py --quick          # a few texts, one round (numbers meaningless)

Both candidates work from the same rank files, which `bpe-openai` ships and costaudit checks against
tiktoken's sha256 before use:

- `tiktoken`: tiktoken's `Encoding` built from those ranks (`tokenizer.tiktoken_encoding`);
- `bpe-openai`: its Rust encoder (`tokenizer.shipped_encoding`), what costaudit uses.

Texts: every MT-Bench turn and every GSM8K prompt and both models' answers from ../shared/data (4,117
texts, 1.3 MB), else English-like texts from bench/generate.py's word lists. Each round counts every
text once with each encoder, one thread, in alternating order; the table gives the median time per
encoder and the paired ratio (tiktoken ÷ bpe-openai) with its range over the rounds. Before timing, the
token ids of every text are compared: the run stops if one differs. Start-up (loading each encoder
from the verified ranks) is measured once per encoder and reported apart.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from costaudit.ingest.tokenizer import SHIPPED_ENCODINGS, shipped_encoding, tiktoken_encoding

BENCH = Path(__file__).resolve().parent
SHARED = BENCH.parent.parent / "shared" / "data"
README = BENCH / "README.md"
BEGIN, END = "<!-- BEGIN encoders -->", "<!-- END encoders -->"


def shared_texts() -> list[str] | None:
    questions, answers = SHARED / "mt-bench" / "question.jsonl", SHARED / "routellm-gsm8k"
    if not questions.is_file():
        return None
    texts: list[str] = []
    with questions.open(encoding="utf-8") as handle:
        for line in handle:
            texts += json.loads(line)["turns"]
    with (answers / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        columns = [
            i for i, name in enumerate(header) if name == "prompt" or name.endswith("_response")
        ]
        for row in rows:
            texts += [row[column] for column in columns]
    return texts


def generated_texts(count: int) -> list[str]:
    import random

    words = [
        "the",
        "cost",
        "of",
        "every",
        "request",
        "is",
        "tokens",
        "times",
        "a",
        "dated",
        "price",
        "per",
        "million",
    ]
    rng = random.Random(7)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(20, 400))) for _ in range(count)]


def timed(count: Callable[[str], int], texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        count(text)
    return time.perf_counter() - start


def measure(name: str, texts: Sequence[str], rounds: int) -> dict[str, object]:
    start = time.perf_counter()
    reference = tiktoken_encoding(name)
    tiktoken_load = time.perf_counter() - start
    start = time.perf_counter()
    shipped = shipped_encoding(name)
    shipped_load = time.perf_counter() - start
    for text in texts:
        if reference.encode_ordinary(text) != shipped.encode_ordinary(text):
            raise SystemExit(f"{name}: token ids differ on a text of {len(text)} characters")

    def tiktoken_count(text: str) -> int:
        return len(reference.encode_ordinary(text))

    times: dict[str, list[float]] = {"tiktoken": [], "bpe-openai": []}
    for index in range(rounds):
        order = [("tiktoken", tiktoken_count), ("bpe-openai", shipped.count)]
        for label, count in order if index % 2 == 0 else reversed(order):
            times[label].append(timed(count, texts))
    ratios = [a / b for a, b in zip(times["tiktoken"], times["bpe-openai"], strict=True)]
    return {
        "encoding": name,
        "texts": len(texts),
        "tokens": sum(shipped.count(text) for text in texts),
        "rounds": rounds,
        "tiktoken_s": statistics.median(times["tiktoken"]),
        "bpe_openai_s": statistics.median(times["bpe-openai"]),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "tiktoken_load_s": tiktoken_load,
        "bpe_openai_load_s": shipped_load,
    }


def markdown(results: list[dict[str, object]], source: str) -> str:
    lines = [
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; texts: {source}; one thread; identical token ids checked first.",
        "",
        "| encoding | texts | tokens | tiktoken (median) | bpe-openai (median) | tiktoken ÷ bpe-openai (range) | load: tiktoken / bpe-openai |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_row(row) for row in results]
    return "\n".join(lines) + "\n"


def _row(row: dict[str, object]) -> str:
    return (
        f"| {row['encoding']} | {row['texts']:,} | {row['tokens']:,} | "
        f"{row['tiktoken_s']:.3f} s | {row['bpe_openai_s']:.3f} s | "
        f"**{row['ratio_median']:.2f}×** ({row['ratio_min']:.2f}–{row['ratio_max']:.2f}, "
        f"{row['rounds']} rounds) | {row['tiktoken_load_s']:.2f} s / {row['bpe_openai_load_s']:.2f} s |"
    )


def write_readme(block: str, readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme} has no {BEGIN} … {END} block")
    readme.write_text(text[: start + len(BEGIN)] + "\n" + block + text[end:], encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="200 generated texts, one round")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    texts = None if args.quick else shared_texts()
    source = "MT-Bench turns + GSM8K prompts and answers (../shared/data)"
    if texts is None:
        texts = generated_texts(200 if args.quick else 4000)
        source = f"{len(texts)} generated texts"
    rounds = 1 if args.quick else args.rounds
    results = [measure(name, texts, rounds) for name in sorted(SHIPPED_ENCODINGS)]
    block = markdown(results, source)
    print(block)
    if args.write_readme:
        if args.quick:
            raise SystemExit("refusing to put --quick results in bench/README.md")
        write_readme(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
