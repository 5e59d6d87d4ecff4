"""The pricing engine: exact cost of a request table against a price table.

Money is never computed per request in floating point. Each request is assigned (vectorized) a price
entry, the price period in force at its timestamp, its long-context tier and its batch flag; integer
token counts are summed per (entry, period, tier, batch, group) and only those sums are multiplied by
`Decimal` prices. The result is exact and fast: a few hundred Decimal products for millions of rows.

Billing rules (DESIGN.md §3):
- uncached input = input − cached − cache writes (input is the provider-inclusive total);
- cached reads at `cached_input`, 5-minute writes at `cache_write`, 1-hour writes at `cache_write_1h`;
- output (reasoning included) at `output`;
- a tier re-prices the WHOLE request when its total input (cache included) is strictly above the
  tier's threshold;
- batch requests at batch prices, the batch discount applying to every class the batch block does not
  price explicitly;
- the price in force at the request's timestamp; undated requests (and relative trace times) get the
  current price.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from costaudit.config.pricing import BatchPrices, ClassPrices, ModelPrice, PriceTable, Tier

MILLION = Decimal(1_000_000)
BILLED_CLASSES = ("input", "cached_input", "cache_write", "cache_write_1h", "output")
PROVIDER_PREFIXES = frozenset(
    {
        "openai",
        "anthropic",
        "google",
        "gemini",
        "vertex_ai",
        "models",
        "deepseek",
        "mistral",
        "mistralai",
    }
)
"""`prefix/model` names whose prefix only says who serves the model; `prefix/` is dropped to resolve."""


class ModelResolver:
    """Logged model name → price-table id: exact id, alias, `match` regex, then known provider prefixes."""

    def __init__(self, table: PriceTable) -> None:
        self.table = table
        self._exact: dict[str, str] = {}
        for model_id, model in table.models.items():
            self._exact[model_id] = model_id
            self._exact[model_id.lower()] = model_id
            for alias in model.aliases:
                self._exact[alias] = model_id
                self._exact[alias.lower()] = model_id
        self._patterns = [
            (re.compile(model.match), model_id)
            for model_id, model in table.models.items()
            if model.match
        ]
        self._cache: dict[str, str | None] = {}

    def resolve(self, name: str | None) -> str | None:
        if not name:
            return None
        if name not in self._cache:
            self._cache[name] = self._lookup(name)
        return self._cache[name]

    def _lookup(self, name: str) -> str | None:
        found = self._exact.get(name) or self._exact.get(name.lower())
        if found:
            return found
        for pattern, model_id in self._patterns:
            if pattern.fullmatch(name):
                return model_id
        prefix, _, rest = name.partition("/")
        if rest and prefix.lower() in PROVIDER_PREFIXES:
            return self._lookup(rest)
        return None

    def tokenizer_for(self, name: str | None) -> str:
        """The tiktoken encoding for a logged model name (cl100k_base when unknown)."""
        model_id = self.resolve(name)
        if model_id is None:
            return "cl100k_base"
        return self.table.models[model_id].tokenizer


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens for each billed class, after tier, batch and fallback rules."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    output: Decimal

    def cost(self, tokens: BilledTokens) -> Decimal:
        total = (
            tokens.uncached_input * self.input
            + tokens.cached_input * self.cached_input
            + tokens.cache_write_5m * self.cache_write
            + tokens.cache_write_1h * self.cache_write_1h
            + tokens.output * self.output
        )
        return Decimal(total) / MILLION


def _standard_rates(prices: ClassPrices) -> dict[str, Decimal]:
    cache_write = prices.cache_write if prices.cache_write is not None else prices.input
    return {
        "input": prices.input,
        "cached_input": prices.cached_input if prices.cached_input is not None else prices.input,
        "cache_write": cache_write,
        "cache_write_1h": prices.cache_write_1h
        if prices.cache_write_1h is not None
        else cache_write,
        "output": prices.output,
    }


def _batch_discount(batch: BatchPrices, base: ClassPrices) -> Decimal:
    if batch.discount is not None:
        return batch.discount
    if batch.input is None or base.input == 0:
        return Decimal(1)
    return batch.input / base.input


def class_rates(model: ModelPrice, period: int, tier: int, batch: bool) -> Rates | None:
    """Rates for one (period, tier, batch) of a model; None for a batch request without batch prices."""
    span = model.price_periods()[period]
    tier_prices: Tier | None = span.tiers[tier - 1] if tier else None
    rates = _standard_rates(tier_prices or span.prices)
    if batch:
        batch_prices = (
            tier_prices.batch if tier_prices is not None and tier_prices.batch else span.batch
        )
        if batch_prices is None:
            return None
        discount = _batch_discount(span.batch or batch_prices, span.prices)
        explicit_allowed = tier_prices is None or tier_prices.batch is not None
        for name in BILLED_CLASSES:
            explicit = getattr(batch_prices, name) if explicit_allowed else None
            rates[name] = explicit if explicit is not None else rates[name] * discount
    return Rates(**rates)


@dataclass(frozen=True)
class BilledTokens:
    """Token sums split into the classes that are billed differently."""

    requests: int
    input: int
    uncached_input: int
    cached_input: int
    cache_write_5m: int
    cache_write_1h: int
    output: int
    reasoning: int

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


def _day_start_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000


@dataclass(frozen=True)
class PriceAssignment:
    """Per request: which price entry (code into `price_ids`, −1 unpriced), period and tier apply."""

    price_ids: tuple[str, ...]
    price_code: npt.NDArray[np.int32]
    period: npt.NDArray[np.int16]
    tier: npt.NDArray[np.int16]
    predates_price: npt.NDArray[np.bool_]


def _model_codes(
    requests: pd.DataFrame, resolver: ModelResolver
) -> tuple[tuple[str, ...], npt.NDArray[np.int32]]:
    models = requests["model"].astype("category")
    names: list[str] = list(models.cat.categories)
    price_ids: list[str] = []
    index: dict[str, int] = {}
    category_to_price = np.full(len(names) + 1, -1, dtype=np.int32)
    for position, name in enumerate(names):
        price_id = resolver.resolve(str(name))
        if price_id is not None:
            if price_id not in index:
                index[price_id] = len(price_ids)
                price_ids.append(price_id)
            category_to_price[position] = index[price_id]
    codes = models.cat.codes.to_numpy().astype(np.int64)
    return tuple(price_ids), category_to_price[codes]


def assign_prices(
    requests: pd.DataFrame, table: PriceTable, resolver: ModelResolver
) -> PriceAssignment:
    """Vectorized: the price entry, history period and long-context tier of every request."""
    price_ids, price_code = _model_codes(requests, resolver)
    count = len(requests)
    period = np.zeros(count, dtype=np.int16)
    tier = np.zeros(count, dtype=np.int16)
    predates = np.zeros(count, dtype=np.bool_)
    timestamps = requests["timestamp"].array.asi8 if count else np.zeros(0, dtype=np.int64)
    undated = (timestamps == np.iinfo(np.int64).min) | requests["relative_time"].to_numpy(
        dtype=bool
    )
    input_tokens = requests["input_tokens"].to_numpy(dtype=np.int64)
    for code, price_id in enumerate(price_ids):
        rows = np.flatnonzero(price_code == code)
        model = table.models[price_id]
        untils = np.array([_day_start_ns(entry.until) for entry in model.history], dtype=np.int64)
        row_period = np.searchsorted(untils, timestamps[rows], side="right").astype(np.int16)
        row_period[undated[rows]] = len(untils)
        period[rows] = row_period
        if model.available_from is not None:
            predates[rows] = ~undated[rows] & (
                timestamps[rows] < _day_start_ns(model.available_from)
            )
        for period_index, span in enumerate(model.price_periods()):
            if not span.tiers:
                continue
            in_period = rows[row_period == period_index]
            thresholds = np.array([t.above_input_tokens for t in span.tiers], dtype=np.int64)
            tier[in_period] = np.searchsorted(thresholds, input_tokens[in_period], side="left")
    return PriceAssignment(price_ids, price_code, period, tier, predates)


@dataclass(frozen=True)
class CostLine:
    """Requests sharing a price entry, period, tier, batch flag and grouping values, with their cost."""

    model: str
    price_id: str | None
    period: int
    tier: int
    batch: bool
    groups: tuple[str | None, ...]
    tokens: BilledTokens
    cost: Decimal | None
    """None when unpriced: no price entry, or a batch request for a model without batch prices."""


TOKEN_SUM_COLUMNS = (
    "input_tokens",
    "uncached_input",
    "cached_input_tokens",
    "cache_write_5m",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def _billing_frame(
    requests: pd.DataFrame, assignment: PriceAssignment, by: Sequence[str]
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "model": requests["model"]
            .astype("category")
            .cat.add_categories(["(no model)"])
            .fillna("(no model)")
            if len(requests)
            else pd.Series([], dtype="category"),
            "price_code": assignment.price_code,
            "period": assignment.period,
            "tier": assignment.tier,
            "batch": requests["batch"].to_numpy(dtype=bool),
            "input_tokens": requests["input_tokens"].to_numpy(dtype=np.int64),
            "cached_input_tokens": requests["cached_input_tokens"].to_numpy(dtype=np.int64),
            "cache_write_1h_tokens": requests["cache_write_1h_tokens"].to_numpy(dtype=np.int64),
            "output_tokens": requests["output_tokens"].to_numpy(dtype=np.int64),
            "reasoning_tokens": requests["reasoning_tokens"].to_numpy(dtype=np.int64),
        }
    )
    cache_write = requests["cache_write_tokens"].to_numpy(dtype=np.int64)
    frame["uncached_input"] = frame["input_tokens"] - frame["cached_input_tokens"] - cache_write
    frame["cache_write_5m"] = cache_write - frame["cache_write_1h_tokens"]
    for key in by:
        frame[f"group:{key}"] = (
            requests[key].astype("string").fillna("(none)") if key in requests else "(none)"
        )
    return frame


def _tokens_from(row: pd.Series, requests: int) -> BilledTokens:
    return BilledTokens(
        requests=requests,
        input=int(row["input_tokens"]),
        uncached_input=int(row["uncached_input"]),
        cached_input=int(row["cached_input_tokens"]),
        cache_write_5m=int(row["cache_write_5m"]),
        cache_write_1h=int(row["cache_write_1h_tokens"]),
        output=int(row["output_tokens"]),
        reasoning=int(row["reasoning_tokens"]),
    )


def cost_lines(
    requests: pd.DataFrame,
    table: PriceTable,
    assignment: PriceAssignment,
    by: Sequence[str] = (),
) -> list[CostLine]:
    """Exact cost of every (model, entry, period, tier, batch, groups) combination present."""
    if not len(requests):
        return []
    frame = _billing_frame(requests, assignment, by)
    keys = ["model", "price_code", "period", "tier", "batch", *(f"group:{key}" for key in by)]
    grouped = frame.groupby(keys, observed=True, sort=True)
    sums = grouped[list(TOKEN_SUM_COLUMNS)].sum()
    sizes = grouped.size()
    lines = []
    for (key, row), size in zip(sums.iterrows(), sizes.to_numpy(), strict=True):
        values = key if isinstance(key, tuple) else (key,)
        model, code, period, tier, batch, *groups = values
        price_id = assignment.price_ids[int(code)] if int(code) >= 0 else None
        tokens = _tokens_from(row, int(size))
        rates = (
            class_rates(table.models[price_id], int(period), int(tier), bool(batch))
            if price_id
            else None
        )
        lines.append(
            CostLine(
                model=str(model),
                price_id=price_id,
                period=int(period),
                tier=int(tier),
                batch=bool(batch),
                groups=tuple(None if group == "(none)" else str(group) for group in groups),
                tokens=tokens,
                cost=rates.cost(tokens) if rates is not None else None,
            )
        )
    return lines


def total_cost(lines: Iterable[CostLine]) -> Decimal:
    """Sum of the priced lines (unpriced lines are reported separately, never counted as $0)."""
    return sum((line.cost for line in lines if line.cost is not None), Decimal(0))
