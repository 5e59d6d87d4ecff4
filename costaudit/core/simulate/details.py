"""What each strategy reports about its run, as typed records (the `details` of a scenario result).

Field order is the order of the keys in the JSON document. A field whose metadata says `omit_none`
is left out of the document when it is None (a quality figure that needs labels, the self-hosting
of a fine-tune served by API); every other field is always present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costaudit.core.fleet import BreakEvenPoint
from costaudit.core.serving import BatchSizes, BusyShare, LatencyTarget, Percentiles, QueuePeak
from costaudit.core.serving_search import FleetOption, SkippedCandidate, SweepPoint

OMIT_NONE: dict[str, Any] = {"omit_none": True}


@dataclass(frozen=True)
class TierShare:
    model: str
    share: float
    requests: int
    max_score: float | None


@dataclass(frozen=True)
class QualityCurve:
    """Quality at each strong-model share, for a two-tier router over labelled traffic."""

    strong_share: list[float]
    quality: list[float]


@dataclass(frozen=True)
class RoutingQuality:
    source: str
    """`labels` (per-request labels in the workload) or `scenario` (per-tier scores in the file)."""
    quality: float
    quality_retained: float | None
    labelled_requests: int | None = field(default=None, metadata=OMIT_NONE)
    """Requests carrying both tiers' labels: those the ranking is measured on."""
    apgr: float | None = field(default=None, metadata=OMIT_NONE)
    cpt50: float | None = field(default=None, metadata=OMIT_NONE)
    cpt80: float | None = field(default=None, metadata=OMIT_NONE)
    random_apgr: float | None = field(default=None, metadata=OMIT_NONE)
    """A random router's expected APGR on the same labels (exact, not sampled)."""
    random_cpt50: float | None = field(default=None, metadata=OMIT_NONE)
    random_cpt80: float | None = field(default=None, metadata=OMIT_NONE)
    curve: QualityCurve | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class ScoreSource:
    """What the router ranked requests by, and what that ranking is known to be worth."""

    source: str
    """`fitted` (a scorer fitted on labels), `complexity` (the label-free score) or `synthetic`."""
    label_free: bool
    scorer: str | None = field(default=None, metadata=OMIT_NONE)
    """The scorer file, for a fitted scorer."""
    out_of_fold_apgr: float | None = field(default=None, metadata=OMIT_NONE)
    out_of_fold_apgr_interval: list[float] | None = field(default=None, metadata=OMIT_NONE)
    """90% bootstrap interval of the out-of-fold APGR."""
    labelled: int | None = field(default=None, metadata=OMIT_NONE)
    """Labelled prompts the scorer was fitted and measured on."""
    measured_apgr: list[float] | None = field(default=None, metadata=OMIT_NONE)
    """The label-free score's APGR range on public labelled sets (docs/complexity.md)."""


@dataclass(frozen=True)
class RoutingDetails:
    mode: str
    tiers: list[TierShare]
    escalated_requests: int
    router_overhead_usd: Decimal
    randomly_routed: int
    scores: ScoreSource | None = field(default=None, metadata=OMIT_NONE)
    quality: RoutingQuality | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class ResponseCacheDetails:
    hit_rate: float
    exact_duplicate_rate: float
    near_duplicate_rate: float
    requests_answered: int
    ttl_s: float | None
    requests: int
    """Requests that went through the cache (those `applies_to` selects)."""


@dataclass(frozen=True)
class HitRateBand:
    low: float
    central: float
    high: float


@dataclass(frozen=True)
class TtlBand:
    low: float | None
    central: float | None


@dataclass(frozen=True)
class TtlPoint:
    ttl_s: float | None
    hit_rate: float


@dataclass(frozen=True)
class CacheRuleDetails:
    """The replay of one provider cache rule over the requests it applies to."""

    rule: str
    requests: int
    hit_rate: HitRateBand
    cached_tokens: int
    write_tokens: int
    ttl_s: TtlBand
    min_prefix_tokens: int
    block_tokens: int
    observed_hit_rate: float | None
    ttl_curve: list[TtlPoint] = field(metadata={"omit": True})
    """Hit rate at a range of TTLs (for the plot; the scenario reports the curve of a single rule)."""
    input_tokens: int = field(metadata={"omit": True})
    """Input tokens of the requests replayed: the weight of this rule in the scenario's band."""
    breakpoints: str = "automatic"
    """Where prompts were cached: `automatic` (every prefix), `shared_prefixes` (explicit breakpoints
    where the replay found prefixes other requests share) or `end_of_prompt`."""
    max_breakpoints: int | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class PromptCacheDetails:
    hit_rate: HitRateBand
    cached_tokens: int
    write_tokens: int
    rules: list[CacheRuleDetails]
    ttl_curve: list[TtlPoint]
    observed_hit_rate: float | None


@dataclass(frozen=True)
class BatchingDetails:
    share: float
    requests: int
    deferrable_without_batch_api: int


@dataclass(frozen=True)
class BreakEvenDetails:
    requests_per_day: int | None
    """Daily volume from which self-hosting is cheaper (None: not within the sweep)."""
    current_requests_per_day: int | None
    """The daily volume of the requests this fleet serves now (None without a time window)."""
    api_usd_per_request: Decimal
    points: list[BreakEvenPoint]


@dataclass(frozen=True)
class ContextFit:
    """Requests checked against the self-hosted model's context window."""

    context_window: int
    too_long_requests: int
    """Requests whose prompt plus answer do not fit the window."""
    longest_tokens: int | None
    """The longest such request (prompt + answer tokens); None when all fit."""
    too_long: str
    """What happened to them: `stay_on_api` (still billed at API prices) or `fail`."""


@dataclass(frozen=True)
class SizingComparison:
    """The replayed fleet beside the closed-form estimate for the same hardware and precision."""

    replay_replicas: int
    replay_monthly_usd: Decimal
    closed_form_replicas: int
    closed_form_monthly_usd: Decimal
    difference_pct: Decimal
    """Replayed monthly cost over the closed-form one, minus 1, in percent."""
    disagree: bool
    """They differ by more than 20 %."""


@dataclass(frozen=True)
class ServingSearchDetails:
    """Every fleet the SLO search replayed to the end (cheapest first, the frontier marked)."""

    options: list[FleetOption]
    skipped: list[SkippedCandidate]
    replays: int


@dataclass(frozen=True)
class ServingDetails:
    """The requests replayed through continuous-batching servers (core/serving.py)."""

    sized_by: str
    """`replay` (the fleet is the fewest replicas whose replay met the SLO) or `closed_form` (no
    replayed fleet met it, so the closed-form estimate prices the scenario)."""
    scheduler: str
    max_batch: int
    max_batched_tokens: int
    balancer: str
    slo: list[LatencyTarget]
    requests: int
    """Requests replayed (a sampled workload is expanded back to its full traffic)."""
    gpu: str
    precision: str
    replicas: int
    meets_slo: bool
    ttft_s: Percentiles
    tpot_s: Percentiles
    e2e_s: Percentiles
    batch: BatchSizes
    busy: BusyShare
    queue_peak: QueuePeak
    preemptions: int
    slo_misses: int
    """Requests over the TTFT or TPOT threshold of the SLO."""
    comparison: SizingComparison
    search: ServingSearchDetails | None = field(default=None, metadata=OMIT_NONE)
    sweep: list[SweepPoint] | None = field(default=None, metadata=OMIT_NONE)
    """One replica at batch 1, 2, 4, … up to its memory limit."""


@dataclass(frozen=True)
class HostingDetails:
    meets_slo: bool
    ttft_s: float
    tpot_s: float
    model: str
    gpu: str
    precision: str
    pricing: str
    autoscale: bool
    requests: int
    replicas: int
    devices_per_replica: int
    replica_hours: int
    max_output_tokens_per_s: float
    slo_output_tokens_per_s: float
    utilization: float
    usd_per_mtok: Decimal | None
    usd_per_output_mtok: Decimal | None
    floor_usd_per_output_mtok: Decimal
    below_floor: bool
    monthly_usd: Decimal
    break_even: BreakEvenDetails | None
    context: ContextFit | None = None
    """How the requests fit the model's context window."""
    serving: ServingDetails | None = field(default=None, metadata=OMIT_NONE)
    """The replay through continuous-batching servers, when the scenario asks for it."""


@dataclass(frozen=True)
class FineTuneDetails:
    base: str | None
    requests: int
    training_usd: Decimal
    amortize_months: int
    monthly_training_usd: Decimal
    prompt_tokens_saved: int
    serving: str
    """`self-hosted`, or `API (ft:<base>)`."""
    hosting: HostingDetails | None = field(default=None, metadata=OMIT_NONE)
    batch_requests: int = 0
    """Batch requests served by the tuned model at its batch prices (the provider's batch discount)."""


@dataclass
class ScenarioDetails:
    """One record per strategy the scenario used (None for the others), in the order they apply."""

    routing: RoutingDetails | None = field(default=None, metadata=OMIT_NONE)
    response_cache: ResponseCacheDetails | None = field(default=None, metadata=OMIT_NONE)
    prompt_cache: PromptCacheDetails | None = field(default=None, metadata=OMIT_NONE)
    batching: BatchingDetails | None = field(default=None, metadata=OMIT_NONE)
    fine_tune: FineTuneDetails | None = field(default=None, metadata=OMIT_NONE)
    hosting: HostingDetails | None = field(default=None, metadata=OMIT_NONE)

    def fleet(self) -> HostingDetails | None:
        """The self-hosted fleet, whether hosting or a self-hosted fine-tune put it there."""
        if self.hosting is not None:
            return self.hosting
        return self.fine_tune.hosting if self.fine_tune is not None else None
