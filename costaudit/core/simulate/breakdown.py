"""Where a scenario's monthly cost goes: per model and per grouping value (feature, user, tags, …).

Every part of the monthly figure is attributed, so the rows of each breakdown add up to the scenario's
total: token costs to the model and groups of the requests that incur them; per-request extras (router,
cache lookups) to the requests they were spent on; a fleet to its self-hosted model and, between groups,
in proportion to the tokens each group sends it; an amortised training bill to the tuned model and, the
same way, to the groups it serves. Request counts are API (or self-hosted) calls, scaled to the traffic a
sampled workload stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import NO_MODEL, CostLine, ModelResolver, aggregate_lines, assign
from costaudit.core.request_table import Category, RequestTable
from costaudit.core.simulate.select import UnknownField, field_column
from costaudit.core.simulate.state import Attribution, State, Workload
from costaudit.core.sums import exact_sum


@dataclass(frozen=True)
class ModelCost:
    model: str
    """The price-table entry (so a logged `gpt-4o-2024-08-06` and a routed `gpt-4o` are one row), the
    logged name when it has none, or a self-hosted fleet."""
    requests: int
    monthly_usd: Decimal | None
    unpriced_requests: int


@dataclass(frozen=True)
class GroupCost:
    group: str | None
    """The grouping value (None: requests without one)."""
    requests: int
    monthly_usd: Decimal | None
    unpriced_requests: int


@dataclass(frozen=True)
class Breakdown:
    models: list[ModelCost]
    groups: dict[str, list[GroupCost]]
    """Per `--group-by` field, its values' costs."""


@dataclass
class _Sums:
    requests: int = 0
    usd: Decimal = Decimal(0)
    unpriced: int = 0


class _Ledger:
    """Costs per key, accumulated over the window (scaled to a month at the end)."""

    def __init__(self) -> None:
        self.rows: dict[str | None, _Sums] = {}

    def add(self, key: str | None, requests: int, usd: Decimal, unpriced: int = 0) -> None:
        sums = self.rows.setdefault(key, _Sums())
        sums.requests += requests
        sums.usd += usd
        sums.unpriced += unpriced


def _column(requests: RequestTable, key: str, resolver: ModelResolver) -> Category:
    column = field_column(requests, key, resolver)
    if column is None:
        raise UnknownField(key, requests)
    return column


def _attribution_column(paid_by: Attribution, key: str, resolver: ModelResolver) -> Category:
    if key == "provider" and "provider" not in paid_by.groups:
        names = []
        for name in paid_by.model.names:
            price_id = resolver.resolve(name)
            names.append(resolver.table.models[price_id].provider if price_id else None)
        known = sorted({name for name in names if name is not None})
        lookup = np.array(
            [known.index(name) if name is not None else -1 for name in names] + [-1],
            dtype=np.int32,
        )
        return Category(known, lookup[paid_by.model.codes])
    return paid_by.group(key)


def _shares(column: Category, weights: np.ndarray) -> Iterable[tuple[str | None, int, Decimal]]:
    """(value, rows, share of the weights) per value of a column; equal shares when all weights are 0."""
    codes = column.codes
    total = exact_sum(weights)
    for code in sorted(set(codes.tolist())):
        mask = codes == code
        part = exact_sum(weights[mask])
        share = Decimal(part) / Decimal(total) if total else Decimal(int(mask.sum())) / len(codes)
        yield (column.names[code] if code >= 0 else None), int(mask.sum()), share


class _Scale:
    """Window dollars → monthly dollars for a workload (None when the window is unknown)."""

    def __init__(self, workload: Workload, days_per_month: Decimal) -> None:
        days = workload.days
        self.factor = None if days is None else workload.weight * days_per_month / days
        self.workload = workload

    def monthly(self, window_usd: Decimal) -> Decimal | None:
        return None if self.factor is None else window_usd * self.factor


def _token_lines(
    state: State, table: PriceTable, key: str | None, resolver: ModelResolver
) -> list[CostLine]:
    requests = state.requests
    groups = [_column(requests, key, resolver)] if key is not None else []
    return aggregate_lines(requests, assign(requests, table, resolver), table, groups)


def _rows(
    ledger: _Ledger, scale: _Scale, fixed: _Ledger
) -> list[tuple[str | None, _Sums, Decimal | None]]:
    keys = list(dict.fromkeys([*ledger.rows, *fixed.rows]))
    out = []
    for key in keys:
        window = ledger.rows.get(key, _Sums())
        monthly_fixed = fixed.rows.get(key, _Sums())
        monthly = scale.monthly(window.usd)
        if monthly is not None:
            monthly += monthly_fixed.usd
        sums = _Sums(
            scale.workload.represented(window.requests) + monthly_fixed.requests,
            window.usd,
            scale.workload.represented(window.unpriced),
        )
        out.append((key, sums, monthly))
    return sorted(out, key=lambda row: (-(row[2] or Decimal(0)), str(row[0])))


def _by_model(
    state: State, table: PriceTable, scale: _Scale, resolver: ModelResolver
) -> list[ModelCost]:
    window, fixed = _Ledger(), _Ledger()
    for line in _token_lines(state, table, None, resolver):
        priced = line.cost is not None
        window.add(
            line.price_id or line.model,
            line.tokens.requests,
            line.cost or Decimal(0),
            0 if priced else line.tokens.requests,
        )
    for charge in state.charges:
        model = charge.paid_by.model
        for code in sorted(set(model.codes.tolist())):
            count = int((model.codes == code).sum())
            name = model.names[code] if code >= 0 else NO_MODEL
            window.add(resolver.resolve(name) or name, 0, charge.usd_per_request * count)
    for cost in state.fixed:
        hosted = scale.workload.represented(len(cost.paid_by.tokens)) if cost.fleet else 0
        fixed.add(cost.label, hosted, cost.monthly_usd)
    return [
        ModelCost(str(key), sums.requests, monthly, sums.unpriced)
        for key, sums, monthly in _rows(window, scale, fixed)
    ]


def _by_group(
    state: State, table: PriceTable, key: str, scale: _Scale, resolver: ModelResolver
) -> list[GroupCost]:
    window, fixed = _Ledger(), _Ledger()
    for line in _token_lines(state, table, key, resolver):
        priced = line.cost is not None
        window.add(
            line.groups[0],
            line.tokens.requests,
            line.cost or Decimal(0),
            0 if priced else line.tokens.requests,
        )
    for charge in state.charges:
        column = _attribution_column(charge.paid_by, key, resolver)
        for value, count, _ in _shares(column, np.ones(len(column.codes), dtype=np.int64)):
            window.add(value, 0, charge.usd_per_request * count)
    for cost in state.fixed:
        column = _attribution_column(cost.paid_by, key, resolver)
        for value, count, share in _shares(column, cost.paid_by.tokens):
            hosted = scale.workload.represented(count) if cost.fleet else 0
            fixed.add(value, hosted, cost.monthly_usd * share)
    return [
        GroupCost(value, sums.requests, monthly, sums.unpriced)
        for value, sums, monthly in _rows(window, scale, fixed)
    ]


def breakdown(
    state: State,
    base_table: PriceTable,
    workload: Workload,
    days_per_month: Decimal,
    group_by: Sequence[str],
) -> Breakdown:
    """The scenario's monthly cost per model and per value of each `group_by` field."""
    table = state.table or base_table
    resolver = ModelResolver(table)
    scale = _Scale(workload, days_per_month)
    return Breakdown(
        models=_by_model(state, table, scale, resolver),
        groups={key: _by_group(state, table, key, scale, resolver) for key in group_by},
    )
