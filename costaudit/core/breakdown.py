"""Where the money goes, split for charts: each group value's cost by model, and cost over time.

Both splits are sums of exact cost lines (integer tokens × Decimal prices), so the segments of a stacked
bar add up to the figure the tables print, to the last digit. Unpriced requests have no cost and appear
in no segment (the report counts them separately).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import CostLine, PriceAssignment, aggregate_lines
from costaudit.core.request_table import NAT, Category, RequestTable, utc_datetime

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
HOURLY_UP_TO_DAYS = 2
"""Traffic spanning at most this many days is shown per hour; longer traffic per day."""


@dataclass(frozen=True)
class ModelCost:
    """One model's share of a bar."""

    model: str
    cost: Decimal
    monthly: Decimal | None


@dataclass(frozen=True)
class StackedRow:
    """One value of a grouping key (a feature, a user…) and its cost split by model, biggest first."""

    value: str | None
    cost: Decimal
    monthly: Decimal | None
    models: list[ModelCost]


@dataclass(frozen=True)
class GroupBreakdown:
    """Cost by the values of one `--group-by` key, biggest first."""

    key: str
    rows: list[StackedRow]


@dataclass(frozen=True)
class CostPeriod:
    """The cost of the requests that started in one day or hour, split by model."""

    start: datetime
    """Start of the period (UTC); for relative trace times, the epoch is the start of the trace."""
    requests: int
    cost: Decimal
    models: list[ModelCost]


@dataclass(frozen=True)
class CostOverTime:
    unit: Literal["day", "hour"]
    relative: bool
    """True when the times are offsets from the start of a trace, not dates."""
    periods: list[CostPeriod]
    """Periods that have requests, in time order."""
    undated_requests: int
    """Requests without a usable timestamp, which no period contains."""


ToMonthly = Callable[[Decimal], Decimal | None]
"""A window's cost as a monthly figure (None when the window has no length)."""


def _no_monthly(_cost: Decimal) -> None:
    return None


def _models(costs: dict[str, Decimal], to_monthly: ToMonthly) -> list[ModelCost]:
    ordered = sorted(costs.items(), key=lambda item: (-item[1], item[0]))
    return [ModelCost(model, cost, to_monthly(cost)) for model, cost in ordered]


def _stacked_row(
    value: str | None, by_model: dict[str, Decimal], to_monthly: ToMonthly
) -> StackedRow:
    cost = sum(by_model.values(), Decimal(0))
    return StackedRow(value, cost, to_monthly(cost), _models(by_model, to_monthly))


def group_breakdowns(
    lines: Sequence[CostLine], group_by: Sequence[str], to_monthly: ToMonthly
) -> list[GroupBreakdown]:
    """For each grouping key, each value's priced cost by model (lines grouped by `group_by`)."""
    breakdowns = []
    for index, key in enumerate(group_by):
        costs: dict[str | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for line in lines:
            if line.cost is not None:
                costs[line.groups[index]][line.model] += line.cost
        rows = [_stacked_row(value, by_model, to_monthly) for value, by_model in costs.items()]
        rows.sort(key=lambda row: (-row.cost, row.value is None, str(row.value)))
        breakdowns.append(GroupBreakdown(key, rows))
    return breakdowns


def _dated_rows(requests: RequestTable) -> tuple[npt.NDArray[np.bool_], bool]:
    """Rows whose times place them: absolute timestamps when any exist, else relative trace times."""
    present = requests.timestamp_ns != NAT
    absolute = present & ~requests.relative_time
    if absolute.any():
        return absolute, False
    return present & requests.relative_time, True


def cost_over_time(
    requests: RequestTable, table: PriceTable, assignment: PriceAssignment
) -> CostOverTime:
    """Cost per UTC day (per hour when the traffic spans two days or less), split by model."""
    dated, relative = _dated_rows(requests)
    undated = int((~dated).sum())
    stamps = requests.timestamp_ns[dated]
    if not len(stamps):
        return CostOverTime("day", relative, [], undated)
    span = int(stamps.max()) - int(stamps.min())
    unit: Literal["day", "hour"] = "hour" if span <= HOURLY_UP_TO_DAYS * NS_PER_DAY else "day"
    width = NS_PER_HOUR if unit == "hour" else NS_PER_DAY
    first = int(stamps.min()) // width
    offsets = stamps // width - first
    present = np.flatnonzero(np.bincount(offsets))
    code_of = np.full(int(offsets.max()) + 1, -1, dtype=np.int32)
    code_of[present] = np.arange(len(present), dtype=np.int32)
    column = np.full(len(requests), -1, dtype=np.int32)
    column[dated] = code_of[offsets]
    names = [str(first + offset) for offset in present.tolist()]
    lines = aggregate_lines(requests, assignment, table, [Category(names, column)])
    per_period: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        name = line.groups[0]
        if name is None:
            continue
        counts[name] += line.tokens.requests
        if line.cost is not None:
            per_period[name][line.model] += line.cost
    return CostOverTime(
        unit=unit,
        relative=relative,
        periods=[
            CostPeriod(
                start=utc_datetime(int(name) * width),
                requests=counts[name],
                cost=sum(per_period[name].values(), Decimal(0)),
                models=_models(per_period[name], _no_monthly),
            )
            for name in names
        ],
        undated_requests=undated,
    )
