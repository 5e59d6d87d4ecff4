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
from costaudit.core.regress import ComparedTo, Fingerprint, Thresholds, Verdict, compare
from costaudit.core.simulate.engine import SimulationResult
from costaudit.errors import InputError
from costaudit.jsonio import MICRO
from costaudit.pricetable.layers import LoadedPrices


@dataclass(frozen=True)
class CheckRun:
    """A scenario file computed for the gate: its result, each scenario's monthly figure as the
    baseline stores it (to the micro-dollar) and what it was computed from."""

    result: SimulationResult
    monthly: dict[str, Decimal | None]
    fingerprint: Fingerprint


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
    monthly = {
        s.name: s.monthly_usd.quantize(MICRO) if s.monthly_usd is not None else None
        for s in result.scenarios
    }
    fingerprint = Fingerprint(
        prices=prices.digest,
        scenario_file=loaded.digest,
        workload=built.digest,
        prompts=built.prompt_files,
        tool_version=__version__,
    )
    return CheckRun(result, monthly, fingerprint)


def verdict(run: CheckRun, baseline: Path, limits: Thresholds) -> Verdict:
    """Compare a run with the committed baseline (a missing baseline is bad input: exit 3)."""
    stored = read_baseline(baseline)
    decided = compare(stored.monthly, run.monthly, limits, stored.fingerprint, run.fingerprint)
    return replace(
        decided, simulation=run.result, compared_to=ComparedTo(str(baseline), stored.monthly)
    )


def write_baseline(run: CheckRun, scenario: Path, baseline: Path) -> BaselineUpdate:
    """Write the baseline from this run (paths in it relative to the baseline's directory)."""
    previous = read_baseline(baseline).monthly if baseline.exists() else {}
    relative = os.path.relpath(scenario, baseline.parent if str(baseline.parent) else ".")
    workload = run.result.workload
    summary = {
        "requests": workload.requests,
        "days": None if workload.days is None else format(workload.days.normalize(), "f"),
        "tokens": workload.tokens,
    }
    text = baseline_document(Path(relative).as_posix(), run.monthly, run.fingerprint, summary)
    write_file(baseline, text)
    return BaselineUpdate(baseline, previous, run.monthly)


def write_file(path: Path, text: str) -> None:
    """Write a file the user named, creating its directory; failures name the file (exit 3)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None
