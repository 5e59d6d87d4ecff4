"""Replica capacity: hand-computed toy cases, monotonic properties, and calibration against measurements.

The calibration table below is the evidence for the efficiency defaults in costaudit/core/capacity.py.
docs/self-hosting.md shows the same table; `test_doc_calibration_table_is_current` regenerates it from
this list so the two cannot drift apart. Hardware and model specs come from research/hardware.md §2.1
and §2.2 (prices are dummies: capacity does not use them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike

from costaudit.config.pricing import Hardware, Precision, SelfHostedModel
from costaudit.core.capacity import (
    CPU_ENGINE,
    GPU_ENGINE,
    EngineProfile,
    LatencySLO,
    LengthMix,
    batch_point,
    default_engine,
    device_flops,
    kv_bytes_per_token,
    kv_cache_dtype,
    replica_capacity,
    weight_bytes,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "self-hosting.md"
TOLERANCE = 0.35
"""The calibration band: hardware.md §1.6 asks a simple tool for ±20-30 % on throughput."""


def gpu(
    name: str, memory: str, bandwidth: str, bf16: str, fp8: str | None, int8: str, source: str
) -> Hardware:
    """A GPU from hardware.md §2.2 (dense peaks, no sparsity)."""
    return Hardware(
        kind="gpu",
        name=name,
        memory_gb=Decimal(memory),
        bandwidth_gbs=Decimal(bandwidth),
        bf16_tflops=Decimal(bf16),
        fp8_tflops=Decimal(fp8) if fp8 else None,
        int8_tops=Decimal(int8),
        hourly=Decimal("1"),
        source=source,
        checked=date(2026, 11, 1),
    )


def cpu(name: str, memory: str, bandwidth: str, usable_tflops: str, source: str) -> Hardware:
    return Hardware(
        kind="cpu",
        name=name,
        memory_gb=Decimal(memory),
        bandwidth_gbs=Decimal(bandwidth),
        bf16_tflops=Decimal(usable_tflops),
        hourly=Decimal("1"),
        source=source,
        checked=date(2026, 11, 1),
    )


def llm(
    params_b: str, layers: int, hidden: int, heads: int, kv_heads: int, source: str
) -> SelfHostedModel:
    return SelfHostedModel(
        params_b=Decimal(params_b),
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=hidden // heads,
        context_window=32_768,
        source=source,
    )


CPU_COMPUTE = "hardware.md §3.4: ~1-2 TFLOPS of usable CPU compute; RAM size not stated, any that holds the model"
A100 = gpu(
    "A100-80GB SXM",
    "80",
    "2039",
    "312",
    None,
    "624",
    "hardware.md §2.2 (llm-analysis a100-sxm-80gb.json)",
)
H100 = gpu(
    "H100 SXM",
    "80",
    "3350",
    "989",
    "1979",
    "1979",
    "hardware.md §2.2 (llm-analysis h100-sxm-80gb.json)",
)
L40S = gpu(
    "L40S", "48", "864", "362", "733", "733", "hardware.md §2.2 (store.sourcecode / cyfuture)"
)
EPYC_9554 = cpu("EPYC 9554", "384", "460.8", "2", f"hardware.md §2.2 (12×DDR5-5600); {CPU_COMPUTE}")
XEON_8480 = cpu(
    "Xeon Platinum 8480+", "512", "307.2", "2", f"hardware.md §2.3 (8×DDR5-4800); {CPU_COMPUTE}"
)

LLAMA_2_7B = llm("6.74", 32, 4096, 32, 32, "hardware.md §2.1 (vidur model_config.py)")
LLAMA_2_70B = llm(
    "68.98", 80, 8192, 64, 8, "vidur model_config.py; params by hardware.md §2 formula, vocab 32000"
)
QWEN3_8B = llm("8.19", 36, 4096, 32, 8, "hardware.md §2.1")
PHI_4 = llm(
    "14.66", 40, 5120, 40, 10, "huggingface.co/microsoft/phi-4 config.json; params by §2 formula"
)
QWEN25_7B = llm(
    "7.62", 28, 3584, 28, 4, "huggingface.co/Qwen/Qwen2.5-7B config.json; params by §2 formula"
)

VLLM_BF16_KV = replace(GPU_ENGINE, kv_cache_dtype="fp16")
"""vLLM keeps the KV cache in the checkpoint's activation dtype (bf16) unless `--kv-cache-dtype fp8` is
given; silybench's FP8 runs are modelled with a 16-bit cache (its capacity cross-check in hardware.md
§2.1 uses 144 KiB/token)."""

TRT = "TensorRT-LLM v0.6.1 docs/source/performance.md (hardware.md §3.2)"
TRT_V05 = "TensorRT-LLM v0.5 docs/source/performance.md (hardware.md §3.2)"
SILY_PERF = "silybench derived/csv/perf_points.csv (hardware.md §3.1)"
SILY_CAPACITY = "silybench derived/csv/capacity.csv (hardware.md §3.1)"
LLAMA_CPP = "llama.cpp decode"


@dataclass(frozen=True)
class CalibrationPoint:
    """One published measurement and what the model must reproduce.

    `batch` is the benchmark's fixed batch (compared with `batch_point`); None means the measured
    maximum load within the SLO (compared with `slo_output_tokens_per_s`).
    """

    engine_name: str
    source: str
    hardware: Hardware
    model_name: str
    model: SelfHostedModel
    precision: Precision
    input_tokens: int
    output_tokens: int
    batch: int | None
    measured: float
    """Output tokens/s of one replica."""
    engine: EngineProfile | None = None

    @property
    def label(self) -> str:
        load = f"batch {self.batch}" if self.batch is not None else "SLO capacity"
        return (
            f"{self.engine_name}, {self.hardware.name}, {self.model_name} {self.precision}, "
            f"{self.input_tokens}→{self.output_tokens}, {load}"
        )

    def modelled(self) -> float:
        workload = LengthMix.from_means(self.input_tokens, self.output_tokens)
        if self.batch is None:
            capacity = replica_capacity(
                self.model, self.hardware, self.precision, workload, engine=self.engine
            )
            return capacity.slo_output_tokens_per_s
        point = batch_point(
            self.model, self.hardware, self.precision, workload, self.batch, engine=self.engine
        )
        return point.output_tokens_per_s

    def error(self) -> float:
        return self.modelled() / self.measured - 1


def _trt(
    hardware: Hardware, precision: Precision, n_in: int, n_out: int, batch: int, measured: float
) -> CalibrationPoint:
    return CalibrationPoint(
        "TensorRT-LLM",
        TRT,
        hardware,
        "Llama-2-7B",
        LLAMA_2_7B,
        precision,
        n_in,
        n_out,
        batch,
        measured,
    )


def _sily(
    precision: Precision, n_in: int, n_out: int, batch: int | None, measured: float
) -> CalibrationPoint:
    source = SILY_PERF if batch is not None else SILY_CAPACITY
    return CalibrationPoint(
        "vLLM",
        source,
        H100,
        "Qwen3-8B",
        QWEN3_8B,
        precision,
        n_in,
        n_out,
        batch,
        measured,
        VLLM_BF16_KV,
    )


def _llama_cpp(
    hardware: Hardware,
    name: str,
    model: SelfHostedModel,
    precision: Precision,
    measured: float,
    source: str,
) -> CalibrationPoint:
    """Batch-1 decode speed: a 1-token prompt, so no prefill is interleaved with the 128 generated tokens."""
    return CalibrationPoint(
        "llama.cpp",
        f"{source} (hardware.md §3.4)",
        hardware,
        name,
        model,
        precision,
        1,
        128,
        1,
        measured,
    )


CALIBRATION: tuple[CalibrationPoint, ...] = (
    _trt(A100, "fp16", 128, 128, 384, 5586),
    _trt(A100, "fp16", 128, 2048, 60, 1928),
    _trt(A100, "fp16", 2048, 128, 52, 591),
    _trt(H100, "fp8", 128, 128, 768, 19694),
    _trt(H100, "fp8", 128, 2048, 112, 6818),
    _trt(H100, "fp8", 2048, 128, 80, 2244),
    # 2,657 tok/s per GPU on a TP=2 replica; the model picks 2 devices by itself.
    CalibrationPoint(
        "TensorRT-LLM", TRT, H100, "Llama-2-70B", LLAMA_2_70B, "fp8", 128, 128, 1024, 2 * 2657
    ),
    CalibrationPoint(
        "TensorRT-LLM", TRT_V05, L40S, "Llama-2-7B", LLAMA_2_7B, "fp8", 128, 128, 64, 3240
    ),
    _sily("fp8", 128, 1024, 1, 214),
    _sily("fp8", 128, 1024, 16, 3027),
    _sily("fp8", 128, 1024, 64, 8621),
    _sily("fp8", 128, 1024, 256, 15264),
    _sily("fp8", 128, 128, 512, 16542),
    _sily("fp8", 2048, 2048, 32, 3086),
    _sily("fp8", 128, 1024, None, 15103),
    _sily("bf16", 128, 1024, None, 13322),
    _sily("fp8", 1024, 128, None, 4129),
    _sily("bf16", 1024, 128, None, 3018),
    _sily("fp8", 2048, 2048, None, 3653),
    _sily("bf16", 2048, 2048, None, 2815),
    _llama_cpp(EPYC_9554, "Phi-4 (Q4_K_M)", PHI_4, "int4", 28.74, "ahelpme.com"),
    _llama_cpp(EPYC_9554, "Phi-4 (Q8_0)", PHI_4, "int8", 19.2, "ahelpme.com"),
    _llama_cpp(XEON_8480, "Qwen2.5-7B (Q4)", QWEN25_7B, "int4", 45, "CEUR Vol-4164 paper 11"),
)

KNOWN_MISSES: tuple[CalibrationPoint, ...] = (
    _sily("fp8", 8192, 512, None, 787),
    _sily("bf16", 8192, 512, None, 502),
)
"""Measured points the model does not reproduce; the doc shows them under Limits."""


def _number(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def calibration_rows(points: tuple[CalibrationPoint, ...]) -> list[str]:
    """The Markdown table docs/self-hosting.md carries for `points`."""
    rows = [
        "| # | point | source | measured tok/s | modelled tok/s | error |",
        "|---|---|---|---:|---:|---:|",
    ]
    for number, point in enumerate(points, start=1):
        rows.append(
            f"| {number} | {point.label} | {point.source} | {_number(point.measured)} "
            f"| {_number(point.modelled())} | {point.error():+.0%} |"
        )
    return rows


def _doc_block(name: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert start in text and end in text, f"{DOC} lost its {name} markers"
    return text.split(start, 1)[1].split(end, 1)[0].strip().splitlines()


# --- calibration ------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", CALIBRATION, ids=lambda point: point.label)
def test_model_is_within_35_percent_of_each_measured_point(point: CalibrationPoint) -> None:
    assert abs(point.error()) <= TOLERANCE, (
        f"{point.label}: modelled {point.modelled():.0f} vs measured {point.measured:.0f} "
        f"({point.error():+.0%})"
    )


def test_calibration_covers_enough_points_and_sources() -> None:
    assert len(CALIBRATION) >= 8
    assert {point.source for point in CALIBRATION} >= {TRT, SILY_PERF, SILY_CAPACITY}
    assert any(point.hardware.kind == "cpu" for point in CALIBRATION)


def test_known_misses_are_still_misses() -> None:
    """If a model change fixes them, move them into CALIBRATION (and the doc's main table)."""
    for point in KNOWN_MISSES:
        assert abs(point.error()) > TOLERANCE


def test_the_band_can_fail() -> None:
    """The calibration test is not vacuous: halving the bandwidth efficiency breaks it."""
    slow = replace(VLLM_BF16_KV, mbu=0.35)
    point = replace(CALIBRATION[9], engine=slow)
    assert abs(point.error()) > TOLERANCE


def test_doc_calibration_table_is_current() -> None:
    expected = calibration_rows(CALIBRATION)
    assert _doc_block("calibration") == expected, "\n".join(
        ["docs/self-hosting.md should read:", *expected]
    )


def test_doc_known_misses_table_is_current() -> None:
    expected = calibration_rows(KNOWN_MISSES)
    assert _doc_block("known-misses") == expected, "\n".join(
        ["docs/self-hosting.md should read:", *expected]
    )


# --- hand-computed toy case -------------------------------------------------------------------------

TOY_HARDWARE = Hardware(
    kind="gpu",
    name="toy",
    memory_gb=Decimal(10),
    bandwidth_gbs=Decimal(100),
    bf16_tflops=Decimal(10),
    hourly=Decimal("2"),
    source="test",
    checked=date(2026, 11, 1),
)
TOY_MODEL = SelfHostedModel(
    params_b=Decimal(1),
    layers=4,
    hidden=256,
    heads=4,
    kv_heads=4,
    head_dim=64,
    context_window=4096,
    source="test",
)
IDEAL = EngineProfile(mbu=1.0, mfu=1.0, step_overhead_s=0.0)
TOY_WORKLOAD = LengthMix.from_means(100, 100)


def test_toy_sizes_by_hand() -> None:
    # weights 1e9 params × 2 bytes; KV 2 (K,V) × 4 layers × 4 heads × 64 dims × 2 bytes = 4,096 B/token
    assert weight_bytes(TOY_MODEL, "fp16") == 2e9
    assert kv_bytes_per_token(TOY_MODEL, "fp16") == 4096
    assert weight_bytes(TOY_MODEL, "int4") == 0.5625e9


def test_toy_step_time_memory_bound_by_hand() -> None:
    # B=10, p = 10 prompt tokens per step, decode context 150 tokens.
    linear = max(2e9 / 100e9, 2 * 1e9 * 20 / 10e12)  # 0.02 s weight read beats 0.004 s of matmul
    decode_attention = max(10 * 150 * 4096 / 100e9, 4 * 4 * 150 * 256 * 10 / 10e12)
    prompt_attention = 2 * 4 * 100 * 256 * 10 / 10e12
    step = linear + decode_attention + prompt_attention
    point = batch_point(TOY_MODEL, TOY_HARDWARE, "fp16", TOY_WORKLOAD, 10, engine=IDEAL)
    assert point.tpot_s == pytest.approx(step, rel=1e-12)
    assert point.output_tokens_per_s == pytest.approx(10 / step, rel=1e-12)
    assert point.requests_per_s == pytest.approx(10 / step / 100, rel=1e-12)
    prefill = max(2e9 / 100e9, 2 * 1e9 * 100 / 10e12) + 2 * 4 * 100**2 * 256 / 10e12
    assert point.ttft_s == pytest.approx(step + prefill, rel=1e-12)


def test_toy_step_time_compute_bound_by_hand() -> None:
    # B=200: 400 tokens × 2 GFLOP = 0.08 s of matmul, more than the 0.02 s weight read.
    step = 2 * 1e9 * 400 / 10e12 + 200 * 150 * 4096 / 100e9 + 2 * 4 * 100 * 256 * 200 / 10e12
    point = batch_point(TOY_MODEL, TOY_HARDWARE, "fp16", TOY_WORKLOAD, 200, engine=IDEAL)
    assert point.tpot_s == pytest.approx(step, rel=1e-12)


def test_toy_capacity_by_hand() -> None:
    capacity = replica_capacity(TOY_MODEL, TOY_HARDWARE, "fp16", TOY_WORKLOAD, engine=IDEAL)
    # KV: (0.9 × 10 GB − 2 GB) / (200 tokens × 4,096 B) = 8,544.9 → 8,544 sequences
    assert capacity.devices == 1
    assert capacity.max_batch == 8544
    assert capacity.kv_cache_gb == pytest.approx(7.0)
    # Past B=50 the step is compute-bound: 4e-4·B + 6.144e-6·B + 2.048e-8·B ≤ 50 ms ⇒ B ≤ 123.1
    assert capacity.slo_batch == 123
    assert capacity.slo_limit == "tpot"
    per_sequence = 4e-4 + 150 * 4096 / 100e9 + 2 * 4 * 100 * 256 / 10e12
    assert capacity.tpot_s == pytest.approx(123 * per_sequence, rel=1e-12)
    assert capacity.slo_output_tokens_per_s == pytest.approx(1 / per_sequence, rel=1e-12)
    assert capacity.slo_requests_per_s == pytest.approx(capacity.slo_output_tokens_per_s / 100)
    # Compute-bound with no step overhead: more sequences add no throughput.
    assert capacity.max_output_tokens_per_s == pytest.approx(capacity.slo_output_tokens_per_s)
    assert capacity.meets_slo


def test_slo_that_cannot_be_met_gives_zero_capacity() -> None:
    capacity = replica_capacity(
        TOY_MODEL, TOY_HARDWARE, "fp16", TOY_WORKLOAD, slo=LatencySLO(tpot_s=0.01), engine=IDEAL
    )
    assert capacity.slo_batch == 0
    assert not capacity.meets_slo
    assert capacity.slo_limit == "tpot"
    assert capacity.slo_output_tokens_per_s == capacity.slo_requests_per_s == 0
    assert capacity.tpot_s > 0.01  # the latency at batch 1, to show why


def test_ttft_can_be_the_limit() -> None:
    # A 100k-token prompt needs 2.05 s of attention FLOPs alone.
    long_prompts = LengthMix.from_means(100_000, 100)
    slo = LatencySLO(ttft_s=2.0, tpot_s=10.0)
    capacity = replica_capacity(
        TOY_MODEL, TOY_HARDWARE, "fp16", long_prompts, slo=slo, engine=IDEAL
    )
    assert capacity.slo_limit == "ttft"
    assert capacity.slo_batch == 0


def test_memory_can_be_the_limit() -> None:
    capacity = replica_capacity(
        TOY_MODEL,
        TOY_HARDWARE,
        "fp16",
        TOY_WORKLOAD,
        slo=LatencySLO(ttft_s=100, tpot_s=100),
        engine=IDEAL,
    )
    assert capacity.slo_batch == capacity.max_batch
    assert capacity.slo_limit == "kv_memory"
    assert capacity.slo_output_tokens_per_s == capacity.max_output_tokens_per_s


# --- model details ----------------------------------------------------------------------------------


def test_workload_from_lengths_weights_by_output_length() -> None:
    workload = LengthMix.from_lengths([100, 300], [100, 300])
    assert workload.input_tokens == 200
    assert workload.output_tokens == 200
    assert workload.decode_context_tokens == (100 * 150 + 300 * 450) / 400
    assert workload.reserved_context_tokens == (100 * 200 + 300 * 600) / 400


def test_workload_from_equal_lengths_matches_means() -> None:
    assert LengthMix.from_lengths([50, 50], [20, 20]) == LengthMix.from_means(50, 20)


@pytest.mark.parametrize(
    ("inputs", "outputs"), [([], []), ([1, 2], [1]), ([10], [0]), ([-1], [5]), ([[1]], [[1]])]
)
def test_workload_rejects_bad_lengths(inputs: ArrayLike, outputs: ArrayLike) -> None:
    with pytest.raises(ValueError, match=r"lengths|output token"):
        LengthMix.from_lengths(inputs, outputs)


def test_workload_needs_positive_means() -> None:
    with pytest.raises(ValueError, match="input"):
        LengthMix.from_means(0, 10)
    with pytest.raises(ValueError, match="output"):
        LengthMix.from_means(10, 0.5)


def test_kv_cache_follows_fp8_precision_unless_the_engine_says_otherwise() -> None:
    assert kv_cache_dtype("fp8", GPU_ENGINE) == "fp8"
    assert kv_cache_dtype("int4", GPU_ENGINE) == "fp16"
    assert kv_cache_dtype("fp8", VLLM_BF16_KV) == "fp16"


def test_low_precision_uses_low_precision_units_only_when_present() -> None:
    assert device_flops(H100, "fp8") == 1979e12
    assert device_flops(A100, "fp8") == 312e12  # no fp8 units: weight-only fp8 computes in bf16
    assert device_flops(A100, "int8") == 624e12
    assert device_flops(H100, "int4") == 989e12


def test_default_engine_by_kind() -> None:
    assert default_engine(H100) is GPU_ENGINE
    assert default_engine(EPYC_9554) is CPU_ENGINE


def test_tensor_parallel_picks_smallest_group_with_room_for_kv() -> None:
    workload = LengthMix.from_means(128, 128)
    # 69 GB of fp8 weights leave 4 % of one H100 for KV: too little, so two devices.
    assert replica_capacity(LLAMA_2_70B, H100, "fp8", workload).devices == 2
    # 138 GB of fp16 weights need four A100s, as TensorRT-LLM ran them.
    assert replica_capacity(LLAMA_2_70B, A100, "fp16", workload).devices == 4
    assert replica_capacity(LLAMA_2_7B, A100, "fp16", workload).devices == 1


def test_tensor_parallel_costs_efficiency() -> None:
    workload = LengthMix.from_means(128, 128)
    one = batch_point(LLAMA_2_7B, H100, "fp8", workload, 64)
    two = batch_point(
        LLAMA_2_7B, H100, "fp8", workload, 64, engine=replace(GPU_ENGINE, tensor_parallel=2)
    )
    assert one.output_tokens_per_s < two.output_tokens_per_s < 2 * one.output_tokens_per_s


def test_model_too_large_is_an_error() -> None:
    huge = LLAMA_2_70B.model_copy(update={"params_b": Decimal(400)})
    with pytest.raises(ValueError, match="do not fit"):
        replica_capacity(huge, A100, "fp16", LengthMix.from_means(128, 128))
    with pytest.raises(ValueError, match="do not fit"):
        replica_capacity(
            LLAMA_2_70B,
            EPYC_9554.model_copy(update={"memory_gb": Decimal(64)}),
            "fp16",
            LengthMix.from_means(128, 128),
        )


def test_cpu_replica_is_one_instance() -> None:
    with pytest.raises(ValueError, match="CPU"):
        replica_capacity(
            QWEN25_7B,
            XEON_8480,
            "int4",
            LengthMix.from_means(8, 8),
            engine=replace(CPU_ENGINE, tensor_parallel=2),
        )


def test_sliding_window_caps_the_kv_per_sequence() -> None:
    workload = LengthMix.from_means(16_000, 1000)
    windowed = QWEN3_8B.model_copy(update={"sliding_window": 4096})
    plain = replica_capacity(QWEN3_8B, H100, "fp8", workload)
    capped = replica_capacity(windowed, H100, "fp8", workload)
    kv_budget = (0.9 * 80e9 - 8.19e9) / kv_bytes_per_token(QWEN3_8B, "fp8")
    assert capped.max_batch == math.floor(kv_budget / 4096)
    assert capped.max_batch > plain.max_batch


@pytest.mark.parametrize(
    "engine",
    [
        {"mbu": 0.0, "mfu": 0.5, "step_overhead_s": 0.0},
        {"mbu": 0.5, "mfu": 1.5, "step_overhead_s": 0.0},
        {"mbu": 0.5, "mfu": 0.5, "step_overhead_s": -1.0},
        {"mbu": 0.5, "mfu": 0.5, "step_overhead_s": 0.0, "tensor_parallel": 3},
        {"mbu": 0.5, "mfu": 0.5, "step_overhead_s": 0.0, "min_kv_share": 1.0},
    ],
)
def test_engine_profile_rejects_nonsense(engine: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EngineProfile(**engine)  # type: ignore[arg-type]


def test_slo_and_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LatencySLO(ttft_s=0)
    with pytest.raises(ValueError):
        batch_point(TOY_MODEL, TOY_HARDWARE, "fp16", TOY_WORKLOAD, 0)


# --- monotonic properties ---------------------------------------------------------------------------

lengths = st.integers(min_value=1, max_value=8192)
precisions = st.sampled_from(["fp16", "fp8", "int4"])


@settings(max_examples=60, deadline=None)
@given(
    n_in=lengths,
    n_out=lengths,
    precision=precisions,
    bandwidth=st.integers(min_value=100, max_value=5000),
    extra=st.integers(min_value=0, max_value=5000),
)
def test_more_bandwidth_never_lowers_capacity(
    n_in: int, n_out: int, precision: Precision, bandwidth: int, extra: int
) -> None:
    workload = LengthMix.from_means(n_in, n_out)
    slow = H100.model_copy(update={"bandwidth_gbs": Decimal(bandwidth)})
    fast = H100.model_copy(update={"bandwidth_gbs": Decimal(bandwidth + extra)})
    before = replica_capacity(QWEN3_8B, slow, precision, workload)
    after = replica_capacity(QWEN3_8B, fast, precision, workload)
    assert after.max_output_tokens_per_s >= before.max_output_tokens_per_s
    assert after.slo_output_tokens_per_s >= before.slo_output_tokens_per_s
    assert after.slo_batch >= before.slo_batch


@settings(max_examples=60, deadline=None)
@given(n_in=lengths, n_out=lengths, batch=st.integers(min_value=1, max_value=2000))
def test_bigger_batches_never_lower_throughput_or_latency(
    n_in: int, n_out: int, batch: int
) -> None:
    workload = LengthMix.from_means(n_in, n_out)
    small = batch_point(LLAMA_2_7B, A100, "fp16", workload, batch)
    large = batch_point(LLAMA_2_7B, A100, "fp16", workload, batch + 1)
    assert large.output_tokens_per_s >= small.output_tokens_per_s
    assert large.tpot_s >= small.tpot_s


@settings(max_examples=40, deadline=None)
@given(n_in=lengths, n_out=lengths, tpot=st.floats(min_value=0.005, max_value=0.5))
def test_slo_capacity_never_exceeds_maximum(n_in: int, n_out: int, tpot: float) -> None:
    capacity = replica_capacity(
        LLAMA_2_7B, A100, "fp16", LengthMix.from_means(n_in, n_out), slo=LatencySLO(tpot_s=tpot)
    )
    assert 0 <= capacity.slo_batch <= capacity.max_batch
    assert capacity.slo_output_tokens_per_s <= capacity.max_output_tokens_per_s
    if capacity.meets_slo:
        assert capacity.tpot_s <= tpot
        assert capacity.ttft_s <= capacity.slo.ttft_s


def test_tensor_parallel_settles_for_a_small_kv_cache_when_nothing_roomier_fits() -> None:
    # 560 GB of fp16 weights leave 16 GB of 8 × 72 GB for KV: under a quarter, but the only fit
    big = LLAMA_2_70B.model_copy(update={"params_b": Decimal(280)})
    capacity = replica_capacity(big, H100, "fp16", LengthMix.from_means(128, 128))
    assert capacity.devices == 8
    assert capacity.kv_cache_gb == pytest.approx(16.0)
