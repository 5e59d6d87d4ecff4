"""Fleet sizing and monthly cost: exact money on hand-computed cases, properties, and the §6 claims.

`CLAIMS` re-checks research/hardware.md §6's three quoted $/1M prices with this model; the table in
docs/self-hosting.md is regenerated from it by `test_doc_claims_table_is_current`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike

from costaudit.config.pricing import Hardware, Precision, SelfHostedModel
from costaudit.core.capacity import LatencySLO, LengthMix, ReplicaCapacity, replica_capacity
from costaudit.core.fleet import (
    BreakEven,
    FleetPolicy,
    PricingMode,
    break_even,
    fleet_cost,
    full_utilization_floor,
    hourly_replicas,
    replica_hourly_usd,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "self-hosting.md"

TOY_HARDWARE = Hardware(
    kind="gpu",
    name="toy-gpu",
    memory_gb=Decimal(80),
    bandwidth_gbs=Decimal(2000),
    bf16_tflops=Decimal(300),
    hourly=Decimal("2.00"),
    spot_hourly=Decimal("0.70"),
    source="test",
    checked=date(2026, 11, 1),
)
TOY_CAPACITY = ReplicaCapacity(
    hardware="toy-gpu",
    precision="fp16",
    devices=1,
    lengths=LengthMix.from_means(100, 50),
    slo=LatencySLO(),
    weights_gb=14.0,
    kv_cache_gb=58.0,
    max_batch=100,
    max_output_tokens_per_s=100.0,
    max_requests_per_s=2.0,
    slo_batch=50,
    slo_limit="tpot",
    slo_output_tokens_per_s=50.0,
    slo_requests_per_s=1.0,
    ttft_s=0.1,
    tpot_s=0.05,
)
"""A replica serving 1 request/s within the SLO (2 at most), 100 input + 50 output tokens each."""

HALF = FleetPolicy(utilization_target=0.5)
"""At 0.5 a replica takes 0.5 request/s = 1,800 requests an hour."""


# --- hand-computed cases ----------------------------------------------------------------------------


def test_static_fleet_runs_the_peak_all_month() -> None:
    cost = fleet_cost([3600, 7200, 0], 3600, TOY_CAPACITY, TOY_HARDWARE, HALF)
    # hours need 2, 4 and 1 (the minimum) replicas; the peak runs 720 h
    assert cost.peak_replicas == 4
    assert cost.replica_hours == 4 * 720
    assert cost.monthly_usd == Decimal("5760.00")
    assert cost.devices_per_replica == 1
    assert (cost.hardware, cost.pricing, cost.autoscale) == ("toy-gpu", "on_demand", False)


def test_static_fleet_per_token_figures() -> None:
    cost = fleet_cost([3600, 7200, 0], 3600, TOY_CAPACITY, TOY_HARDWARE, HALF)
    # 10,800 requests in 3 h → 2,592,000 a month → 388.8M tokens, 129.6M of them output
    assert cost.requests_per_month == 2_592_000
    assert cost.usd_per_mtok == Decimal("14.8148")  # 5,760 / 388.8
    assert cost.usd_per_output_mtok == Decimal("44.4444")  # 5,760 / 129.6
    assert cost.floor_usd_per_output_mtok == Decimal("5.5556")  # 2 / (3,600 × 100) × 10^6
    assert not cost.below_floor
    # 2,592,000 requests over 2,880 h × 3,600 s × 1 request/s
    assert cost.utilization == pytest.approx(0.25)


def test_autoscaled_fleet_sums_hourly_replicas() -> None:
    cost = fleet_cost(
        [3600, 7200, 0],
        3600,
        TOY_CAPACITY,
        TOY_HARDWARE,
        FleetPolicy(utilization_target=0.5, autoscale=True),
    )
    # (2 + 4 + 1) replica-hours in 3 h → 7 × 720 / 3 = 1,680 a month
    assert cost.replica_hours == 1680
    assert cost.monthly_usd == Decimal("3360.00")
    assert cost.peak_replicas == 4
    assert cost.utilization == pytest.approx(2_592_000 / (1680 * 3600))


def test_sub_hour_bins_size_each_hour_for_its_busiest_bin() -> None:
    # 15-minute bins: 900 requests in a bin is 1 request/s = 2 replicas at 0.5
    arrivals = [0, 900, 0, 0, 450, 450, 450, 450]
    assert hourly_replicas(arrivals, 900, TOY_CAPACITY, HALF).tolist() == [2, 1]


def test_multi_hour_bins_repeat_for_each_hour() -> None:
    # 7,200 requests in a 2-hour bin is 1 request/s
    assert hourly_replicas([7200, 0], 7200, TOY_CAPACITY, HALF).tolist() == [2, 2, 1, 1]


def test_partial_last_hour_counts_for_the_part_observed() -> None:
    # 30-minute bins over 90 minutes: hour 1 needs 2 replicas, the half-hour 4
    arrivals = [1800, 900, 3600]
    policy = FleetPolicy(utilization_target=0.5, autoscale=True)
    assert hourly_replicas(arrivals, 1800, TOY_CAPACITY, policy).tolist() == [2, 4]
    cost = fleet_cost(arrivals, 1800, TOY_CAPACITY, TOY_HARDWARE, policy)
    # (2 × 1 h + 4 × 0.5 h) / 1.5 h × 720 h = 1,920 replica-hours
    assert cost.replica_hours == 1920
    assert cost.requests_per_month == 6300 * 720 / Decimal("1.5")


def test_exact_multiples_do_not_round_up() -> None:
    # 0.7 × 1 request/s × 3,600 s = 2,520 requests: exactly one replica, float noise or not
    assert hourly_replicas([2520, 5040], 3600, TOY_CAPACITY, FleetPolicy()).tolist() == [1, 2]


def test_min_replicas_floor() -> None:
    policy = FleetPolicy(min_replicas=2)
    assert hourly_replicas([0, 100], 3600, TOY_CAPACITY, policy).tolist() == [2, 2]


def test_spot_adds_interruption_hours_at_the_spot_price() -> None:
    policy = FleetPolicy(utilization_target=0.5, pricing="spot")
    cost = fleet_cost([3600, 7200, 0], 3600, TOY_CAPACITY, TOY_HARDWARE, policy)
    assert cost.replica_hours == 3024  # ⌈2,880 × 1.05⌉
    assert cost.monthly_usd == Decimal("2116.80")  # 3,024 × $0.70
    assert cost.floor_usd_per_output_mtok == Decimal("1.9444")  # 0.70 / 0.36


def test_on_demand_ignores_interruption_overhead() -> None:
    policy = FleetPolicy(utilization_target=0.5, interruption_overhead=Decimal("0.5"))
    assert fleet_cost([3600], 3600, TOY_CAPACITY, TOY_HARDWARE, policy).replica_hours == 2 * 720


def test_replica_price_counts_every_device() -> None:
    assert replica_hourly_usd(TOY_HARDWARE, 4, "on_demand") == Decimal("8.00")
    assert replica_hourly_usd(TOY_HARDWARE, 4, "spot") == Decimal("2.80")


def test_no_traffic_has_no_per_token_price() -> None:
    cost = fleet_cost([0, 0], 3600, TOY_CAPACITY, TOY_HARDWARE)
    assert cost.monthly_usd == Decimal("1440.00")
    assert cost.usd_per_mtok is None and cost.usd_per_output_mtok is None
    assert cost.utilization == 0
    assert not cost.below_floor


def test_zero_replicas_allowed_with_no_traffic() -> None:
    cost = fleet_cost(
        [0], 3600, TOY_CAPACITY, TOY_HARDWARE, FleetPolicy(min_replicas=0, autoscale=True)
    )
    assert cost.monthly_usd == 0
    assert cost.utilization == 0


def test_floor_is_price_over_maximum_throughput() -> None:
    assert full_utilization_floor(TOY_CAPACITY, TOY_HARDWARE) == Decimal(2) / Decimal("0.36")


@pytest.mark.parametrize(
    ("arrivals", "bin_seconds", "message"),
    [
        ([], 3600, "non-empty"),
        ([[1, 2]], 3600, "non-empty"),
        ([1, -1], 3600, "non-negative"),
        ([1, float("nan")], 3600, "non-negative"),
        ([1], 7, "bin_seconds"),
        ([1], 5400, "bin_seconds"),
        ([1], 0, "bin_seconds"),
    ],
)
def test_bad_arrivals_are_rejected(arrivals: ArrayLike, bin_seconds: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fleet_cost(arrivals, bin_seconds, TOY_CAPACITY, TOY_HARDWARE)


def test_spot_without_spot_price_is_an_error() -> None:
    on_demand_only = TOY_HARDWARE.model_copy(update={"spot_hourly": None})
    with pytest.raises(ValueError, match="spot"):
        fleet_cost([1], 3600, TOY_CAPACITY, on_demand_only, FleetPolicy(pricing="spot"))


def test_capacity_that_misses_the_slo_cannot_be_sized() -> None:
    missing = ReplicaCapacity(
        **{**TOY_CAPACITY.__dict__, "slo_batch": 0, "slo_requests_per_s": 0.0}
    )
    with pytest.raises(ValueError, match="cannot meet"):
        fleet_cost([1], 3600, missing, TOY_HARDWARE)


@pytest.mark.parametrize(
    "policy",
    [
        {"utilization_target": 0.0},
        {"utilization_target": 1.5},
        {"min_replicas": -1},
        {"interruption_overhead": Decimal(-1)},
    ],
)
def test_policy_rejects_nonsense(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FleetPolicy(**policy)  # type: ignore[arg-type]


# --- break-even -------------------------------------------------------------------------------------


def flat_day_break_even(fixed_monthly_usd: Decimal = Decimal(0)) -> BreakEven:
    """A flat day; at 100 % target a $1/h replica serves 86,400 requests/day for $720/month.
    The API at $0.001/request costs 0.03 × requests/day a month."""
    return break_even(
        [1] * 24,
        3600,
        TOY_CAPACITY,
        TOY_HARDWARE.model_copy(update={"hourly": Decimal("1")}),
        Decimal("0.001"),
        FleetPolicy(utilization_target=1.0),
        fixed_monthly_usd=fixed_monthly_usd,
    )


def test_break_even_by_hand() -> None:
    # The API is cheaper below 720 / 0.03 = 24,000 requests/day.
    result = flat_day_break_even()
    assert result.requests_per_day == 25119  # the first grid point (10 per decade) above 24,000
    first = result.points[0]
    assert (first.requests_per_day, first.api_monthly_usd, first.self_hosted_monthly_usd) == (
        100,
        Decimal("3.000"),
        Decimal("720"),
    )
    assert result.points[-1].requests_per_day == 100_000_000
    assert len(result.points) == 61


def test_break_even_counts_a_fixed_monthly_cost_on_the_self_hosted_side() -> None:
    # The flat day plus $180/month of amortised training: self-hosting costs $900 a month, so the API
    # (0.03 × requests/day) is cheaper below 30,000/day; 31,623 is the first grid point above.
    result = flat_day_break_even(fixed_monthly_usd=Decimal("180"))
    assert result.requests_per_day == 31623
    assert result.points[0].self_hosted_monthly_usd == Decimal("900")


def test_break_even_never_reached() -> None:
    result = break_even([5, 1], 3600, TOY_CAPACITY, TOY_HARDWARE, Decimal("0.0000001"), high=10_000)
    assert result.requests_per_day is None
    assert all(point.self_hosted_monthly_usd > point.api_monthly_usd for point in result.points)


def test_break_even_keeps_the_series_shape() -> None:
    """A peaky day needs more replicas than a flat one with the same volume."""
    flat = break_even([1] * 24, 3600, TOY_CAPACITY, TOY_HARDWARE, Decimal("0.002"))
    peaky = break_even([0] * 16 + [3] * 8, 3600, TOY_CAPACITY, TOY_HARDWARE, Decimal("0.002"))
    pairs = list(zip(flat.points, peaky.points, strict=True))
    assert all(even.api_monthly_usd == spiky.api_monthly_usd for even, spiky in pairs)
    assert all(
        even.self_hosted_monthly_usd <= spiky.self_hosted_monthly_usd for even, spiky in pairs
    )
    assert peaky.points[-1].self_hosted_monthly_usd > 2 * flat.points[-1].self_hosted_monthly_usd


def test_break_even_with_an_empty_series_assumes_flat_traffic() -> None:
    empty = break_even([0, 0], 3600, TOY_CAPACITY, TOY_HARDWARE, Decimal("0.002"))
    flat = break_even([1, 1], 3600, TOY_CAPACITY, TOY_HARDWARE, Decimal("0.002"))
    assert empty == flat


def test_break_even_grid_must_make_sense() -> None:
    with pytest.raises(ValueError, match="low < high"):
        break_even([1], 3600, TOY_CAPACITY, TOY_HARDWARE, Decimal("0.01"), low=10, high=10)


# --- properties -------------------------------------------------------------------------------------

series = st.lists(st.integers(min_value=0, max_value=50_000), min_size=1, max_size=48)
targets = st.floats(min_value=0.05, max_value=1.0)


@settings(max_examples=80, deadline=None)
@given(arrivals=series, low=targets, high=targets)
def test_higher_utilization_target_never_adds_replicas(
    arrivals: list[int], low: float, high: float
) -> None:
    low, high = sorted((low, high))
    loose = hourly_replicas(arrivals, 3600, TOY_CAPACITY, FleetPolicy(utilization_target=high))
    tight = hourly_replicas(arrivals, 3600, TOY_CAPACITY, FleetPolicy(utilization_target=low))
    assert (loose <= tight).all()


@settings(max_examples=80, deadline=None)
@given(
    arrivals=series,
    autoscale=st.booleans(),
    spot_cents=st.integers(min_value=1, max_value=200),
)
def test_cheaper_spot_without_overhead_is_never_more_expensive(
    arrivals: list[int], autoscale: bool, spot_cents: int
) -> None:
    hardware = TOY_HARDWARE.model_copy(update={"spot_hourly": Decimal(spot_cents) / 100})
    on_demand = fleet_cost(arrivals, 3600, TOY_CAPACITY, hardware, FleetPolicy(autoscale=autoscale))
    spot = fleet_cost(
        arrivals,
        3600,
        TOY_CAPACITY,
        hardware,
        FleetPolicy(autoscale=autoscale, pricing="spot", interruption_overhead=Decimal(0)),
    )
    assert spot.monthly_usd <= on_demand.monthly_usd


@settings(max_examples=80, deadline=None)
@given(arrivals=series, autoscale=st.booleans(), pricing=st.sampled_from(["on_demand", "spot"]))
def test_money_is_whole_replica_hours_times_the_hourly_price(
    arrivals: list[int], autoscale: bool, pricing: PricingMode
) -> None:
    cost = fleet_cost(
        arrivals,
        3600,
        TOY_CAPACITY,
        TOY_HARDWARE,
        FleetPolicy(autoscale=autoscale, pricing=pricing),
    )
    assert isinstance(cost.replica_hours, int)
    assert cost.monthly_usd == cost.replica_hours * replica_hourly_usd(TOY_HARDWARE, 1, pricing)
    assert not cost.below_floor
    assert 0 <= cost.utilization <= 0.7 + 1e-9


@settings(max_examples=80, deadline=None)
@given(arrivals=series)
def test_autoscaling_never_costs_more_than_static(arrivals: list[int]) -> None:
    static = fleet_cost(arrivals, 3600, TOY_CAPACITY, TOY_HARDWARE)
    scaled = fleet_cost(arrivals, 3600, TOY_CAPACITY, TOY_HARDWARE, FleetPolicy(autoscale=True))
    assert scaled.monthly_usd <= static.monthly_usd


# --- hardware.md §6: the three quoted $/1M claims ---------------------------------------------------

AZURE_CONVERSATION = LengthMix.from_means(1154, 211)
"""Mean prompt and answer of the Azure LLM inference conversation trace (hardware.md §1.1)."""
REALISTIC_UTILIZATION = Decimal("0.25")
"""A realistic month-average share of SLO capacity: hardware.md §7's worked fleet runs at 18-30 %."""


def _hardware(
    name: str,
    kind: str,
    memory: str,
    bandwidth: str,
    bf16: str,
    fp8: str | None,
    hourly: str,
    spot: str | None,
    source: str,
) -> Hardware:
    return Hardware.model_validate(
        {
            "kind": kind,
            "name": name,
            "memory_gb": memory,
            "bandwidth_gbs": bandwidth,
            "bf16_tflops": bf16,
            "fp8_tflops": fp8,
            "hourly": hourly,
            "spot_hourly": spot,
            "source": source,
            "checked": date(2026, 11, 1),
        }
    )


def _model(params_b: str, layers: int, hidden: int, heads: int, head_dim: int) -> SelfHostedModel:
    return SelfHostedModel(
        params_b=Decimal(params_b),
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=heads,
        head_dim=head_dim,
        context_window=4096,
        source="hardware.md §2.1",
    )


A100_RUNPOD = _hardware(
    "A100-80GB (RunPod community)",
    "gpu",
    "80",
    "2039",
    "312",
    None,
    "1.19",
    None,
    "hardware.md §2.2, §6.1",
)
A100_AWS = _hardware(
    "A100-80GB (AWS p4de, per GPU)",
    "gpu",
    "80",
    "2039",
    "312",
    None,
    "3.43",
    None,
    "hardware.md §2.2, §6.1",
)
L4_GKE = _hardware(
    "L4 (GKE g2-standard-4)",
    "gpu",
    "24",
    "300",
    "121",
    "242",
    "0.70",
    "0.21",
    "hardware.md §2.2, §4.1",
)
L4_AWS = _hardware(
    "L4 (AWS g6.xlarge)",
    "gpu",
    "24",
    "300",
    "121",
    "242",
    "0.8048",
    "0.30",
    "hardware.md §2.2, §4.1",
)
C7I_FLEX_32 = _hardware(
    "32-vCPU c7i-flex",
    "cpu",
    "64",
    "167",
    "2",
    None,
    "1.357",
    "0.45",
    "prices hardware.md §6.3; ~100 GB/s achieved (0.6 × 167) and ~2 usable TFLOPS per §3.4",
)
LLAMA_2_7B = _model("6.74", 32, 4096, 32, 128)
LLAMA_2_13B = _model("13.02", 40, 5120, 40, 128)
PHI_3_MINI = _model("3.82", 32, 3072, 32, 96)


TOKENS_PER_OUTPUT_TOKEN = Decimal(
    AZURE_CONVERSATION.input_tokens + AZURE_CONVERSATION.output_tokens
) / Decimal(AZURE_CONVERSATION.output_tokens)


def _usd(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.001'))}"


def _needed(price_at_full_use: Decimal, quoted: Decimal, basis: str = "SLO capacity") -> str:
    """Share of `basis` the setup must average to cost the quoted price; above 100 % it cannot."""
    share = price_at_full_use / quoted
    return f"{share:.0%}" if share <= 1 else f"unreachable ({share:.1f}× {basis})"


@dataclass(frozen=True)
class Claim:
    """One of hardware.md §6's quoted prices, recomputed for a setup on the Azure conversation mix."""

    quoted: Decimal
    claim: str
    setup: str
    model: SelfHostedModel
    precision: Precision
    hardware: Hardware
    pricing: PricingMode

    def capacity(self) -> ReplicaCapacity:
        return replica_capacity(self.model, self.hardware, self.precision, AZURE_CONVERSATION)

    def row(self) -> str:
        capacity = self.capacity()
        floor = full_utilization_floor(capacity, self.hardware, self.pricing)
        cells = [
            self.claim,
            self.setup,
            str(capacity.devices),
            f"{capacity.max_output_tokens_per_s:,.0f}",
        ]
        if capacity.meets_slo:
            speedup = Decimal(capacity.max_output_tokens_per_s) / Decimal(
                capacity.slo_output_tokens_per_s
            )
            at_slo = floor * speedup
            realistic = at_slo / REALISTIC_UTILIZATION
            cells += [f"{capacity.slo_output_tokens_per_s:,.0f}", _usd(floor), _usd(realistic)]
            cells += [
                _usd(realistic / TOKENS_PER_OUTPUT_TOKEN),
                _needed(at_slo / TOKENS_PER_OUTPUT_TOKEN, self.quoted),
            ]
            cells += [_needed(at_slo, self.quoted)]
        else:
            latency = capacity.ttft_s if capacity.slo_limit == "ttft" else capacity.tpot_s
            cells += [f"misses SLO ({capacity.slo_limit} {latency:.1f} s)", _usd(floor), "—", "—"]
            cells += [
                _needed(floor / TOKENS_PER_OUTPUT_TOKEN, self.quoted, "max load"),
                _needed(floor, self.quoted, "max load"),
            ]
        return "| " + " | ".join(cells) + " |"


CLAIMS = (
    Claim(
        Decimal("0.50"),
        "7B on A100 ≈ $0.50",
        "Llama-2-7B fp16, $1.19/h",
        LLAMA_2_7B,
        "fp16",
        A100_RUNPOD,
        "on_demand",
    ),
    Claim(
        Decimal("0.50"),
        "7B on A100 ≈ $0.50",
        "Llama-2-7B fp16, $3.43/h",
        LLAMA_2_7B,
        "fp16",
        A100_AWS,
        "on_demand",
    ),
    Claim(
        Decimal("0.15"),
        "13B int4 on spot ≈ $0.15",
        "Llama-2-13B int4, L4 spot $0.21/h",
        LLAMA_2_13B,
        "int4",
        L4_GKE,
        "spot",
    ),
    Claim(
        Decimal("0.15"),
        "13B int4 on spot ≈ $0.15",
        "Llama-2-13B int4, L4 spot $0.30/h",
        LLAMA_2_13B,
        "int4",
        L4_AWS,
        "spot",
    ),
    Claim(
        Decimal("0.02"),
        "Phi-3 on CPU ≈ $0.02",
        "Phi-3-mini int4, 32 vCPU $1.357/h",
        PHI_3_MINI,
        "int4",
        C7I_FLEX_32,
        "on_demand",
    ),
    Claim(
        Decimal("0.02"),
        "Phi-3 on CPU ≈ $0.02",
        "Phi-3-mini int4, 32 vCPU spot $0.45/h",
        PHI_3_MINI,
        "int4",
        C7I_FLEX_32,
        "spot",
    ),
)


def claims_rows() -> list[str]:
    return [
        "| quoted | setup | devices | max out tok/s | SLO out tok/s | $/1M out, full load "
        "| $/1M out, 25 % of SLO | $/1M all, 25 % of SLO | share of SLO capacity the quote needs: all tokens | output only |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(claim.row() for claim in CLAIMS),
    ]


def test_doc_claims_table_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- claims:start -->", "<!-- claims:end -->"
    assert start in text and end in text, f"{DOC} lost its claims markers"
    block = text.split(start, 1)[1].split(end, 1)[0].strip().splitlines()
    expected = claims_rows()
    assert block == expected, "\n".join(["docs/self-hosting.md should read:", *expected])


def test_quoted_prices_against_the_floor() -> None:
    """The model agrees with §6's verdicts: the CPU claim is below the floor, the others are not."""
    for claim in CLAIMS:
        floor = full_utilization_floor(claim.capacity(), claim.hardware, claim.pricing)
        # all tokens cost at least the output floor spread over every token
        reachable = floor / TOKENS_PER_OUTPUT_TOKEN <= claim.quoted
        assert reachable == ("Phi-3" not in claim.setup), claim.setup


def test_fleet_for_a_day_on_a_modelled_capacity() -> None:
    """End to end on the 7B/A100 setup: 16 hours at one replica's SLO capacity, 8 hours at three times it."""
    capacity = CLAIMS[0].capacity()
    day = (np.array([1.0] * 16 + [3.0] * 8) * 3600 * capacity.slo_requests_per_s).round()
    cost = fleet_cost(day, 3600, capacity, A100_RUNPOD, FleetPolicy(autoscale=True))
    # at 0.7 of capacity: ⌈1/0.7⌉ = 2 replicas, then ⌈3/0.7⌉ = 5; (16 × 2 + 8 × 5) / 24 × 720 h
    assert cost.peak_replicas == 5
    assert cost.replica_hours == 2160
    assert cost.monthly_usd == Decimal("2570.40")
    assert cost.utilization == pytest.approx((16 + 8 * 3) / 24 * 720 / 2160, rel=1e-3)
    assert cost.usd_per_output_mtok is not None
    assert cost.usd_per_output_mtok > cost.floor_usd_per_output_mtok
    assert not cost.below_floor
