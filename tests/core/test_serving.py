"""The continuous-batching replay: hand-computed cases, scheduling rules, and validation against
measured batch-size points.

docs/self-hosting.md shows the validation table; `test_doc_validation_table_is_current` regenerates it
from `VALIDATION` so the two cannot drift apart. Hardware and model specs are research/hardware.md §2.1
and §2.2 (prices are dummies except where a test prices something).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from costaudit.config.pricing import Hardware, Precision, SelfHostedModel
from costaudit.core.capacity import (
    GPU_ENGINE,
    EngineProfile,
    LengthMix,
    build_replica,
    decode_attention_seconds,
    linear_seconds,
    prefill_seconds,
)
from costaudit.core.fleet import FleetPolicy, static_monthly_usd
from costaudit.core.serving import (
    LatencyTarget,
    ServerSettings,
    ServingWorkload,
    assign_replicas,
    closed_loop,
    replay,
)
from costaudit.core.serving_search import Candidate, batch_sizes, batch_sweep, search

DOC = Path(__file__).resolve().parents[2] / "docs" / "self-hosting.md"
THROUGHPUT_BAND = 0.30
LATENCY_BAND = 0.40


def _gpu(
    name: str, memory: str, bandwidth: str, bf16: str, fp8: str | None, hourly: str
) -> Hardware:
    return Hardware(
        kind="gpu",
        name=name,
        memory_gb=Decimal(memory),
        bandwidth_gbs=Decimal(bandwidth),
        bf16_tflops=Decimal(bf16),
        fp8_tflops=Decimal(fp8) if fp8 else None,
        hourly=Decimal(hourly),
        source="hardware.md §2.2",
        checked=date(2026, 11, 1),
    )


def _llm(params_b: str, layers: int, hidden: int, heads: int, kv_heads: int) -> SelfHostedModel:
    return SelfHostedModel(
        params_b=Decimal(params_b),
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=hidden // heads,
        context_window=32_768,
        source="hardware.md §2.1",
    )


A100 = _gpu("A100-80GB SXM", "80", "2039", "312", None, "1.39")
H100 = _gpu("H100 SXM", "80", "3350", "989", "1979", "2.69")
LLAMA_2_7B = _llm("6.74", 32, 4096, 32, 32)
QWEN3_8B = _llm("8.19", 36, 4096, 32, 8)
VLLM_BF16_KV = replace(GPU_ENGINE, kv_cache_dtype="fp16")
"""vLLM keeps a 16-bit KV cache for fp8 checkpoints unless told otherwise (as in test_capacity.py)."""

SILY = "silybench derived/csv/perf_points.csv (hardware.md §3.1)"
NEMO = "NeMo Framework docs, llama performance (hardware.md §3.1)"


@dataclass(frozen=True)
class ServingPoint:
    """A measured closed-loop point: `users` concurrent requests, throughput and (if published) latency.

    Latency is silybench's median inter-token latency (compared with the replay's median time between
    tokens) or NeMo's batch latency (compared with the replay's median request latency).
    """

    engine: str
    source: str
    hardware: Hardware
    model_name: str
    model: SelfHostedModel
    precision: Precision
    input_tokens: int
    output_tokens: int
    users: int
    output_tokens_per_s: float
    latency_s: float | None = None
    engine_profile: EngineProfile | None = None

    @property
    def label(self) -> str:
        return (
            f"{self.engine}, {self.hardware.name}, {self.model_name} {self.precision}, "
            f"{self.input_tokens}→{self.output_tokens}, {self.users} user{'s' if self.users != 1 else ''}"
        )

    @property
    def latency_kind(self) -> str:
        return "median ITL" if self.engine == "vLLM" else "batch latency"

    def simulated(self) -> tuple[float, float]:
        """(output tokens/s, latency) from the replay."""
        engine = self.engine_profile or GPU_ENGINE
        replica = build_replica(
            self.model,
            self.hardware,
            self.precision,
            LengthMix.from_means(self.input_tokens, self.output_tokens),
            engine,
        )
        point = closed_loop(
            replica,
            [self.input_tokens],
            [self.output_tokens],
            self.users,
            ServerSettings(max_batch=self.users),
        )
        latency = point.itl_s if self.engine == "vLLM" else point.e2e_s
        return point.output_tokens_per_s, latency


def _sily(
    n_in: int, n_out: int, users: int, tokens_per_s: float, itl_ms: float | None = None
) -> ServingPoint:
    return ServingPoint(
        "vLLM",
        SILY,
        H100,
        "Qwen3-8B",
        QWEN3_8B,
        "fp8",
        n_in,
        n_out,
        users,
        tokens_per_s,
        None if itl_ms is None else itl_ms / 1000,
        VLLM_BF16_KV,
    )


def _nemo(
    hardware: Hardware, batch: int, sentences_per_s: float, latency_ms: float | None = None
) -> ServingPoint:
    """NeMo's Llama-2-7B, 128-token prompts, 20-token answers, in 16-bit weights."""
    return ServingPoint(
        "NeMo",
        NEMO,
        hardware,
        "Llama-2-7B",
        LLAMA_2_7B,
        "fp16",
        128,
        20,
        batch,
        sentences_per_s * 20,
        None if latency_ms is None else latency_ms / 1000,
    )


VALIDATION: tuple[ServingPoint, ...] = (
    _sily(128, 1024, 1, 214, 4.66),
    _sily(128, 1024, 4, 797),
    _sily(128, 1024, 16, 3027, 5.25),
    _sily(128, 1024, 32, 5249, 6.0),
    _sily(128, 1024, 64, 8621, 7.3),
    _sily(128, 1024, 128, 12176, 10.2),
    _sily(128, 1024, 256, 15264, 16.1),
    _sily(128, 1024, 472, 15103, 27.4),
    _sily(128, 128, 1, 213),
    _sily(128, 128, 4, 797),
    _sily(128, 128, 16, 3088),
    _sily(128, 128, 32, 5413),
    _sily(128, 128, 64, 9170),
    _sily(128, 128, 128, 13377),
    _sily(128, 128, 256, 15704),
    _sily(128, 128, 512, 16542),
    _sily(2048, 2048, 1, 208),
    _sily(2048, 2048, 4, 716),
    _sily(2048, 2048, 16, 2136),
    _sily(2048, 2048, 32, 3086),
    _sily(2048, 2048, 64, 4033),
    _sily(2048, 2048, 128, 4428),
    _sily(2048, 2048, 256, 4310),
    _nemo(A100, 1, 4.3, 234),
    _nemo(A100, 2, 8.0),
    _nemo(A100, 4, 14.7),
    _nemo(A100, 8, 24.3, 330),
    _nemo(H100, 1, 6.5, 154),
    _nemo(H100, 2, 12.4),
    _nemo(H100, 4, 22.9),
    _nemo(H100, 8, 40.2, 199),
)


def _error(simulated: float, measured: float) -> float:
    return simulated / measured - 1


def validation_rows() -> list[str]:
    rows = [
        "| # | point | source | measured tok/s | replayed tok/s | error | measured latency | replayed latency | error |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for number, point in enumerate(VALIDATION, start=1):
        tokens, latency = point.simulated()
        if point.latency_s is None:
            latency_cells = "— | — | —"
        else:
            latency_cells = (
                f"{point.latency_s * 1000:,.1f} ms ({point.latency_kind}) | {latency * 1000:,.1f} ms | "
                f"{_error(latency, point.latency_s):+.0%}"
            )
        rows.append(
            f"| {number} | {point.label} | {point.source} | {point.output_tokens_per_s:,.0f} | "
            f"{tokens:,.0f} | {_error(tokens, point.output_tokens_per_s):+.0%} | {latency_cells} |"
        )
    return rows


@pytest.mark.parametrize("point", VALIDATION, ids=lambda point: point.label)
def test_replay_reproduces_each_measured_point(point: ServingPoint) -> None:
    tokens, latency = point.simulated()
    assert abs(_error(tokens, point.output_tokens_per_s)) <= THROUGHPUT_BAND, (
        f"{point.label}: {tokens:.0f} tok/s vs {point.output_tokens_per_s:.0f}"
    )
    if point.latency_s is not None:
        assert abs(_error(latency, point.latency_s)) <= LATENCY_BAND, (
            f"{point.label}: {latency * 1000:.1f} ms vs {point.latency_s * 1000:.1f} ms"
        )


def test_doc_validation_table_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- serving-validation:start -->", "<!-- serving-validation:end -->"
    assert start in text and end in text, f"{DOC} lost its serving-validation markers"
    block = text.split(start, 1)[1].split(end, 1)[0].strip().splitlines()
    expected = validation_rows()
    assert block == expected, "\n".join(["docs/self-hosting.md should read:", *expected])


def test_the_bands_can_fail() -> None:
    """A replica twice as fast is outside the throughput band at the measured points."""
    fast = replace(VALIDATION[6], output_tokens_per_s=VALIDATION[6].output_tokens_per_s / 2)
    tokens, _ = fast.simulated()
    assert abs(_error(tokens, fast.output_tokens_per_s)) > THROUGHPUT_BAND


# --- hand-computed cases ------------------------------------------------------------------------

TOY = Hardware(
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


def _toy_replica(engine: EngineProfile = IDEAL):  # type: ignore[no-untyped-def]
    return build_replica(TOY_MODEL, TOY, "fp16", LengthMix.from_means(100, 4), engine)


def _workload(
    arrivals: list[float], n_in: list[int], n_out: list[int], window: float = 100.0
) -> ServingWorkload:
    return ServingWorkload(
        np.asarray(arrivals, dtype=np.float64),
        np.asarray(n_in, dtype=np.int64),
        np.asarray(n_out, dtype=np.int64),
        window,
    )


def test_one_request_alone_by_hand() -> None:
    # 100-token prompt, 4-token answer, nothing else running. The prefill step makes the first token:
    # weights read (2e9 B / 100 GB/s = 0.02 s) beats 100 tokens × 2 GFLOP / 10 TFLOPS = 0.02 s (tie),
    # plus prompt attention 2·4·100·256·100 / 1e13 = 2.048e-6 s.
    prefill = 0.02 + 2 * 4 * 100 * 256 * 100 / 1e13
    # Three decode steps with contexts 101, 102, 103 tokens of 4,096 B each (memory-bound attention).
    decodes = sum(0.02 + context * 4096 / 100e9 for context in (101, 102, 103))
    result = replay(_workload([1.0], [100], [4]), _toy_replica(), 1)
    assert result.ttft_s.p50 == pytest.approx(prefill, rel=1e-9)
    assert result.e2e_s.p50 == pytest.approx(prefill + decodes, rel=1e-9)
    assert result.tpot_s.p50 == pytest.approx(decodes / 3, rel=1e-9)
    assert result.completed == 1 and result.preemptions == 0


def test_step_terms_come_from_the_capacity_model() -> None:
    replica = _toy_replica(GPU_ENGINE)
    alone = replay(_workload([0.0], [100], [2]), replica, 1)
    decode = (
        linear_seconds(replica, 1) + decode_attention_seconds(replica, 101) + replica.overhead_s
    )
    assert alone.ttft_s.p50 == pytest.approx(prefill_seconds(replica, 100), rel=1e-9)
    assert alone.e2e_s.p50 == pytest.approx(prefill_seconds(replica, 100) + decode, rel=1e-9)


def test_two_requests_share_steps() -> None:
    # Both arrive together: one chunked step prefills both prompts (200 tokens), then they decode
    # together, so each answer takes as long as alone plus the other's share of attention.
    together = replay(_workload([0.0, 0.0], [100, 100], [4, 4]), _toy_replica(), 1)
    alone = replay(_workload([0.0], [100], [4]), _toy_replica(), 1)
    assert together.batch.max == 2
    assert together.e2e_s.p50 is not None and alone.e2e_s.p50 is not None
    assert alone.e2e_s.p50 < together.e2e_s.p50 < 2 * alone.e2e_s.p50


def test_max_batch_caps_the_running_sequences() -> None:
    workload = _workload([0.0] * 20, [100] * 20, [50] * 20)
    result = replay(workload, _toy_replica(), 1, ServerSettings(max_batch=4))
    assert result.batch.max == 4
    assert result.queue_peak.requests == 20
    assert result.completed == 20


def test_a_full_kv_cache_preempts_and_everything_still_finishes() -> None:
    # A 3 GB memory leaves (2.7 − 2) GB / 4,096 B = 170,898 tokens: 60 sequences growing to 3,100
    # tokens do not fit at once, so the newest are pre-empted and prefilled again later.
    small = TOY.model_copy(update={"memory_gb": Decimal(3)})
    replica = build_replica(TOY_MODEL, small, "fp16", LengthMix.from_means(100, 3000), IDEAL)
    workload = _workload([0.0] * 60, [100] * 60, [3000] * 60, window=10.0)
    result = replay(workload, replica, 1)
    assert result.preemptions > 0
    assert result.completed == 60


def test_a_prompt_larger_than_the_cache_is_an_error() -> None:
    small = TOY.model_copy(update={"memory_gb": Decimal("2.3")})
    one_gpu = replace(IDEAL, tensor_parallel=1)
    replica = build_replica(TOY_MODEL, small, "fp16", LengthMix.from_means(10, 1), one_gpu)
    with pytest.raises(ValueError, match="does not fit the replica's KV cache"):
        replay(_workload([0.0], [100_000], [1]), replica, 1)


def test_prefill_first_stalls_decodes_that_chunked_prefill_keeps_going() -> None:
    # Long prompts arriving while answers decode: a prompt-only step makes every running answer wait.
    replica = build_replica(QWEN3_8B, H100, "fp8", LengthMix.from_means(4000, 300), VLLM_BF16_KV)
    rng = np.random.default_rng(3)
    arrivals = np.sort(rng.uniform(0, 600, 1200))
    workload = ServingWorkload(arrivals, np.full(1200, 4000), np.full(1200, 300), 600.0)
    chunked = replay(
        workload, replica, 1, ServerSettings(scheduler="chunked_prefill", max_batched_tokens=512)
    )
    first = replay(
        workload, replica, 1, ServerSettings(scheduler="prefill_first", max_batched_tokens=8192)
    )
    assert chunked.tpot_s.p99 is not None and first.tpot_s.p99 is not None
    assert chunked.tpot_s.p99 < first.tpot_s.p99


def test_more_replicas_cut_latency_and_busy_share() -> None:
    replica = build_replica(LLAMA_2_7B, A100, "fp16", LengthMix.from_means(1500, 500), GPU_ENGINE)
    rng = np.random.default_rng(5)
    arrivals = np.sort(rng.uniform(0, 3600, 8000))
    workload = ServingWorkload(arrivals, np.full(8000, 1500), np.full(8000, 500), 3600.0)
    one, two = (replay(workload, replica, replicas) for replicas in (1, 2))
    assert one.ttft_s.p90 is not None and two.ttft_s.p90 is not None
    assert two.ttft_s.p90 < one.ttft_s.p90
    assert two.busy.mean < one.busy.mean
    assert two.batch.mean < one.batch.mean
    assert one.queue_peak.requests > two.queue_peak.requests
    assert not one.meets_slo and two.meets_slo


def test_stopping_early_rejects_a_fleet_that_is_too_small() -> None:
    replica = build_replica(LLAMA_2_7B, A100, "fp16", LengthMix.from_means(1500, 500), GPU_ENGINE)
    arrivals = np.sort(np.random.default_rng(5).uniform(0, 3600, 8000))
    workload = ServingWorkload(arrivals, np.full(8000, 1500), np.full(8000, 500), 3600.0)
    stopped = replay(workload, replica, 1, stop_when_missed=True)
    assert stopped.stopped_early and not stopped.meets_slo
    assert stopped.completed < 8000


def test_round_robin_and_random_balancers() -> None:
    assert assign_replicas(7, 3, "round_robin").tolist() == [0, 1, 2, 0, 1, 2, 0]
    spread = np.bincount(assign_replicas(30_000, 3, "random", seed=1), minlength=3)
    assert spread.min() > 9_500


def test_latency_targets_decide_the_slo() -> None:
    replica = _toy_replica()
    workload = _workload([0.0], [100], [4])
    assert replay(workload, replica, 1, targets=[LatencyTarget("ttft", 90, 1.0)]).meets_slo
    tight = replay(workload, replica, 1, targets=[LatencyTarget("ttft", 90, 0.001)])
    assert not tight.meets_slo and tight.slo_misses == 1


# --- search and sweep ---------------------------------------------------------------------------


def test_search_finds_the_fewest_replicas_and_the_cheaper_gpu() -> None:
    rng = np.random.default_rng(5)
    arrivals = np.sort(rng.uniform(0, 3600, 6000))
    workload = ServingWorkload(arrivals, np.full(6000, 1500), np.full(6000, 500), 3600.0)
    candidates = [Candidate("a100", A100, "fp16", 256), Candidate("h100", H100, "fp16", 256)]
    found = search(workload, LLAMA_2_7B, candidates, ServerSettings())
    assert found.best is not None and found.best.meets_slo
    # One replica fewer does not meet the SLO on the same hardware.
    replica = build_replica(
        LLAMA_2_7B,
        A100 if found.best.gpu == "a100" else H100,
        "fp16",
        LengthMix.from_means(1500, 500),
        GPU_ENGINE,
    )
    if found.best.replicas > 1:
        assert not replay(workload, replica, found.best.replicas - 1).meets_slo
    # Monthly cost is whole replica-hours × price: 720 h × replicas × hourly.
    hardware = A100 if found.best.gpu == "a100" else H100
    assert found.best.monthly_usd == 720 * found.best.replicas * hardware.hourly
    assert found.best.monthly_usd == static_monthly_usd(
        found.best.replicas, hardware, 1, FleetPolicy()
    )
    # No option that meets the SLO is cheaper than the best.
    assert all(o.monthly_usd >= found.best.monthly_usd for o in found.options if o.meets_slo)
    assert any(o.on_frontier for o in found.options)


def test_batch_sweep_amortises_the_weights() -> None:
    replica = build_replica(LLAMA_2_7B, A100, "fp16", LengthMix.from_means(1500, 500), GPU_ENGINE)
    workload = ServingWorkload(np.zeros(4), np.full(4, 1500), np.full(4, 500), 1.0)
    points = batch_sweep(replica, A100, workload, ServerSettings(), 55)
    assert [p.batch for p in points] == [1, 2, 4, 8, 16, 32, 55]
    throughputs = [p.output_tokens_per_s for p in points]
    assert throughputs == sorted(throughputs)
    assert points[-1].output_tokens_per_s > 5 * points[0].output_tokens_per_s
    prices = [p.usd_per_output_mtok for p in points]
    assert prices == sorted(prices, reverse=True)
    # $/1M output tokens = hourly / (3600 × tokens/s) × 10^6, rounded to a hundredth of a cent.
    expected = Decimal("1.39") * 1_000_000 / (Decimal(points[0].output_tokens_per_s) * 3600)
    assert points[0].usd_per_output_mtok == expected.quantize(Decimal("0.0001"))


def test_batch_sizes() -> None:
    assert batch_sizes(1) == [1]
    assert batch_sizes(8) == [1, 2, 4, 8]
    assert batch_sizes(55) == [1, 2, 4, 8, 16, 32, 55]
