"""The CI gate: compare each scenario's monthly cost with a committed baseline and decide pass or fail.

A scenario regresses when its monthly cost grows by more than `max_increase_pct` percent or
`max_increase_usd` dollars over the baseline, or when it exceeds `budget_usd`. From a $0 baseline any
increase counts as above every percentage (no division by zero). Scenarios added since the baseline are
reported as new (only the budget applies to them); removed ones are reported, never failed.

Each change is attributed to what changed since the baseline — prices, traffic, prompts, the scenario
file — by comparing the content hashes the baseline recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from costaudit.core.simulate.engine import SimulationResult

Status = Literal["pass", "regression", "over_budget", "new", "removed"]


@dataclass(frozen=True)
class Thresholds:
    max_increase_pct: Decimal | None = None
    max_increase_usd: Decimal | None = None
    budget_usd: Decimal | None = None


@dataclass(frozen=True)
class Fingerprint:
    """What a set of results was computed from (all sha256 hex digests)."""

    prices: str
    scenario_file: str
    workload: str
    prompts: dict[str, str] = field(default_factory=dict)
    tool_version: str = ""


@dataclass(frozen=True)
class Comparison:
    name: str
    before: Decimal | None
    after: Decimal | None
    status: Status
    reasons: tuple[str, ...]

    @property
    def delta_usd(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def delta_pct(self) -> Decimal | None:
        delta = self.delta_usd
        if delta is None or not self.before:
            return None
        return delta / self.before * 100


@dataclass(frozen=True)
class ComparedTo:
    """The committed baseline a run was checked against."""

    file: str
    monthly_usd: dict[str, Decimal | None]


@dataclass(frozen=True)
class Verdict:
    """What `costaudit check` decides: each scenario compared with the baseline, and why costs moved."""

    comparisons: tuple[Comparison, ...]
    causes: tuple[str, ...]
    """What changed since the baseline: prices, traffic, prompts, scenario, tool."""
    simulation: SimulationResult | None = None
    """The run that was checked (the scenarios kept by `only`)."""
    compared_to: ComparedTo | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.status in {"regression", "over_budget"})

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for comparison in self.failures for reason in comparison.reasons)


def parse_percent(text: str) -> Decimal:
    """`5%`, `5` and `0.5%` are all percentages (5, 5 and 0.5)."""
    value = text.strip().removesuffix("%").strip()
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"`{text}` is not a percentage (write 5%, 5 or 0.5%)") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"`{text}` must be a non-negative percentage")
    return number


def _increase_reasons(name: str, before: Decimal, after: Decimal, limits: Thresholds) -> list[str]:
    delta = after - before
    reasons = []
    percent_limit = limits.max_increase_pct
    if (
        percent_limit is not None
        and delta > 0
        and (before == 0 or delta / before * 100 > percent_limit)
    ):
        shown = "from $0" if before == 0 else f"+{(delta / before * 100):.1f}%"
        reasons.append(f"{name}: monthly cost {shown} exceeds the allowed +{percent_limit}%")

    if limits.max_increase_usd is not None and delta > limits.max_increase_usd:
        reasons.append(
            f"{name}: monthly cost +${delta:,.2f} exceeds the allowed +${limits.max_increase_usd:,.2f}"
        )
    return reasons


def _budget_reason(name: str, after: Decimal, limits: Thresholds) -> str | None:
    if limits.budget_usd is not None and after > limits.budget_usd:
        return f"{name}: monthly cost ${after:,.2f} is over the ${limits.budget_usd:,.2f} budget"
    return None


def compare_scenario(
    name: str, before: Decimal | None, after: Decimal | None, limits: Thresholds
) -> Comparison:
    if after is None:
        if before is None:
            return Comparison(name, None, None, "pass", ())
        return Comparison(name, before, None, "removed", ())
    budget = _budget_reason(name, after, limits)
    if before is None:
        return Comparison(
            name, None, after, "over_budget" if budget else "new", (budget,) if budget else ()
        )
    increase = _increase_reasons(name, before, after, limits)
    if increase:
        return Comparison(
            name, before, after, "regression", tuple(increase + ([budget] if budget else []))
        )
    if budget:
        return Comparison(name, before, after, "over_budget", (budget,))
    return Comparison(name, before, after, "pass", ())


def causes(before: Fingerprint | None, after: Fingerprint) -> tuple[str, ...]:
    """Which inputs differ between the baseline and now."""
    if before is None:
        return ()
    found = []
    if before.prices != after.prices:
        found.append("prices")
    if before.workload != after.workload:
        found.append("traffic")
    if before.prompts != after.prompts:
        found.append("prompts")
    if before.scenario_file != after.scenario_file:
        found.append("scenario")
    if before.tool_version and before.tool_version != after.tool_version:
        found.append("costaudit version")
    return tuple(found)


def compare(
    baseline: dict[str, Decimal | None],
    current: dict[str, Decimal | None],
    limits: Thresholds,
    before: Fingerprint | None,
    after: Fingerprint,
) -> Verdict:
    """Every scenario of the baseline and of the current run, in a stable order."""
    names = list(current) + [name for name in baseline if name not in current]
    comparisons = tuple(
        compare_scenario(name, baseline.get(name), current.get(name), limits) for name in names
    )
    return Verdict(comparisons=comparisons, causes=causes(before, after))
