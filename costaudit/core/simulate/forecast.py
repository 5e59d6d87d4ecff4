"""Monthly cost forecasts: each scenario's cost month by month as the traffic grows.

Month 1 is the simulated month. In month m the traffic is (1 + g)^(m − 1) times it, g the workload's
monthly growth — declared (`growth: {monthly: 8%}`) or fitted to the logs' daily token totals (a
log-linear least-squares trend over the whole days of the window). Token costs and per-request extras
grow with the traffic; a self-hosted fleet is sized again for each month's arrivals (replicas are steps,
so its cost does not grow smoothly); an amortised training bill is paid for its amortisation months and
then stops. Prompt-cache hit rates are held at the simulated month's (more traffic usually means more
hits, so the forecast errs on the expensive side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from costaudit.core.fleet import fleet_cost
from costaudit.core.request_table import NAT, RequestTable
from costaudit.core.simulate.state import FixedCost

SECONDS_PER_DAY = 86_400
MIN_FIT_DAYS = 7
PCT_QUANTUM = Decimal("0.01")


@dataclass(frozen=True)
class ScenarioForecast:
    name: str
    monthly_usd: list[Decimal | None]
    """Cost in months 1 … N."""
    total_usd: Decimal | None
    """Sum over the N months."""
    cumulative_savings_usd: Decimal | None
    """Baseline's total minus this scenario's total over the N months."""


@dataclass(frozen=True)
class Forecast:
    months: int
    growth_monthly_pct: Decimal
    growth_source: str
    """`declared` (the scenario file), `fitted` (the logs' daily totals) or `none` (flat)."""
    scenarios: list[ScenarioForecast]


@dataclass(frozen=True)
class CostParts:
    """A scenario's monthly cost split by how it grows with traffic."""

    variable_usd: Decimal | None
    """Token costs and per-request extras: proportional to traffic."""
    fixed: list[FixedCost]


class GrowthFitError(ValueError):
    """The logs cannot support a fitted growth trend (too short, undated)."""


def fitted_growth(requests: RequestTable, days_per_month: Decimal) -> Decimal:
    """Monthly growth in percent from a log-linear fit of the daily token totals over whole days."""
    stamps = requests.timestamp_ns
    dated = (stamps != NAT) & ~requests.relative_time
    if not dated.any():
        raise GrowthFitError("`fitted` growth needs dated logs: these requests have no timestamps")
    day = (stamps[dated] // (SECONDS_PER_DAY * 1_000_000_000)).astype(np.int64)
    tokens = (
        requests.tokens["input_tokens"][dated] + requests.tokens["output_tokens"][dated]
    ).astype(np.float64)
    first, last = int(day.min()), int(day.max())
    totals = np.bincount(day - first, weights=tokens, minlength=last - first + 1)
    whole = totals[1:-1]
    if whole.size < MIN_FIT_DAYS:
        raise GrowthFitError(
            f"`fitted` growth needs at least {MIN_FIT_DAYS} whole days of logs; these cover "
            f"{whole.size} (give the growth instead, e.g. `monthly: 8%`)"
        )
    positive = whole > 0
    x = np.flatnonzero(positive).astype(np.float64)
    slope = float(np.polyfit(x, np.log(whole[positive]), 1)[0])
    monthly = math.expm1(slope * float(days_per_month)) * 100
    return Decimal(repr(monthly)).quantize(PCT_QUANTUM)


def _fixed_in_month(cost: FixedCost, month: int, factor: float) -> Decimal:
    if cost.months is not None and month > cost.months:
        return Decimal(0)
    if cost.fleet is None or factor == 1:
        return cost.monthly_usd
    fleet = cost.fleet
    return fleet_cost(
        fleet.arrivals * factor, fleet.bin_seconds, fleet.capacity, fleet.hardware, fleet.policy
    ).monthly_usd


def monthly_series(parts: CostParts, months: int, growth_pct: Decimal) -> list[Decimal | None]:
    """Cost in months 1 … `months` with traffic growing by `growth_pct` per month."""
    if parts.variable_usd is None:
        return [None] * months
    series: list[Decimal | None] = []
    for month in range(1, months + 1):
        factor = (1 + growth_pct / 100) ** (month - 1)
        fixed = sum(
            (_fixed_in_month(cost, month, float(factor)) for cost in parts.fixed), Decimal(0)
        )
        series.append(parts.variable_usd * factor + fixed)
    return series


def _total(values: list[Decimal | None]) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if len(known) == len(values) else None


def _difference(base: Decimal | None, other: Decimal | None) -> Decimal | None:
    return None if base is None or other is None else base - other


def forecast(
    parts: dict[str, CostParts],
    baseline: str,
    months: int,
    growth_pct: Decimal,
    growth_source: str,
) -> Forecast:
    """Every scenario's monthly series, its total and its cumulative saving against the baseline."""
    series = {name: monthly_series(part, months, growth_pct) for name, part in parts.items()}
    totals = {name: _total(values) for name, values in series.items()}
    base_total = totals.get(baseline)
    return Forecast(
        months=months,
        growth_monthly_pct=growth_pct,
        growth_source=growth_source,
        scenarios=[
            ScenarioForecast(
                name=name,
                monthly_usd=values,
                total_usd=totals[name],
                cumulative_savings_usd=_difference(base_total, totals[name]),
            )
            for name, values in series.items()
        ],
    )
