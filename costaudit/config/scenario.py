"""Scenario files: a workload, and the strategies whose monthly cost to compare against it.

```yaml
workload:                       # exactly one of logs / workload / synthetic
  logs: [logs/app.jsonl]        # paths relative to the scenario file
scenarios:
  - name: current               # no strategy: the workload as logged (the baseline)
  - name: tiered
    routing: {tiers: [{model: gpt-4o-mini, share: 0.7}, {model: gpt-4o}]}
```

Strategies in one scenario are applied in a fixed order whatever their order in the file: routing →
response cache → prompt caching → batching → fine-tune → hosting. Any numeric strategy parameter may be a
range `[low, high]`; results then carry P10/P50/P90 from a seeded Monte Carlo.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, PositiveInt, field_validator, model_validator

from costaudit.config.base import Duration, Fraction, Money, StrictModel
from costaudit.config.pricing import ModelId, Precision

STRATEGY_ORDER = ("routing", "response_cache", "prompt_cache", "batching", "fine_tune", "hosting")


def _ordered_range(value: Decimal | list[Decimal]) -> Decimal | list[Decimal]:
    if isinstance(value, list):
        if len(value) != 2:
            raise ValueError("a range is written [low, high]")
        if value[0] > value[1]:
            raise ValueError(f"range [{value[0]}, {value[1]}] has low above high")
    return value


FractionParam = Annotated[Fraction | list[Fraction], AfterValidator(_ordered_range)]
"""A share in [0, 1], or a range [low, high] of shares."""
MoneyParam = Annotated[Money | list[Money], AfterValidator(_ordered_range)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class Distribution(StrictModel):
    """A random quantity: `{distribution: lognormal, mean: 1500, sigma: 0.6}` and friends."""

    distribution: Literal["constant", "lognormal", "normal", "uniform", "exponential", "beta"]
    mean: PositiveDecimal | None = None
    """Mean (constant, lognormal, normal, exponential)."""
    sigma: PositiveDecimal | None = None
    """Standard deviation of log(x) for lognormal."""
    sd: PositiveDecimal | None = None
    """Standard deviation for normal (values below 0 are clipped)."""
    low: Decimal | None = None
    high: Decimal | None = None
    a: PositiveDecimal | None = None
    b: PositiveDecimal | None = None

    @model_validator(mode="after")
    def _parameters_present(self) -> Self:
        needed = {
            "constant": ("mean",),
            "lognormal": ("mean", "sigma"),
            "normal": ("mean", "sd"),
            "uniform": ("low", "high"),
            "exponential": ("mean",),
            "beta": ("a", "b"),
        }[self.distribution]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.distribution} distribution needs {', '.join(missing)}")
        if (
            self.distribution == "uniform"
            and self.low is not None
            and self.high is not None
            and self.low > self.high
        ):
            raise ValueError("uniform low is above high")
        return self


TokenSpec = Annotated[int, Field(ge=0)] | Distribution
"""Tokens per request: a constant, or a distribution."""
ComplexitySpec = Fraction | Distribution


class PromptFile(StrictModel):
    """A prompt kept in a file (relative to the scenario file); it is tokenized and hashed."""

    file: Path


class Arrival(StrictModel):
    """How requests arrive over a day (matters for caching TTLs and self-hosting peaks)."""

    pattern: Literal["uniform", "poisson", "diurnal"] = "poisson"
    peak_to_average: Annotated[Decimal, Field(ge=1)] = Decimal(1)
    """For `diurnal`: busiest hour's rate over the daily average."""


class SyntheticStream(StrictModel):
    """One kind of request in a described workload."""

    name: str | None = None
    requests_per_day: PositiveDecimal
    model: ModelId
    input_tokens: TokenSpec
    """Prompt tokens of each request, not counting the system prompt."""
    output_tokens: TokenSpec
    system_prompt: PromptFile | None = None
    """A prompt shared by every request of the stream: its tokens are added to each request's input."""
    complexity: ComplexitySpec | None = None
    arrival: Arrival = Arrival()
    groups: dict[str, str] = {}
    """Grouping values for this stream's requests (e.g. `{feature: search}`)."""


class Synthetic(StrictModel):
    """A described workload: one stream inline, or several under `streams`."""

    requests_per_day: PositiveDecimal | None = None
    model: ModelId | None = None
    input_tokens: TokenSpec | None = None
    output_tokens: TokenSpec | None = None
    system_prompt: PromptFile | None = None
    complexity: ComplexitySpec | None = None
    arrival: Arrival = Arrival()
    streams: list[SyntheticStream] = []
    days: PositiveDecimal = Decimal(1)
    """Length of the simulated window."""
    max_requests: PositiveInt = 200_000
    """Cap on generated requests; above it a shorter window is simulated at the same rate."""
    seed: int = 7

    @model_validator(mode="after")
    def _one_stream_or_streams(self) -> Self:
        inline = [self.requests_per_day, self.model, self.input_tokens, self.output_tokens]
        if self.streams and any(value is not None for value in inline):
            raise ValueError("give one stream inline or `streams: [...]`, not both")
        if not self.streams and any(value is None for value in inline):
            raise ValueError(
                "a synthetic workload needs requests_per_day, model, input_tokens and output_tokens"
            )
        return self

    def all_streams(self) -> list[SyntheticStream]:
        if self.streams:
            return list(self.streams)
        assert self.requests_per_day is not None and self.model is not None
        assert self.input_tokens is not None and self.output_tokens is not None
        return [
            SyntheticStream(
                requests_per_day=self.requests_per_day,
                model=self.model,
                input_tokens=self.input_tokens,
                output_tokens=self.output_tokens,
                system_prompt=self.system_prompt,
                complexity=self.complexity,
                arrival=self.arrival,
            )
        ]


class WorkloadSpec(StrictModel):
    """Where the traffic comes from."""

    logs: list[str] | None = None
    """Log files, directories or globs (relative to the scenario file)."""
    format: str | None = None
    model: str | None = None
    """Model for records that name none (token-count traces)."""
    map: dict[str, str] = {}
    """`--map` for the generic reader: canonical column → dotted path."""
    workload: Path | None = None
    """A request table saved by `analyze --save-workload`."""
    synthetic: Synthetic | None = None
    days: PositiveDecimal | None = None
    """Window length override (as `--days`)."""

    @field_validator("logs", mode="before")
    @classmethod
    def _one_path_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Self:
        sources = [name for name in ("logs", "workload", "synthetic") if getattr(self, name)]
        if len(sources) != 1:
            raise ValueError("give exactly one of `logs`, `workload` or `synthetic`")
        return self


class RoutingTier(StrictModel):
    model: ModelId
    share: FractionParam | None = None
    """Share of traffic sent to this tier (the least complex requests go to the first tier)."""
    max_complexity: Fraction | None = None
    """Alternatively: requests up to this complexity score go to this tier."""
    quality: Fraction | None = None
    """Quality score of this model (0..1) when the workload has no per-model quality labels."""
    label: str | None = None
    """Name of this model's quality-label column in the workload (`quality:<label>`), if not the model id."""


class Routing(StrictModel):
    """Send each request to the cheapest tier its complexity allows."""

    tiers: Annotated[list[RoutingTier], Field(min_length=1)]
    mode: Literal["route", "cascade"] = "route"
    escalation_rate: FractionParam | None = None
    """Cascade mode: share of a tier's requests re-sent to the next tier (both calls are paid)."""
    overhead_usd_per_1k_requests: MoneyParam = Decimal(0)
    """Cost of running the router itself."""
    applies_to: list[str] | None = None
    """Logged models whose traffic is routed (default: all)."""
    scorer: Path | None = None
    """A scorer fitted on your quality labels (`costaudit route fit --out router.json`; path relative to
    this file) to rank requests by instead of the built-in complexity score. It scores the prompt text
    while the logs are read, so the workload must be logs with prompts."""
    label_scale: tuple[Decimal, Decimal] | None = None
    """Scale of the workload's quality labels when they are not booleans or scores in [0, 1]: e.g.
    `[1, 10]` for MT-Bench-style judge scores (mapped to [0, 1] for quality and APGR)."""

    @model_validator(mode="after")
    def _tiers_consistent(self) -> Self:
        by_share = [tier.share is not None for tier in self.tiers[:-1]]
        by_score = [tier.max_complexity is not None for tier in self.tiers[:-1]]
        if any(by_share) and any(by_score):
            raise ValueError("use either `share` or `max_complexity` on the tiers, not both")
        if not all(a or b for a, b in zip(by_share, by_score, strict=True)):
            raise ValueError("every tier but the last needs a `share` or a `max_complexity`")
        shares = [tier.share for tier in self.tiers if tier.share is not None]
        lows = sum((share[0] if isinstance(share, list) else share for share in shares), Decimal(0))
        if lows > 1:
            raise ValueError(f"tier shares add up to {lows}, more than 1")
        scores = [
            tier.max_complexity for tier in self.tiers[:-1] if tier.max_complexity is not None
        ]
        if scores != sorted(scores):
            raise ValueError("max_complexity must grow from tier to tier")
        if self.mode == "cascade" and self.escalation_rate is None:
            raise ValueError("cascade mode needs an `escalation_rate`")
        if self.label_scale is not None and not self.label_scale[0] < self.label_scale[1]:
            raise ValueError("label_scale is written [low, high] with low below high")
        return self


class ResponseCache(StrictModel):
    """Serve repeated prompts from a cache instead of calling the model."""

    ttl: Duration = 3600.0
    """How long a cached response is served (none = forever)."""
    near_duplicate_rate: FractionParam = Decimal(0)
    """Extra share of the remaining requests a semantic cache would answer (a what-if; not measured)."""
    lookup_usd_per_1k: MoneyParam = Decimal(0)
    """What a cache lookup costs (embedding + vector search), per 1,000 requests."""


class PromptCache(StrictModel):
    """Replay prompt prefixes through a provider's prompt cache."""

    preset: str | None = None
    """A `cache_rules` entry of the price table (openai, anthropic, anthropic-1h, google, deepseek);
    default: the rule of each model's provider."""
    ttl: Duration = None
    """Override the preset's nominal TTL (`none` = infinite). Only used when given."""
    ttl_low: Duration = None
    """Override the preset's pessimistic TTL (low end of the hit-rate band). Only used when given."""
    min_prefix_tokens: int | None = None
    block_tokens: PositiveInt | None = None
    write_ttl: Literal["5m", "1h"] | None = None
    """Which cache-write price applies (default: 1h for an `-1h` preset, else 5m)."""
    shared_prefix_tokens: int | None = None
    """For logs without prompts or hashes: tokens of a prefix shared by every request of a model."""


class Batching(StrictModel):
    """Send deferrable requests through the batch API."""

    share: FractionParam | None = None
    filter: dict[str, str | list[str]] | None = None
    """Requests whose grouping values match (e.g. `{feature: reports}`) are deferrable."""

    @model_validator(mode="after")
    def _share_or_filter(self) -> Self:
        if (self.share is None) == (self.filter is None):
            raise ValueError("give a batching `share` or a `filter`")
        return self


class Slo(StrictModel):
    ttft: Duration = 2.0
    tpot: Duration = 0.05


class Hosting(StrictModel):
    """Serve the traffic on self-hosted GPUs/CPUs instead of an API."""

    model: ModelId
    """A `self_hosted` model of the price table."""
    gpu: ModelId
    """A `hardware` entry of the price table (GPU or CPU instance)."""
    precision: Precision = "bf16"
    pricing: Literal["on_demand", "spot"] = "on_demand"
    utilization_target: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.7")
    autoscale: bool = False
    min_replicas: Annotated[int, Field(ge=0)] = 1
    interruption_overhead: Fraction = Decimal("0.05")
    slo: Slo = Slo()
    applies_to: list[str] | None = None
    """Models whose traffic moves to the self-hosted model (default: all)."""


class FineTune(StrictModel):
    """Fine-tune a model on the task: a training bill, a shorter prompt and a new serving price."""

    base: ModelId | None = None
    """API model with a `fine_tuning` price block; its fine-tuned variant serves the traffic."""
    training_tokens: Annotated[int, Field(ge=0)] = 0
    epochs: PositiveInt = 3
    training_usd: MoneyParam | None = None
    """Training cost given directly (e.g. GPU-hours × price), instead of tokens × epochs × price."""
    amortize_months: PositiveInt = 12
    prompt_tokens_saved: Annotated[int, Field(ge=0)] = 0
    """Prompt tokens each request no longer needs (e.g. the instructions the model has learned)."""
    hosting: Hosting | None = None
    """Serve the fine-tuned model self-hosted instead of through the API."""
    applies_to: list[str] | None = None

    @model_validator(mode="after")
    def _how_it_is_served(self) -> Self:
        if self.base is None and self.hosting is None:
            raise ValueError("name the API `base` model or give a `hosting` block")
        if self.base is None and self.training_usd is None and self.training_tokens:
            raise ValueError("self-hosted fine-tuning needs `training_usd` (GPU-hours × price)")
        return self


class Scenario(StrictModel):
    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    routing: Routing | None = None
    response_cache: ResponseCache | None = None
    prompt_cache: PromptCache | None = None
    batching: Batching | None = None
    fine_tune: FineTune | None = None
    hosting: Hosting | None = None

    def strategies(self) -> list[str]:
        return [name for name in STRATEGY_ORDER if getattr(self, name) is not None]


class ScenarioFile(StrictModel):
    workload: WorkloadSpec
    scenarios: Annotated[list[Scenario], Field(min_length=1)]
    baseline: str | None = None
    """Scenario to compare against (default: the first scenario without strategies, else the logged traffic)."""
    days_per_month: PositiveDecimal = Decimal(30)
    seed: int = 7
    samples: Annotated[int, Field(ge=10, le=10_000)] = 100

    """Monte Carlo draws when a parameter is a range."""

    @field_validator("scenarios")
    @classmethod
    def _names_unique(cls, scenarios: list[Scenario]) -> list[Scenario]:
        names = [scenario.name for scenario in scenarios]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"scenario names must be unique: {', '.join(duplicates)}")
        return scenarios

    @model_validator(mode="after")
    def _baseline_known(self) -> Self:
        names = [scenario.name for scenario in self.scenarios]
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline `{self.baseline}` is not a scenario name")
        return self
