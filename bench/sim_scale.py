"""Saved workloads of 10^6–10^7 requests for measuring `costaudit simulate` at scale.

    python bench/sim_scale.py write --requests 1000000 --out bench/data/sim-1m.parquet
    python bench/sim_scale.py scenario --workload bench/data/sim-1m.parquet --out bench/data/sim-1m.yaml
    python bench/sim_scale.py measure --requests 1000000          # write both if missing, then time
                                                                  # `simulate` with /usr/bin/time -v

The workload is written the way `analyze --save-workload` writes one (`WorkloadWriter`, one
partition at a time, so generating 10^7 requests needs no more memory than 10^6), with the structure
that gives the simulator real work:

- a third of the traffic is multi-turn assistant conversations: one of 16 apps' system prompts
  (1,024–2,048 tokens, shared by every request of the app) followed by the conversation so far, so
  turn k+1 repeats turn k's prompt and the prompt-cache replay finds shared and growing prefixes;
- the rest are single requests of 50–1,500 tokens, some of them exact repeats of popular prompts (a
  response cache has hits);
- chained 64-token prefix-block hashes for every request (the block size `analyze` hashes at),
  about 11 blocks per request;
- gpt-4o and gpt-4o-mini (OpenAI's automatic prompt caching), a `feature` grouping field,
  complexity scores, a 7-day window with a daily cycle.

The scenario file compares the workload as logged with routing (a two-tier share router, so its
11-point cost curve runs too), a response cache, provider prompt caching, batching, self-hosting (the
closed-form fleet) and the first four combined. `measure` runs `costaudit simulate --output json` under
`/usr/bin/time -v` and prints the wall time and peak RSS; the JSON goes beside the workload so that two
builds' outputs can be compared byte for byte. None of this is part of `make bench`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from costaudit.core.columns import TOKEN_COLUMNS  # noqa: E402 - after the path is set
from costaudit.core.prompt_cache import PrefixBlocks  # noqa: E402
from costaudit.core.request_table import Category, RequestTable  # noqa: E402
from costaudit.ingest.workload_io import WorkloadWriter  # noqa: E402

BLOCK_TOKENS = 64
PARTITION = 500_000
DAYS = 7
START_NS = 1_764_547_200 * 1_000_000_000  # 2025-12-01T00:00:00Z
APPS = 16
FEATURES = ["chat", "code-review", "support", "search", "summarize"]
MODELS = ["gpt-4o", "gpt-4o-mini"]
ASSISTANT_SHARE = 1 / 3
MEAN_TURNS = 4.0
POPULAR_PROMPTS = 20_000
REPEAT_SHARE = 0.15
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _mixed(*parts: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of equal-length uint64 arrays (splitmix64 rounds over each part in turn)."""
    value = np.full(len(parts[0]), 0x243F6A8885A308D3, dtype=np.uint64)
    for part in parts:
        value = np.bitwise_xor(value, part.astype(np.uint64))
        value = np.multiply(value + _MIX, np.uint64(0xBF58476D1CE4E5B9))
        value ^= value >> np.uint64(31)
        value = np.multiply(value, np.uint64(0x94D049BB133111EB))
        value ^= value >> np.uint64(29)
    return np.maximum(value, np.uint64(1))


def _positions(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    positions: npt.NDArray[np.int64] = np.arange(int(offsets[-1]), dtype=np.int64)
    positions -= np.repeat(offsets[:-1], counts)
    return positions


def _conversations(
    rng: np.random.Generator, count: int, first_id: int, window: tuple[int, int]
) -> dict[str, npt.NDArray[np.int64]]:
    """`count` conversation turns: app, conversation id, turn number, arrival, input tokens."""
    turns: list[int] = []
    while sum(turns) < count:
        turns.extend(rng.geometric(1 / MEAN_TURNS, size=max(1, count // 3)).tolist())
    lengths = np.array(turns, dtype=np.int64)
    lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), count)) + 1]
    lengths[-1] -= int(lengths.sum()) - count
    conversations = len(lengths)
    app = rng.integers(0, APPS, size=conversations)
    start = rng.integers(window[0], window[1], size=conversations)
    turn = _positions(lengths)
    owner = np.repeat(np.arange(conversations), lengths)
    gaps = rng.exponential(90.0, size=count) * 1e9
    gaps[turn == 0] = 0
    elapsed = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(lengths) - lengths], lengths)
    history = (turn * 230 + rng.integers(20, 200, size=count)).astype(np.int64)
    return {
        "app": app[owner],
        "conversation": owner + first_id,
        "turn": turn,
        "arrival": start[owner] + elapsed.astype(np.int64),
        "history": history,
    }


def _system_tokens(app: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return 1024 + (app * 67) % 1025


def _partition(
    rng: np.random.Generator, rows: int, first_row: int, window: tuple[int, int]
) -> RequestTable:
    """One partition of the workload, covering the time `window` (nanoseconds)."""
    assistant = int(rows * ASSISTANT_SHARE)
    single = rows - assistant
    talk = _conversations(rng, assistant, first_row, window)
    system = _system_tokens(talk["app"])
    talk_inputs = system + talk["history"]
    single_inputs = np.clip(np.exp(rng.normal(np.log(300), 0.8, size=single)), 50, 1500).astype(
        np.int64
    )
    repeat = rng.random(single) < REPEAT_SHARE
    popular = rng.zipf(1.3, size=single) % POPULAR_PROMPTS
    single_inputs[repeat] = 80 + (popular[repeat] * 37) % 700
    inputs = np.concatenate([talk_inputs, single_inputs])
    arrival = np.concatenate([talk["arrival"], rng.integers(window[0], window[1], size=single)])
    counts = -(-inputs // BLOCK_TOKENS)
    position = _positions(counts)
    owner = np.repeat(np.arange(rows), counts)
    last = position == np.repeat(counts - 1, counts)
    partial = last & np.repeat(inputs % BLOCK_TOKENS > 0, counts)
    in_system = np.zeros(len(position), dtype=np.bool_)
    in_system[: int(counts[:assistant].sum())] = (
        position[owner < assistant] + 1
    ) * BLOCK_TOKENS <= (np.repeat(system, counts[:assistant]))
    app_of = np.concatenate([talk["app"], np.full(single, -1)])
    conv_of = np.concatenate(
        [talk["conversation"], (first_row + assistant + np.arange(single)) | (1 << 40)]
    )
    conv_of[assistant:][repeat] = (popular[repeat] + 1) | (1 << 41)
    turn_of = np.concatenate([talk["turn"], np.zeros(single, dtype=np.int64)])
    u64 = np.uint64
    hashes = np.where(
        in_system,
        _mixed(np.repeat(app_of, counts).astype(u64), position.astype(u64)),
        _mixed(
            np.repeat(conv_of, counts).astype(u64),
            position.astype(u64),
            np.where(partial, np.repeat(turn_of, counts) + 1, 0).astype(u64),
        ),
    )
    prompt_hash = np.concatenate(
        [
            _mixed(talk["conversation"].astype(u64), talk["turn"].astype(u64) + 7),
            np.where(
                repeat, _mixed((popular + 1).astype(u64)), _mixed(conv_of[assistant:].astype(u64))
            ),
        ]
    )
    app_model = np.arange(APPS) % 3 == 0  # a third of the apps on gpt-4o-mini
    model = np.concatenate(
        [app_model[talk["app"]].astype(np.int32), (rng.random(single) < 0.6).astype(np.int32)]
    )
    feature = np.concatenate(
        [(talk["app"] % 3).astype(np.int32), 3 + (rng.random(single) < 0.4).astype(np.int32)]
    )
    outputs = np.clip(np.exp(rng.normal(np.log(180), 0.7, size=rows)), 1, 4000).astype(np.int64)
    order = np.argsort(arrival, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(counts)])
    blocks = PrefixBlocks(offsets=offsets, hashes=hashes, block_tokens=BLOCK_TOKENS)
    zeros = np.zeros(rows, dtype=np.int64)
    tokens = dict.fromkeys(TOKEN_COLUMNS, zeros)
    tokens = {**tokens, "input_tokens": inputs, "output_tokens": outputs}
    table = RequestTable(
        timestamp_ns=arrival,
        relative_time=np.zeros(rows, dtype=np.bool_),
        model=Category(list(MODELS), model),
        tokens=tokens,
        batch=np.zeros(rows, dtype=np.bool_),
        token_source=np.zeros(rows, dtype=np.int8),
        complexity=rng.beta(2, 5, size=rows).astype(np.float32),
        prompt_hash=prompt_hash,
        source=Category.constant("generated", rows),
        groups={"feature": Category(list(FEATURES), feature)},
        prefix_blocks=blocks,
    )
    return table.take(order)


def write_workload(requests: int, path: Path, seed: int = 7) -> None:
    """The saved workload of `requests` requests, written partition by partition."""
    rng = np.random.default_rng(seed)
    writer = WorkloadWriter(path, sources=["bench/sim_scale.py"])
    span = DAYS * 86_400 * 1_000_000_000
    parts = -(-requests // PARTITION)
    written = 0
    try:
        for part in range(parts):
            rows = min(PARTITION, requests - written)
            window = (START_NS + span * part // parts, START_NS + span * (part + 1) // parts)
            writer.add(_partition(rng, rows, written, window))
            written += rows
        writer.close()
    except BaseException:
        writer.discard()
        raise


SCENARIO = """\
# Scenarios for bench/sim_scale.py: every vectorized strategy and a prompt-cache replay.
workload:
  workload: {workload}
scenarios:
  - name: as logged
  - name: routing
    routing:
      tiers: [{{model: gpt-4o-mini, share: 0.6}}, {{model: gpt-4o}}]
      applies_to: [gpt-4o]
  - name: response cache
    response_cache: {{ttl: 1h, near_duplicate_rate: 0.05, lookup_usd_per_1k: 0.02}}
  - name: prompt cache
    prompt_cache: {{}}
  - name: batching
    batching: {{share: 0.3}}
  - name: self-hosted
    hosting: {{model: llama-3.1-8b, gpu: h100, precision: fp8}}
  - name: combined
    routing:
      tiers: [{{model: gpt-4o-mini, share: 0.6}}, {{model: gpt-4o}}]
      applies_to: [gpt-4o]
    response_cache: {{ttl: 1h, near_duplicate_rate: 0.05, lookup_usd_per_1k: 0.02}}
    prompt_cache: {{}}
    batching: {{applies_to: {{feature: summarize}}}}
"""


def write_scenario(workload: Path, path: Path) -> None:
    path.write_text(SCENARIO.format(workload=workload.resolve()))


def measure(scenario: Path, output: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of `costaudit simulate --output json` under /usr/bin/time."""
    command = [
        "/usr/bin/time",
        "-v",
        sys.executable,
        "-m",
        "costaudit",
        "simulate",
        "--scenario",
        str(scenario),
        "--allow-path",
        str(scenario.parent),
        "--output",
        "json",
        "--out",
        str(output),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return wall, int(peak.group(1)) * 1024 if peak else -1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("action", choices=["write", "scenario", "measure"])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--workload", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--label", default="run", help="names the JSON output of `measure`")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    args = parser.parse_args()
    tag = f"sim-{args.requests}"
    workload = args.workload or args.data_dir / f"{tag}.parquet"
    if args.action == "write":
        write_workload(args.requests, args.out or workload)
        return
    if args.action == "scenario":
        write_scenario(workload, args.out or workload.with_suffix(".yaml"))
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if not workload.exists():
        write_workload(args.requests, workload)
    scenario = workload.with_suffix(".yaml")
    write_scenario(workload, scenario)
    output = workload.with_name(f"{tag}.{args.label}.json")
    wall, peak = measure(scenario, output)
    print(f"{tag} {args.label}: {wall:.1f} s, peak RSS {peak / 1e9:.2f} GB -> {output}")


if __name__ == "__main__":
    main()
