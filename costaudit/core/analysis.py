"""What a request table costs and what it looks like: totals, per model, per group, tokens, complexity.

Monthly cost = total cost × days-per-month (30) / window days, where the window is the span of the bulk
of the requests' timestamps unless the user gives `--days` (costaudit.core.window: outlier timestamps
are left out and reported; a window under a day warns with its extrapolation factor, one under an hour
gives no monthly figure without `--days`). Without timestamps and without `--days` there is no window,
so no monthly figure is printed (and the output says why) rather than a guessed one.

Groups (`--group-by`) are the keys of costaudit.core.grouping: built-in ones (model, provider, source,
hour/day/week) and the logs' own fields; an unknown key is an error naming the available ones. Rows of
an over-time key are in time order and carry no monthly figure (a day's cost is not a month's).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import PriceTable
from costaudit.core.breakdown import CostOverTime, GroupBreakdown, cost_over_time, group_breakdowns
from costaudit.core.columns import TOKEN_SOURCES
from costaudit.core.complexity import CLASS_NAMES, COMPLEX_FROM, SIMPLE_BELOW, complexity_classes
from costaudit.core.complexity_groups import GroupClasses, classes_by_group
from costaudit.core.freshness import FreshnessWarning, freshness_warnings, request_times
from costaudit.core.grouping import TIME_KEYS, UnknownGroupKey, available_keys, with_group_keys
from costaudit.core.pricing import (
    CostLine,
    PriceAssignment,
    PriceTableInfo,
    assign,
    cost_lines,
    total_cost,
)
from costaudit.core.request_table import NAT, Category, RequestTable, utc_datetime
from costaudit.core.sums import exact_sum
from costaudit.core.window import (
    DAYS_PER_MONTH,
    Window,
    extrapolation_factor,
    observed_window,
    window_warnings,
)

NS_PER_HOUR = 3_600_000_000_000
PERCENTILES = (50, 90, 99)
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class TokenTotals:
    input: int = 0
    cached_input: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0


@dataclass(frozen=True)
class CostRow:
    """One row of a per-model or per-group table."""

    key: tuple[str | None, ...]
    price_id: str | None
    requests: int
    tokens: TokenTotals
    cost: Decimal | None
    monthly: Decimal | None


@dataclass(frozen=True)
class TokenPercentiles:
    """Token-count percentiles of one population of requests."""

    requests: int
    mean: float
    percentiles: dict[int, float]
    maximum: int


@dataclass(frozen=True)
class ComplexityReport:
    scored: int
    unscored: int
    classes: dict[str, int]
    histogram: list[int]
    """Requests per score bin [0, 0.1), [0.1, 0.2), … [0.9, 1.0]."""
    mean: float | None
    percentiles: dict[int, float]
    input_by_class: dict[str, TokenPercentiles]
    output_by_class: dict[str, TokenPercentiles]


@dataclass(frozen=True)
class Histogram:
    edges: list[float]
    counts: list[int]


@dataclass(frozen=True)
class Problem:
    kind: str
    detail: str
    count: int
    examples: tuple[str, ...] = ()
    """Where it happened (`file:line`), for the first few skipped records."""


@dataclass(frozen=True)
class Analysis:
    """Everything `costaudit analyze` reports."""

    records_read: int
    records_priced: int
    records_unpriced: int
    records_skipped: int
    window: Window
    tokens: TokenTotals
    total_cost: Decimal
    monthly_cost: Decimal | None
    models: list[CostRow]
    groups: list[CostRow]
    group_by: tuple[str, ...]
    input_tokens: dict[str, TokenPercentiles]
    output_tokens: dict[str, TokenPercentiles]
    complexity: ComplexityReport
    token_sources: dict[str, int]
    token_histograms: dict[str, Histogram] = field(default_factory=dict)
    hourly_requests: list[tuple[datetime, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    estimated_encodings: tuple[str, ...] = ()
    """Tokenizers that were not available offline, so a stand-in counted their text."""
    pricing: PriceTableInfo | None = None
    """The price tables used (files, date, hash); filled in by the API, which loaded them."""
    extrapolation_factor: Decimal | None = None
    """Monthly = window cost × this (days per month / window days); None without a window. A window
    too short to extrapolate (`window.too_short`) has a factor but no monthly figure."""
    group_breakdowns: list[GroupBreakdown] = field(default_factory=list)
    """Each `--group-by` key's values with their cost split by model (for stacked bars)."""
    cost_over_time: CostOverTime | None = None
    """Cost per day (or hour) split by model."""
    complexity_by_group: list[GroupClasses] = field(default_factory=list)
    """Complexity classes per combination of the `--group-by` values."""


def monthly(
    cost: Decimal | None, window: Window, days_per_month: Decimal = DAYS_PER_MONTH
) -> Decimal | None:
    if cost is None or window.days is None or window.too_short:
        return None
    return cost * days_per_month / window.days


def percentiles(values: npt.NDArray[Any]) -> dict[int, float]:
    """PERCENTILES of `values` by linear interpolation between closest ranks (numpy's default
    method, computed the same way to the last bit), from one partial sort.

    Written out rather than calling `np.percentile`, which imports numpy.ma for a helper: a tenth of
    the work of a small `analyze` run."""
    count = len(values)
    share = np.asarray(PERCENTILES, dtype=np.float64) / 100
    virtual = (count - 1) * share
    lower = np.floor(virtual)
    upper = lower + 1
    beyond = virtual >= count - 1
    lower[beyond] = upper[beyond] = -1
    lower[virtual < 0] = upper[virtual < 0] = 0
    below, above = lower.astype(np.intp), upper.astype(np.intp)
    ranks = sorted({0, count - 1, *(below % count).tolist(), *(above % count).tolist()})
    ordered = np.partition(values, ranks)
    low, high = ordered[below], ordered[above]
    weight = virtual - below
    step = high - low
    points = np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)
    return {p: float(value) for p, value in zip(PERCENTILES, points.tolist(), strict=True)}


def _distribution(values: npt.NDArray[np.int64]) -> TokenPercentiles:
    if not len(values):
        return TokenPercentiles(0, 0.0, dict.fromkeys(PERCENTILES, 0.0), 0)
    return TokenPercentiles(
        requests=len(values),
        mean=float(values.mean()),
        percentiles=percentiles(values),
        maximum=int(values.max()),
    )


def _totals(lines: Sequence[CostLine]) -> TokenTotals:
    return TokenTotals(
        input=sum(line.tokens.input for line in lines),
        cached_input=sum(line.tokens.cached_input for line in lines),
        cache_write=sum(line.tokens.cache_write for line in lines),
        cache_write_1h=sum(line.tokens.cache_write_1h for line in lines),
        output=sum(line.tokens.output for line in lines),
        reasoning=sum(line.tokens.reasoning for line in lines),
    )


def _rows(
    lines: Sequence[CostLine],
    window: Window,
    *,
    by_groups: bool,
    order: Callable[[tuple[str | None, ...]], tuple[int, ...]] | None = None,
) -> list[CostRow]:
    """Rows by model or by group, biggest cost first; by `order` (time order) when given, and then
    without monthly figures (a period's cost is not a month's)."""
    buckets: dict[tuple[str | None, ...], list[CostLine]] = {}
    for line in lines:
        key = line.groups if by_groups else (line.model,)
        buckets.setdefault(key, []).append(line)
    rows = []
    for key, members in buckets.items():
        priced = [line for line in members if line.cost is not None]
        cost = total_cost(priced) if priced else None
        price_ids = {line.price_id for line in members}
        rows.append(
            CostRow(
                key=key,
                price_id=price_ids.pop() if len(price_ids) == 1 and not by_groups else None,
                requests=sum(line.tokens.requests for line in members),
                tokens=_totals(members),
                cost=cost,
                monthly=monthly(cost, window) if order is None else None,
            )
        )
    if order is not None:
        rows.sort(key=lambda row: order(row.key))
        return rows
    rows.sort(
        key=lambda row: (-(row.cost or Decimal(-1)), -row.requests, tuple(str(k) for k in row.key))
    )
    return rows


def _time_order(
    requests: RequestTable, group_by: Sequence[str]
) -> Callable[[tuple[str | None, ...]], tuple[int, ...]] | None:
    """Sort key of group rows when a key is an over-time one: by each key's category order (time
    order for periods, first-seen order for fields), rows without a value last."""
    if not any(key in TIME_KEYS for key in group_by):
        return None
    positions = [
        {name: index for index, name in enumerate(requests.group(key).names)} for key in group_by
    ]

    def rank(key: tuple[str | None, ...]) -> tuple[int, ...]:
        return tuple(
            places.get(value, len(places)) if value is not None else len(places) + 1
            for places, value in zip(positions, key, strict=True)
        )

    return rank


def _complexity(requests: RequestTable) -> ComplexityReport:
    scores = requests.complexity.astype(np.float64)
    classes = complexity_classes(scores)
    known = ~np.isnan(scores)
    histogram = (
        np.histogram(scores[known], bins=HISTOGRAM_BINS, range=(0.0, 1.0))[0]
        if known.any()
        else None
    )
    inputs = requests.tokens["input_tokens"]
    outputs = requests.tokens["output_tokens"]
    return ComplexityReport(
        scored=int(known.sum()),
        unscored=int((~known).sum()),
        classes={name: int((classes == index).sum()) for index, name in enumerate(CLASS_NAMES)},
        histogram=[int(value) for value in histogram]
        if histogram is not None
        else [0] * HISTOGRAM_BINS,
        mean=float(scores[known].mean()) if known.any() else None,
        percentiles=percentiles(scores[known]) if known.any() else {},
        input_by_class={
            name: _distribution(inputs[classes == i]) for i, name in enumerate(CLASS_NAMES)
        },
        output_by_class={
            name: _distribution(outputs[classes == i]) for i, name in enumerate(CLASS_NAMES)
        },
    )


def provider_column(assignment: PriceAssignment, table: PriceTable) -> Category:
    """Each request's provider according to the price table (missing when unpriced)."""
    providers = [table.models[price_id].provider for price_id in assignment.price_ids]
    names = sorted(set(providers))
    lookup = np.array([names.index(provider) for provider in providers] + [-1], dtype=np.int32)
    return Category(names, lookup[assignment.price_code])


def _per_model_distributions(requests: RequestTable, column: str) -> dict[str, TokenPercentiles]:
    values = requests.tokens[column]
    result = {"(all)": _distribution(values)}
    model = requests.model
    for code in model.present_codes():
        result[model.names[code]] = _distribution(values[model.codes == code])
    return result


def log_histogram(values: npt.NDArray[np.int64], bins: int = 30) -> Histogram:
    """Counts over geometrically spaced bins (token counts span orders of magnitude)."""
    clipped = np.maximum(values, 1)
    top = float(clipped.max()) + 1 if len(clipped) else 2.0
    edges = np.geomspace(1.0, max(top, 2.0), bins + 1)
    counts, _ = np.histogram(clipped, bins=edges)
    return Histogram(edges=[float(edge) for edge in edges], counts=[int(value) for value in counts])


def hourly_requests(requests: RequestTable) -> list[tuple[datetime, int]]:
    """Requests per clock hour (UTC), gaps filled with zeros; relative trace times start at the epoch."""
    stamps = requests.timestamp_ns
    hours = stamps[stamps != NAT] // NS_PER_HOUR
    if not len(hours):
        return []
    first = int(hours.min())
    counts = np.bincount(hours - first)
    return [
        (utc_datetime((first + offset) * NS_PER_HOUR), int(value))
        for offset, value in enumerate(counts.tolist())
    ]


def token_source_shares(requests: RequestTable) -> dict[str, int]:
    """Tokens (input + output) by where their counts came from: usage, tokenized or estimated."""
    totals = requests.tokens["input_tokens"] + requests.tokens["output_tokens"]
    return {
        name: exact_sum(totals[requests.token_source == code])
        for code, name in enumerate(TOKEN_SOURCES)
    }


def _problems(
    lines: Sequence[CostLine],
    facts: IngestFacts,
    freshness: Sequence[FreshnessWarning],
    window: Window,
) -> list[Problem]:
    problems: list[Problem] = []
    unpriced: Counter[str] = Counter()
    no_batch: Counter[str] = Counter()
    for line in lines:
        if line.price_id is None:
            unpriced[line.model] += line.tokens.requests
        elif line.cost is None:
            no_batch[line.price_id] += line.tokens.requests
    problems += [
        Problem("unpriced_model", model, count) for model, count in sorted(unpriced.items())
    ]
    problems += [
        Problem("no_batch_price", model, count) for model, count in sorted(no_batch.items())
    ]
    problems += [
        Problem(
            AGGREGATE if reason in facts.set_aside else "skipped",
            reason,
            count,
            tuple(facts.examples.get(reason, ())),
        )
        for reason, count in sorted(facts.skipped.items())
    ]
    problems += [
        Problem(warning.kind, warning.message, warning.requests or 1) for warning in freshness
    ]
    problems += [Problem("note", note, count) for note, count in sorted(facts.notes.items())]
    problems += [Problem(kind, detail, count) for kind, detail, count in window_warnings(window)]
    if window.days is None:
        problems.append(
            Problem(
                "no_window",
                "no timestamps span a time window: give --days to get a monthly cost",
                1,
            )
        )
    return problems


@dataclass(frozen=True)
class IngestFacts:
    """What reading the logs found that the analysis reports: counts, skips, notes, stand-ins."""

    records_read: int
    skipped: Counter[str]
    notes: Counter[str]
    examples: dict[str, list[str]] = field(default_factory=dict)
    """`file:line` of the first few records skipped for each reason."""
    estimated_encodings: tuple[str, ...] = ()
    set_aside: frozenset[str] = frozenset()
    """Reasons among `skipped` for records read but not billed by design (aggregate trace spans)."""


def analyze(
    requests: RequestTable,
    table: PriceTable,
    facts: IngestFacts,
    *,
    group_by: Sequence[str] = (),
    days: Decimal | None = None,
    timeline: bool = True,
) -> Analysis:
    """Price and describe a request table. `timeline=False` leaves out the cost per day or hour,
    which takes one more pricing pass (the HTML report and the plots show it; the tables do not)."""
    assignment = assign(requests, table)
    requests = with_group_keys(requests, group_by, lambda: provider_column(assignment, table))
    lines = cost_lines(requests, table, assignment, by=group_by)
    window = observed_window(requests, days)
    total = total_cost(lines)
    priced = sum(line.tokens.requests for line in lines if line.cost is not None)
    skipped = sum(facts.skipped.values())
    over_time = any(key in TIME_KEYS for key in group_by)
    return Analysis(
        records_read=facts.records_read,
        records_priced=priced,
        records_unpriced=len(requests) - priced,
        records_skipped=skipped,
        window=window,
        tokens=_totals(lines),
        total_cost=total,
        monthly_cost=monthly(total, window),
        models=_rows(lines, window, by_groups=False),
        groups=_rows(lines, window, by_groups=True, order=_time_order(requests, group_by))
        if group_by
        else [],
        group_by=tuple(group_by),
        input_tokens=_per_model_distributions(requests, "input_tokens"),
        output_tokens=_per_model_distributions(requests, "output_tokens"),
        complexity=_complexity(requests),
        token_sources=token_source_shares(requests),
        token_histograms={
            "input": log_histogram(requests.tokens["input_tokens"]),
            "output": log_histogram(requests.tokens["output_tokens"]),
        },
        hourly_requests=hourly_requests(requests),
        problems=_problems(
            lines, facts, freshness_warnings(table, request_times(requests, assignment)), window
        ),
        estimated_encodings=facts.estimated_encodings,
        extrapolation_factor=extrapolation_factor(window),
        group_breakdowns=group_breakdowns(
            lines,
            group_by,
            (lambda _cost: None) if over_time else lambda cost: monthly(cost, window),
        ),
        cost_over_time=cost_over_time(requests, table, assignment) if timeline else None,
        complexity_by_group=classes_by_group(requests, group_by),
    )


AGGREGATE = "aggregate"
"""Problem kind of trace spans read but not billed because their usage repeats their calls'."""

__all__ = [
    "COMPLEX_FROM",
    "SIMPLE_BELOW",
    "Analysis",
    "IngestFacts",
    "UnknownGroupKey",
    "Window",
    "analyze",
    "available_keys",
    "observed_window",
]
