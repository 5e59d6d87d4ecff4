"""Generate a described workload: request counts, lengths, complexity and arrival times per stream.

Constants stay exact (1,500 input tokens means 1,500 on every request), so a described workload prices
to the cent — the design card's 100,000 requests/day of 1,500 + 500 tokens on GPT-4 Turbo is exactly
$90,000 per 30-day month. Above `max_requests` a random sample of the traffic is generated over the
WHOLE window (each stream thinned by the same factor), and the workload's `weight` says how many requests
each simulated one stands for: costs, request counts and arrival rates are scaled back by it, so a fleet
is sized on the day's real peak rather than on the first hours of the day.

Arrival patterns: `uniform` (evenly spaced), `poisson` (independent arrivals at a constant rate) and
`diurnal` (a smooth daily cycle peaking at 14:00 with the given peak-to-average ratio; the rate follows
exp(κ·cos(2π(t − 14h)/24h)), whose peak over average is e^κ / I₀(κ)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.base import MAX_TOKENS
from costaudit.config.scenario import Synthetic, SyntheticStream, ValueDistribution
from costaudit.core.columns import TOKEN_COLUMNS, TOKEN_SOURCES
from costaudit.core.prompt_cache import bounded_block_tokens, synthetic_prefix_blocks
from costaudit.core.request_table import Category, RequestTable
from costaudit.core.simulate.state import Workload

SECONDS_PER_DAY = 86_400
PEAK_HOUR_S = 14 * 3600
SYNTHETIC_BLOCK_TOKENS = 64


@dataclass(frozen=True)
class StreamPrompt:
    """The tokenized system prompt of a stream (counted by the caller, which reads the file)."""

    tokens: int


def sample(
    spec: int | Decimal | ValueDistribution, count: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """`count` draws of a constant or a distribution."""
    if not isinstance(spec, ValueDistribution):
        return np.full(count, float(spec))
    kind = spec.distribution
    if kind == "constant":
        return np.full(count, float(spec.mean or 0))
    if kind == "lognormal":
        sigma = float(spec.sigma or 0)
        mu = math.log(float(spec.mean or 1)) - sigma**2 / 2
        return rng.lognormal(mu, sigma, count)
    if kind == "normal":
        return np.clip(rng.normal(float(spec.mean or 0), float(spec.sd or 0), count), 0, None)
    if kind == "uniform":
        return rng.uniform(float(spec.low or 0), float(spec.high or 0), count)
    if kind == "exponential":
        return rng.exponential(float(spec.mean or 1), count)
    return rng.beta(float(spec.a or 1), float(spec.b or 1), count)


def _token_counts(
    spec: int | ValueDistribution, count: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Whole token counts drawn from `spec`, held to 0..MAX_TOKENS like logged counts (a heavy-tailed
    distribution can draw values beyond int64, which would wrap instead of saturating)."""
    return np.clip(np.rint(sample(spec, count, rng)), 0, MAX_TOKENS).astype(np.int64)


def diurnal_kappa(peak_to_average: float) -> float:
    """κ such that e^κ / I₀(κ) equals the peak-to-average ratio (bisection; the ratio grows with κ)."""
    if peak_to_average <= 1.0:
        return 0.0
    low, high = 0.0, 50.0
    for _ in range(100):
        middle = (low + high) / 2
        ratio = math.exp(middle) / float(np.i0(middle))
        low, high = (middle, high) if ratio < peak_to_average else (low, middle)
    return (low + high) / 2


def arrival_times(
    stream: SyntheticStream, count: int, span_s: float, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Sorted arrival times in [0, span) seconds."""
    pattern = stream.arrival.pattern
    if count == 0:
        return np.zeros(0)
    if pattern == "uniform":
        return (np.arange(count) + 0.5) * span_s / count
    if pattern == "poisson" or stream.arrival.peak_to_average <= 1:
        return np.sort(rng.uniform(0.0, span_s, count))
    kappa = diurnal_kappa(float(stream.arrival.peak_to_average))
    accepted: list[npt.NDArray[np.float64]] = []
    total = 0
    while total < count:
        proposals = rng.uniform(0.0, span_s, max(2 * count, 1024))
        phase = 2 * np.pi * (proposals - PEAK_HOUR_S) / SECONDS_PER_DAY
        keep = rng.random(len(proposals)) < np.exp(kappa * (np.cos(phase) - 1.0))
        accepted.append(proposals[keep])
        total += int(keep.sum())
    pool = np.concatenate(accepted)
    return np.sort(rng.choice(pool, size=count, replace=False))


def _stream_counts(synthetic: Synthetic) -> tuple[list[int], Decimal]:
    """Requests simulated per stream over the whole window, and the weight of each (the requests of
    the window each simulated request stands for: 1 unless `max_requests` caps the sample)."""
    streams = synthetic.all_streams()
    wanted = [stream.requests_per_day * synthetic.days for stream in streams]
    total = sum(wanted, Decimal(0))
    cap = Decimal(synthetic.max_requests)
    if total <= cap:
        return [int(amount.to_integral_value()) for amount in wanted], Decimal(1)
    counts = [int((amount * cap / total).to_integral_value()) for amount in wanted]
    return counts, total / sum(counts)


def _stream_table(
    stream: SyntheticStream,
    name: str,
    count: int,
    span_s: float,
    system_tokens: int,
    rng: np.random.Generator,
) -> RequestTable:
    """One stream's requests, in arrival order (draws in the same order as always: arrivals, input
    lengths, complexity, output lengths)."""
    inputs = _token_counts(stream.input_tokens, count, rng) + system_tokens
    complexity = (
        np.clip(sample(stream.complexity, count, rng), 0.0, 1.0)
        if stream.complexity is not None
        else np.full(count, np.nan)
    )
    arrivals = (arrival_times(stream, count, span_s, rng) * 1e9).astype(np.int64)
    tokens = {column: np.zeros(count, dtype=np.int64) for column in TOKEN_COLUMNS}
    tokens["input_tokens"] = inputs
    tokens["output_tokens"] = _token_counts(stream.output_tokens, count, rng)
    groups = {"stream": Category.constant(name, count)}
    groups.update({key: Category.constant(value, count) for key, value in stream.groups.items()})
    return RequestTable(
        timestamp_ns=arrivals,
        relative_time=np.ones(count, dtype=np.bool_),
        model=Category.constant(stream.model, count),
        tokens=tokens,
        batch=np.zeros(count, dtype=np.bool_),
        token_source=np.full(count, TOKEN_SOURCES.index("estimated"), dtype=np.int8),
        complexity=complexity.astype(np.float32),
        prompt_hash=np.zeros(count, dtype=np.uint64),
        source=Category.constant("synthetic", count),
        groups=groups,
    )


def generate(synthetic: Synthetic, prompts: list[StreamPrompt | None]) -> Workload:
    """The described workload as a canonical request table with chained prefix hashes."""
    rng = np.random.default_rng(synthetic.seed)
    streams = synthetic.all_streams()
    counts, weight = _stream_counts(synthetic)
    days = synthetic.days
    span_s = float(days) * SECONDS_PER_DAY
    parts: list[RequestTable] = []
    shared: list[npt.NDArray[np.int64]] = []
    for index, (stream, count, prompt) in enumerate(zip(streams, counts, prompts, strict=True)):
        system_tokens = prompt.tokens if prompt is not None else 0
        name = stream.name or f"stream-{index + 1}"
        parts.append(_stream_table(stream, name, count, span_s, system_tokens, rng))
        shared.append(np.full(count, system_tokens, dtype=np.int64))
    joined = RequestTable.concat(parts)
    order = np.argsort(joined.timestamp_ns, kind="stable")
    requests = joined.take(order)
    group = np.concatenate([np.full(c, i, dtype=np.int64) for i, c in enumerate(counts)])[order]
    inputs = requests.tokens["input_tokens"]
    blocks = synthetic_prefix_blocks(
        inputs,
        np.concatenate(shared)[order],
        bounded_block_tokens(inputs, SYNTHETIC_BLOCK_TOKENS),
        group=group,
    )
    source = "synthetic, 1 stream" if len(streams) == 1 else f"synthetic, {len(streams)} streams"
    notes = () if weight == 1 else (_sample_note(len(requests), weight, days),)
    return Workload(
        requests=replace(requests, prefix_blocks=blocks),
        days=days,
        source=source,
        notes=notes,
        weight=weight,
    )


def _sample_note(simulated: int, weight: Decimal, days: Decimal) -> str:
    represented = int((simulated * weight).to_integral_value())
    return (
        f"{simulated:,} of the {represented:,} requests of the {days.normalize():f}-day window were "
        f"simulated (max_requests), sampled over the whole window; costs, request counts and arrival "
        f"rates are scaled ×{weight.normalize():f}"
    )
