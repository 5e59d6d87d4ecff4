"""The pricing engine: exact cost of a request table against a price table.

Money is never computed per request in floating point. Each request is assigned (vectorized) a price
entry, the price period in force at its timestamp, its long-context tier and its batch flag; integer
token counts are summed per (entry, period, tier, batch, group) and only those sums are multiplied by
`Decimal` prices. The result is exact and fast: a few hundred Decimal products for millions of rows.

Billing rules (DESIGN.md §3):
- uncached input = input − cached − cache writes − uncached audio (input is the provider-inclusive
  total);
- cached reads at `cached_input`, 5-minute writes at `cache_write`, 1-hour writes at `cache_write_1h`,
  audio input not read from the cache at `audio_input` (else `input`);
- output at `output`, except reasoning tokens (a part of it) at `reasoning` where the model has that
  rate;
- a tier re-prices the WHOLE request when its total input (cache included) is strictly above the
  tier's threshold;
- batch requests at batch prices, the batch discount applying to every class the batch block does not
  price explicitly;
- the price in force at the request's timestamp; undated requests (and relative trace times) get the
  current price.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import (
    TOKEN_CLASSES,
    BatchPrices,
    ClassPrices,
    ModelPrice,
    PriceTable,
    Tier,
)
from costaudit.core import model_ids
from costaudit.core.request_table import NAT, Category, RequestTable

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class PriceTableInfo:
    """Which price tables a result was computed with, so every dollar can be traced to them."""

    files: tuple[str, ...]
    effective: date
    sha256: str
    """One hash of the layered tables (a CI baseline compares it to tell that prices changed)."""


@dataclass(frozen=True)
class Resolution:
    """How a logged model name reached its price-table entry."""

    price_id: str
    name: str
    """The name that matched (the logged one, or one derived from it)."""
    steps: tuple[str, ...]
    """What was done to the logged name to find it (empty: matched as logged)."""
    host: str | None = None
    """The platform a dropped prefix named, when the name had one."""


class ModelResolver:
    """Logged model name → price-table id: exact id, alias or `match` regex, tried for the logged
    name and then for each name `model_ids.candidates` derives from it (gateway prefixes dropped,
    Bedrock ids unwrapped, snapshot suffixes dropped), as long as the entry may bill that platform."""

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
        self._cache: dict[str, Resolution | None] = {}

    def resolve(self, name: str | None) -> str | None:
        found = self.explain(name)
        return found.price_id if found is not None else None

    def explain(self, name: str | None) -> Resolution | None:
        """The entry `name` resolves to and how, or None: an unresolved name stays unpriced."""
        if not name:
            return None
        if name not in self._cache:
            self._cache[name] = self._lookup(name)
        return self._cache[name]

    def _lookup(self, name: str) -> Resolution | None:
        for candidate in model_ids.candidates(name):
            price_id = self._find(candidate.name)
            if price_id is None:
                continue
            entry = self.table.models[price_id]
            if model_ids.accepts(candidate, entry.provider, entry.available_from):
                return Resolution(price_id, candidate.name, candidate.steps, candidate.host)
        return None

    def _find(self, name: str) -> str | None:
        found = self._exact.get(name) or self._exact.get(name.lower())
        if found:
            return found
        for pattern, model_id in self._patterns:
            if pattern.fullmatch(name):
                return model_id
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
    reasoning: Decimal
    audio_input: Decimal

    def cost(self, tokens: BilledTokens) -> Decimal:
        """Exact cost: every class's integer token sum × its rate. Reasoning tokens are part of the
        output, so only their difference from the output rate is added for them."""
        total = (
            tokens.uncached_input * self.input
            + tokens.cached_input * self.cached_input
            + tokens.cache_write_5m * self.cache_write
            + tokens.cache_write_1h * self.cache_write_1h
            + tokens.output * self.output
        )
        if tokens.reasoning and self.reasoning != self.output:
            total += tokens.reasoning * (self.reasoning - self.output)
        if tokens.audio_input:
            total += tokens.audio_input * self.audio_input
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
        "reasoning": prices.reasoning if prices.reasoning is not None else prices.output,
        "audio_input": prices.audio_input if prices.audio_input is not None else prices.input,
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
        for name in TOKEN_CLASSES:
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
    audio_input: int = 0
    """Audio input tokens not read from the cache (a part of `input`, not of `uncached_input`)."""

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


NO_MODEL = "(no model)"
"""How requests that name no model are shown (they cannot be priced)."""


def model_names(requests: RequestTable) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Model names and each row's code into them; rows without a model get NO_MODEL's code."""
    names = list(requests.model.names)
    codes = requests.model.codes
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes).astype(np.int32)
        names.append(NO_MODEL)
    return names, codes


def undated(requests: RequestTable) -> npt.NDArray[np.bool_]:
    """Requests priced at current prices: no timestamp, or a relative trace time."""
    return np.asarray((requests.timestamp_ns == NAT) | requests.relative_time, dtype=np.bool_)


def _price_codes(
    requests: RequestTable, resolver: ModelResolver
) -> tuple[tuple[str, ...], npt.NDArray[np.int32]]:
    names, codes = model_names(requests)
    price_ids: list[str] = []
    index: dict[str, int] = {}
    name_to_price = np.full(len(names) + 1, -1, dtype=np.int32)
    for position, name in enumerate(names):
        price_id = resolver.resolve(name) if name != NO_MODEL else None
        if price_id is not None:
            if price_id not in index:
                index[price_id] = len(price_ids)
                price_ids.append(price_id)
            name_to_price[position] = index[price_id]
    return tuple(price_ids), name_to_price[codes]


def assign(
    requests: RequestTable, table: PriceTable, resolver: ModelResolver | None = None
) -> PriceAssignment:
    """Vectorized: the price entry, history period and long-context tier of every request."""
    price_ids, price_code = _price_codes(requests, resolver or ModelResolver(table))
    count = len(requests)
    period = np.zeros(count, dtype=np.int16)
    tier = np.zeros(count, dtype=np.int16)
    predates = np.zeros(count, dtype=np.bool_)
    timestamps, current = requests.timestamp_ns, undated(requests)
    inputs = requests.tokens["input_tokens"]
    for code, price_id in enumerate(price_ids):
        rows = np.flatnonzero(price_code == code)
        model = table.models[price_id]
        if model.history:
            untils = np.array(
                [_day_start_ns(entry.until) for entry in model.history], dtype=np.int64
            )
            row_period = np.searchsorted(untils, timestamps[rows], side="right").astype(np.int16)
            row_period[current[rows]] = len(untils)
            period[rows] = row_period
        else:
            row_period = np.zeros(len(rows), dtype=np.int16)
        if model.available_from is not None:
            predates[rows] = ~current[rows] & (
                timestamps[rows] < _day_start_ns(model.available_from)
            )
        for period_index, span in enumerate(model.price_periods()):
            if not span.tiers:
                continue
            in_period = rows[row_period == period_index]
            thresholds = np.array([t.above_input_tokens for t in span.tiers], dtype=np.int64)
            tier[in_period] = np.searchsorted(thresholds, inputs[in_period], side="left")
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


KEY_LIMIT = 1 << 62
"""Combined group keys stay below this, so their int64 arithmetic never wraps."""


def _combined_key(
    parts: Sequence[npt.NDArray[np.integer[Any]]], sizes: Sequence[int]
) -> npt.NDArray[np.int64]:
    """One int64 per row encoding every key part (mixed radix), so one pass groups them all. Parts
    are small codes in their own narrow dtypes, widened one at a time as they are folded in.

    When the next part would take the key past KEY_LIMIT, the key so far is first renumbered densely
    (only the combinations that occur), so any number of grouping keys stays exact.
    """
    key = np.zeros(len(parts[0]), dtype=np.int64)
    span = 1
    for part, size in zip(parts, sizes, strict=True):
        if span * size >= KEY_LIMIT:
            unique, key = np.unique(key, return_inverse=True)
            key = key.astype(np.int64).reshape(-1)
            span = len(unique)
        key *= size
        key += part
        span *= size
    return key


def aggregate_lines(
    requests: RequestTable,
    assignment: PriceAssignment,
    table: PriceTable,
    groups: Sequence[Category] = (),
) -> list[CostLine]:
    """Exact cost of every (model, entry, period, tier, batch, groups) combination present."""
    if not len(requests):
        return []
    names, model_code = model_names(requests)
    tokens = requests.tokens
    parts: list[npt.NDArray[np.integer[Any]]] = [
        model_code,
        assignment.period,
        assignment.tier,
        requests.batch.view(np.uint8),
        *(group.codes + np.int32(1) for group in groups),
    ]
    sizes = [
        len(names) + 1,
        int(assignment.period.max()) + 1,
        int(assignment.tier.max()) + 1,
        2,
    ]
    sizes += [len(group.names) + 1 for group in groups]
    first, counts, sums = _line_groups(parts, sizes, tokens)
    del parts
    lines = []
    for index, row in enumerate(first):
        code = int(assignment.price_code[row])
        price_id = assignment.price_ids[code] if code >= 0 else None
        period, tier, batch = (
            int(assignment.period[row]),
            int(assignment.tier[row]),
            bool(requests.batch[row]),
        )
        line_tokens = BilledTokens(
            requests=counts[index], **{name: sums[name][index] for name in BILLED}
        )
        rates = class_rates(table.models[price_id], period, tier, batch) if price_id else None
        lines.append(
            CostLine(
                model=names[int(model_code[row])],
                price_id=price_id,
                period=period,
                tier=tier,
                batch=batch,
                groups=tuple(group.value(row) for group in groups),
                tokens=line_tokens,
                cost=rates.cost(line_tokens) if rates is not None else None,
            )
        )
    return lines


Columns = dict[str, npt.NDArray[np.int64]]
BILLED: dict[str, Callable[[Columns], npt.NDArray[np.int64]]] = {
    "input": lambda tokens: tokens["input_tokens"],
    "uncached_input": lambda tokens: (
        tokens["input_tokens"]
        - tokens["cached_input_tokens"]
        - tokens["cache_write_tokens"]
        - tokens["audio_input_tokens"]
    ),
    "audio_input": lambda tokens: tokens["audio_input_tokens"],
    "cached_input": lambda tokens: tokens["cached_input_tokens"],
    "cache_write_5m": lambda tokens: tokens["cache_write_tokens"] - tokens["cache_write_1h_tokens"],
    "cache_write_1h": lambda tokens: tokens["cache_write_1h_tokens"],
    "output": lambda tokens: tokens["output_tokens"],
    "reasoning": lambda tokens: tokens["reasoning_tokens"],
}
"""Each billed class's tokens per request, from the token columns; computed one class at a time, so
at most one derived column exists at once."""

PRICING_PIECE = 1 << 20
"""Rows grouped at a time when pricing a large table: the group key, each row's group and one billed
class's column are 8 bytes a row each, 240 MB at 10⁷ rows if made for the whole table at once."""

Groups = tuple[list[int], list[int], dict[str, list[int]]]
"""Each group's first row, its number of rows and its sum of each billed class, in key order."""


def _line_groups(
    parts: Sequence[npt.NDArray[np.integer[Any]]], sizes: Sequence[int], tokens: Columns
) -> Groups:
    """The rows grouped by their combined key parts, a piece of `PRICING_PIECE` rows at a time, the
    pieces' groups merged by key (exact integer sums, so the result is the whole table's). A key
    space so large that it must be renumbered (`_combined_key`) is grouped whole: its numbers would
    differ from piece to piece."""
    rows = len(parts[0])
    if rows <= PRICING_PIECE or math.prod(sizes) >= KEY_LIMIT:
        keys, first, counts, sums = _piece_groups(parts, sizes, tokens, 0, rows)
        return first, counts, sums
    merged: dict[int, tuple[int, list[int]]] = {}
    for start in range(0, rows, PRICING_PIECE):
        stop = min(start + PRICING_PIECE, rows)
        keys, first, counts, sums = _piece_groups(parts, sizes, tokens, start, stop)
        for index, key in enumerate(keys):
            totals = [counts[index], *(sums[name][index] for name in BILLED)]
            seen = merged.get(key)
            if seen is None:
                merged[key] = (first[index], totals)
            else:
                merged[key] = (seen[0], [a + b for a, b in zip(seen[1], totals, strict=True)])
    ordered = [merged[key] for key in sorted(merged)]
    return (
        [row for row, _ in ordered],
        [totals[0] for _, totals in ordered],
        {name: [totals[1 + i] for _, totals in ordered] for i, name in enumerate(BILLED)},
    )


def _piece_groups(
    parts: Sequence[npt.NDArray[np.integer[Any]]],
    sizes: Sequence[int],
    tokens: Columns,
    start: int,
    stop: int,
) -> tuple[list[int], list[int], list[int], dict[str, list[int]]]:
    """Rows start..stop grouped: each group's key, first row (in the whole table), size and sums."""
    key = _combined_key([part[start:stop] for part in parts], sizes)
    first, inverse, counts = _group_rows(key)
    piece = {name: values[start:stop] for name, values in tokens.items()}
    sums = {
        name: _exact_sums(billed(piece), inverse, len(first)) for name, billed in BILLED.items()
    }
    return key[first].tolist(), (first + start).tolist(), counts.tolist(), sums


def _group_rows(
    key: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Rows grouped by key, groups in key order: each group's first row, each row's group, group sizes.

    Keys here are small mixed-radix codes, so counting them is linear where `np.unique` sorts (a
    million rows: milliseconds instead of a tenth of a second); a sparse key space is sorted.
    """
    span = int(key.max()) + 1
    if span > max(4 * len(key), 1 << 16):
        unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return first, inverse, np.bincount(inverse, minlength=len(unique))
    counts = np.bincount(key, minlength=span)
    present = np.flatnonzero(counts)
    group_of_key = np.zeros(span, dtype=np.intp)
    group_of_key[present] = np.arange(len(present))
    inverse = group_of_key[key]
    first = np.full(len(present), len(key), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(key), dtype=np.int64))
    return first, inverse, counts[present]


FLOAT_EXACT = 2.0**53
"""Integers up to this are exact in float64, and so is every partial sum that stays below it."""


def _exact_sums(
    column: npt.NDArray[np.int64], inverse: npt.NDArray[np.intp], groups: int
) -> list[int]:
    """Per-group integer sums, exact. The sum of absolute values per group bounds every partial sum:
    below 2^53 the float64 sums are exact (each addition is of integers below 2^53) and one bincount
    gives them; below the int64 limit int64 accumulation does; above it, Python ints. Never a
    rounded or wrapped sum."""
    values = column.astype(np.float64)
    bound = np.bincount(inverse, weights=np.abs(values), minlength=groups)
    if not len(bound) or float(bound.max()) < FLOAT_EXACT:
        sums = np.bincount(inverse, weights=values, minlength=groups)
        return [int(value) for value in sums.tolist()]
    del values
    if float(bound.max()) < KEY_LIMIT:
        exact = np.zeros(groups, dtype=np.int64)
        np.add.at(exact, inverse, column)
        return [int(value) for value in exact.tolist()]
    total = [0] * groups
    for group, value in zip(inverse.tolist(), column.tolist(), strict=True):
        total[group] += value
    return total


def cost_lines(
    requests: RequestTable,
    table: PriceTable,
    assignment: PriceAssignment,
    by: Sequence[str] = (),
) -> list[CostLine]:
    """`aggregate_lines` grouped by the grouping columns in `by`."""
    return aggregate_lines(requests, assignment, table, [requests.group(key) for key in by])


def total_cost(lines: Iterable[CostLine]) -> Decimal:
    """Sum of the priced lines (unpriced lines are reported separately, never counted as $0)."""
    return sum((line.cost for line in lines if line.cost is not None), Decimal(0))
