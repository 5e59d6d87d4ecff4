"""Analysis of a request table computed partition by partition, into partial results that merge exactly.

A log too large to hold is read in bounded partitions; each is reduced here to a `Partial` whose size
depends on the variety of the traffic (models, price keys, distinct token counts, clock hours), not on
its number of requests. Partials merge in any grouping (`merge`), on one core, on several processes
or on a cluster, and `finish` turns the merged one into the same `Analysis` the whole table gives:

- money: integer token sums per price key (model, entry, period, tier, batch, groups), then one Decimal
  multiplication per key, as for the whole table;
- percentiles and means: exact, from merged counts of each distinct value;
- histograms and per-hour arrivals: merged counts;
- the window: from each clock hour's (count, first, last) stamps. The window only ever leaves out ends
  separated from the rest by more than a day, and any gap longer than an hour lies between the last
  stamp of one hour and the first of a later one, so these three numbers per hour decide it exactly.

Group keys over time (hour, day, week) are kept as the period's number and the kind of time it
counts (absolute, or relative to a trace's start) and labelled at the end, when it is known which
kind places the requests and which period is the first (relative periods are offsets from it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import PriceTable
from costaudit.core import analysis as whole
from costaudit.core.arrays import distinct
from costaudit.core.breakdown import (
    HOURLY_UP_TO_DAYS,
    CostOverTime,
    CostPeriod,
    group_breakdowns,
)
from costaudit.core.breakdown import _models as model_costs
from costaudit.core.breakdown import _no_monthly as no_monthly
from costaudit.core.columns import TOKEN_SOURCES
from costaudit.core.complexity import CLASS_NAMES, complexity_classes
from costaudit.core.complexity_groups import GroupClasses, classes_by_group
from costaudit.core.freshness import (
    FreshnessWarning,
    before_first_price_warning,
    stale_table_warning,
)
from costaudit.core.grouping import (
    BUILT_IN_KEYS,
    TIME_KEYS,
    UnknownGroupKey,
    available_keys,
    period_label,
    period_numbers,
    with_group_keys,
)
from costaudit.core.pricing import (
    BilledTokens,
    CostLine,
    PriceAssignment,
    _day_start_ns,
    aggregate_lines,
    assign,
    class_rates,
    cost_lines,
    total_cost,
)
from costaudit.core.request_table import NAT, Category, RequestTable, utc_datetime
from costaudit.core.sums import exact_sum
from costaudit.core.window import (
    MIN_BULK,
    NS_PER_DAY,
    NS_PER_HOUR,
    OUTLIER_SHARE,
    REFUSE_BELOW_NS,
    Window,
    extrapolation_factor,
)

LineKey = tuple[str, str | None, int, int, bool, tuple[str | None, ...]]
"""(model, price entry, price period, tier, batch, grouping values): requests billed alike."""
TimedKey = tuple[bool, int, str, str | None, int, int, bool]
"""(relative, clock hour, model, price entry, price period, tier, batch)."""
ALL = "(all)"
Key = TypeVar("Key")


PERIOD_TAG = "\x00period:"
"""Prefix of a period's provisional value in a partition (`<tag>a:<n>` absolute, `<tag>r:<n>`
relative): control characters never come from logs (they are neutralised on reading)."""


@dataclass
class ValueCounts:
    """How many times each distinct value occurs: a population whose order statistics are exact."""

    values: npt.NDArray[np.generic]
    counts: npt.NDArray[np.int64]

    @classmethod
    def of(cls, values: npt.NDArray[np.generic]) -> ValueCounts:
        if values.dtype.kind == "i" and len(values):
            low, high = int(values.min()), int(values.max())
            if high - low <= max(4 * len(values), 1 << 16):
                counted = np.bincount(values - low)
                present = np.flatnonzero(counted)
                return cls((present + low).astype(values.dtype), counted[present].astype(np.int64))
        unique, counts = np.unique(values, return_counts=True)
        return cls(unique, counts.astype(np.int64))

    def merge(self, other: ValueCounts) -> ValueCounts:
        if not len(other.values):
            return self
        if not len(self.values):
            return other
        unique, inverse = np.unique(
            np.concatenate([self.values, other.values]), return_inverse=True
        )
        counts = np.zeros(len(unique), dtype=np.int64)
        np.add.at(counts, inverse.reshape(-1), np.concatenate([self.counts, other.counts]))
        return ValueCounts(unique, counts)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def at_ranks(self, ranks: npt.NDArray[np.intp]) -> npt.NDArray[np.generic]:
        """The values at these positions of the sorted population."""
        ends = np.cumsum(self.counts)
        return self.values[np.searchsorted(ends, ranks, side="right")]


def percentiles(population: ValueCounts) -> dict[int, float]:
    """`analysis.percentiles` of the population the counts describe, to the last bit: the same
    closest ranks, the same interpolation."""
    count = population.total
    share = np.asarray(whole.PERCENTILES, dtype=np.float64) / 100
    virtual = (count - 1) * share
    lower = np.floor(virtual)
    upper = lower + 1
    beyond = virtual >= count - 1
    lower[beyond] = upper[beyond] = -1
    lower[virtual < 0] = upper[virtual < 0] = 0
    below, above = lower.astype(np.intp), upper.astype(np.intp)
    low = population.at_ranks(below % count).astype(np.float64)
    high = population.at_ranks(above % count).astype(np.float64)
    weight = virtual - below
    step = high - low
    points = np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)
    return {p: float(value) for p, value in zip(whole.PERCENTILES, points.tolist(), strict=True)}


def _integer_mean(population: ValueCounts) -> float:
    """The mean of integer values (numpy's float mean of integers below 2**53 is this exact ratio)."""
    total = sum(int(v) * int(c) for v, c in zip(population.values, population.counts, strict=True))
    return total / population.total


def distribution(population: ValueCounts) -> whole.TokenPercentiles:
    if not population.total:
        return whole.TokenPercentiles(0, 0.0, dict.fromkeys(whole.PERCENTILES, 0.0), 0)
    return whole.TokenPercentiles(
        requests=population.total,
        mean=_integer_mean(population),
        percentiles=percentiles(population),
        maximum=int(population.values[-1]),
    )


def _empty_counts(dtype: type[np.generic]) -> ValueCounts:
    return ValueCounts(np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.int64))


@dataclass
class HourStamps:
    """Per clock hour with requests: how many, and the first and last stamp (ns)."""

    hours: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]
    last: npt.NDArray[np.int64]

    @classmethod
    def of(cls, stamps: npt.NDArray[np.int64]) -> HourStamps:
        hours = stamps // NS_PER_HOUR
        unique, inverse, counts = np.unique(hours, return_inverse=True, return_counts=True)
        first = np.full(len(unique), np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(len(unique), np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first, inverse.reshape(-1), stamps)
        np.maximum.at(last, inverse.reshape(-1), stamps)
        return cls(unique.astype(np.int64), counts.astype(np.int64), first, last)

    @classmethod
    def none(cls) -> HourStamps:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, empty, empty)

    def merge(self, other: HourStamps) -> HourStamps:
        if not len(other.hours):
            return self
        if not len(self.hours):
            return other
        unique, inverse = np.unique(np.concatenate([self.hours, other.hours]), return_inverse=True)
        inverse = inverse.reshape(-1)
        counts = np.zeros(len(unique), dtype=np.int64)
        np.add.at(counts, inverse, np.concatenate([self.counts, other.counts]))
        first = np.full(len(unique), np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(len(unique), np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first, inverse, np.concatenate([self.first, other.first]))
        np.maximum.at(last, inverse, np.concatenate([self.last, other.last]))
        return HourStamps(unique.astype(np.int64), counts, first, last)

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def _widest_low(stamps: HourStamps, cut: int, top: int) -> int:
    """`window._widest` on the low end: how many of the smallest stamps lie before the widest gap that
    dwarfs the rest (0: none). Candidate gaps follow the first `cut` stamps."""
    best, best_gap = 0, -1
    through = np.cumsum(stamps.counts)
    for index in range(len(stamps.hours) - 1):
        below = int(through[index])
        if below > cut:
            break
        gap = int(stamps.first[index + 1]) - int(stamps.last[index])
        rest = top - int(stamps.first[index + 1])
        if gap > max(rest, NS_PER_DAY) and gap > best_gap:
            best, best_gap = below, gap
    return best


def _widest_high(stamps: HourStamps, cut: int, bottom: int) -> int:
    """The same on the high end: how many of the largest stamps lie after the widest such gap."""
    best, best_gap = 0, -1
    above = 0
    for index in range(len(stamps.hours) - 1, 0, -1):
        above += int(stamps.counts[index])
        if above > cut:
            break
        gap = int(stamps.first[index]) - int(stamps.last[index - 1])
        rest = int(stamps.last[index - 1]) - bottom
        if gap > max(rest, NS_PER_DAY) and gap > best_gap:
            best, best_gap = above, gap
    return best


def _stamp_after(stamps: HourStamps, below: int) -> int:
    """The smallest stamp with `below` stamps before it (a boundary between hours, or the first)."""
    if not below:
        return int(stamps.first[0])
    through = np.cumsum(stamps.counts)
    return int(stamps.first[int(np.searchsorted(through, below, side="right"))])


def _stamp_before(stamps: HourStamps, above: int) -> int:
    """The largest stamp with `above` stamps after it (a boundary between hours, or the last)."""
    if not above:
        return int(stamps.last[-1])
    from_top = np.cumsum(stamps.counts[::-1])
    return int(stamps.last[::-1][int(np.searchsorted(from_top, above, side="right"))])


def _bulk(stamps: HourStamps) -> tuple[int, int, int, int, int]:
    """`window._bulk` from per-hour stamps: (low, high, outliers, farthest outlier, full span)."""
    count = stamps.total
    first, last = int(stamps.first[0]), int(stamps.last[-1])
    if count < MIN_BULK:
        return first, last, 0, 0, last - first
    cut = max(1, count // OUTLIER_SHARE)
    lows = highs = 0
    for _ in range(2):  # each end's rest depends on where the other end is cut
        lows = _widest_low(stamps, cut, _stamp_before(stamps, highs))
        highs = _widest_high(stamps, cut, _stamp_after(stamps, lows))
    low, high = _stamp_after(stamps, lows), _stamp_before(stamps, highs)
    farthest = first if low - first >= last - high else last
    return low, high, lows + highs, farthest, last - first


def observed_window(
    absolute: HourStamps, relative: HourStamps, undated: int, days: Decimal | None
) -> Window:
    """`window.observed_window` from the per-hour stamps of absolute and relative times."""
    from costaudit.core.window import _datetime

    stamps, is_relative = (absolute, False) if absolute.total else (relative, bool(relative.total))
    if not stamps.total:
        if days is not None:
            return Window(None, None, days, "--days", undated=undated)
        return Window(None, None, None, "none", undated=undated)
    low, high, outliers, farthest, full = _bulk(stamps)
    span_days = Decimal(high - low) / NS_PER_DAY if high > low else None
    start, end = _datetime(low, is_relative), _datetime(high, is_relative)
    first_outlier = _datetime(farthest, is_relative) if outliers else None
    with_outliers = Decimal(full) / NS_PER_DAY if outliers else None
    common = Window(
        start,
        end,
        None,
        "none",
        dated=stamps.total,
        undated=undated,
        outliers=outliers,
        days_with_outliers=with_outliers,
        first_outlier=first_outlier,
    )
    if days is not None:
        return replace(common, days=days, source="--days")
    if span_days is None:
        return common
    return replace(
        common, days=span_days, source="timestamps", too_short=high - low < REFUSE_BELOW_NS
    )


@dataclass
class PriceTimes:
    """What the price-table freshness checks need of one entry's dated requests."""

    newest: int | None = None
    early: int = 0
    """Requests dated before the entry's first known price."""
    earliest_early: int | None = None

    def merge(self, other: PriceTimes) -> PriceTimes:
        return PriceTimes(
            _extreme(max, self.newest, other.newest),
            self.early + other.early,
            _extreme(min, self.earliest_early, other.earliest_early),
        )


def _extreme(pick: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return int(pick(a, b))


@dataclass
class Partial:
    """The analysis of some requests, reduced to what merges exactly (see the module docstring)."""

    group_by: tuple[str, ...]
    rows: int = 0
    lines: dict[LineKey, BilledTokens] = field(default_factory=dict)
    timed: dict[TimedKey, BilledTokens] = field(default_factory=dict)
    model_order: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Each model's first appearance (partition, position): the whole table's category order."""
    inputs: dict[str, ValueCounts] = field(default_factory=dict)
    outputs: dict[str, ValueCounts] = field(default_factory=dict)
    class_inputs: dict[int, ValueCounts] = field(default_factory=dict)
    class_outputs: dict[int, ValueCounts] = field(default_factory=dict)
    class_counts: Counter[int] = field(default_factory=Counter)
    scores: ValueCounts = field(default_factory=lambda: _empty_counts(np.float64))
    score_sum: list[float] = field(default_factory=list)
    sources: Counter[int] = field(default_factory=Counter)
    absolute: HourStamps = field(default_factory=HourStamps.none)
    relative: HourStamps = field(default_factory=HourStamps.none)
    undated: int = 0
    price_times: dict[str, PriceTimes] = field(default_factory=dict)
    group_classes: dict[tuple[str | None, ...], Counter[int]] = field(default_factory=dict)
    group_keys: set[str] = field(default_factory=set)
    """Grouping fields the logs have (the keys `--group-by` may name)."""
    group_order: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """Each grouping value's first appearance, per key (the order rows over time are listed in)."""

    def merge(self, other: Partial) -> Partial:
        """Both partials as one (`other`'s requests come after this one's)."""
        merged = Partial(self.group_by, self.rows + other.rows)
        merged.lines = _add_tokens(self.lines, other.lines)
        merged.timed = _add_tokens(self.timed, other.timed)
        merged.model_order = dict(self.model_order)
        for name, rank in other.model_order.items():
            merged.model_order[name] = min(rank, merged.model_order.get(name, rank))
        merged.inputs = _merge_counts(self.inputs, other.inputs)
        merged.outputs = _merge_counts(self.outputs, other.outputs)
        merged.class_inputs = _merge_counts(self.class_inputs, other.class_inputs)
        merged.class_outputs = _merge_counts(self.class_outputs, other.class_outputs)
        merged.class_counts = self.class_counts + other.class_counts
        merged.scores = self.scores.merge(other.scores)
        merged.score_sum = self.score_sum + other.score_sum
        merged.sources = self.sources + other.sources
        merged.absolute = self.absolute.merge(other.absolute)
        merged.relative = self.relative.merge(other.relative)
        merged.undated = self.undated + other.undated
        merged.price_times = dict(self.price_times)
        for price_id, times in other.price_times.items():
            mine = merged.price_times.get(price_id)
            merged.price_times[price_id] = times if mine is None else mine.merge(times)
        merged.group_classes = {key: Counter(value) for key, value in self.group_classes.items()}
        for key, counts in other.group_classes.items():
            merged.group_classes.setdefault(key, Counter()).update(counts)
        merged.group_keys = self.group_keys | other.group_keys
        merged.group_order = {name: dict(order) for name, order in self.group_order.items()}
        for name, order in other.group_order.items():
            first_seen = merged.group_order.setdefault(name, {})
            for value, rank in order.items():
                first_seen[value] = min(rank, first_seen.get(value, rank))
        return merged


def _add_tokens(
    mine: dict[Key, BilledTokens], other: dict[Key, BilledTokens]
) -> dict[Key, BilledTokens]:
    merged = dict(mine)
    for key, tokens in other.items():
        found = merged.get(key)
        merged[key] = tokens if found is None else _sum_tokens(found, tokens)
    return merged


def _sum_tokens(a: BilledTokens, b: BilledTokens) -> BilledTokens:
    return BilledTokens(
        requests=a.requests + b.requests,
        input=a.input + b.input,
        uncached_input=a.uncached_input + b.uncached_input,
        cached_input=a.cached_input + b.cached_input,
        cache_write_5m=a.cache_write_5m + b.cache_write_5m,
        cache_write_1h=a.cache_write_1h + b.cache_write_1h,
        output=a.output + b.output,
        reasoning=a.reasoning + b.reasoning,
        audio_input=a.audio_input + b.audio_input,
    )


def _merge_counts(
    mine: dict[Key, ValueCounts], other: dict[Key, ValueCounts]
) -> dict[Key, ValueCounts]:
    merged = dict(mine)
    for key, counts in other.items():
        found = merged.get(key)
        merged[key] = counts if found is None else found.merge(counts)
    return merged


def merge(partials: Iterable[Partial]) -> Partial | None:
    """All partials as one, in order (None when there are none)."""
    result: Partial | None = None
    for partial in partials:
        result = partial if result is None else result.merge(partial)
    return result


def partial(
    requests: RequestTable,
    table: PriceTable,
    group_by: Sequence[str] = (),
    *,
    index: int = 0,
    timeline: bool = True,
) -> Partial:
    """The partial analysis of one partition (`index`: its place among the partitions)."""
    result = Partial(tuple(group_by), len(requests))
    result.group_keys = set(available_keys(requests))
    if not len(requests):
        return result
    assignment = assign(requests, table)
    with_keys = _with_group_keys(requests, group_by, assignment, table)
    for group_key in group_by:
        names = with_keys.group(group_key).names
        result.group_order[group_key] = {
            name: (index, position) for position, name in enumerate(names)
        }
    for line in cost_lines(with_keys, table, assignment, by=group_by):
        key = (line.model, line.price_id, line.period, line.tier, line.batch, line.groups)
        result.lines[key] = line.tokens
    if timeline:
        result.timed = _timed_lines(requests, table, assignment)
    _add_distributions(result, requests, index)
    _add_times(result, requests, assignment, table)
    if group_by:
        for group in classes_by_group(with_keys, group_by):
            result.group_classes[group.key] = Counter(
                {i: group.classes[name] for i, name in enumerate(CLASS_NAMES)}
            )
            unscored = group.requests - group.scored
            if unscored:
                result.group_classes[group.key][-1] = unscored
    return result


def _with_group_keys(
    requests: RequestTable,
    group_by: Sequence[str],
    assignment: PriceAssignment,
    table: PriceTable,
) -> RequestTable:
    """The partition with a column per group key; a field this partition lacks is all missing (a
    later partition may have it; `finish` checks the key exists at all)."""
    for key in group_by:
        if key in TIME_KEYS and key not in requests.groups:
            requests = requests.with_group(key, _provisional_periods(requests, key))
        elif key not in requests.groups and key not in {"model", "provider", "source"}:
            requests = requests.with_group(key, Category.missing(len(requests)))
    return with_group_keys(requests, group_by, lambda: whole.provider_column(assignment, table))


def _provisional_periods(requests: RequestTable, unit: str) -> Category:
    """Each dated request's period number and kind of time, labelled in `finish`."""
    stamps = requests.timestamp_ns
    present = stamps != NAT
    codes = np.full(len(requests), -1, dtype=np.int32)
    names: list[str] = []
    for kind, rows in (
        ("a", present & ~requests.relative_time),
        ("r", present & requests.relative_time),
    ):
        if not rows.any():
            continue
        periods = period_numbers(stamps[rows], unit)
        unique, inverse = np.unique(periods, return_inverse=True)
        codes[rows] = inverse.reshape(-1).astype(np.int32) + len(names)
        names += [f"{PERIOD_TAG}{kind}:{int(period)}" for period in unique.tolist()]
    return Category(names, codes)


class _Periods:
    """Labels of the provisional period values, once the whole table's times are known: the kind
    that places the requests (absolute when any is), and its first period (relative labels count
    from it); periods of the other kind are no period at all, as for the whole table."""

    def __init__(self, partial: Partial) -> None:
        self.relative = not partial.absolute.total
        stamps = partial.relative if self.relative else partial.absolute
        self.first_stamp = int(stamps.first[0]) if stamps.total else None

    def label(self, unit: str, value: str | None) -> str | None:
        if value is None or not value.startswith(PERIOD_TAG):
            return value
        kind, _, number = value[len(PERIOD_TAG) :].partition(":")
        if (kind == "r") != self.relative or self.first_stamp is None:
            return None
        first = int(period_numbers(np.array([self.first_stamp], dtype=np.int64), unit)[0])
        return period_label(int(number), unit, self.relative, first)

    @staticmethod
    def number(value: str) -> int:
        return int(value.rpartition(":")[2])


def _timed_lines(
    requests: RequestTable, table: PriceTable, assignment: PriceAssignment
) -> dict[TimedKey, BilledTokens]:
    """Token sums per (relative, clock hour, price key), for the cost over time."""
    stamps = requests.timestamp_ns
    timed: dict[TimedKey, BilledTokens] = {}
    for relative in (False, True):
        rows = (stamps != NAT) & (requests.relative_time == relative)
        if not rows.any():
            continue
        hours = np.where(rows, stamps // NS_PER_HOUR, 0)
        unique, codes = np.unique(hours[rows], return_inverse=True)
        column = np.full(len(requests), -1, dtype=np.int32)
        column[rows] = codes.reshape(-1)
        names = [str(int(hour)) for hour in unique.tolist()]
        lines = aggregate_lines(requests, assignment, table, [Category(names, column)])
        for line in lines:
            if line.groups[0] is None:
                continue
            key = (
                relative,
                int(line.groups[0]),
                line.model,
                line.price_id,
                line.period,
                line.tier,
                line.batch,
            )
            timed[key] = line.tokens
    return timed


def _add_distributions(result: Partial, requests: RequestTable, index: int) -> None:
    inputs = requests.tokens["input_tokens"]
    outputs = requests.tokens["output_tokens"]
    result.inputs[ALL] = ValueCounts.of(inputs)
    result.outputs[ALL] = ValueCounts.of(outputs)
    model = requests.model
    for position, name in enumerate(model.names):
        result.model_order[name] = (index, position)
    for code in model.present_codes():
        rows = model.codes == code
        result.inputs[model.names[code]] = ValueCounts.of(inputs[rows])
        result.outputs[model.names[code]] = ValueCounts.of(outputs[rows])
    scores = requests.complexity.astype(np.float64)
    classes = complexity_classes(scores)
    for code in distinct(classes).tolist():
        rows = classes == code
        result.class_counts[int(code)] = int(rows.sum())
        result.class_inputs[int(code)] = ValueCounts.of(inputs[rows])
        result.class_outputs[int(code)] = ValueCounts.of(outputs[rows])
    known = scores[~np.isnan(scores)]
    result.scores = ValueCounts.of(known)
    totals = requests.tokens["input_tokens"] + requests.tokens["output_tokens"]
    for code in range(len(TOKEN_SOURCES)):
        result.sources[code] = exact_sum(totals[requests.token_source == code])


def _add_times(
    result: Partial,
    requests: RequestTable,
    assignment: PriceAssignment,
    table: PriceTable,
) -> None:
    stamps = requests.timestamp_ns
    present = stamps != NAT
    result.undated = int((~present).sum())
    result.absolute = HourStamps.of(stamps[present & ~requests.relative_time])
    result.relative = HourStamps.of(stamps[present & requests.relative_time])
    for code, price_id in enumerate(assignment.price_ids):
        dated = stamps[(assignment.price_code == code) & present & ~requests.relative_time]
        if not len(dated) or price_id not in table.models:
            continue
        times = PriceTimes(newest=int(dated.max()))
        first_day = table.models[price_id].available_from
        if first_day is not None:
            early = dated[dated < _day_start_ns(first_day)]
            if len(early):
                times = PriceTimes(times.newest, len(early), int(early.min()))
        result.price_times[price_id] = times


def _cost_lines(partial: Partial, table: PriceTable) -> list[CostLine]:
    """The merged price keys as cost lines: one Decimal multiplication per key."""
    lines = []
    for (model, price_id, period, tier, batch, groups), tokens in partial.lines.items():
        rates = class_rates(table.models[price_id], period, tier, batch) if price_id else None
        lines.append(
            CostLine(
                model=model,
                price_id=price_id,
                period=period,
                tier=tier,
                batch=batch,
                groups=groups,
                tokens=tokens,
                cost=rates.cost(tokens) if rates is not None else None,
            )
        )
    return lines


def _freshness(partial: Partial, table: PriceTable) -> list[FreshnessWarning]:
    """`freshness.freshness_warnings` from per-entry newest and early stamps."""
    warnings: list[FreshnessWarning] = []
    newest = max(
        (times.newest for times in partial.price_times.values() if times.newest is not None),
        default=None,
    )
    if newest is not None:
        stale = stale_table_warning(table.effective, utc_datetime(newest).date())
        if stale is not None:
            warnings.append(stale)
    for price_id in sorted(partial.price_times):
        times = partial.price_times[price_id]
        if times.early and times.earliest_early is not None:
            stand_in = np.full(times.early, times.earliest_early, dtype=np.int64)
            early = before_first_price_warning(table, price_id, stand_in)
            if early is not None:
                warnings.append(early)
    return warnings


def _cost_over_time(partial: Partial, table: PriceTable) -> CostOverTime:
    """`breakdown.cost_over_time` from token sums per clock hour and price key."""
    relative = not partial.absolute.total
    stamps = partial.relative if relative else partial.absolute
    undated = partial.rows - stamps.total
    if not stamps.total:
        return CostOverTime("day", relative, [], undated)
    span = int(stamps.last[-1]) - int(stamps.first[0])
    unit: Literal["day", "hour"] = "hour" if span <= HOURLY_UP_TO_DAYS * NS_PER_DAY else "day"
    width = NS_PER_HOUR if unit == "hour" else NS_PER_DAY
    per_key: dict[tuple[int, str, str | None, int, int, bool], BilledTokens] = {}
    for (
        is_relative,
        hour,
        model,
        price_id,
        price_period,
        tier,
        batch,
    ), tokens in partial.timed.items():
        if is_relative != relative:
            continue
        period = hour if unit == "hour" else (hour * NS_PER_HOUR) // NS_PER_DAY
        key = (period, model, price_id, price_period, tier, batch)
        found = per_key.get(key)
        per_key[key] = tokens if found is None else _sum_tokens(found, tokens)
    counts: Counter[int] = Counter()
    costs: dict[int, dict[str, Decimal]] = {}
    for (period, model, price_id, price_period, tier, batch), tokens in per_key.items():
        counts[period] += tokens.requests
        costs.setdefault(period, {})
        rates = class_rates(table.models[price_id], price_period, tier, batch) if price_id else None
        if rates is not None:
            by_model = costs[period]
            by_model[model] = by_model.get(model, Decimal(0)) + rates.cost(tokens)
    return CostOverTime(
        unit=unit,
        relative=relative,
        periods=[
            CostPeriod(
                start=utc_datetime(period * width),
                requests=counts[period],
                cost=sum(costs[period].values(), Decimal(0)),
                models=model_costs(costs[period], no_monthly),
            )
            for period in sorted(counts)
        ],
        undated_requests=undated,
    )


def _complexity(partial: Partial) -> whole.ComplexityReport:
    scores = partial.scores
    scored = scores.total
    histogram = (
        np.histogram(
            scores.values, bins=whole.HISTOGRAM_BINS, range=(0.0, 1.0), weights=scores.counts
        )[0]
        if scored
        else None
    )
    empty = _empty_counts(np.int64)
    return whole.ComplexityReport(
        scored=scored,
        unscored=partial.rows - scored,
        classes={name: partial.class_counts.get(i, 0) for i, name in enumerate(CLASS_NAMES)},
        histogram=[round(value) for value in histogram]
        if histogram is not None
        else [0] * whole.HISTOGRAM_BINS,
        mean=math.fsum((scores.values.astype(np.float64) * scores.counts).tolist()) / scored
        if scored
        else None,
        percentiles=percentiles(scores) if scored else {},
        input_by_class={
            name: distribution(partial.class_inputs.get(i, empty))
            for i, name in enumerate(CLASS_NAMES)
        },
        output_by_class={
            name: distribution(partial.class_outputs.get(i, empty))
            for i, name in enumerate(CLASS_NAMES)
        },
    )


def _log_histogram(population: ValueCounts, bins: int = 30) -> whole.Histogram:
    """`analysis.log_histogram` from value counts."""
    clipped = np.maximum(population.values.astype(np.int64), 1)
    top = float(clipped.max()) + 1 if len(clipped) else 2.0
    edges = np.geomspace(1.0, max(top, 2.0), bins + 1)
    counts, _ = np.histogram(clipped, bins=edges, weights=population.counts)
    return whole.Histogram(
        edges=[float(edge) for edge in edges], counts=[round(value) for value in counts]
    )


def _hourly(partial: Partial) -> list[tuple[datetime, int]]:
    both = partial.absolute.merge(partial.relative)
    if not both.total:
        return []
    first = int(both.hours[0])
    counts = np.zeros(int(both.hours[-1]) - first + 1, dtype=np.int64)
    counts[both.hours - first] = both.counts
    return [
        (utc_datetime((first + offset) * NS_PER_HOUR), int(value))
        for offset, value in enumerate(counts.tolist())
    ]


def _distributions(
    partial: Partial, counts: dict[str, ValueCounts]
) -> dict[str, whole.TokenPercentiles]:
    ordered = sorted((name for name in counts if name != ALL), key=partial.model_order.__getitem__)
    empty = _empty_counts(np.int64)
    result = {ALL: distribution(counts.get(ALL, empty))}
    for name in ordered:
        result[name] = distribution(counts[name])
    return result


def _group_classes(partial: Partial) -> list[GroupClasses]:
    result = []
    for key, counts in partial.group_classes.items():
        per_class = {name: counts.get(i, 0) for i, name in enumerate(CLASS_NAMES)}
        scored = sum(per_class.values())
        result.append(GroupClasses(key, scored + counts.get(-1, 0), scored, per_class))
    result.sort(key=lambda group: (-group.requests, tuple(str(value) for value in group.key)))
    return result


def finish(
    partial: Partial | None,
    table: PriceTable,
    facts: whole.IngestFacts,
    *,
    group_by: Sequence[str] = (),
    days: Decimal | None = None,
    timeline: bool = True,
) -> whole.Analysis:
    """The analysis the merged partials describe: the same as `analysis.analyze` of the whole table."""
    partial = partial or Partial(tuple(group_by))
    for key in group_by:
        if key not in BUILT_IN_KEYS and key not in partial.group_keys:
            raise UnknownGroupKey(key, _available(partial))
    over_time = any(key in TIME_KEYS for key in group_by)
    order = None
    if over_time:
        order = _time_order(partial, group_by)
        partial = _labelled(partial, group_by)
    lines = _cost_lines(partial, table)
    window = observed_window(partial.absolute, partial.relative, partial.undated, days)
    total = total_cost(lines)
    priced = sum(line.tokens.requests for line in lines if line.cost is not None)
    skipped = sum(facts.skipped.values())
    return whole.Analysis(
        records_read=facts.records_read,
        records_priced=priced,
        records_unpriced=partial.rows - priced,
        records_skipped=skipped,
        window=window,
        tokens=whole._totals(lines),
        total_cost=total,
        monthly_cost=whole.monthly(total, window),
        models=whole._rows(lines, window, by_groups=False),
        groups=whole._rows(lines, window, by_groups=True, order=order) if group_by else [],
        group_by=tuple(group_by),
        input_tokens=_distributions(partial, partial.inputs),
        output_tokens=_distributions(partial, partial.outputs),
        complexity=_complexity(partial),
        token_sources={
            name: partial.sources.get(code, 0) for code, name in enumerate(TOKEN_SOURCES)
        },
        token_histograms={
            "input": _log_histogram(partial.inputs.get(ALL, _empty_counts(np.int64))),
            "output": _log_histogram(partial.outputs.get(ALL, _empty_counts(np.int64))),
        },
        hourly_requests=_hourly(partial),
        problems=whole._problems(lines, facts, _freshness(partial, table), window),
        estimated_encodings=facts.estimated_encodings,
        extrapolation_factor=extrapolation_factor(window),
        group_breakdowns=group_breakdowns(
            lines,
            group_by,
            (lambda _cost: None) if over_time else lambda cost: whole.monthly(cost, window),
        ),
        cost_over_time=_cost_over_time(partial, table) if timeline else None,
        complexity_by_group=_group_classes(partial),
    )


def _labelled(partial: Partial, group_by: Sequence[str]) -> Partial:
    """The partial with its provisional period values labelled (merging the keys that become one:
    periods of the kind that does not place the requests become no period)."""
    periods = _Periods(partial)

    def relabel(values: tuple[str | None, ...]) -> tuple[str | None, ...]:
        return tuple(
            periods.label(key, value) if key in TIME_KEYS else value
            for key, value in zip(group_by, values, strict=True)
        )

    labelled = replace(partial)
    labelled.lines = {}
    for (model, price_id, period, tier, batch, groups), tokens in partial.lines.items():
        key = (model, price_id, period, tier, batch, relabel(groups))
        found = labelled.lines.get(key)
        labelled.lines[key] = tokens if found is None else _sum_tokens(found, tokens)
    labelled.group_classes = {}
    for groups, counts in partial.group_classes.items():
        labelled.group_classes.setdefault(relabel(groups), Counter()).update(counts)
    return labelled


def _time_order(
    partial: Partial, group_by: Sequence[str]
) -> Callable[[tuple[str | None, ...]], tuple[int, ...]]:
    """`analysis._time_order` for labelled rows: periods in time order, providers by name, other
    values in the order they were first seen, rows without a value last."""
    periods = _Periods(partial)
    positions: list[dict[str, int]] = []
    for key in group_by:
        seen = partial.group_order.get(key, {})
        if key in TIME_KEYS:
            numbers = sorted(
                {_Periods.number(value) for value in seen if periods.label(key, value) is not None}
            )
            first = numbers[0] if numbers else 0
            places = {
                period_label(number, key, periods.relative, first): index
                for index, number in enumerate(numbers)
            }
        elif key == "provider":
            places = {name: index for index, name in enumerate(sorted(seen))}
        else:
            ordered = sorted(seen, key=seen.__getitem__)
            places = {name: index for index, name in enumerate(ordered)}
        positions.append(places)

    def rank(key: tuple[str | None, ...]) -> tuple[int, ...]:
        return tuple(
            places.get(value, len(places)) if value is not None else len(places) + 1
            for places, value in zip(positions, key, strict=True)
        )

    return rank


def _available(partial: Partial) -> list[str]:
    return [*BUILT_IN_KEYS, *sorted(key for key in partial.group_keys if key not in BUILT_IN_KEYS)]
