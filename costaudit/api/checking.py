"""The CI gate behind `costaudit check`: recompute a scenario file and compare it with its baseline."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from costaudit import __version__
from costaudit.api.baseline import baseline_document, read_baseline
from costaudit.api.scenarios import LoadedScenario, LoadedWorkload
from costaudit.core.regress import (
    NO_GROUP,
    ComparedTo,
    Figures,
    Fingerprint,
    Limits,
    Verdict,
    compare,
)
from costaudit.core.simulate.breakdown import Breakdown
from costaudit.core.simulate.engine import ScenarioResult, SimulationResult
from costaudit.errors import InputError
from costaudit.fileio import write_file
from costaudit.jsonio import MICRO
from costaudit.pricetable.layers import LoadedPrices


@dataclass(frozen=True)
class CheckRun:
    """A scenario file computed for the gate: its result, each scenario's figures as the baseline
    stores them (money to the micro-dollar) and what it was computed from."""

    result: SimulationResult
    figures: dict[str, Figures]
    fingerprint: Fingerprint

    @property
    def monthly(self) -> dict[str, Decimal | None]:
        return {name: figures.monthly_usd for name, figures in self.figures.items()}


def _micro(value: Decimal | None) -> Decimal | None:
    return value.quantize(MICRO) if value is not None else None


def _stored(
    breakdown: Breakdown,
) -> tuple[dict[str, Decimal | None], dict[str, dict[str, Decimal | None]]]:
    models = {row.model: _micro(row.monthly_usd) for row in breakdown.models}
    groups = {
        key: {
            row.group if row.group is not None else NO_GROUP: _micro(row.monthly_usd)
            for row in rows
        }
        for key, rows in breakdown.groups.items()
    }
    return models, groups


def figures_of(scenario: ScenarioResult) -> Figures:
    """What the baseline records for a scenario (and what `check` compares with it)."""
    models, groups = _stored(scenario.breakdown)
    return Figures(_micro(scenario.monthly_usd), scenario.unpriced_requests, models, groups)


@dataclass(frozen=True)
class BaselineUpdate:
    """What `--update-baseline` wrote, next to what the file held before."""

    path: Path
    previous: dict[str, Decimal | None]
    current: dict[str, Decimal | None]


def check_run(
    loaded: LoadedScenario,
    built: LoadedWorkload,
    prices: LoadedPrices,
    result: SimulationResult,
    only: Sequence[str] | None,
) -> CheckRun:
    """Keep the scenarios `only` names (all when None) and fingerprint the inputs."""
    if only:
        known = {scenario.name for scenario in result.scenarios}
        for name in only:
            if name not in known:
                raise InputError("--only", f"no scenario named `{name}` in {loaded.path}")
        result = replace(result, scenarios=[s for s in result.scenarios if s.name in only])
    figures = {s.name: figures_of(s) for s in result.scenarios}
    fingerprint = Fingerprint(
        prices=prices.digest,
        scenario_file=loaded.digest,
        workload=built.digest,
        prompts=built.prompt_files,
        tool_version=__version__,
    )
    return CheckRun(result, figures, fingerprint)


def verdict(run: CheckRun, baseline: Path, limits: Limits) -> Verdict:
    """Compare a run with the committed baseline (a missing baseline is bad input: exit 3)."""
    stored = read_baseline(baseline)
    decided = compare(stored.figures, run.figures, limits, stored.fingerprint, run.fingerprint)
    return replace(
        decided, simulation=run.result, compared_to=ComparedTo(str(baseline), stored.monthly)
    )


def _previous_monthly(baseline: Path) -> dict[str, Decimal | None]:
    """The monthly figures the baseline held before this update; none when there was no readable
    baseline (rewriting a damaged baseline is how it is repaired)."""
    if not baseline.exists():
        return {}
    try:
        return read_baseline(baseline).monthly
    except InputError:
        return {}


def write_baseline(run: CheckRun, scenario: Path, baseline: Path) -> BaselineUpdate:
    """Write the baseline from this run (paths in it relative to the baseline's directory)."""
    previous = _previous_monthly(baseline)
    relative = os.path.relpath(scenario, baseline.parent if str(baseline.parent) else ".")
    workload = run.result.workload
    summary = {
        "requests": workload.requests,
        "days": None if workload.days is None else format(workload.days.normalize(), "f"),
        "tokens": workload.tokens,
    }
    text = baseline_document(Path(relative).as_posix(), run.figures, run.fingerprint, summary)
    write_file(baseline, text)
    return BaselineUpdate(baseline, previous, run.monthly)
