"""The price table: what a token, a GPU-hour and a self-hosted model cost, with where each number came from.

Prices are USD per 1M tokens. Token classes follow the canonical request table: uncached input, cached
input (cache reads), cache writes (5-minute and 1-hour) and output (reasoning included), plus the two
parts some providers bill at their own rate: reasoning tokens (part of the output) and audio input
tokens (part of the input).

Fallbacks, so that a table only has to state what a provider actually publishes:
- no `cached_input` → cache reads cost the input price (no discount);
- no `cache_write` → cache writes cost the input price; no `cache_write_1h` → the `cache_write` price;
- no `reasoning` → reasoning tokens cost the output price; no `audio_input` → audio input costs the
  input price;
- `batch` gives the batch price of each class, or a `discount` multiplier applied to every class it does
  not price (cache reads and writes included), so the provider's batch discount stacks with caching.
  Without `discount`, the multiplier is `batch.input / input`;
- a long-context tier names the request size it starts above and must price every class the base prices.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import Field, PositiveInt, field_validator, model_validator

from costaudit.config.base import Duration, Fraction, Money, PositiveNumber, StrictModel

ModelId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]

TOKEN_CLASSES = (
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "reasoning",
    "audio_input",
)
"""Billed token classes, in the order the pricing engine uses them."""


class ClassPrices(StrictModel):
    """Prices per 1M tokens for each token class."""

    input: Money
    """Uncached input (prompt) tokens."""
    output: Money
    """Output tokens, reasoning/thinking tokens included."""
    cached_input: Money | None = None
    """Input tokens read from the provider's prompt cache. Omitted: no cache discount."""
    cache_write: Money | None = None
    """Input tokens written to the prompt cache (5-minute TTL). Omitted: billed as input."""
    cache_write_1h: Money | None = None
    """Input tokens written to the prompt cache with a 1-hour TTL. Omitted: billed as `cache_write`."""
    reasoning: Money | None = None
    """Reasoning (thinking) tokens, a part of the output, where the provider bills them at their own
    rate. Omitted: billed as `output`."""
    audio_input: Money | None = None
    """Audio input tokens not read from the cache, where logs report them. Omitted: billed as
    `input`."""

    @model_validator(mode="after")
    def _cached_not_above_input(self) -> Self:
        if self.cached_input is not None and self.cached_input > self.input:
            raise ValueError(
                f"cached_input ({self.cached_input}) is above input ({self.input}); "
                "a cache read never costs more than uncached input"
            )
        return self

    def priced_classes(self) -> set[str]:
        return {name for name in TOKEN_CLASSES if getattr(self, name) is not None}


class BatchPrices(StrictModel):
    """Batch API prices. Classes not given cost the standard price times `discount`."""

    discount: Fraction | None = None
    """Multiplier applied to every class priced here without an explicit batch price (0.5 = half price)."""
    input: Money | None = None
    output: Money | None = None
    cached_input: Money | None = None
    cache_write: Money | None = None
    cache_write_1h: Money | None = None
    reasoning: Money | None = None
    audio_input: Money | None = None

    @model_validator(mode="after")
    def _discount_or_input(self) -> Self:
        if self.discount is None and self.input is None:
            raise ValueError("give a batch `discount` or at least the batch `input` price")
        return self


class Tier(ClassPrices):
    """Long-context prices, applied to the WHOLE request when its total input exceeds the threshold."""

    above_input_tokens: PositiveInt
    """The tier applies when input tokens (cache reads and writes included) are strictly above this."""
    batch: BatchPrices | None = None
    """Batch prices inside this tier; omitted: the model's batch discount applied to the tier prices."""


class HistoryEntry(ClassPrices):
    """Prices that were in force before a change; the entry covers requests before `until` (UTC)."""

    until: date
    """First day (UTC) on which the next price set took effect."""
    batch: BatchPrices | None = None
    tiers: list[Tier] = []
    source: str | None = None


class FineTuning(StrictModel):
    """API fine-tuning: training price and the serving prices of the resulting model."""

    training: Money
    """USD per 1M training tokens (tokens × epochs)."""
    input: Money
    output: Money
    cached_input: Money | None = None
    source: str


# The table's consistency rules, each written once. Every rule returns ALL the problems it finds, so
# `pricing validate` (costaudit.pricetable.validate) can list every one, while the validators below
# refuse a table on the first.


def tier_problems(tiers: Sequence[Tier], base_classes: set[str], prefix: str = "") -> list[str]:
    """Tiers out of order or repeated, and each tier that misses a class the base prices."""
    problems: list[str] = []
    thresholds = [tier.above_input_tokens for tier in tiers]
    if thresholds != sorted(set(thresholds)):
        problems.append(f"{prefix}tiers must be in strictly ascending `above_input_tokens` order")
    for tier in tiers:
        missing = base_classes - tier.priced_classes()
        if missing:
            problems.append(
                f"{prefix}tier above {tier.above_input_tokens} must also price "
                f"{', '.join(sorted(missing))}"
            )
    return problems


def history_problems(untils: Sequence[date]) -> list[str]:
    """History entries must be oldest first, each `until` a different day."""
    if list(untils) == sorted(set(untils)):
        return []
    return ["history entries must be oldest first with distinct `until` dates"]


def unsorted_id_problems(ids: Sequence[str]) -> list[str]:
    """Ids must be sorted (tables are read and diffed by people)."""
    return [
        f"ids must be sorted: move `{current}` before `{previous}`"
        for previous, current in itertools.pairwise(ids)
        if current < previous
    ]


def claimed_name_problems(names: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(owner, problem) for every name — a model id or alias, given as (name, owning id) — that two
    models claim: a logged name must resolve to one entry."""
    owner: dict[str, str] = {}
    problems = []
    for name, model_id in names:
        claimant = owner.setdefault(name, model_id)
        if claimant != model_id:
            problems.append(
                (model_id, f"name `{name}` is claimed by both `{claimant}` and `{model_id}`")
            )
    return problems


def _refuse(problems: Sequence[str]) -> None:
    if problems:
        raise ValueError(problems[0])


class ModelPrice(ClassPrices):
    """One chat model's prices at one provider."""

    provider: str
    """Who bills it: openai, anthropic, google, deepseek, mistral, together, ..."""
    source: str
    """Where the numbers come from (pricing page address and the date it was read)."""
    checked: date
    """Date the prices were last checked against the source."""
    tokenizer: str = "cl100k_base"
    """tiktoken encoding that counts this model's tokens (or the closest available one)."""
    aliases: list[str] = []
    """Exact names that resolve to this entry (dated snapshots, provider-prefixed names)."""
    match: str | None = None
    """Regular expression; a logged model name that fully matches it resolves to this entry."""
    batch: BatchPrices | None = None
    """Batch API prices; omitted: the provider has no batch API for this model."""
    tiers: list[Tier] = []
    """Long-context tiers, lowest threshold first."""
    history: list[HistoryEntry] = []
    """Earlier prices, oldest first."""
    available_from: date | None = None
    """First day the model could be called; requests before it are flagged."""
    context_window: PositiveInt | None = None
    max_output_tokens: PositiveInt | None = None
    deprecated: bool = False
    fine_tuning: FineTuning | None = None
    notes: str | None = None

    @field_validator("match")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _tiers_and_history_consistent(self) -> Self:
        _refuse(tier_problems(self.tiers, self.priced_classes()))
        _refuse(history_problems([entry.until for entry in self.history]))
        for entry in self.history:
            prefix = f"history entry until {entry.until}: "
            _refuse(tier_problems(entry.tiers, entry.priced_classes(), prefix))
        return self

    def price_periods(self) -> list[PricePeriod]:
        """Every price set this model has had, oldest first; the last one is current."""
        periods = [
            PricePeriod(prices=entry, batch=entry.batch, tiers=entry.tiers, until=entry.until)
            for entry in self.history
        ]
        periods.append(PricePeriod(prices=self, batch=self.batch, tiers=self.tiers, until=None))
        return periods


class PricePeriod:
    """One price set in force over a span of time (until `until`, or open-ended when None)."""

    __slots__ = ("batch", "prices", "tiers", "until")

    def __init__(
        self,
        prices: ClassPrices,
        batch: BatchPrices | None,
        tiers: list[Tier],
        until: date | None,
    ) -> None:
        self.prices = prices
        self.batch = batch
        self.tiers = tiers
        self.until = until


Precision = Literal["fp16", "bf16", "fp8", "int8", "int4"]


class Hardware(StrictModel):
    """A GPU or CPU instance type for self-hosting: what it can do and what an hour of it costs."""

    kind: Literal["gpu", "cpu"]
    name: str
    memory_gb: PositiveNumber
    """Accelerator memory (GPU) or RAM usable for the model (CPU), GB."""
    bandwidth_gbs: PositiveNumber
    """Peak memory bandwidth, GB/s."""
    bf16_tflops: PositiveNumber
    """Dense fp16/bf16 peak, TFLOPS (for CPUs, the usable matrix throughput)."""
    fp8_tflops: PositiveNumber | None = None
    """Dense fp8 peak, TFLOPS; omitted when the device has no fp8 units."""
    int8_tops: PositiveNumber | None = None
    """Dense int8 peak, TOPS."""
    hourly: Money
    """On-demand USD per hour for one device (one GPU, or the whole CPU instance)."""
    spot_hourly: Money | None = None
    """Spot/preemptible USD per hour; omitted when no spot price was found."""
    vcpus: PositiveInt | None = None
    source: str
    checked: date


class SelfHostedModel(StrictModel):
    """Architecture of an open model, enough for the roofline capacity model."""

    params_b: PositiveNumber
    """Parameters, billions."""
    layers: PositiveInt
    hidden: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    context_window: PositiveInt
    tokenizer: str = "cl100k_base"
    """tiktoken encoding used to count its tokens (the closest offline one when its own is not tiktoken)."""
    sliding_window: PositiveInt | None = None
    """Attention window that caps the KV cache per sequence (Mistral-7B v0.1)."""
    source: str


class TokenizerRatio(StrictModel):
    """How many tokens a tokenizer produces per cl100k_base token on typical English text and code."""

    per_cl100k: PositiveNumber
    source: str


class CacheRule(StrictModel):
    """How a provider's prompt cache decides hits, for replaying prefixes over a log.

    Read and write prices come from each model's `cached_input` / `cache_write` prices; these rules say
    which prefixes are cached and for how long.
    """

    min_prefix_tokens: PositiveInt
    """Prompts shorter than this are never cached (no read, no write)."""
    block_tokens: PositiveInt
    """Hit granularity: cached prefixes grow in steps of this many tokens."""
    ttl: Duration
    """Nominal lifetime of an unused entry (refreshed on every hit); none = unbounded."""
    ttl_low: Duration
    """Pessimistic lifetime, for the low end of the hit-rate band."""
    source: str


class PriceTable(StrictModel):
    """A whole price table file (`pricing/*.yaml`)."""

    schema_version: Literal[1]
    effective: date
    """Date the table's prices were last brought up to date."""
    about: str | None = None
    """What the file is and how it was made (a generated table says how to rebuild it)."""
    models: dict[ModelId, ModelPrice] = {}
    hardware: dict[ModelId, Hardware] = {}
    self_hosted: dict[ModelId, SelfHostedModel] = {}
    tokenizers: dict[str, TokenizerRatio] = {}
    """Average token-count ratios between tokenizers, used when a request moves model without its text."""
    cache_rules: dict[str, CacheRule] = {}
    """Prompt-cache rules by name (a provider, or a provider variant such as anthropic-1h)."""

    @field_validator("models", "hardware", "self_hosted")
    @classmethod
    def _ids_sorted(cls, value: dict[str, object]) -> dict[str, object]:
        _refuse(unsorted_id_problems(list(value)))
        return value

    @model_validator(mode="after")
    def _aliases_unique(self) -> Self:
        names = [
            (name, model_id)
            for model_id, model in self.models.items()
            for name in dict.fromkeys((model_id, *model.aliases))
        ]
        _refuse([problem for _, problem in claimed_name_problems(names)])
        return self
