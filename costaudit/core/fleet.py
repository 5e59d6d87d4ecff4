"""How many replicas a self-hosted model needs for a traffic series, and what they cost per month.

Sizing follows research/hardware.md §5.2: in each time bin the fleet needs
`R = max(R_min, ceil(λ / (λ_max · ρ_target)))` replicas, where λ is the bin's request rate, λ_max a
replica's request rate at its SLO capacity, and ρ_target the utilisation target that leaves headroom
for queueing and bursts. Replicas are billed by the hour:

- a static fleet runs its peak replica count for every hour of the month;
- an autoscaled fleet runs, each hour, the count its busiest bin in that hour needs; the replica-hours
  of the observed window are scaled to the month.

A month is 30 days = 720 hours, the product's month (DESIGN.md §6); hardware.md prices rentals over
730 h, so its static monthly figures are 730/720 of ours. Money is exact: monthly USD is an integer
number of replica-hours times the `Decimal` hourly price of a replica.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costaudit.config.pricing import Hardware
from costaudit.core.capacity import ReplicaCapacity

PricingMode = Literal["on_demand", "spot"]

DAYS_PER_MONTH = 30
HOURS_PER_MONTH = DAYS_PER_MONTH * 24
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86_400
TOKENS_PER_MTOK = Decimal(1_000_000)
USD_PER_MTOK_QUANTUM = Decimal("0.0001")
"""$/1M-token figures are rounded to a hundredth of a cent for display; the comparisons use exact values."""


@dataclass(frozen=True)
class FleetPolicy:
    """How the fleet is run and billed."""

    utilization_target: float = 0.7
    """Share of SLO capacity a replica is loaded to at most: hardware.md §5.2 advises 0.6-0.8, because
    TTFT tails blow up past ~80 % of SLO capacity (silybench)."""
    autoscale: bool = False
    """Scale the replica count hourly; otherwise run the peak count all month."""
    min_replicas: int = 1
    """Replicas kept even with no traffic (2 for high availability, hardware.md §5.3)."""
    pricing: PricingMode = "on_demand"
    interruption_overhead: Decimal = Decimal("0.05")
    """Extra replica-hours paid on spot for interruptions: replacements warming up (model loads take
    minutes) and work lost in flight. 5 % is a stated assumption, not a measured figure: hardware.md
    §4.2 says to model pre-emption but gives no rate."""

    def __post_init__(self) -> None:
        if not 0 < self.utilization_target <= 1:
            raise ValueError(f"utilization_target must be in (0, 1], got {self.utilization_target}")
        if self.min_replicas < 0:
            raise ValueError(f"min_replicas cannot be negative, got {self.min_replicas}")
        if not self.interruption_overhead >= 0:
            raise ValueError("interruption_overhead cannot be negative")


@dataclass(frozen=True)
class FleetCost:
    """Monthly cost of a self-hosted fleet and what it works out to per token."""

    hardware: str
    devices_per_replica: int
    pricing: PricingMode
    autoscale: bool
    peak_replicas: int
    replica_hours: int
    """Replica-hours billed per month, spot interruption overhead included."""
    monthly_usd: Decimal
    requests_per_month: Decimal
    utilization: float
    """Requests served over what the billed replicas could serve at their SLO capacity."""
    usd_per_mtok: Decimal | None
    """Blended: monthly cost over all tokens (input + output); None with no traffic."""
    usd_per_output_mtok: Decimal | None
    """Monthly cost over output tokens only; None with no traffic."""
    floor_usd_per_output_mtok: Decimal
    """The cheapest this hardware can ever be per output token: fully busy at maximum throughput."""
    below_floor: bool
    """True when the price per output token is under the floor: it would need more than the maximum
    throughput, so it is implausible."""


@dataclass(frozen=True)
class BreakEvenPoint:
    requests_per_day: int
    api_monthly_usd: Decimal
    self_hosted_monthly_usd: Decimal


@dataclass(frozen=True)
class BreakEven:
    """Where self-hosting becomes cheaper than the API, with the sweep behind it (for plots)."""

    requests_per_day: int | None
    """Smallest swept volume from which self-hosting stays cheaper; None if it never does."""
    points: tuple[BreakEvenPoint, ...]


def replica_hourly_usd(hardware: Hardware, devices: int, pricing: PricingMode) -> Decimal:
    """Price of one replica-hour: every device in it is billed."""
    if pricing == "on_demand":
        return hardware.hourly * devices
    if hardware.spot_hourly is None:
        raise ValueError(f"{hardware.name} has no spot price")
    return hardware.spot_hourly * devices


def full_utilization_floor(
    capacity: ReplicaCapacity, hardware: Hardware, pricing: PricingMode = "on_demand"
) -> Decimal:
    """USD per 1M output tokens with the replica busy every second at maximum throughput (exact).

    `price_per_hour / (3600 · tok_per_s) · 10^6` (hardware.md §2). Any quoted price below it needs more
    than the hardware can do; hardware.md §8 asks the tool to flag such results.
    """
    hourly = replica_hourly_usd(hardware, capacity.devices, pricing)
    tokens_per_hour = Decimal(capacity.max_output_tokens_per_s) * SECONDS_PER_HOUR
    return hourly * TOKENS_PER_MTOK / tokens_per_hour


def _validated_arrivals(arrivals: ArrayLike, bin_seconds: int) -> NDArray[np.float64]:
    counts = np.asarray(arrivals, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("arrivals must be a non-empty 1-D series of request counts per bin")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("arrival counts must be finite and non-negative")
    whole_hours = bin_seconds % SECONDS_PER_HOUR == 0
    if bin_seconds <= 0 or not (whole_hours or SECONDS_PER_HOUR % bin_seconds == 0):
        raise ValueError(f"bin_seconds must divide an hour or be whole hours, got {bin_seconds}")
    return counts


def _replicas_per_bin(
    counts: NDArray[np.float64], bin_seconds: int, capacity: ReplicaCapacity, policy: FleetPolicy
) -> NDArray[np.int64]:
    """Replicas each bin needs; rounding to 9 decimals first keeps float noise from adding one."""
    if not capacity.meets_slo:
        raise ValueError(
            f"one replica on {capacity.hardware} cannot meet the latency SLO for this workload "
            f"(limited by {capacity.slo_limit})"
        )
    per_replica = capacity.slo_requests_per_s * policy.utilization_target
    needed = np.ceil(np.round(counts / bin_seconds / per_replica, 9)).astype(np.int64)
    return np.maximum(needed, policy.min_replicas)


def _replicas_by_hour(
    counts: NDArray[np.float64], bin_seconds: int, capacity: ReplicaCapacity, policy: FleetPolicy
) -> NDArray[np.int64]:
    per_bin = _replicas_per_bin(counts, bin_seconds, capacity, policy)
    if bin_seconds >= SECONDS_PER_HOUR:
        return np.repeat(per_bin, bin_seconds // SECONDS_PER_HOUR)
    bins_per_hour = SECONDS_PER_HOUR // bin_seconds
    padding = -per_bin.size % bins_per_hour
    padded = np.concatenate([per_bin, np.full(padding, policy.min_replicas, dtype=np.int64)])
    busiest: NDArray[np.int64] = padded.reshape(-1, bins_per_hour).max(axis=1)
    return busiest


def hourly_replicas(
    arrivals: ArrayLike, bin_seconds: int, capacity: ReplicaCapacity, policy: FleetPolicy
) -> NDArray[np.int64]:
    """Replicas needed in each hour of the window: enough for that hour's busiest bin.

    An autoscaler that acts hourly must cover the peak inside the hour, not its average. A last, partial
    hour is completed with empty bins.
    """
    counts = _validated_arrivals(arrivals, bin_seconds)
    return _replicas_by_hour(counts, bin_seconds, capacity, policy)


def _window_hours(bins: int, bin_seconds: int) -> Fraction:
    return Fraction(bins * bin_seconds, SECONDS_PER_HOUR)


def _provisioned_hours(
    per_hour: NDArray[np.int64], window_hours: Fraction, autoscale: bool
) -> Fraction:
    """Replica-hours per month that serve traffic: the peak all month, or the window's scaled to a month.

    The window is a sample of the month, so a last, partial hour counts for the part of it observed.
    """
    if not autoscale:
        return Fraction(int(per_hour.max()) * HOURS_PER_MONTH)
    whole_hours = per_hour.size - 1
    observed = int(per_hour[:whole_hours].sum()) + int(per_hour[-1]) * (window_hours - whole_hours)
    return observed * HOURS_PER_MONTH / window_hours


def _billed_hours(provisioned: Fraction, policy: FleetPolicy) -> int:
    """Whole replica-hours billed, spot interruption overhead included (partial hours round up)."""
    overhead = Fraction(policy.interruption_overhead) if policy.pricing == "spot" else Fraction(0)
    return math.ceil(provisioned * (1 + overhead))


def _requests_per_month(counts: NDArray[np.float64], window_hours: Fraction) -> Decimal:
    """The window's requests scaled to a 30-day month (exact for integer counts)."""
    scale = HOURS_PER_MONTH / window_hours
    return Decimal(float(counts.sum())) * scale.numerator / scale.denominator


def _utilization(requests: Decimal, provisioned: Fraction, capacity: ReplicaCapacity) -> float:
    """Requests served over the requests the provisioned replica-hours could serve within the SLO."""
    servable = float(provisioned) * SECONDS_PER_HOUR * capacity.slo_requests_per_s
    return float(requests) / servable if servable else 0.0


def _usd_per_mtok(monthly_usd: Decimal, tokens: Decimal) -> Decimal | None:
    if tokens == 0:
        return None
    return monthly_usd * TOKENS_PER_MTOK / tokens


def _display(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(USD_PER_MTOK_QUANTUM)


def static_monthly_usd(
    replicas: int, hardware: Hardware, devices: int, policy: FleetPolicy | None = None
) -> Decimal:
    """Monthly USD of `replicas` replicas running all month (spot interruption overhead included)."""
    policy = policy or FleetPolicy()
    hours = _billed_hours(Fraction(replicas * HOURS_PER_MONTH), policy)
    return hours * replica_hourly_usd(hardware, devices, policy.pricing)


def fleet_cost(
    arrivals: ArrayLike,
    bin_seconds: int,
    capacity: ReplicaCapacity,
    hardware: Hardware,
    policy: FleetPolicy | None = None,
    *,
    replicas: int | None = None,
) -> FleetCost:
    """Size a fleet for an arrival series and price it for a 30-day month.

    `arrivals[i]` is the number of requests that arrived in bin i, each bin `bin_seconds` long (a
    divisor of an hour, or whole hours). Token counts come from `capacity.lengths`, the mix the
    capacity was computed for. `replicas` fixes the fleet instead (sized some other way, e.g. by
    replaying the requests through it): that many run every hour, and only the billing, the
    utilisation and the per-token figures are computed here.
    """
    policy = policy or FleetPolicy()
    counts = _validated_arrivals(arrivals, bin_seconds)
    per_hour = _replicas_by_hour(counts, bin_seconds, capacity, policy)
    if replicas is not None:
        per_hour = np.full(per_hour.size, replicas, dtype=np.int64)
    window_hours = _window_hours(counts.size, bin_seconds)
    provisioned = _provisioned_hours(per_hour, window_hours, policy.autoscale)
    billed = _billed_hours(provisioned, policy)
    monthly = billed * replica_hourly_usd(hardware, capacity.devices, policy.pricing)
    requests = _requests_per_month(counts, window_hours)
    output_tokens = requests * Decimal(capacity.lengths.output_tokens)
    all_tokens = output_tokens + requests * Decimal(capacity.lengths.input_tokens)
    per_output = _usd_per_mtok(monthly, output_tokens)
    floor = full_utilization_floor(capacity, hardware, policy.pricing)
    return FleetCost(
        hardware=hardware.name,
        devices_per_replica=capacity.devices,
        pricing=policy.pricing,
        autoscale=policy.autoscale,
        peak_replicas=int(per_hour.max()),
        replica_hours=billed,
        monthly_usd=monthly,
        requests_per_month=requests,
        utilization=_utilization(requests, provisioned, capacity),
        usd_per_mtok=_display(_usd_per_mtok(monthly, all_tokens)),
        usd_per_output_mtok=_display(per_output),
        floor_usd_per_output_mtok=floor.quantize(USD_PER_MTOK_QUANTUM),
        below_floor=per_output is not None and per_output < floor,
    )


def _volume_grid(low: int, high: int, points_per_decade: int) -> list[int]:
    """Requests per day on a geometric grid from `low` to `high`, rounded to whole requests."""
    if not 0 < low < high or points_per_decade < 1:
        raise ValueError("need 0 < low < high and at least one point per decade")
    steps = math.ceil(math.log10(high / low) * points_per_decade)
    return sorted(
        {min(high, round(low * 10 ** (step / points_per_decade))) for step in range(steps + 1)}
    )


def _scaled_to(
    counts: NDArray[np.float64], bin_seconds: int, requests_per_day: int
) -> NDArray[np.float64]:
    """The series' shape (peaks and troughs) carrying `requests_per_day` on average."""
    shape = counts if counts.sum() > 0 else np.ones_like(counts)
    window_days = counts.size * bin_seconds / SECONDS_PER_DAY
    scaled: NDArray[np.float64] = shape * (requests_per_day * window_days / shape.sum())
    return scaled


def _first_of_last_run(points: list[BreakEvenPoint]) -> int | None:
    """The volume from which self-hosting stays cheaper to the end of the sweep."""
    start: int | None = None
    for point in points:
        if point.self_hosted_monthly_usd >= point.api_monthly_usd:
            start = None
        elif start is None:
            start = point.requests_per_day
    return start


def break_even(
    arrivals: ArrayLike,
    bin_seconds: int,
    capacity: ReplicaCapacity,
    hardware: Hardware,
    api_usd_per_request: Decimal,
    policy: FleetPolicy | None = None,
    *,
    fixed_monthly_usd: Decimal = Decimal(0),
    low: int = 100,
    high: int = 100_000_000,
    points_per_decade: int = 10,
) -> BreakEven:
    """Sweep traffic volume, keeping the series' daily shape, and compare the API with self-hosting.

    The API costs `requests/day × 30 × api_usd_per_request` a month; self-hosting costs what
    `fleet_cost` gives for the series scaled to that volume, plus `fixed_monthly_usd` that does not
    scale with traffic (a fine-tune's amortised training). Replica counts are steps, so the curves can
    cross more than once; the answer is the volume from which self-hosting stays cheaper.
    """
    policy = policy or FleetPolicy()
    counts = _validated_arrivals(arrivals, bin_seconds)
    points = [
        BreakEvenPoint(
            requests_per_day=volume,
            api_monthly_usd=volume * DAYS_PER_MONTH * api_usd_per_request,
            self_hosted_monthly_usd=fixed_monthly_usd
            + fleet_cost(
                _scaled_to(counts, bin_seconds, volume), bin_seconds, capacity, hardware, policy
            ).monthly_usd,
        )
        for volume in _volume_grid(low, high, points_per_decade)
    ]
    return BreakEven(requests_per_day=_first_of_last_run(points), points=tuple(points))
