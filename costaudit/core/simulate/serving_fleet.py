"""Hosting with `serving:`: the moved requests replayed through continuous-batching servers size the fleet.

The replay (core/serving.py) runs the requests at their logged arrival times (or the described
workload's arrival process) through N replicas; the fewest replicas that meet the SLO, over the GPUs,
precisions and batch caps the scenario lets it try (core/serving_search.py), price the scenario. The
closed-form fleet for the same hardware is kept beside it, and the two are compared.

A described workload simulated on a sample (`max_requests`) is expanded back to its full traffic
first: each sampled request stands for `weight` requests, so it is replayed that many times (the
fraction drawn at random), spread uniformly over the gap to the next sampled arrival. Lengths keep
the sample's distribution; arrivals keep its rate over time.

Replays are deterministic, so a scenario run again with the same requests and settings (each draw of
a Monte Carlo over another parameter) reuses the result instead of replaying again.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import Hardware, Precision, SelfHostedModel
from costaudit.config.scenario import Hosting, Serving
from costaudit.core.capacity import (
    LatencySLO,
    LengthMix,
    ReplicaCapacity,
    build_replica,
    default_engine,
    replica_capacity,
)
from costaudit.core.fleet import FleetCost, FleetPolicy, fleet_cost
from costaudit.core.request_table import NAT
from costaudit.core.serving import (
    LatencyTarget,
    ServerSettings,
    ServingWorkload,
    replay,
)
from costaudit.core.serving_search import Candidate, SearchResult, batch_sweep, search
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import (
    ServingDetails,
    ServingSearchDetails,
    SizingComparison,
)
from costaudit.core.simulate.state import State

DISAGREEMENT = Decimal("0.20")
"""Replayed and closed-form monthly costs further apart than this are flagged."""
SWEEP_LIMIT = 1024
_CACHE: dict[str, SearchResult] = {}
_CACHE_SIZE = 16


@dataclass(frozen=True)
class ServedFleet:
    """What the replay decided: the hardware, its closed-form capacity, the fleet's cost, the details."""

    gpu: str
    hardware: Hardware
    precision: Precision
    capacity: ReplicaCapacity
    meets_closed_form_slo: bool
    fleet: FleetCost
    details: ServingDetails


def closed_form_capacity(
    model: SelfHostedModel,
    hardware: Hardware,
    precision: Precision,
    lengths: LengthMix,
    hosting: Hosting,
) -> tuple[ReplicaCapacity, bool]:
    """The roofline capacity under the hosting block's SLO; a replica that cannot meet it is sized at
    maximum throughput, as offline work (the flag says so)."""
    capacity = replica_capacity(
        model,
        hardware,
        precision,
        lengths,
        slo=LatencySLO(ttft_s=hosting.slo.ttft or 2.0, tpot_s=hosting.slo.tpot or 0.05),
    )
    if capacity.meets_slo:
        return capacity, True
    offline = ReplicaCapacity(
        **{
            **capacity.__dict__,
            "slo_batch": capacity.max_batch,
            "slo_output_tokens_per_s": capacity.max_output_tokens_per_s,
            "slo_requests_per_s": capacity.max_requests_per_s,
        }
    )
    return offline, False


def serving_workload(
    state: State, rows: npt.NDArray[np.int64], context: Context
) -> tuple[ServingWorkload, list[str]]:
    """The moved requests in arrival order, as the replay takes them (full traffic)."""
    notes: list[str] = []
    window_s = float(context.workload.days or 1) * 86_400
    stamps = state.requests.timestamp_ns[rows]
    inputs = np.maximum(state.tokens["input_tokens"][rows], 1).astype(np.int64)
    outputs = np.maximum(state.tokens["output_tokens"][rows], 1).astype(np.int64)
    if len(rows) and (stamps != NAT).all():
        all_stamps = context.workload.requests.timestamp_ns
        start = float(all_stamps[all_stamps != NAT].min()) / 1e9
        arrival = stamps.astype(np.float64) / 1e9 - start
        window_s = max(window_s, float(arrival.max(initial=0.0)) + 1.0)
    else:
        arrival = np.arange(len(rows), dtype=np.float64) * (window_s / max(len(rows), 1))
        if len(rows):
            notes.append("requests without timestamps were replayed evenly spread over the window")
    order = np.argsort(arrival, kind="stable")
    arrival, inputs, outputs = arrival[order], inputs[order], outputs[order]
    weight = float(context.workload.weight)
    if weight > 1 and len(rows):
        arrival, inputs, outputs = _expanded(arrival, inputs, outputs, weight, window_s)
        notes.append(
            f"the sampled workload was expanded back to its full traffic for the replay "
            f"({arrival.size:,} requests, each sampled request replayed ≈{weight:.1f} times)"
        )
    return ServingWorkload(arrival, inputs, outputs, window_s), notes


def _expanded(
    arrival: npt.NDArray[np.float64],
    inputs: npt.NDArray[np.int64],
    outputs: npt.NDArray[np.int64],
    weight: float,
    window_s: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(0)
    whole = int(weight)
    copies = whole + (rng.random(arrival.size) < weight - whole).astype(np.int64)
    gaps = np.diff(np.append(arrival, max(window_s, float(arrival[-1]))))
    starts = np.repeat(arrival, copies)
    spread = np.repeat(gaps, copies) * rng.random(starts.size)
    times = starts + spread
    order = np.argsort(times, kind="stable")
    return (
        times[order],
        np.repeat(inputs, copies)[order],
        np.repeat(outputs, copies)[order],
    )


def _targets(serving: Serving) -> list[LatencyTarget]:
    return [
        LatencyTarget(metric, percentile, seconds)  # type: ignore[arg-type]
        for metric, percentile, seconds in serving.slo.targets()
    ]


def _candidates(hosting: Hosting, serving: Serving, context: Context) -> list[Candidate]:
    search_spec = serving.search
    gpus = (search_spec.gpus if search_spec else []) or [hosting.gpu]
    precisions = (search_spec.precisions if search_spec else []) or [hosting.precision]
    batches = (search_spec.max_batch if search_spec else []) or [serving.max_batch]
    unknown = [gpu for gpu in gpus if gpu not in context.table.hardware]
    if unknown:
        raise context.problem(
            "serving.search.gpus",
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the price table's "
            "hardware",
        )
    return [
        Candidate(gpu, context.table.hardware[gpu], precision, batch)
        for gpu, precision, batch in itertools.product(gpus, precisions, batches)
    ]


def _cache_key(
    workload: ServingWorkload,
    model: SelfHostedModel,
    hosting: Hosting,
    candidates: list[Candidate],
    policy: FleetPolicy,
) -> str:
    """Everything a search depends on: the requests, the model, the settings, the hardware (with its
    prices) and the billing."""
    digest = hashlib.sha256()
    for array in (workload.arrival_s, workload.input_tokens, workload.output_tokens):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(str(workload.window_s).encode())
    digest.update(model.model_dump_json().encode())
    digest.update(hosting.model_dump_json().encode())
    for candidate in candidates:
        digest.update(repr(candidate).encode())
    digest.update(repr(policy).encode())
    return digest.hexdigest()


def _searched(
    workload: ServingWorkload,
    model: SelfHostedModel,
    hosting: Hosting,
    serving: Serving,
    policy: FleetPolicy,
    context: Context,
) -> SearchResult:
    candidates = _candidates(hosting, serving, context)
    key = _cache_key(workload, model, hosting, candidates, policy)
    if key not in _CACHE:
        settings = ServerSettings(
            scheduler=serving.scheduler,
            max_batch=serving.max_batch,
            max_batched_tokens=serving.max_batched_tokens,
            balancer=serving.balancer,
        )
        result = search(
            workload,
            model,
            _candidates(hosting, serving, context),
            settings,
            _targets(serving),
            policy,
            report=context.report,
        )
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = result
    return _CACHE[key]


def _replay_progress(context: Context) -> Callable[[float], None] | None:
    report = context.report
    if report is None:
        return None
    return lambda share: report(f"serving replay: {share:.0%} of the replicas replayed")


def serve(
    state: State,
    rows: npt.NDArray[np.int64],
    hosting: Hosting,
    context: Context,
    counts: npt.NDArray[np.float64],
    bin_seconds: int,
    policy: FleetPolicy,
) -> ServedFleet:
    """Size the fleet by replay; fall back to the closed-form fleet (replayed, to show its latency)
    when no replayed fleet meets the SLO."""
    serving = hosting.serving
    assert serving is not None
    model = context.table.self_hosted[hosting.model]
    workload, notes = serving_workload(state, rows, context)
    state.notes.extend(notes)
    lengths = LengthMix.from_lengths(workload.input_tokens, workload.output_tokens)
    try:
        found = _searched(workload, model, hosting, serving, policy, context)
    except ValueError as exc:
        raise context.problem("serving", str(exc)) from None
    best = found.best
    gpu = best.gpu if best is not None else hosting.gpu
    precision: Precision = best.precision if best is not None else hosting.precision  # type: ignore[assignment]
    max_batch = best.max_batch if best is not None else serving.max_batch
    hardware = context.table.hardware[gpu]
    capacity, meets = closed_form_capacity(model, hardware, precision, lengths, hosting)
    closed = fleet_cost(counts, bin_seconds, capacity, hardware, policy)
    settings = ServerSettings(
        scheduler=serving.scheduler,
        max_batch=max_batch,
        max_batched_tokens=serving.max_batched_tokens,
        balancer=serving.balancer,
    )
    replica = build_replica(model, hardware, precision, lengths, default_engine(hardware))
    if best is not None and found.best_replay is not None:
        result = found.best_replay
        fleet = fleet_cost(counts, bin_seconds, capacity, hardware, policy, replicas=best.replicas)
        sized_by = "replay"
    else:
        result = replay(
            workload,
            replica,
            closed.peak_replicas,
            settings,
            _targets(serving),
            progress=_replay_progress(context),
        )
        fleet = closed
        sized_by = "closed_form"
        state.notes.append(
            f"no replayed fleet met the serving SLO (up to the replica counts tried); the closed-form "
            f"fleet of {closed.peak_replicas} prices the scenario, and its replay shows what latency it gets"
        )
    sweep = (
        batch_sweep(
            replica,
            hardware,
            workload,
            settings,
            max(1, min(capacity.max_batch, SWEEP_LIMIT)),
            hosting.pricing,
        )
        if serving.sweep and context.central
        else None
    )
    difference = fleet.monthly_usd / closed.monthly_usd - 1 if closed.monthly_usd else Decimal(0)
    details = ServingDetails(
        sized_by=sized_by,
        scheduler=serving.scheduler,
        max_batch=max_batch,
        max_batched_tokens=serving.max_batched_tokens,
        balancer=serving.balancer,
        slo=_targets(serving),
        requests=workload.size,
        gpu=gpu,
        precision=precision,
        replicas=result.replicas,
        meets_slo=result.meets_slo,
        ttft_s=result.ttft_s,
        tpot_s=result.tpot_s,
        e2e_s=result.e2e_s,
        batch=result.batch,
        busy=result.busy,
        queue_peak=result.queue_peak,
        preemptions=result.preemptions,
        slo_misses=result.slo_misses,
        comparison=SizingComparison(
            replay_replicas=fleet.peak_replicas,
            replay_monthly_usd=fleet.monthly_usd,
            closed_form_replicas=closed.peak_replicas,
            closed_form_monthly_usd=closed.monthly_usd,
            difference_pct=(difference * 100).quantize(Decimal("0.1")),
            disagree=abs(difference) > DISAGREEMENT,
        ),
        search=ServingSearchDetails(found.options, found.skipped, found.replays)
        if serving.search is not None
        else None,
        sweep=sweep,
    )
    return ServedFleet(gpu, hardware, precision, capacity, meets, fleet, details)
