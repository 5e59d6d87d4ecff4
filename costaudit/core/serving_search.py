"""The cheapest fleet that meets a latency SLO, found by replaying the requests; and the batch-size sweep.

Vidur-Search (research/hardware.md §1.1) searches hardware × parallelism × scheduler × batch cap for
the most QPS per dollar under TTFT-P90 < 2 s and TBT-P99 < 200 ms. Here the traffic is given (the
workload's own arrivals), so the search looks for the lowest monthly cost: for each GPU × precision ×
max batch it finds the fewest replicas whose replay meets the SLO, and keeps the cheapest.

The replica count is searched from a lower bound (the replicas the window's output tokens need at the
closed-form maximum throughput), doubling until the SLO is met, then bisecting. Candidates are tried in
order of the cost of that lower bound, and one whose lower bound already costs as much as the best fleet
found so far is not replayed. A replay that misses the SLO stops as soon as it has missed it.

Every configuration replayed to the end is an option; the frontier is the options no other beats on both
monthly cost and p99 end-to-end latency.

The batch-size sweep runs a fixed number of concurrent users (1, 2, 4, … up to what the KV cache holds)
against one replica, as a benchmark would, and prices each point as if the replica were kept that busy:
how batching spreads the same GPU-hour over more tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np

from costaudit.config.pricing import Hardware, Precision, SelfHostedModel
from costaudit.core.capacity import (
    EngineProfile,
    LengthMix,
    Replica,
    build_replica,
    default_engine,
    replica_capacity,
)
from costaudit.core.fleet import (
    SECONDS_PER_HOUR,
    TOKENS_PER_MTOK,
    USD_PER_MTOK_QUANTUM,
    FleetPolicy,
    replica_hourly_usd,
    static_monthly_usd,
)
from costaudit.core.serving import (
    VIDUR_SLO,
    LatencyTarget,
    Percentiles,
    ReplayResult,
    ServerSettings,
    ServingWorkload,
    closed_loop,
    replay,
)

MAX_REPLICAS = 1024
"""The search gives up on a configuration above this many replicas."""


@dataclass(frozen=True)
class Candidate:
    """One hardware choice to search: a GPU (price-table id), a precision and a batch cap."""

    gpu: str
    hardware: Hardware
    precision: Precision
    max_batch: int


@dataclass(frozen=True)
class FleetOption:
    """One fleet that was replayed: its configuration, monthly cost and latency."""

    gpu: str
    precision: str
    max_batch: int
    replicas: int
    devices_per_replica: int
    monthly_usd: Decimal
    ttft_s: Percentiles
    tpot_s: Percentiles
    e2e_s: Percentiles
    meets_slo: bool
    on_frontier: bool = False


@dataclass(frozen=True)
class SkippedCandidate:
    """A configuration not replayed: it cannot hold the model, or cannot beat the best fleet."""

    gpu: str
    precision: str
    max_batch: int
    reason: str
    floor_replicas: int | None = None
    """When pruned: the fewest replicas that could carry the traffic at maximum throughput."""
    floor_monthly_usd: Decimal | None = None
    """When pruned: what they cost, already no less than the best fleet found."""


@dataclass(frozen=True)
class SearchResult:
    """The cheapest fleet that met the SLO (None: none did), and everything replayed on the way."""

    best: FleetOption | None
    best_replay: ReplayResult | None = field(metadata={"omit": True})
    options: list[FleetOption]
    """Fleets replayed to the end, cheapest first (the frontier's are marked)."""
    skipped: list[SkippedCandidate]
    replays: int
    """Replays run, including those stopped early because the SLO was already missed."""


@dataclass(frozen=True)
class _Prepared:
    candidate: Candidate
    replica: Replica
    devices: int
    floor_replicas: int
    floor_usd: Decimal


def _prepare(
    candidate: Candidate,
    model: SelfHostedModel,
    lengths: LengthMix,
    workload: ServingWorkload,
    policy: FleetPolicy,
    engine: EngineProfile | None,
) -> _Prepared | SkippedCandidate:
    profile = engine or default_engine(candidate.hardware)
    try:
        replica = build_replica(model, candidate.hardware, candidate.precision, lengths, profile)
        capacity = replica_capacity(
            model, candidate.hardware, candidate.precision, lengths, engine=profile
        )
        replica_hourly_usd(candidate.hardware, replica.devices, policy.pricing)
    except ValueError as exc:
        return SkippedCandidate(candidate.gpu, candidate.precision, candidate.max_batch, str(exc))
    output_tokens = float(workload.output_tokens.sum())
    needed = output_tokens / (workload.window_s * capacity.max_output_tokens_per_s)
    floor = max(1, policy.min_replicas, math.ceil(round(needed, 9)))
    return _Prepared(
        candidate,
        replica,
        replica.devices,
        floor,
        static_monthly_usd(floor, candidate.hardware, replica.devices, policy),
    )


def _option(
    prepared: _Prepared, replicas: int, result: ReplayResult, policy: FleetPolicy
) -> FleetOption:
    candidate = prepared.candidate
    return FleetOption(
        gpu=candidate.gpu,
        precision=candidate.precision,
        max_batch=candidate.max_batch,
        replicas=replicas,
        devices_per_replica=prepared.devices,
        monthly_usd=static_monthly_usd(replicas, candidate.hardware, prepared.devices, policy),
        ttft_s=result.ttft_s,
        tpot_s=result.tpot_s,
        e2e_s=result.e2e_s,
        meets_slo=result.meets_slo,
    )


def fewest_replicas(
    workload: ServingWorkload,
    replica: Replica,
    settings: ServerSettings,
    targets: Sequence[LatencyTarget],
    start: int,
    *,
    too_many: Callable[[int], bool] = lambda replicas: replicas > MAX_REPLICAS,
    on_replay: Callable[[int, ReplayResult], None] | None = None,
) -> tuple[int, ReplayResult] | None:
    """The fewest replicas (from `start`) whose replay meets the SLO, with that replay; None when
    `too_many` says the next count still untried is not worth trying. More replicas never make latency
    worse on average, so the count is found by doubling, then bisecting."""
    results: dict[int, ReplayResult] = {}

    def meets(replicas: int) -> bool:
        result = replay(workload, replica, replicas, settings, targets, stop_when_missed=True)
        results[replicas] = result
        if on_replay is not None:
            on_replay(replicas, result)
        return result.meets_slo

    low, high = start - 1, start
    while not meets(high):
        if too_many(high + 1):
            return None
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return high, results[high]


def _pruned(item: _Prepared, best: FleetOption) -> SkippedCandidate:
    candidate = item.candidate
    return SkippedCandidate(
        candidate.gpu,
        candidate.precision,
        candidate.max_batch,
        f"not replayed: even {item.floor_replicas} replica{'s' if item.floor_replicas != 1 else ''} "
        f"(the fewest that could carry the traffic at maximum throughput) cost ${item.floor_usd:,.2f} a "
        f"month, no less than the best fleet found (${best.monthly_usd:,.2f})",
        item.floor_replicas,
        item.floor_usd,
    )


EXTRA_REPLICAS = 2
"""Fleets one and two replicas larger than the cheapest are replayed too, to show on the frontier
what latency more money buys."""


def _beyond_best(
    workload: ServingWorkload,
    best: FleetOption,
    prepared: list[_Prepared],
    settings: ServerSettings,
    targets: Sequence[LatencyTarget],
    policy: FleetPolicy,
    options: list[FleetOption],
) -> int:
    item = next(
        p
        for p in prepared
        if (p.candidate.gpu, p.candidate.precision, p.candidate.max_batch)
        == (best.gpu, best.precision, best.max_batch)
    )
    config = replace(settings, max_batch=best.max_batch)
    tried = {(o.gpu, o.precision, o.max_batch, o.replicas) for o in options}
    replays = 0
    for replicas in range(best.replicas + 1, best.replicas + 1 + EXTRA_REPLICAS):
        if (best.gpu, best.precision, best.max_batch, replicas) in tried:
            continue
        result = replay(workload, item.replica, replicas, config, targets)
        options.append(_option(item, replicas, result, policy))
        replays += 1
    return replays


def _frontier(options: list[FleetOption]) -> list[FleetOption]:
    """Options sorted by cost, those that no cheaper (or equally cheap) option beats on p99 latency
    marked as on the frontier."""
    ordered = sorted(options, key=lambda o: (o.monthly_usd, o.e2e_s.p99 or math.inf))
    marked = []
    best_latency = math.inf
    for option in ordered:
        latency = option.e2e_s.p99 if option.e2e_s.p99 is not None else math.inf
        on = latency < best_latency
        best_latency = min(best_latency, latency)
        marked.append(FleetOption(**{**option.__dict__, "on_frontier": on}))
    return marked


@dataclass
class _Progress:
    """What the search has found so far."""

    options: list[FleetOption] = field(default_factory=list)
    best: tuple[FleetOption, ReplayResult] | None = None
    replays: int = 0
    report: Callable[[str], None] | None = None
    """Told after each replay what was tried (for a progress line)."""


def _search_candidate(
    workload: ServingWorkload,
    item: _Prepared,
    settings: ServerSettings,
    targets: Sequence[LatencyTarget],
    policy: FleetPolicy,
    progress: _Progress,
) -> None:
    """The fewest replicas of one configuration that meet the SLO, if cheaper than the best so far."""
    config = replace(settings, max_batch=item.candidate.max_batch)
    best_usd = progress.best[0].monthly_usd if progress.best is not None else None

    def record(replicas: int, result: ReplayResult) -> None:
        progress.replays += 1
        if progress.report is not None:
            candidate = item.candidate
            progress.report(
                f"serving search: {progress.replays} replays, last {replicas}× {candidate.gpu} "
                f"{candidate.precision} (max batch {candidate.max_batch})"
            )
        if not result.stopped_early:
            progress.options.append(_option(item, replicas, result, policy))

    def costs_too_much(replicas: int) -> bool:
        if replicas > MAX_REPLICAS:
            return True
        cost = static_monthly_usd(replicas, item.candidate.hardware, item.devices, policy)
        return best_usd is not None and cost >= best_usd

    found = fewest_replicas(
        workload,
        item.replica,
        config,
        targets,
        item.floor_replicas,
        too_many=costs_too_much,
        on_replay=record,
    )
    if found is None:
        return
    replicas, result = found
    option = _option(item, replicas, result, policy)
    if best_usd is None or option.monthly_usd < best_usd:
        progress.best = (option, result)


def search(
    workload: ServingWorkload,
    model: SelfHostedModel,
    candidates: Sequence[Candidate],
    settings: ServerSettings,
    targets: Sequence[LatencyTarget] = VIDUR_SLO,
    policy: FleetPolicy | None = None,
    engine: EngineProfile | None = None,
    report: Callable[[str], None] | None = None,
) -> SearchResult:
    """The cheapest configuration among `candidates` whose replay meets the SLO; `report` is told
    what each replay tried."""
    policy = policy or FleetPolicy()
    lengths = LengthMix.from_lengths(workload.input_tokens, workload.output_tokens)
    prepared: list[_Prepared] = []
    skipped: list[SkippedCandidate] = []
    for candidate in candidates:
        outcome = _prepare(candidate, model, lengths, workload, policy, engine)
        if isinstance(outcome, SkippedCandidate):
            skipped.append(outcome)
        else:
            prepared.append(outcome)
    prepared.sort(key=lambda p: (p.floor_usd, p.candidate.gpu, p.candidate.precision))
    progress = _Progress(report=report)
    for item in prepared:
        if progress.best is not None and item.floor_usd >= progress.best[0].monthly_usd:
            skipped.append(_pruned(item, progress.best[0]))
            continue
        _search_candidate(workload, item, settings, targets, policy, progress)
    best, options = progress.best, progress.options
    replays = progress.replays
    if best is not None:
        replays += _beyond_best(workload, best[0], prepared, settings, targets, policy, options)
    marked = _frontier(options)
    chosen = None
    if best is not None:
        chosen = next(
            o
            for o in marked
            if (o.gpu, o.precision, o.max_batch, o.replicas)
            == (best[0].gpu, best[0].precision, best[0].max_batch, best[0].replicas)
        )
    return SearchResult(
        best=chosen,
        best_replay=best[1] if best is not None else None,
        options=marked,
        skipped=skipped,
        replays=replays,
    )


@dataclass(frozen=True)
class SweepPoint:
    """One replica kept busy by a fixed number of concurrent requests."""

    batch: int
    output_tokens_per_s: float
    tokens_per_s: float
    """Prompt and output tokens per second."""
    tpot_s: float
    ttft_s: float
    usd_per_output_mtok: Decimal
    usd_per_mtok: Decimal
    """Per 1M tokens of any kind (prompt + output)."""


def batch_sizes(limit: int) -> list[int]:
    """1, 2, 4, … up to `limit`, and `limit` itself."""
    sizes = []
    size = 1
    while size < limit:
        sizes.append(size)
        size *= 2
    sizes.append(max(limit, 1))
    return sizes


def batch_sweep(
    replica: Replica,
    hardware: Hardware,
    workload: ServingWorkload,
    settings: ServerSettings,
    limit: int,
    pricing: str = "on_demand",
    *,
    sample: int = 512,
) -> list[SweepPoint]:
    """Throughput, latency and price per token at batch 1, 2, 4, … up to `limit` (the KV cache's).

    The users send the workload's own requests (the first `sample`, in turn), so the prompt and
    answer lengths are the real mix.
    """
    inputs = workload.input_tokens[:sample].tolist()
    outputs = workload.output_tokens[:sample].tolist()
    hourly = replica_hourly_usd(
        hardware, replica.devices, "spot" if pricing == "spot" else "on_demand"
    )
    ratio = (float(np.sum(inputs)) + float(np.sum(outputs))) / float(np.sum(outputs))
    points = []
    for batch in batch_sizes(limit):
        config = ServerSettings(
            scheduler=settings.scheduler,
            max_batch=batch,
            max_batched_tokens=settings.max_batched_tokens,
        )
        point = closed_loop(replica, inputs, outputs, batch, config)
        tokens_per_hour = Decimal(point.output_tokens_per_s) * SECONDS_PER_HOUR
        per_output = hourly * TOKENS_PER_MTOK / tokens_per_hour
        points.append(
            SweepPoint(
                batch=batch,
                output_tokens_per_s=point.output_tokens_per_s,
                tokens_per_s=point.output_tokens_per_s * ratio,
                tpot_s=point.tpot_s,
                ttft_s=point.ttft_s,
                usd_per_output_mtok=per_output.quantize(USD_PER_MTOK_QUANTUM),
                usd_per_mtok=(per_output / Decimal(ratio)).quantize(USD_PER_MTOK_QUANTUM),
            )
        )
    return points
