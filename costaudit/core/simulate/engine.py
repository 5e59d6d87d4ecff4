"""Run every scenario of a file against its workload and compare monthly costs with the baseline.

Strategies apply in a fixed order (routing → response cache → prompt caching → batching → fine-tune →
hosting), whatever order their keys have in the YAML. Randomness (tie-breaks, random shares, Monte Carlo
draws) comes from generators seeded by the file's seed and the scenario's name, so the same inputs give
the same numbers, and reordering scenarios changes nothing.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import STRATEGY_ORDER, Routing, Scenario, ScenarioFile
from costaudit.core.parts import Fanout
from costaudit.core.pricing import PriceTableInfo
from costaudit.core.simulate.batching import apply_batching
from costaudit.core.simulate.breakdown import Breakdown, breakdown
from costaudit.core.simulate.caching import apply_prompt_cache, apply_response_cache
from costaudit.core.simulate.context import Context, Params, ScenarioProblem
from costaudit.core.simulate.details import OMIT_NONE, RoutingQuality, ScenarioDetails
from costaudit.core.simulate.forecast import (
    CostParts,
    Forecast,
    GrowthFitError,
    fitted_growth,
    forecast,
)
from costaudit.core.simulate.hosting import apply_fine_tune, apply_hosting
from costaudit.core.simulate.routing import apply_routing
from costaudit.core.simulate.state import Priced, State, Workload, initial_state, price_state

MILLION = Decimal(1_000_000)
THOUSAND = Decimal(1_000)
AS_LOGGED = "(as logged)"

Step = Callable[[State, Any, Context], None]
STEPS: dict[str, Step] = {
    "routing": apply_routing,
    "response_cache": apply_response_cache,
    "prompt_cache": apply_prompt_cache,
    "batching": apply_batching,
    "fine_tune": apply_fine_tune,
    "hosting": apply_hosting,
}


@dataclass(frozen=True)
class CurvePoint:
    """A two-tier router's monthly cost (and quality, when labels give it) at one strong share."""

    strong_share: float
    monthly_usd: Decimal | None
    quality: float | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class CostPercentiles:
    """P10/P50/P90 of the monthly cost over the Monte Carlo draws of a scenario with ranges."""

    p10: Decimal
    p50: Decimal
    p90: Decimal


@dataclass(frozen=True)
class CacheBand:
    """Monthly cost at the low and high ends of the prompt-cache hit-rate band."""

    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    strategies: tuple[str, ...]
    monthly_usd: Decimal | None
    window_usd: Decimal
    """Token cost over the workload's window, plus the per-request extras (router, cache lookups)."""
    api_requests: int
    unpriced_requests: int
    """Requests left without a price (an unknown model, a batch request on a model without batch
    prices): their cost is not in `monthly_usd`."""
    usd_per_1k_requests: Decimal | None
    usd_per_mtok: Decimal | None
    savings_usd: Decimal | None = None
    savings_pct: Decimal | None = None
    percentiles: CostPercentiles | None = None
    cache_band_usd: CacheBand | None = None
    details: ScenarioDetails = field(default_factory=ScenarioDetails)
    notes: tuple[str, ...] = ()
    curve: list[CurvePoint] | None = None
    """Routing: monthly cost (and quality, when known) at each strong-model share."""
    breakdown: Breakdown = field(default_factory=lambda: Breakdown([], {}))
    """The monthly cost per model and per value of each `group_by` field."""


@dataclass(frozen=True)
class WorkloadSummary:
    """The simulated traffic in numbers."""

    requests: int
    """Requests of the window (the traffic, even when a sample of it was simulated)."""
    days: Decimal | None
    tokens: int
    source: str
    simulated_requests: int
    """Requests actually simulated: fewer than `requests` when a described workload was sampled."""


@dataclass(frozen=True)
class BaselineCost:
    name: str
    monthly_usd: Decimal | None


@dataclass(frozen=True)
class SimulationResult:
    """Everything `costaudit simulate` reports for one scenario file."""

    workload: WorkloadSummary
    baseline: BaselineCost
    scenarios: list[ScenarioResult]
    notes: tuple[str, ...] = ()
    pricing: PriceTableInfo | None = None
    """The price tables used (files, date, hash); filled in by the API, which loaded them."""
    group_by: tuple[str, ...] = ()
    """The grouping fields each scenario's breakdown covers."""
    forecast: Forecast | None = None
    """Month-by-month costs when asked for (`months`)."""


def _seed(base: int, name: str, *extra: int) -> np.random.Generator:
    return np.random.default_rng([base, zlib.crc32(name.encode()), *extra])


def run_scenario(
    workload: Workload,
    scenario: Scenario,
    table: PriceTable,
    *,
    seed: int,
    days_per_month: Decimal,
    params: Params | None = None,
    cache_band: str = "central",
    draw: int = 0,
    where: str = "scenarios[0]",
    report: Callable[[str], None] | None = None,
    fanout: Fanout | None = None,
) -> tuple[State, Priced]:
    """One scenario, once: apply its strategies in order and price what is left (the cache replays'
    independent parts through `fanout`, when given)."""
    context = Context(
        workload=workload,
        table=table,
        params=params or Params(),
        rng=_seed(seed, scenario.name, draw),
        days_per_month=days_per_month,
        cache_band=cache_band,
        where=where,
        report=report,
        fanout=fanout,
    )
    state = initial_state(workload)
    for name in STRATEGY_ORDER:
        config = getattr(scenario, name)
        if config is None:
            continue
        context.step = name
        selector = getattr(config, "applies_to", None)
        if selector is not None and state.size and not context.selected(state, selector).any():
            state.notes.append(f"{name}: `applies_to` selects no request, so it changes nothing")
            continue
        if name == "routing":
            _route(state, config, context)
        else:
            STEPS[name](state, config, context)
    return state, price_state(state, table, workload, days_per_month)


def run_priced(workload: Workload, scenario: Scenario, table: PriceTable, **options: Any) -> Priced:
    """`run_scenario`'s price alone: the run's state (its own copies of the columns it changed) is
    let go at once, not held while the next variant runs."""
    return run_scenario(workload, scenario, table, **options)[1]


def _route(state: State, routing: Routing, context: Context) -> None:
    """Routing, with its per-request router cost attributed to the requests it routed."""
    rows = context.rows_for(state, routing.applies_to)
    before = state.window_usd
    apply_routing(state, routing, context)
    overhead = state.window_usd - before
    if overhead and len(rows):
        state.attribute("router", rows, overhead / len(rows))


def has_ranges(value: object) -> bool:
    """True when any numeric parameter is a [low, high] range."""
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(item, Decimal) for item in value):
            return True
        return any(has_ranges(item) for item in value)
    if isinstance(value, dict):
        return any(has_ranges(item) for item in value.values())
    if isinstance(value, BaseModel):
        return any(has_ranges(getattr(value, name)) for name in type(value).model_fields)

    return False


def _quantile(values: list[Decimal], q: Decimal) -> Decimal:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _where(file: ScenarioFile, scenario: Scenario) -> str:
    names = [item.name for item in file.scenarios]
    return f"scenarios[{names.index(scenario.name)}]" if scenario.name in names else "scenarios"


def _monte_carlo(
    workload: Workload,
    scenario: Scenario,
    table: PriceTable,
    file: ScenarioFile,
    fanout: Fanout | None,
) -> CostPercentiles | None:
    monthly: list[Decimal] = []
    for draw in range(file.samples):
        params = Params(_seed(file.seed, scenario.name, 1_000_000 + draw))
        priced = run_priced(
            workload,
            scenario,
            table,
            seed=file.seed,
            days_per_month=file.days_per_month,
            params=params,
            draw=draw + 1,
            where=_where(file, scenario),
            fanout=fanout,
        )
        if priced.monthly_usd is not None:
            monthly.append(priced.monthly_usd)
    if not monthly:
        return None
    return CostPercentiles(
        *(_quantile(monthly, Decimal(q)) for q in ("0.1", "0.5", "0.9")),
    )


def _cache_band(
    workload: Workload,
    scenario: Scenario,
    table: PriceTable,
    file: ScenarioFile,
    fanout: Fanout | None,
) -> CacheBand | None:
    band: dict[str, Decimal | None] = {}
    for end in ("low", "high"):
        priced = run_priced(
            workload,
            scenario,
            table,
            seed=file.seed,
            days_per_month=file.days_per_month,
            cache_band=end,
            where=_where(file, scenario),
            fanout=fanout,
        )
        band[end] = priced.monthly_usd
    return CacheBand(**band) if band["low"] is not None or band["high"] is not None else None


def _routing_curve(
    workload: Workload,
    scenario: Scenario,
    table: PriceTable,
    file: ScenarioFile,
    quality: RoutingQuality | None,
    fanout: Fanout | None,
) -> list[CurvePoint] | None:
    """Monthly cost at strong shares 0, 0.1, …, 1 for a two-tier share router."""
    routing = scenario.routing
    if (
        routing is None
        or len(routing.tiers) != 2
        or routing.tiers[0].share is None
        or routing.mode != "route"
    ):
        return None
    points = []
    curve = quality.curve if quality is not None else None
    for step in range(11):
        strong = Decimal(step) / 10
        tiers = [routing.tiers[0].model_copy(update={"share": 1 - strong}), routing.tiers[1]]
        variant = scenario.model_copy(
            update={"routing": routing.model_copy(update={"tiers": tiers})}
        )
        priced = run_priced(
            workload,
            variant,
            table,
            seed=file.seed,
            days_per_month=file.days_per_month,
            where=_where(file, scenario),
            fanout=fanout,
        )
        quality_here = (
            float(np.interp(float(strong), curve.strong_share, curve.quality))
            if curve is not None
            else None
        )
        points.append(CurvePoint(float(strong), priced.monthly_usd, quality_here))
    return points


def _per_unit(monthly: Decimal | None, amount: Decimal, unit: Decimal) -> Decimal | None:
    if monthly is None or amount == 0:
        return None
    return monthly / (amount / unit)


def _result(
    name: str,
    scenario: Scenario,
    state: State,
    priced: Priced,
    workload: Workload,
    file: ScenarioFile,
) -> ScenarioResult:
    days = workload.days
    scale = file.days_per_month / days if days else Decimal(0)
    requests_per_month = Decimal(workload.request_count) * scale
    tokens_per_month = Decimal(workload.tokens) * scale
    return ScenarioResult(
        name=name,
        strategies=tuple(scenario.strategies()),
        monthly_usd=priced.monthly_usd,
        window_usd=priced.window_tokens_usd,
        api_requests=priced.requests,
        unpriced_requests=priced.unpriced_requests,
        usd_per_1k_requests=_per_unit(priced.monthly_usd, requests_per_month, THOUSAND),
        usd_per_mtok=_per_unit(priced.monthly_usd, tokens_per_month, MILLION),
        details=state.details,
        notes=tuple(dict.fromkeys(state.notes)),
    )


def _with_savings(result: ScenarioResult, baseline: Priced) -> ScenarioResult:
    """Savings against the baseline; none when the scenario leaves more requests unpriced than the
    baseline does (its monthly figure then misses their cost, so a saving would be an illusion)."""
    savings = pct = None
    base = baseline.monthly_usd
    comparable = result.unpriced_requests <= baseline.unpriced_requests
    if base is not None and result.monthly_usd is not None and comparable:
        savings = base - result.monthly_usd
        pct = savings / base * 100 if base else None
    return replace(result, savings_usd=savings, savings_pct=pct)


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario computed on its own: its result, its priced state and its cost parts (for a
    forecast)."""

    result: ScenarioResult
    priced: Priced
    parts: CostParts


RunScenarios = Callable[[Workload, ScenarioFile, PriceTable, tuple[str, ...]], list[ScenarioRun]]
"""Computes every scenario of a file with `scenario_run`, in the file's order (e.g. on a cluster)."""


def scenario_run(
    workload: Workload,
    scenario: Scenario,
    table: PriceTable,
    file: ScenarioFile,
    group_by: tuple[str, ...],
    report: Callable[[str], None] | None = None,
    fanout: Fanout | None = None,
) -> ScenarioRun:
    """One scenario with its Monte Carlo percentiles, cache band, routing curve and breakdown, as
    `simulate` computes it. Scenarios do not depend on each other (each draws from generators seeded
    by the file's seed and its own name), so another process can compute each one; `fanout` runs
    the independent parts of its cache replays (e.g. as tasks of that process's cluster)."""
    state, priced = run_scenario(
        workload,
        scenario,
        table,
        seed=file.seed,
        days_per_month=file.days_per_month,
        where=_where(file, scenario),
        report=None if report is None else lambda text: report(f"{scenario.name}: {text}"),
        fanout=fanout,
    )
    routing = state.details.routing
    central = replace(
        _result(scenario.name, scenario, state, priced, workload, file),
        breakdown=breakdown(state, table, workload, file.days_per_month, group_by),
        details=_represented_routing(state.details, workload),
    )
    variable = None if priced.monthly_usd is None else priced.monthly_usd - state.monthly_usd
    parts = CostParts(variable, list(state.fixed))
    del state  # its column copies are not needed by the variant runs below
    result = replace(
        central,
        percentiles=_monte_carlo(workload, scenario, table, file, fanout)
        if has_ranges(scenario)
        else None,
        cache_band_usd=_cache_band(workload, scenario, table, file, fanout)
        if scenario.prompt_cache is not None
        else None,
        curve=_routing_curve(
            workload,
            scenario,
            table,
            file,
            routing.quality if routing is not None else None,
            fanout,
        ),
    )
    return ScenarioRun(result, priced, parts)


def _represented_routing(details: ScenarioDetails, workload: Workload) -> ScenarioDetails:
    """Routing's request counts scaled to the traffic a sampled workload stands for."""
    routing = details.routing
    if routing is None or workload.weight == 1:
        return details
    counted = workload.represented
    scaled = replace(
        routing,
        tiers=[replace(tier, requests=counted(tier.requests)) for tier in routing.tiers],
        escalated_requests=counted(routing.escalated_requests),
        randomly_routed=counted(routing.randomly_routed),
    )
    return replace(details, routing=scaled)


def _announced(
    scenarios: list[Scenario], report: Callable[[str], None] | None
) -> Iterator[tuple[Scenario, Callable[[str], None] | None]]:
    """Each scenario in order with what its work reports to: `report` is told of each as it begins
    (`scenario 2/3: batched`), and what long work inside it says keeps that count in front, since a
    file of several slow scenarios otherwise shows one unchanging line for minutes."""
    for number, scenario in enumerate(scenarios, start=1):
        if report is None:
            yield scenario, None
            continue
        counted = functools.partial(_counted, report, f"scenario {number}/{len(scenarios)}")
        counted(scenario.name)
        yield scenario, counted


def _counted(report: Callable[[str], None], count: str, text: str) -> None:
    report(f"{count}: {text}")


def simulate(
    workload: Workload,
    file: ScenarioFile,
    table: PriceTable,
    *,
    group_by: tuple[str, ...] = (),
    months: int | None = None,
    report: Callable[[str], None] | None = None,
    run_all: RunScenarios | None = None,
) -> SimulationResult:
    """Every scenario of the file, its monthly cost and its savings against the baseline; each broken
    down by model and by the `group_by` fields; with a month-by-month forecast when `months` is given.
    `run_all` computes the scenarios elsewhere (one `scenario_run` each); by default they run here."""
    growth = _growth(file, workload) if months is not None else None
    if run_all is not None:
        runs = run_all(workload, file, table, group_by)
    else:
        runs = [
            scenario_run(workload, scenario, table, file, group_by, told)
            for scenario, told in _announced(file.scenarios, report)
        ]
    baseline_name, baseline = _baseline(file, runs, workload, table)
    projected = None
    if months is not None and growth is not None:
        parts = {run.result.name: run.parts for run in runs}
        parts.setdefault(baseline_name, baseline.parts)
        projected = forecast(parts, baseline_name, months, *growth)
        if baseline_name not in {run.result.name for run in runs}:
            projected = replace(
                projected, scenarios=[s for s in projected.scenarios if s.name != baseline_name]
            )
    return SimulationResult(
        workload=WorkloadSummary(
            requests=workload.request_count,
            days=workload.days,
            tokens=workload.tokens,
            source=workload.source,
            simulated_requests=len(workload.requests),
        ),
        baseline=BaselineCost(baseline_name, baseline.priced.monthly_usd),
        scenarios=[_with_savings(run.result, baseline.priced) for run in runs],
        notes=workload.notes,
        group_by=group_by,
        forecast=projected,
    )


def _growth(file: ScenarioFile, workload: Workload) -> tuple[Decimal, str]:
    """The monthly growth in percent and where it comes from."""
    growth = file.workload.growth
    if growth is None:
        return Decimal(0), "none"
    if growth.monthly != "fitted":
        return growth.monthly, "declared"
    if workload.weight != 1 or file.workload.synthetic is not None:
        raise ScenarioProblem(
            "workload.growth.monthly",
            "`fitted` growth needs logs; a described workload has no trend (give e.g. `monthly: 8%`)",
        )
    try:
        return fitted_growth(workload.requests, file.days_per_month), "fitted"
    except GrowthFitError as exc:
        raise ScenarioProblem("workload.growth.monthly", str(exc)) from None


def _baseline(
    file: ScenarioFile, runs: list[ScenarioRun], workload: Workload, table: PriceTable
) -> tuple[str, ScenarioRun]:
    by_name = {run.result.name: run for run in runs}
    if file.baseline is not None:
        return file.baseline, by_name[file.baseline]
    for run in runs:
        if not run.result.strategies:
            return run.result.name, run
    logged = Scenario(name=AS_LOGGED)
    state, priced = run_scenario(
        workload, logged, table, seed=file.seed, days_per_month=file.days_per_month
    )
    variable = None if priced.monthly_usd is None else priced.monthly_usd - state.monthly_usd
    result = _result(AS_LOGGED, logged, state, priced, workload, file)
    return AS_LOGGED, ScenarioRun(result, priced, CostParts(variable, []))
