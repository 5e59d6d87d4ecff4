"""Serving replay benchmark: how long replaying traffic through continuous-batching servers takes.

Two cases, both on the design card's request shape (1,500 prompt and 500 answer tokens, office-hours
arrivals with a busiest hour at twice the average), Llama-2-7B fp16 on A100-80GB replicas:

- **day**: 100,000 requests (the design card's day), built by the product's synthetic workload
  generator. Timed: `replay` through the fleet the replay sizes (the fewest replicas that meet TTFT p90
  ≤ 2 s and TPOT p99 ≤ 200 ms), and the whole hosting scenario with `serving:` (the replica search, the
  batch-size sweep and the closed-form comparison), each paired with the same scenario sized by the
  closed form alone, in alternation, one core.
- **month** (`--serving-month`): 30 days at 10⁶ requests a day (3·10⁷ requests, arrivals from the same
  generator's diurnal process), replayed once through the closed-form fleet, with progress on stderr,
  its replicas spread over one worker process per usable core (`replay(..., workers=N)`).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

DAY_REQUESTS = 100_000
MONTH_REQUESTS_PER_DAY = 1_000_000
MONTH_DAYS = 30
DAY_MAX_S = 10.0
MONTH_MAX_S = 300.0
SHAPE = {"input_tokens": 1500, "output_tokens": 500}
ARRIVAL = {"pattern": "diurnal", "peak_to_average": 2}
HOSTING = {"model": "llama-2-7b", "gpu": "a100-80gb", "precision": "fp16"}


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _spread(times: list[float]) -> dict[str, Any]:
    return {
        "times_s": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
    }


def day_case(requests: int, repeats: int) -> dict[str, Any]:
    import numpy as np

    from costaudit.config.scenario import Scenario, Synthetic
    from costaudit.core.capacity import GPU_ENGINE, LengthMix, build_replica
    from costaudit.core.serving import ServingWorkload, replay
    from costaudit.core.simulate import serving_fleet
    from costaudit.core.simulate.engine import run_scenario
    from costaudit.core.simulate.synthetic import StreamPrompt, generate
    from costaudit.pricetable.layers import load_prices

    table = load_prices().table
    spec = {"requests_per_day": requests, "model": "gpt-4-turbo", "arrival": ARRIVAL, **SHAPE}
    workload = generate(Synthetic.model_validate({**spec, "seed": 7}), [StreamPrompt(0)])
    replayed = Scenario.model_validate({"name": "replayed", "hosting": {**HOSTING, "serving": {}}})
    closed = Scenario.model_validate({"name": "closed form", "hosting": HOSTING})

    def scenario(which: Scenario) -> Any:
        serving_fleet._CACHE.clear()  # time the replays, not the cache
        return run_scenario(workload, which, table, seed=7, days_per_month=Decimal(30))

    scenario_times: list[float] = []
    closed_times: list[float] = []
    ratios: list[float] = []
    result = None
    for round_ in range(repeats):
        _log(f"serving day: scenario round {round_ + 1}/{repeats}")
        start = time.perf_counter()
        result = scenario(replayed)
        scenario_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        scenario(closed)
        closed_times.append(time.perf_counter() - start)
        ratios.append(scenario_times[-1] / closed_times[-1])
    assert result is not None
    fleet = result[0].details.hosting
    assert fleet is not None and fleet.serving is not None
    replicas = fleet.serving.replicas

    stamps = workload.requests.timestamp_ns
    arrivals = (stamps - stamps.min()).astype(np.float64) / 1e9
    order = np.argsort(arrivals, kind="stable")
    tokens = workload.requests.tokens
    served = ServingWorkload(
        arrivals[order],
        tokens["input_tokens"][order].astype(np.int64),
        np.maximum(tokens["output_tokens"][order], 1).astype(np.int64),
        86_400.0,
    )
    model = table.self_hosted[HOSTING["model"]]
    hardware = table.hardware[HOSTING["gpu"]]
    replica = build_replica(model, hardware, "fp16", LengthMix.from_means(1500, 500), GPU_ENGINE)
    replay_times = []
    for round_ in range(repeats):
        _log(f"serving day: replay round {round_ + 1}/{repeats}")
        start = time.perf_counter()
        outcome = replay(served, replica, replicas)
        replay_times.append(time.perf_counter() - start)
    return {
        "requests": served.size,
        "replicas": replicas,
        "meets_slo": outcome.meets_slo,
        "ttft_p90_s": outcome.ttft_s.p90,
        "tpot_p99_s": outcome.tpot_s.p99,
        "replay": _spread(replay_times),
        "scenario": _spread(scenario_times),
        "closed_form_scenario": _spread(closed_times),
        "scenario_over_closed_form": {
            "ratios": ratios,
            "median": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
        },
    }


def month_case(requests_per_day: int, days: int) -> dict[str, Any]:
    import numpy as np

    from costaudit.config.scenario import SyntheticStream
    from costaudit.core.capacity import GPU_ENGINE, LengthMix, build_replica, replica_capacity
    from costaudit.core.fleet import fleet_cost
    from costaudit.core.serving import ServingWorkload, replay
    from costaudit.core.simulate.synthetic import arrival_times
    from costaudit.pricetable.layers import load_prices

    table = load_prices().table
    count = requests_per_day * days
    _log(f"serving month: drawing {count:,} arrivals")
    stream = SyntheticStream.model_validate(
        {"requests_per_day": requests_per_day, "model": "gpt-4-turbo", "arrival": ARRIVAL, **SHAPE}
    )
    start = time.perf_counter()
    arrivals = arrival_times(stream, count, days * 86_400.0, np.random.default_rng(7))
    workload = ServingWorkload(
        arrivals,
        np.full(count, 1500, dtype=np.int64),
        np.full(count, 500, dtype=np.int64),
        days * 86_400.0,
    )
    build_s = time.perf_counter() - start
    model = table.self_hosted[HOSTING["model"]]
    hardware = table.hardware[HOSTING["gpu"]]
    lengths = LengthMix.from_means(1500, 500)
    capacity = replica_capacity(model, hardware, "fp16", lengths)
    counts = np.histogram(arrivals, bins=days * 288, range=(0.0, days * 86_400.0))[0]
    replicas = fleet_cost(counts.astype(np.float64), 300, capacity, hardware).peak_replicas
    replica = build_replica(model, hardware, "fp16", lengths, GPU_ENGINE)
    _log(f"serving month: replaying {count:,} requests through {replicas} replicas")
    start = time.perf_counter()

    def progress(share: float) -> None:
        _log(
            f"serving month: {share:.0%} of replicas replayed, {time.perf_counter() - start:.0f} s"
        )

    workers = len(os.sched_getaffinity(0))
    outcome = replay(workload, replica, replicas, progress=progress, workers=workers)
    seconds = time.perf_counter() - start
    return {
        "requests": count,
        "replicas": replicas,
        "workers": workers,
        "build_s": build_s,
        "replay_s": seconds,
        "meets_slo": outcome.meets_slo,
        "ttft_p90_s": outcome.ttft_s.p90,
        "tpot_p99_s": outcome.tpot_s.p99,
    }


def serving_case(quick: bool, month: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"day": day_case(2_000 if quick else DAY_REQUESTS, 1 if quick else 3)}
    if month:
        results["month"] = month_case(
            20_000 if quick else MONTH_REQUESTS_PER_DAY, 2 if quick else MONTH_DAYS
        )
    return results


def targets(serving: dict[str, Any], check: Any) -> None:
    day = serving["day"]
    check(
        f"serving replay, a day of {day['requests']:,} requests",
        day["replay"]["median_s"],
        DAY_MAX_S,
        f"< {DAY_MAX_S:g} s",
    )
    if "month" in serving:
        month = serving["month"]
        check(
            f"serving replay, {month['requests']:,} requests (a month)",
            month["replay_s"],
            MONTH_MAX_S,
            "< 5 min",
        )


def markdown(serving: dict[str, Any]) -> str:
    day = serving["day"]
    replay, scenario, closed = day["replay"], day["scenario"], day["closed_form_scenario"]
    paired = day["scenario_over_closed_form"]
    lines = [
        "**Serving replay** (one core, in-process; median of "
        f"{len(replay['times_s'])} runs, min–max in brackets)",
        "",
        "| case | requests | replicas | median | spread | SLO (TTFT p90, TPOT p99) |",
        "|---|---:|---:|---:|---:|---|",
        f"| `replay`, a day | {day['requests']:,} | {day['replicas']} | {replay['median_s']:.2f} s | "
        f"{replay['min_s']:.2f}–{replay['max_s']:.2f} s | {'met' if day['meets_slo'] else 'missed'} "
        f"({day['ttft_p90_s'] * 1000:.0f} ms, {day['tpot_p99_s'] * 1000:.0f} ms) |",
        f"| hosting scenario with `serving:` (search, sweep, comparison) | {day['requests']:,} | "
        f"{day['replicas']} | {scenario['median_s']:.2f} s | {scenario['min_s']:.2f}–{scenario['max_s']:.2f} s | |",
        f"| same scenario, closed form only | {day['requests']:,} | | {closed['median_s']:.2f} s | "
        f"{closed['min_s']:.2f}–{closed['max_s']:.2f} s | |",
    ]
    if "month" in serving:
        month = serving["month"]
        lines.append(
            f"| `replay`, a month (1 run, {month['workers']} worker processes, progress shown) | "
            f"{month['requests']:,} | {month['replicas']} | "
            f"{month['replay_s']:.0f} s | — | {'met' if month['meets_slo'] else 'missed'} "
            f"({month['ttft_p90_s'] * 1000:.0f} ms, {month['tpot_p99_s'] * 1000:.0f} ms) |"
        )
    lines += [
        "",
        f"Scenario with `serving:` ÷ closed form only, paired per round: median {paired['median']:.1f}× "
        f"({paired['min']:.1f}–{paired['max']:.1f}×).",
    ]
    return "\n".join(lines)
