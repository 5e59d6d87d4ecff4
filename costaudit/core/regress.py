"""The CI gate: compare each scenario's monthly cost with a committed baseline and decide pass or fail.

A scenario regresses when its monthly cost grows by more than `max_increase_pct` percent or
`max_increase_usd` dollars over the baseline, or when it exceeds `budget_usd`. From a $0 baseline any
increase counts as above every percentage (no division by zero). Scenarios added since the baseline are
reported as new (only the budget applies to them); removed ones are reported, never failed. A scenario
that leaves more requests unpriced than the baseline fails too: the cost of those requests is missing
from its monthly figure, so a "saving" could hide a rise.

Limits come from the command line and the scenario file's `check:` section: defaults for every scenario
(the command line's replace the file's), limits per scenario (overriding the defaults field by field) and
limits on the cost of groups (a feature, a model). Each change is attributed to what changed since the
baseline — prices, traffic, prompts, the scenario file — by comparing the content hashes the baseline
recorded, and the models and groups whose cost moved most are named beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from costaudit.config.scenario import CheckSettings, GroupLimits
from costaudit.config.scenario import Limits as FileLimits
from costaudit.core.simulate.engine import SimulationResult

Status = Literal["pass", "regression", "over_budget", "unpriced", "new", "removed"]
FAILING: frozenset[str] = frozenset({"regression", "over_budget", "unpriced"})
TOP_MOVERS = 3
NO_GROUP = "(none)"
"""How requests without a grouping value are named in a baseline (JSON keys are strings)."""


@dataclass(frozen=True)
class Thresholds:
    max_increase_pct: Decimal | None = None
    max_increase_usd: Decimal | None = None
    budget_usd: Decimal | None = None

    def any_set(self) -> bool:
        return any(
            value is not None
            for value in (self.max_increase_pct, self.max_increase_usd, self.budget_usd)
        )

    def over(self, fallback: Thresholds) -> Thresholds:
        """These thresholds, with `fallback`'s where these leave one unset."""
        return Thresholds(
            self.max_increase_pct
            if self.max_increase_pct is not None
            else fallback.max_increase_pct,
            self.max_increase_usd
            if self.max_increase_usd is not None
            else fallback.max_increase_usd,
            self.budget_usd if self.budget_usd is not None else fallback.budget_usd,
        )


def _thresholds(limits: FileLimits) -> Thresholds:
    return Thresholds(limits.max_increase, limits.max_increase_usd, limits.budget)


GroupThresholds = dict[str, dict[str, Thresholds]]


def _group_thresholds(groups: GroupLimits) -> GroupThresholds:
    return {
        key: {value: _thresholds(limits) for value, limits in by_value.items()}
        for key, by_value in groups.items()
    }


@dataclass(frozen=True)
class Limits:
    """Every limit `check` applies: defaults, per scenario, and per group."""

    default: Thresholds = field(default_factory=Thresholds)
    scenarios: dict[str, Thresholds] = field(default_factory=dict)
    """Per-scenario limits, overriding the defaults field by field."""
    groups: GroupThresholds = field(default_factory=dict)
    """Group limits applied in every scenario: grouping field (or `model`) → value → limits."""
    scenario_groups: dict[str, GroupThresholds] = field(default_factory=dict)

    def for_scenario(self, name: str) -> Thresholds:
        own = self.scenarios.get(name)
        return own.over(self.default) if own is not None else self.default

    def group_limits(self, name: str) -> Iterator[tuple[str, str, Thresholds]]:
        """(field, value, limits) of every group limit that applies in scenario `name`."""
        merged: GroupThresholds = {key: dict(values) for key, values in self.groups.items()}
        for key, values in self.scenario_groups.get(name, {}).items():
            merged.setdefault(key, {}).update(values)
        for key, values in merged.items():
            for value, limits in values.items():
                yield key, value, limits

    def any_set(self) -> bool:
        nested = [
            limits
            for groups in (self.groups, *self.scenario_groups.values())
            for values in groups.values()
            for limits in values.values()
        ]
        return any(limits.any_set() for limits in (self.default, *self.scenarios.values(), *nested))


def limits_from(settings: CheckSettings | None, command_line: Thresholds) -> Limits:
    """The limits to apply: the command line's replace the file's defaults field by field."""
    if settings is None:
        return Limits(default=command_line)
    return Limits(
        default=command_line.over(_thresholds(settings)),
        scenarios={name: _thresholds(limits) for name, limits in settings.scenarios.items()},
        groups=_group_thresholds(settings.groups),
        scenario_groups={
            name: _group_thresholds(limits.groups) for name, limits in settings.scenarios.items()
        },
    )


@dataclass(frozen=True)
class Figures:
    """What `check` compares for one scenario: monthly cost, unpriced requests and where the cost goes
    (per model and per grouping value). A baseline written by an older version may lack the last ones
    (None)."""

    monthly_usd: Decimal | None
    unpriced_requests: int | None = None
    models: dict[str, Decimal | None] | None = None
    groups: dict[str, dict[str, Decimal | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Mover:
    """A model or group whose monthly cost changed since the baseline."""

    by: str
    """`model`, or the grouping field."""
    name: str
    before_usd: Decimal | None
    after_usd: Decimal | None

    @property
    def delta_usd(self) -> Decimal:
        return (self.after_usd or Decimal(0)) - (self.before_usd or Decimal(0))

    @property
    def delta_pct(self) -> Decimal | None:
        if not self.before_usd:
            return None
        return self.delta_usd / self.before_usd * 100


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
    """The scenario."""
    before: Decimal | None
    after: Decimal | None
    status: Status
    reasons: tuple[str, ...]
    group: tuple[str, str] | None = None
    """(field, value) when this compares one group's cost within the scenario."""
    unpriced_before: int | None = None
    unpriced_after: int | None = None
    movers: tuple[Mover, ...] = ()
    """The models and groups whose cost moved most, largest change first."""

    @property
    def label(self) -> str:
        """The scenario, and the group when this is a group's comparison."""
        if self.group is None:
            return self.name
        return f"{self.name} · {self.group[0]}={self.group[1]}"

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
        return tuple(c for c in self.comparisons if c.status in FAILING)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for comparison in self.failures for reason in comparison.reasons)


def _unpriced_reason(name: str, before: int | None, after: int | None) -> str | None:
    if before is None or after is None or after <= before:
        return None
    return (
        f"{name}: {after:,} requests are unpriced (baseline: {before:,}); their cost is missing "
        "from the monthly figure"
    )


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


def _movers(before: Figures, after: Figures) -> tuple[Mover, ...]:
    """The models and groups (in fields both runs broke down) whose monthly cost moved most."""
    found: list[Mover] = []
    pairs: list[tuple[str, dict[str, Decimal | None], dict[str, Decimal | None]]] = []
    if before.models is not None and after.models is not None:
        pairs.append(("model", before.models, after.models))
    pairs += [
        (key, before.groups[key], values)
        for key, values in after.groups.items()
        if key in before.groups
    ]
    for by, old, new in pairs:
        for name in dict.fromkeys([*new, *old]):
            mover = Mover(by, name, old.get(name), new.get(name))
            if mover.delta_usd:
                found.append(mover)
    found.sort(key=lambda mover: (-abs(mover.delta_usd), mover.by, mover.name))
    return tuple(found[:TOP_MOVERS])


def _group_comparisons(
    name: str, before: Figures | None, after: Figures, limits: Limits
) -> list[Comparison]:
    """One comparison per group limit that applies to scenario `name`."""
    found = []
    for key, value, thresholds in limits.group_limits(name):
        now_values = after.models if key == "model" else after.groups.get(key, {})
        then_values = (
            (before.models if key == "model" else before.groups.get(key))
            if before is not None
            else None
        )
        label = f"{name} · {key}={value}"
        now = (now_values or {}).get(value, Decimal(0))
        then = None if then_values is None else then_values.get(value, Decimal(0))
        compared = compare_scenario(label, then, now, thresholds)
        found.append(
            Comparison(name, then, now, compared.status, compared.reasons, group=(key, value))
        )
    return found


def compare_figures(
    name: str, before: Figures | None, after: Figures | None, limits: Limits
) -> list[Comparison]:
    """A scenario's comparison (with its unpriced requests and top movers), then its groups'."""
    thresholds = limits.for_scenario(name)
    compared = compare_scenario(
        name,
        before.monthly_usd if before is not None else None,
        after.monthly_usd if after is not None else None,
        thresholds,
    )
    if after is None:
        return [compared]
    unpriced = _unpriced_reason(
        name, before.unpriced_requests if before is not None else None, after.unpriced_requests
    )
    status, reasons = compared.status, compared.reasons
    if unpriced is not None:
        reasons = (*reasons, unpriced)
        status = status if status in FAILING else "unpriced"
    scenario = Comparison(
        name,
        compared.before,
        compared.after,
        status,
        reasons,
        unpriced_before=before.unpriced_requests if before is not None else None,
        unpriced_after=after.unpriced_requests,
        movers=_movers(before, after) if before is not None else (),
    )
    return [scenario, *_group_comparisons(name, before, after, limits)]


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
    baseline: dict[str, Figures],
    current: dict[str, Figures],
    limits: Limits,
    before: Fingerprint | None,
    after: Fingerprint,
) -> Verdict:
    """Every scenario of the baseline and of the current run (and their groups), in a stable order."""
    names = list(current) + [name for name in baseline if name not in current]
    comparisons = tuple(
        comparison
        for name in names
        for comparison in compare_figures(name, baseline.get(name), current.get(name), limits)
    )
    return Verdict(comparisons=comparisons, causes=causes(before, after))
