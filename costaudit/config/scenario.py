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

Every strategy takes the same `applies_to` selector: a list of logged models (`[gpt-4o]`), or a mapping
of fields to the values to keep (`{model: gpt-4o, feature: [chat, search]}`): a request is selected
when it matches every field, and a field when it has any of the values listed.
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from costaudit.config.base import (
    MAX_TOKENS,
    Duration,
    Fraction,
    Money,
    Number,
    PositiveNumber,
    Seed,
    StrictModel,
)
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
PositiveDecimal = PositiveNumber
MAX_REQUESTS_PER_DAY = 10**9
RequestsPerDay = Annotated[Decimal, Field(gt=0, le=MAX_REQUESTS_PER_DAY, allow_inf_nan=False)]
"""Average requests per day: above 0, at most 10^9 (over 11,000 a second)."""


MAX_PERCENT = 10**6
"""Percentages are bounded (a million percent is a 10,000-fold change)."""


def parse_percent(value: object) -> Decimal:
    """`5%`, `5` and `0.5%` are percentages (5, 5 and 0.5); `-3%` is a decline."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as 5%")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        text = str(value).strip().removesuffix("%").strip()
        try:
            number = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"`{value}` is not a percentage (write 5%, 5 or 0.5%)") from None
    if not number.is_finite() or abs(number) > MAX_PERCENT:
        raise ValueError(
            f"`{value}` is not a percentage between -{MAX_PERCENT}% and {MAX_PERCENT}%"
        )
    return number


Percent = Annotated[Decimal, BeforeValidator(parse_percent, json_schema_input_type=str | float)]
"""A percentage written `5%`, `5` or `0.5%`."""
NonNegativePercent = Annotated[Percent, Field(ge=0)]

SelectorValues = str | list[str]
Selector = list[str] | dict[str, SelectorValues]
"""`applies_to`: a list of logged models, or `{field: value or [values], ...}` (model, provider, source,
or any grouping field of the workload such as feature, user or tags)."""


def selection(applies_to: Selector | None) -> dict[str, tuple[str, ...]]:
    """A selector as `{field: (values...)}`; a plain list selects models. Empty: everything."""
    if applies_to is None:
        return {}
    if isinstance(applies_to, list):
        return {"model": tuple(applies_to)}
    return {
        key: tuple(values) if isinstance(values, list) else (values,)
        for key, values in applies_to.items()
    }


def _selector_not_empty(value: Selector | None) -> Selector | None:
    if value is not None and not value:
        raise ValueError("an empty `applies_to` selects nothing: leave it out to select everything")
    if isinstance(value, dict) and any(values == [] for values in value.values()):
        raise ValueError("every `applies_to` field needs at least one value")
    return value


AppliesTo = Annotated[Selector | None, AfterValidator(_selector_not_empty)]


class ValueDistribution(StrictModel):
    """A random quantity: `{distribution: lognormal, mean: 1500, sigma: 0.6}` and friends."""

    distribution: Literal["constant", "lognormal", "normal", "uniform", "exponential", "beta"]
    """The distribution's family; each needs its own parameters below."""
    mean: PositiveDecimal | None = None
    """Mean (constant, lognormal, normal, exponential)."""
    sigma: PositiveDecimal | None = None
    """Standard deviation of log(x) for lognormal."""
    sd: PositiveDecimal | None = None
    """Standard deviation for normal (values below 0 are clipped)."""
    low: Number | None = None
    """Lowest value (uniform)."""
    high: Number | None = None
    """Highest value (uniform)."""
    a: PositiveDecimal | None = None
    """First shape parameter (beta; values in [0, 1], e.g. complexity scores)."""
    b: PositiveDecimal | None = None
    """Second shape parameter (beta)."""

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


TokenSpec = Annotated[int, Field(ge=0, le=MAX_TOKENS)] | ValueDistribution
"""Tokens per request: a constant (0 to 10^12), or a distribution."""
ComplexitySpec = Fraction | ValueDistribution


class PromptFile(StrictModel):
    """A prompt kept in a file (relative to the scenario file); it is tokenized and hashed."""

    file: Path
    """Path of the prompt file, relative to the scenario file."""


class Arrival(StrictModel):
    """How requests arrive over a day (matters for caching TTLs and self-hosting peaks)."""

    pattern: Literal["uniform", "poisson", "diurnal"] = "poisson"
    """`uniform` (evenly spaced), `poisson` (random at a constant rate) or `diurnal` (a daily cycle peaking at 14:00)."""
    peak_to_average: Annotated[Decimal, Field(ge=1)] = Decimal(1)
    """For `diurnal`: busiest hour's rate over the daily average."""


class SyntheticStream(StrictModel):
    """One kind of request in a described workload."""

    name: str | None = None
    """The stream's name (its requests get it as the `stream` grouping value); default stream-N."""
    requests_per_day: RequestsPerDay
    """Average requests per day (at most 10^9)."""
    model: ModelId
    """The model the requests are sent to (a price-table model)."""
    input_tokens: TokenSpec
    """Prompt tokens of each request, not counting the system prompt."""
    output_tokens: TokenSpec
    """Output tokens of each request: a number or a distribution."""
    system_prompt: PromptFile | None = None
    """A prompt shared by every request of the stream: its tokens are added to each request's input."""
    complexity: ComplexitySpec | None = None
    """Complexity scores in [0, 1] for routing (a number or a distribution); default: none."""
    arrival: Arrival = Arrival()
    """How the requests arrive over a day."""
    groups: dict[str, str] = {}
    """Grouping values for this stream's requests (e.g. `{feature: search}`)."""


class Synthetic(StrictModel):
    """A described workload: one stream inline, or several under `streams`."""

    requests_per_day: RequestsPerDay | None = None
    """One stream inline: average requests per day (as in `streams`; at most 10^9)."""
    model: ModelId | None = None
    """One stream inline: the model."""
    input_tokens: TokenSpec | None = None
    """One stream inline: prompt tokens per request, system prompt not included."""
    output_tokens: TokenSpec | None = None
    """One stream inline: output tokens per request."""
    system_prompt: PromptFile | None = None
    """One stream inline: a prompt file shared by every request."""
    complexity: ComplexitySpec | None = None
    """One stream inline: complexity scores for routing."""
    arrival: Arrival = Arrival()
    """One stream inline: how requests arrive over a day."""
    streams: list[SyntheticStream] = []
    """Several kinds of request, each described like the inline stream."""
    days: PositiveDecimal = Decimal(1)
    """Length of the simulated window."""
    max_requests: PositiveInt = 200_000
    """Cap on simulated requests. Above it a random sample spread over the whole window is simulated
    and every figure is scaled back to the full traffic (the result says so)."""
    seed: Seed = 7
    """Seed of the random draws (lengths, arrivals, complexity): same seed, same workload."""

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


class Growth(StrictModel):
    """How the traffic grows from month to month, for `simulate --months N` forecasts."""

    monthly: Percent | Literal["fitted"]
    """Growth per month (`8%`; negative for a decline), or `fitted`: a trend fitted to the daily
    totals of the logs (at least 7 whole days)."""


class WorkloadSpec(StrictModel):
    """Where the traffic comes from."""

    logs: list[str] | None = None
    """Log files, directories or globs (relative to the scenario file)."""
    format: str | None = None
    """Force a log format instead of detecting it per file (as `analyze --format`)."""
    model: str | None = None
    """Model for records that name none (token-count traces)."""
    map: dict[str, str] = {}
    """`--map` for the generic reader: canonical column → dotted path."""
    workload: Path | None = None
    """A request table saved by `analyze --save-workload`."""
    synthetic: Synthetic | None = None
    """A described workload instead of logs."""
    days: PositiveDecimal | None = None
    """Window length override (as `--days`)."""
    growth: Growth | None = None
    """Month-on-month traffic growth for forecasts (default: none)."""

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
    """One model of a router, cheapest first."""

    model: ModelId
    """The model this tier sends requests to."""
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
    """The models, cheapest first; the last one takes the requests the others do not."""
    mode: Literal["route", "cascade"] = "route"
    """`route`: each request goes to one tier. `cascade`: it starts on the first tier and a share is
    re-sent to the next (`escalation_rate`)."""
    escalation_rate: FractionParam | None = None
    """Cascade mode: share of a tier's requests re-sent to the next tier (both calls are paid)."""
    overhead_usd_per_1k_requests: MoneyParam = Decimal(0)
    """Cost of running the router itself."""
    applies_to: AppliesTo = None
    """Requests that are routed (default: all)."""
    scorer: Path | None = None
    """A scorer fitted on your quality labels (`costaudit route fit --out router.json`; path relative to
    this file) to rank requests by instead of the built-in complexity score. It scores the prompt text
    while the logs are read, so the workload must be logs with prompts."""
    label_scale: tuple[Number, Number] | None = None
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
    applies_to: AppliesTo = None
    """Requests that go through the cache (default: all)."""


class PromptCache(StrictModel):
    """Replay prompt prefixes through a provider's prompt cache."""

    preset: str | None = None
    """A `cache_rules` entry of the price table (openai, anthropic, anthropic-1h, google, deepseek),
    applied to that provider's models; the other models keep their provider's rule. Default: the rule
    of each model's provider."""
    breakpoints: Literal["provider", "shared_prefixes", "end_of_prompt", "automatic"] = "provider"
    """Where prompts are cached. `provider`: as each provider does it: automatic prefix caching for
    OpenAI, Gemini and DeepSeek, explicit breakpoints at the shared prefixes for Anthropic and Bedrock.
    `shared_prefixes`: breakpoints where the replay finds prefixes other requests share (system prompt,
    tools, documents, conversation history), at most `max_breakpoints` per request; a suffix no other
    request shares is never written. `end_of_prompt`: one breakpoint at the end of every prompt (every
    prompt is written in full). `automatic`: every block is cached (automatic prefix caching)."""
    max_breakpoints: Annotated[int, Field(ge=1, le=4)] = 4
    """Explicit breakpoints per request (Anthropic allows 4)."""
    ttl: Duration = None
    """Override the preset's nominal TTL (`none` = infinite). Only used when given."""
    ttl_low: Duration = None
    """Override the preset's pessimistic TTL (low end of the hit-rate band). Only used when given."""
    min_prefix_tokens: int | None = None
    """Override the rule's minimum cacheable prompt (shorter prompts are never cached)."""
    block_tokens: PositiveInt | None = None
    """Override the rule's hit granularity (cached prefixes grow in steps of this many tokens)."""
    write_ttl: Literal["5m", "1h"] | None = None
    """Which cache-write price applies (default: 1h for an `-1h` preset, else 5m)."""
    shared_prefix_tokens: int | None = None
    """For logs without prompts or hashes: tokens of a prefix shared by every request of a model."""
    applies_to: AppliesTo = None
    """Requests whose prompts are cached (default: all)."""


class Batching(StrictModel):
    """Send deferrable requests through the batch API."""

    share: FractionParam | None = None
    """Share of the selected requests that is deferrable (default: all of them)."""
    applies_to: AppliesTo = None
    """Requests that may be deferred (e.g. `{feature: reports}`; default: all)."""

    @model_validator(mode="before")
    @classmethod
    def _filter_renamed(cls, data: object) -> object:
        if isinstance(data, dict) and "filter" in data:
            raise ValueError(
                "`filter` is now `applies_to` (the selector every strategy takes): write "
                "`applies_to: {feature: reports}`"
            )
        return data

    @model_validator(mode="after")
    def _share_or_selection(self) -> Self:
        if self.share is None and self.applies_to is None:
            raise ValueError("give a batching `share`, an `applies_to` selection, or both")
        return self


class Slo(StrictModel):
    """The latency a self-hosted replica must keep."""

    ttft: Duration = 2.0
    """Time to first token."""
    tpot: Duration = 0.05
    """Time per output token."""


class ServingSlo(StrictModel):
    """Latency objectives of the replay, as percentiles over the requests. None given: Vidur-Search's
    `ttft_p90: 2s` and `tpot_p99: 200ms`."""

    ttft_p50: Duration = None
    """Median time to first token at most this."""
    ttft_p90: Duration = None
    """90th percentile of time to first token at most this."""
    ttft_p99: Duration = None
    """99th percentile of time to first token at most this."""
    tpot_p50: Duration = None
    """Median time per output token at most this."""
    tpot_p90: Duration = None
    """90th percentile of time per output token at most this."""
    tpot_p99: Duration = None
    """99th percentile of time per output token at most this."""
    e2e_p99: Duration = None
    """99th percentile of the whole request's latency at most this."""

    def targets(self) -> list[tuple[str, int, float]]:
        """(metric, percentile, seconds) of each objective given, or Vidur-Search's two."""
        given = [
            (name.split("_p")[0], int(name.split("_p")[1]), seconds)
            for name, seconds in self.model_dump().items()
            if seconds is not None
        ]
        return given or [("ttft", 90, 2.0), ("tpot", 99, 0.2)]


class ServingSearch(StrictModel):
    """Configurations to search for the cheapest fleet that meets the SLO (each list defaults to the
    hosting block's own choice)."""

    gpus: list[ModelId] = []
    """`hardware` entries of the price table to try."""
    precisions: list[Precision] = []
    """Weight precisions to try."""
    max_batch: list[PositiveInt] = []
    """Batch caps (`max_num_seqs`) to try."""


class Serving(StrictModel):
    """Replay the requests, at their arrival times, through continuous-batching servers
    (docs/self-hosting.md): the fewest replicas that meet the SLO price the fleet, and the report shows
    latency percentiles, batch sizes, GPU busy share, queueing and the batch-size sweep."""

    scheduler: Literal["chunked_prefill", "prefill_first"] = "chunked_prefill"
    """`chunked_prefill` (decodes never wait; prompts fill the rest of each step's token budget, as in
    vLLM V1 and Sarathi-Serve) or `prefill_first` (prompts run in steps of their own while decodes wait,
    vLLM V0). Both admit first come, first served and pre-empt the newest sequence when the KV cache is
    full."""
    max_batch: PositiveInt = 256
    """Sequences a replica runs at once at most (vLLM's `max_num_seqs`)."""
    max_batched_tokens: PositiveInt = 2048
    """Tokens one step may process (decodes plus prompt chunks)."""
    balancer: Literal["round_robin", "random"] = "round_robin"
    """How requests are spread over the replicas."""
    slo: ServingSlo = ServingSlo()
    """The latency the fleet must keep; the replay sizes the fleet for it."""
    search: ServingSearch | None = None
    """Also try other GPUs, precisions and batch caps, and price the cheapest that meets the SLO."""
    sweep: bool = True
    """Show throughput, latency and $/1M tokens of one replica at batch 1, 2, 4, … up to its memory limit."""


class Hosting(StrictModel):
    """Serve the traffic on self-hosted GPUs/CPUs instead of an API."""

    model: ModelId
    """A `self_hosted` model of the price table."""
    gpu: ModelId
    """A `hardware` entry of the price table (GPU or CPU instance)."""
    precision: Precision = "bf16"
    """Weight precision: fp16, bf16, fp8, int8 or int4."""
    pricing: Literal["on_demand", "spot"] = "on_demand"
    """Which hourly price the replicas pay."""
    utilization_target: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.7")
    """Share of a replica's latency-bound capacity it is loaded to at most (headroom for bursts)."""
    autoscale: bool = False
    """Scale replicas hourly with the traffic; otherwise the peak count runs all month."""
    min_replicas: Annotated[int, Field(ge=0)] = 1
    """Replicas kept even without traffic."""
    interruption_overhead: Fraction = Decimal("0.05")
    """Extra replica-hours paid on spot for interruptions (an assumption, 5 %)."""
    slo: Slo = Slo()
    """The latency target capacity is computed for."""
    applies_to: AppliesTo = None
    """Requests that move to the self-hosted model (default: all)."""
    too_long: Literal["stay_on_api", "fail"] = "stay_on_api"
    """Requests whose prompt and answer do not fit the model's context window: `stay_on_api` keeps them
    on the API (counted in the result), `fail` stops the scenario."""
    serving: Serving | None = None
    """Size the fleet by replaying the requests through continuous-batching servers instead of the
    closed-form estimate (which the report still shows beside it)."""

    @model_validator(mode="after")
    def _replay_is_static(self) -> Self:
        if self.serving is not None and self.autoscale:
            raise ValueError(
                "the serving replay sizes a fleet that runs all month: remove `autoscale` or `serving`"
            )
        return self


class FineTune(StrictModel):
    """Fine-tune a model on the task: a training bill, a shorter prompt and a new serving price."""

    base: ModelId | None = None
    """API model with a `fine_tuning` price block; its fine-tuned variant serves the traffic."""
    training_tokens: Annotated[int, Field(ge=0)] = 0
    """Tokens of the training set (billed × epochs at the base model's training price)."""
    epochs: PositiveInt = 3
    """Passes over the training set."""
    training_usd: MoneyParam | None = None
    """Training cost given directly (e.g. GPU-hours × price), instead of tokens × epochs × price."""
    amortize_months: PositiveInt = 12
    """Months the training bill is spread over."""
    prompt_tokens_saved: Annotated[int, Field(ge=0)] = 0
    """Prompt tokens each request no longer needs (e.g. the instructions the model has learned)."""
    hosting: Hosting | None = None
    """Serve the fine-tuned model self-hosted instead of through the API."""
    applies_to: AppliesTo = None
    """Requests the fine-tuned model serves (default: all)."""

    @model_validator(mode="after")
    def _how_it_is_served(self) -> Self:
        if self.base is None and self.hosting is None:
            raise ValueError("name the API `base` model or give a `hosting` block")
        if self.base is None and self.training_usd is None and self.training_tokens:
            raise ValueError("self-hosted fine-tuning needs `training_usd` (GPU-hours × price)")
        return self


class Scenario(StrictModel):
    """One what-if: the strategies it applies, in the fixed order routing → response cache → prompt
    caching → batching → fine-tune → hosting. No strategy: the traffic as logged."""

    name: Annotated[str, Field(min_length=1)]
    """Unique name, shown in every report."""
    description: str | None = None
    """What the scenario is about (for the reader of the file)."""
    routing: Routing | None = None
    """Send requests to cheaper models by complexity."""
    response_cache: ResponseCache | None = None
    """Answer repeated prompts from a cache."""
    prompt_cache: PromptCache | None = None
    """Replay the providers' prompt caches."""
    batching: Batching | None = None
    """Send deferrable requests through batch APIs."""
    fine_tune: FineTune | None = None
    """Serve the traffic from a fine-tuned model."""
    hosting: Hosting | None = None
    """Serve the traffic on self-hosted GPUs/CPUs."""

    def strategies(self) -> list[str]:
        return [name for name in STRATEGY_ORDER if getattr(self, name) is not None]


class Limits(StrictModel):
    """What `costaudit check` allows a monthly cost to do (each limit is optional)."""

    max_increase: NonNegativePercent | None = None
    """Fail when the monthly cost grows more than this over the baseline (`5%`)."""
    max_increase_usd: Money | None = None
    """Fail when the monthly cost grows more than this many dollars."""
    budget: Money | None = None
    """Fail when the monthly cost is above this many dollars."""

    def any_set(self) -> bool:
        return any(
            value is not None for value in (self.max_increase, self.max_increase_usd, self.budget)
        )


GroupLimits = dict[str, dict[str, Limits]]
"""Limits per group: `{feature: {chat: {budget: 5000}}}` (any grouping field, or `model`)."""


class ScenarioLimits(Limits):
    """Limits of one scenario, overriding the defaults for it field by field."""

    groups: GroupLimits = {}
    """Limits on the cost of this scenario's groups (as `check.groups`)."""


class CheckSettings(Limits):
    """The CI gate's limits: defaults for every scenario, then per scenario and per group."""

    scenarios: dict[str, ScenarioLimits] = {}
    """Limits of named scenarios (overriding the defaults above field by field)."""
    groups: GroupLimits = {}
    """Limits on the cost of groups (e.g. `{feature: {chat: {max_increase: 10%}}}`) in every scenario."""
    group_by: list[str] = []
    """Grouping fields whose cost the baseline records, so `check` can name the groups that moved."""

    def any_set(self) -> bool:
        nested = [limits for by_value in self.groups.values() for limits in by_value.values()]
        for scenario in self.scenarios.values():
            nested.append(scenario)
            nested += [
                limits for by_value in scenario.groups.values() for limits in by_value.values()
            ]
        return super().any_set() or any(limits.any_set() for limits in nested)

    def group_keys(self) -> list[str]:
        """Every grouping field the limits or `group_by` name (not `model`, which is always known)."""
        keys = [*self.group_by, *self.groups]
        for scenario in self.scenarios.values():
            keys += list(scenario.groups)
        return [key for key in dict.fromkeys(keys) if key != "model"]


class ScenarioFile(StrictModel):
    """A scenario file: a workload, the scenarios to compare on it, and the CI gate's limits."""

    workload: WorkloadSpec
    """Where the traffic comes from (exactly one of logs, workload, synthetic)."""
    scenarios: Annotated[list[Scenario], Field(min_length=1)]
    """The what-ifs to compare, at least one."""
    baseline: str | None = None
    """Scenario to compare against (default: the first scenario without strategies, else the logged traffic)."""
    days_per_month: PositiveDecimal = Decimal(30)
    """Monthly = cost over the window × days_per_month / window days."""
    seed: Seed = 7
    """Seed of every random choice (routing ties, shares, Monte Carlo): same file, same numbers."""
    samples: Annotated[int, Field(ge=10, le=10_000)] = 100
    """Monte Carlo draws when a parameter is a range."""
    check: CheckSettings | None = None
    """Limits for `costaudit check` (command-line limits replace the defaults given here)."""

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
            raise ValueError(
                f"baseline `{self.baseline}` is not a scenario name{_closest(self.baseline, names)}"
            )
        for name in self.check.scenarios if self.check is not None else {}:
            if name not in names:
                raise ValueError(
                    f"check.scenarios: `{name}` is not a scenario name{_closest(name, names)}"
                )
        return self


def _closest(word: str, choices: list[str]) -> str:
    """`: did you mean `x`?` for the closest choice, or nothing."""
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean `{match[0]}`?)" if match else ""
