"""How much traffic one replica of an open model can serve: a calibrated roofline.

A replica is the smallest group of devices that holds the model (one GPU, a tensor-parallel group of
GPUs, or one CPU instance). Its capacity is set by two resources (research/hardware.md §2):

- memory bandwidth: every decode step reads all the weights once plus every running sequence's KV cache;
- compute: every token processed (prompt or generated) costs about 2·P FLOPs, plus attention.

The step time is a roofline per operator group, as LLM-Viewer computes it per layer (hardware.md §1.2):

    t_step(B) = max(W / BW', 2·P·(B + p) / F')            linear layers: weights read vs matmul FLOPs
              + max(B·ctx·kv_tok / BW', 4·L·ctx·d_q·B / F')  decode attention: KV read vs its FLOPs
              + 2·L·n_in·d_q·p / F'                         prompt attention (compute-bound)
              + overhead                                    scheduler, sampling, kernel launches

where BW' = BW·MBU and F' = F·MFU are the achieved bandwidth and compute, B is the number of sequences
decoding, and p = B·n_in/n_out is the prompt tokens processed per step in steady state: with continuous
batching and chunked prefill, arriving prompts share the steps with the running decodes. When the linear
layers are memory-bound this is exactly hardware.md §2's `max((W + B·ctx·kv_tok)/(BW·MBU), 2·P·B/(F·MFU))
+ overhead`; splitting the attention term out keeps the KV read from hiding behind the matmul FLOPs at
large batch, which the calibration points in tests/core/test_capacity.py show it does not.

Concurrency is capped by the KV cache: each admitted sequence reserves room for its whole context, and
the latency SLO caps it further (time per output token = t_step, time to first token = the step in
flight plus the prompt's own prefill). docs/self-hosting.md explains the defaults and their limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from costaudit.config.pricing import Hardware, Precision, SelfHostedModel

KvDtype = Literal["fp16", "fp8"]
SloLimit = Literal["kv_memory", "tpot", "ttft"]

BYTES_PER_GB = 1e9
FLOPS_PER_TFLOPS = 1e12

WEIGHT_BYTES_PER_PARAM: dict[Precision, float] = {
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5625,
}
"""Bytes per weight. INT4 is 4.5 bits with its group scales (hardware.md §3.4, Phi-3 Q4 estimate)."""

KV_BYTES_PER_ELEMENT: dict[KvDtype, float] = {"fp16": 2.0, "fp8": 1.0}

TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
"""Tensor-parallel degrees tried for GPUs, as in Vidur-Search's search space (hardware.md §1.1)."""


@dataclass(frozen=True)
class LengthMix:
    """The request length mix a replica serves, reduced to the averages the roofline needs.

    `decode_context_tokens` is the KV a decoding sequence holds on average, and
    `reserved_context_tokens` the KV it reserves (its whole context). Both are weighted by output length,
    because a request occupies a batch slot for as many steps as it generates tokens.
    """

    input_tokens: float
    output_tokens: float
    decode_context_tokens: float
    reserved_context_tokens: float

    def __post_init__(self) -> None:
        if not self.input_tokens > 0:
            raise ValueError(f"mean input tokens must be positive, got {self.input_tokens}")
        if not self.output_tokens >= 1:
            raise ValueError(f"mean output tokens must be at least 1, got {self.output_tokens}")

    @classmethod
    def from_means(cls, input_tokens: float, output_tokens: float) -> LengthMix:
        """A workload where every request has the mean lengths (decoding holds half its output on average)."""
        return cls(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            decode_context_tokens=input_tokens + output_tokens / 2,
            reserved_context_tokens=input_tokens + output_tokens,
        )

    @classmethod
    def from_lengths(cls, input_tokens: ArrayLike, output_tokens: ArrayLike) -> LengthMix:
        """A workload from per-request lengths: long answers hold their slot longer, so they weigh more."""
        inputs = np.asarray(input_tokens, dtype=np.float64)
        outputs = np.asarray(output_tokens, dtype=np.float64)
        if inputs.shape != outputs.shape or inputs.ndim != 1 or inputs.size == 0:
            raise ValueError(
                "input and output lengths must be two non-empty 1-D arrays of equal length"
            )
        if (outputs < 1).any() or (inputs < 0).any():
            raise ValueError("every request needs at least 1 output token and no negative input")
        total_output = float(outputs.sum())
        return cls(
            input_tokens=float(inputs.mean()),
            output_tokens=float(outputs.mean()),
            decode_context_tokens=float((outputs * (inputs + outputs / 2)).sum()) / total_output,
            reserved_context_tokens=float((outputs * (inputs + outputs)).sum()) / total_output,
        )

    @property
    def prompt_tokens_per_output_token(self) -> float:
        """Prompt tokens a replica must prefill for every token it generates, in steady state."""
        return self.input_tokens / self.output_tokens


@dataclass(frozen=True)
class LatencySLO:
    """Latency a replica must keep while loaded.

    The default is silybench's serving SLO, p99 TTFT ≤ 2 s and median inter-token latency ≤ 50 ms
    (tgarg01/silybench-data, hardware.md §3.1): its SLO-capacity measurements are the calibration points
    this model is checked against, and 50 ms per token (20 tokens/s) is interactive-chat speed. MLPerf's
    original Llama-2-70B server scenario (≈2 s TTFT, ≈200 ms TPOT, hardware.md §3.3) is looser; pass
    `LatencySLO(ttft_s=2.0, tpot_s=0.2)` for it. The model's TTFT has no queueing (fleet sizing leaves
    that headroom), so it is compared with the target as is.
    """

    ttft_s: float = 2.0
    tpot_s: float = 0.050

    def __post_init__(self) -> None:
        if not (self.ttft_s > 0 and self.tpot_s > 0):
            raise ValueError("latency targets must be positive")


@dataclass(frozen=True)
class EngineProfile:
    """How well a serving engine uses the hardware: the calibration factors of the roofline.

    The GPU and CPU defaults (`GPU_ENGINE`, `CPU_ENGINE`) are chosen from hardware.md §2.3 and checked
    against the measured points in tests/core/test_capacity.py; docs/self-hosting.md lists them.
    """

    mbu: float
    """Achieved share of peak memory bandwidth."""
    mfu: float
    """Achieved share of peak compute for the precision used."""
    step_overhead_s: float
    """Fixed time per decode step outside the roofline (scheduling, sampling, launches)."""
    memory_utilization: float = 0.9
    """Share of device memory the engine may use for weights + KV cache (vLLM's default 0.9)."""
    tp_efficiency: float = 0.9
    """Bandwidth and compute kept per doubling of tensor parallelism (communication costs the rest)."""
    min_kv_share: float = 0.25
    """Pick a tensor-parallel degree that leaves at least this share of usable memory to the KV cache."""
    kv_cache_dtype: KvDtype | None = None
    """KV-cache element type; None: fp8 with fp8 precision (TensorRT-LLM's FP8 setup), fp16 otherwise."""
    tensor_parallel: int | None = None
    """Force the number of devices per replica; None: the smallest of 1, 2, 4, 8 that fits."""

    def __post_init__(self) -> None:
        shares = (self.mbu, self.mfu, self.memory_utilization, self.tp_efficiency)
        if not all(0 < share <= 1 for share in shares) or not 0 <= self.min_kv_share < 1:
            raise ValueError("efficiency factors must be in (0, 1] and min_kv_share in [0, 1)")
        if self.step_overhead_s < 0:
            raise ValueError("step overhead cannot be negative")
        if self.tensor_parallel is not None and self.tensor_parallel not in TENSOR_PARALLEL_SIZES:
            raise ValueError(f"tensor_parallel must be one of {TENSOR_PARALLEL_SIZES}")


GPU_ENGINE = EngineProfile(mbu=0.7, mfu=0.5, step_overhead_s=0.001)
"""GPU defaults (hardware.md §2.3). MBU 0.7: the large-batch value §2.3 recommends. MFU 0.5: the low end
of §2.3's 0.5-0.6, the value that keeps both vLLM FP8 on H100 and TensorRT-LLM FP16 on A100 within the
calibration band. Overhead 1 ms: silybench's batch-1 inter-token latency of 4.66 ms for Qwen3-8B FP8 on
H100 minus the 3.5 ms its 8.2 GB of weights take at 0.7 × 3.35 TB/s (derived)."""

CPU_ENGINE = EngineProfile(mbu=0.6, mfu=1.0, step_overhead_s=0.0)
"""CPU defaults. MBU 0.6: llama.cpp reaches 56 % (EPYC 9554) and 69 % (Xeon 8480+) of peak bandwidth
(hardware.md §2.3, which recommends 0.5-0.65). MFU 1.0 because a CPU's `bf16_tflops` is already its
usable matrix throughput (config/pricing.py). No step overhead: the batch-1 points fit without one."""


def default_engine(hardware: Hardware) -> EngineProfile:
    """The calibrated defaults for the kind of hardware."""
    return GPU_ENGINE if hardware.kind == "gpu" else CPU_ENGINE


@dataclass(frozen=True)
class ReplicaCapacity:
    """What one replica can serve for one workload: at maximum load and within the latency SLO."""

    hardware: str
    precision: Precision
    devices: int
    """Devices per replica (the tensor-parallel degree; 1 for a CPU instance)."""
    lengths: LengthMix
    slo: LatencySLO
    weights_gb: float
    kv_cache_gb: float
    """Memory left for the KV cache on the whole replica."""
    max_batch: int
    """Concurrent sequences whose whole context fits in the KV cache."""
    max_output_tokens_per_s: float
    """Throughput at `max_batch`, with no latency target (offline / batch work)."""
    max_requests_per_s: float
    slo_batch: int
    """Largest concurrency that meets the SLO; 0 when even one sequence misses it."""
    slo_limit: SloLimit
    """What stops concurrency from growing further: KV memory, time per token, or time to first token."""
    slo_output_tokens_per_s: float
    slo_requests_per_s: float
    ttft_s: float
    """Time to first token at `slo_batch` (at batch 1 when the SLO cannot be met)."""
    tpot_s: float
    """Time per output token at `slo_batch` (at batch 1 when the SLO cannot be met)."""

    @property
    def meets_slo(self) -> bool:
        return self.slo_batch > 0


@dataclass(frozen=True)
class BatchPoint:
    """Steady-state performance with a fixed number of sequences decoding."""

    batch: int
    tpot_s: float
    ttft_s: float
    output_tokens_per_s: float
    requests_per_s: float


@dataclass(frozen=True)
class Replica:
    """The replica's effective resources, already derated by the engine profile.

    The step-time terms below (`linear_seconds`, `decode_attention_seconds`,
    `prompt_attention_seconds`) are functions of it, shared by the steady-state capacity here and the
    step-by-step replay in `costaudit.core.serving`.
    """

    devices: int
    bandwidth: float
    """Achieved bytes/s across the replica."""
    flops: float
    """Achieved FLOP/s across the replica."""
    weight_bytes: float
    kv_bytes_per_token: float
    kv_budget_bytes: float
    params: float
    layers: int
    query_width: int
    """Query heads × head dimension: the width attention FLOPs scale with."""
    context_cap: float
    """Tokens of KV a sequence can hold at most (the sliding window, if any)."""
    overhead_s: float


def weight_bytes(model: SelfHostedModel, precision: Precision) -> float:
    """Bytes of weights: every decode step reads all of them."""
    return float(model.params_b) * 1e9 * WEIGHT_BYTES_PER_PARAM[precision]


def kv_cache_dtype(precision: Precision, engine: EngineProfile) -> KvDtype:
    """The KV-cache element type: the engine's choice, else fp8 only alongside fp8 weights."""
    if engine.kv_cache_dtype is not None:
        return engine.kv_cache_dtype
    return "fp8" if precision == "fp8" else "fp16"


def kv_bytes_per_token(model: SelfHostedModel, kv_dtype: KvDtype) -> float:
    """KV cache per token: K and V for every layer and KV head (hardware.md §2)."""
    elements = 2 * model.layers * model.kv_heads * model.head_dim
    return elements * KV_BYTES_PER_ELEMENT[kv_dtype]


def device_flops(hardware: Hardware, precision: Precision) -> float:
    """Peak FLOP/s of one device for the precision's matmuls.

    FP8 and INT8 use the device's fp8/int8 units when it has them (W8A8); otherwise, and always for
    INT4, the weights are dequantised and the matmuls run in bf16 (weight-only kernels such as Marlin,
    hardware.md §3.5).
    """
    low_precision = {"fp8": hardware.fp8_tflops, "int8": hardware.int8_tops}.get(precision)
    peak = low_precision if low_precision is not None else hardware.bf16_tflops
    return float(peak) * FLOPS_PER_TFLOPS


def _usable_memory(hardware: Hardware, devices: int, engine: EngineProfile) -> float:
    return engine.memory_utilization * devices * float(hardware.memory_gb) * BYTES_PER_GB


def _sequences_that_fit(kv_budget: float, tokens_per_sequence: float, kv_tok: float) -> int:
    if kv_budget <= 0:
        return 0
    return math.floor(kv_budget / (tokens_per_sequence * kv_tok))


def _tensor_parallel_candidates(hardware: Hardware, engine: EngineProfile) -> tuple[int, ...]:
    if engine.tensor_parallel is not None:
        if hardware.kind == "cpu" and engine.tensor_parallel != 1:
            raise ValueError("a CPU replica is one instance: tensor_parallel must be 1")
        return (engine.tensor_parallel,)
    return TENSOR_PARALLEL_SIZES if hardware.kind == "gpu" else (1,)


def _choose_devices(
    model: SelfHostedModel,
    hardware: Hardware,
    precision: Precision,
    reserved_tokens: float,
    engine: EngineProfile,
) -> int:
    """The smallest tensor-parallel degree that holds the weights and leaves room for a useful KV cache.

    "Useful" is at least `engine.min_kv_share` of usable memory. With the default quarter this
    reproduces the published deployments: Llama-70B FP8 on 2×H100 and FP16 on 4×A100 (TensorRT-LLM
    v0.6.1 tables), 13B INT4 on one L4 (hardware.md §6.2). When no degree leaves that much, or the
    degree is forced, the smallest that holds one whole sequence will do.
    """
    kv_tok = kv_bytes_per_token(model, kv_cache_dtype(precision, engine))
    candidates = _tensor_parallel_candidates(hardware, engine)
    fitting = []
    for devices in candidates:
        usable = _usable_memory(hardware, devices, engine)
        kv_budget = usable - weight_bytes(model, precision)
        if _sequences_that_fit(kv_budget, reserved_tokens, kv_tok) >= 1:
            if kv_budget >= engine.min_kv_share * usable:
                return devices
            fitting.append(devices)
    if fitting:
        return fitting[0]
    raise ValueError(
        f"{precision} weights of a {model.params_b}B model plus one {reserved_tokens:.0f}-token sequence "
        f"do not fit on {hardware.name} (up to {candidates[-1]} devices)"
    )


def _scaling(devices: int, engine: EngineProfile) -> float:
    """Aggregate speed of a tensor-parallel group relative to one device."""
    return devices * math.pow(engine.tp_efficiency, math.log2(devices))


def build_replica(
    model: SelfHostedModel,
    hardware: Hardware,
    precision: Precision,
    workload: LengthMix,
    engine: EngineProfile,
) -> Replica:
    context_cap = float(model.sliding_window or math.inf)
    reserved = min(workload.reserved_context_tokens, context_cap)
    devices = _choose_devices(model, hardware, precision, reserved, engine)
    scale = _scaling(devices, engine)
    weights = weight_bytes(model, precision)
    return Replica(
        devices=devices,
        bandwidth=float(hardware.bandwidth_gbs) * BYTES_PER_GB * scale * engine.mbu,
        flops=device_flops(hardware, precision) * scale * engine.mfu,
        weight_bytes=weights,
        kv_bytes_per_token=kv_bytes_per_token(model, kv_cache_dtype(precision, engine)),
        kv_budget_bytes=_usable_memory(hardware, devices, engine) - weights,
        params=float(model.params_b) * 1e9,
        layers=model.layers,
        query_width=model.heads * model.head_dim,
        context_cap=context_cap,
        overhead_s=engine.step_overhead_s,
    )


def _max_batch(replica: Replica, workload: LengthMix) -> int:
    reserved = min(workload.reserved_context_tokens, replica.context_cap)
    return _sequences_that_fit(replica.kv_budget_bytes, reserved, replica.kv_bytes_per_token)


def linear_seconds(replica: Replica, tokens: float) -> float:
    """Linear layers for one step over `tokens` tokens (decoded and prefilled): reading the weights
    once, or the matmul FLOPs, whichever takes longer."""
    return max(
        replica.weight_bytes / replica.bandwidth,
        2 * replica.params * tokens / replica.flops,
    )


def decode_attention_seconds(replica: Replica, context_tokens: float) -> float:
    """Decode attention over `context_tokens` tokens of KV cache (summed over the running sequences):
    reading the cache, or its FLOPs. Both are proportional to the context."""
    return max(
        context_tokens * replica.kv_bytes_per_token / replica.bandwidth,
        4 * replica.layers * context_tokens * replica.query_width / replica.flops,
    )


def prompt_attention_seconds(replica: Replica, span: float, tokens: float) -> float:
    """Attention of `tokens` prompt tokens being prefilled (compute-bound). `span` is twice the
    context they attend to on average: the prompt length for a whole prompt (or a steady stream of
    them), `2·offset + chunk` for a chunk that starts `offset` tokens into its prompt."""
    return 2 * replica.layers * span * replica.query_width * tokens / replica.flops


def _step_time(replica: Replica, workload: LengthMix, batch: int) -> float:
    """Seconds per decode step with `batch` sequences decoding and their share of prompts prefilling."""
    prompt_tokens = batch * workload.prompt_tokens_per_output_token
    context = min(workload.decode_context_tokens, replica.context_cap)
    return (
        linear_seconds(replica, batch + prompt_tokens)
        + decode_attention_seconds(replica, batch * context)
        + prompt_attention_seconds(replica, workload.input_tokens, prompt_tokens)
        + replica.overhead_s
    )


def prefill_seconds(replica: Replica, prompt_tokens: float) -> float:
    """Seconds to prefill one prompt alone: compute-bound, but never faster than one read of the weights."""
    return (
        linear_seconds(replica, prompt_tokens)
        + prompt_attention_seconds(replica, prompt_tokens, prompt_tokens)
        + replica.overhead_s
    )


def _point(replica: Replica, workload: LengthMix, batch: int) -> BatchPoint:
    step = _step_time(replica, workload, batch)
    tokens_per_s = batch / step
    return BatchPoint(
        batch=batch,
        tpot_s=step,
        ttft_s=step + prefill_seconds(replica, workload.input_tokens),
        output_tokens_per_s=tokens_per_s,
        requests_per_s=tokens_per_s / workload.output_tokens,
    )


def _violation(point: BatchPoint, slo: LatencySLO) -> SloLimit | None:
    if point.tpot_s > slo.tpot_s:
        return "tpot"
    if point.ttft_s > slo.ttft_s:
        return "ttft"
    return None


def _slo_batch(
    replica: Replica, workload: LengthMix, slo: LatencySLO, max_batch: int
) -> tuple[int, SloLimit]:
    """Largest batch that meets the SLO, by bisection (both latencies grow with the batch)."""
    first_miss = _violation(_point(replica, workload, 1), slo)
    if first_miss is not None:
        return 0, first_miss
    if _violation(_point(replica, workload, max_batch), slo) is None:
        return max_batch, "kv_memory"
    meets, misses = 1, max_batch
    while misses - meets > 1:
        middle = (meets + misses) // 2
        if _violation(_point(replica, workload, middle), slo) is None:
            meets = middle
        else:
            misses = middle
    limit = _violation(_point(replica, workload, misses), slo)
    assert limit is not None
    return meets, limit


def replica_capacity(
    model: SelfHostedModel,
    hardware: Hardware,
    precision: Precision,
    workload: LengthMix,
    slo: LatencySLO | None = None,
    engine: EngineProfile | None = None,
) -> ReplicaCapacity:
    """Capacity of one replica for a workload: at maximum load, and at the largest load within the SLO.

    Raises ValueError when the model does not fit on up to 8 devices (1 CPU instance) with room for one
    whole sequence.
    """
    slo = slo or LatencySLO()
    engine = engine or default_engine(hardware)
    replica = build_replica(model, hardware, precision, workload, engine)
    max_batch = _max_batch(replica, workload)
    slo_batch, slo_limit = _slo_batch(replica, workload, slo, max_batch)
    at_max = _point(replica, workload, max_batch)
    at_slo = _point(replica, workload, max(slo_batch, 1))
    slo_scale = 1.0 if slo_batch else 0.0
    return ReplicaCapacity(
        hardware=hardware.name,
        precision=precision,
        devices=replica.devices,
        lengths=workload,
        slo=slo,
        weights_gb=replica.weight_bytes / BYTES_PER_GB,
        kv_cache_gb=replica.kv_budget_bytes / BYTES_PER_GB,
        max_batch=max_batch,
        max_output_tokens_per_s=at_max.output_tokens_per_s,
        max_requests_per_s=at_max.requests_per_s,
        slo_batch=slo_batch,
        slo_limit=slo_limit,
        slo_output_tokens_per_s=at_slo.output_tokens_per_s * slo_scale,
        slo_requests_per_s=at_slo.requests_per_s * slo_scale,
        ttft_s=at_slo.ttft_s,
        tpot_s=at_slo.tpot_s,
    )


def batch_point(
    model: SelfHostedModel,
    hardware: Hardware,
    precision: Precision,
    workload: LengthMix,
    batch: int,
    engine: EngineProfile | None = None,
) -> BatchPoint:
    """Throughput and latency with exactly `batch` sequences decoding (a benchmark's fixed batch).

    The batch is taken as given, without checking it against the KV cache: published benchmarks run
    engines that reserve memory their own way (TensorRT-LLM sizes its cache from the memory left after
    the weights), and the point is to compare with what they measured.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    engine = engine or default_engine(hardware)
    replica = build_replica(model, hardware, precision, workload, engine)
    return _point(replica, workload, batch)
