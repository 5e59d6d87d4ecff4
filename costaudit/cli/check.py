"""`costaudit check`: the CI cost-regression gate (exit 1 on a regression or budget breach)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from costaudit.cli.common import (
    OutputFormat,
    active_prices,
    emit,
    handle_errors,
    progress,
    stderr_console,
    write_text,
)
from costaudit.cli.options import OutOpt, OutputOpt, PricingOpt
from costaudit.cli.simulate import LogsArg, WorkloadOpt
from costaudit.errors import ExitCode, InputError

ScenarioFileOpt = Annotated[
    Path,
    typer.Option(
        "--scenario", "-s", metavar="FILE", help="Scenario YAML to compute.", dir_okay=False
    ),
]
BaselineOpt = Annotated[
    Path,
    typer.Option(
        "--baseline",
        "-b",
        metavar="FILE",
        help="Committed baseline JSON (written by --update-baseline).",
        dir_okay=False,
    ),
]


@handle_errors
def check(
    scenario: ScenarioFileOpt,
    baseline: BaselineOpt,
    logs: LogsArg = None,
    workload: WorkloadOpt = None,
    pricing: PricingOpt = None,
    max_increase: Annotated[
        str | None,
        typer.Option(
            "--max-increase",
            metavar="PCT",
            help="Fail when a scenario's monthly cost grows more than this (5%, 5 or 0.5%).",
            show_default=False,
        ),
    ] = None,
    max_increase_usd: Annotated[
        str | None,
        typer.Option(
            "--max-increase-usd",
            metavar="USD",
            help="Fail when a scenario's monthly cost grows more than this many dollars.",
            show_default=False,
        ),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            metavar="USD",
            help="Fail when a scenario's monthly cost is above this.",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="NAME",
            help="Check only these scenarios (repeatable).",
            show_default=False,
        ),
    ] = None,
    update_baseline: Annotated[
        bool,
        typer.Option(
            "--update-baseline", help="Write the baseline from this run and show what changed."
        ),
    ] = False,
    warn_only: Annotated[
        bool, typer.Option("--warn-only", help="Report regressions as warnings and exit 0.")
    ] = False,
    output: OutputOpt = OutputFormat.table,
    out: OutOpt = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            help="Also write a JUnit XML report.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Recompute every scenario's monthly cost and compare it with a committed baseline.

    Exit codes: 0 passed (or --warn-only, or --update-baseline), 1 a scenario grew past --max-increase /
    --max-increase-usd or is over --budget, 3 bad or missing input (including a missing baseline), 4 a bug.
    Each change is attributed to what changed since the baseline: prices, traffic, prompts or the
    scenario file. Under GitHub Actions, failures become ::error annotations and the Markdown report is
    appended to $GITHUB_STEP_SUMMARY.
    """
    from costaudit.core.regress import Thresholds, parse_percent

    limits = Thresholds(
        max_increase_pct=_parse(parse_percent, max_increase, "--max-increase"),
        max_increase_usd=_parse(_usd, max_increase_usd, "--max-increase-usd"),
        budget_usd=_parse(_usd, budget, "--budget"),
    )
    run = _compute(scenario, baseline, logs, workload, pricing, only)
    if update_baseline:
        _update(run, baseline)
        return
    verdict = _verdict(run, baseline, limits)
    _report(run, verdict, baseline, output, out, junit, warn_only)
    if not verdict.passed and not warn_only:
        raise typer.Exit(ExitCode.REGRESSION)


def _usd(text: str) -> Decimal:
    value = Decimal(text.strip().lstrip("$").replace(",", ""))
    if not value.is_finite() or value < 0:
        raise ValueError(f"`{text}` must be a non-negative amount of dollars")
    return value


def _parse(parser: Any, value: str | None, flag: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return parser(value)  # type: ignore[no-any-return]
    except (ValueError, ArithmeticError) as exc:
        message = str(exc) if "`" in str(exc) else f"`{value}` is not a number"
        raise typer.BadParameter(message, param_hint=flag) from None


def _compute(
    scenario: Path,
    baseline: Path,
    logs: list[str] | None,
    workload: Path | None,
    pricing: list[Path] | None,
    only: list[str] | None,
) -> dict[str, Any]:
    from costaudit import __version__
    from costaudit.core.regress import Fingerprint
    from costaudit.core.simulate.engine import simulate
    from costaudit.render.money import MICRO
    from costaudit.workloads import build_workload, load_scenario

    prices = active_prices(pricing)
    loaded = load_scenario(scenario, prices.table)
    with progress("Reading logs") as tick:
        built = build_workload(loaded, prices.table, logs=logs, saved=workload, progress=tick)
    with progress("Simulating scenarios"):
        result = simulate(built.workload, loaded.config, prices.table)
    if only:
        known = {s.name for s in result.scenarios}
        for name in only:
            if name not in known:
                raise InputError("--only", f"no scenario named `{name}` in {scenario}")
        result = type(result)(
            **{**result.__dict__, "scenarios": [s for s in result.scenarios if s.name in only]}
        )
    current = {
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
    pricing_info = {
        "files": [str(p) for p in prices.files],
        "effective": prices.table.effective.isoformat(),
        "sha256": prices.digest,
    }
    return {
        "scenario": scenario,
        "result": result,
        "current": current,
        "fingerprint": fingerprint,
        "pricing": pricing_info,
        "workload": {
            "requests": result.workload_requests,
            "days": None
            if result.workload_days is None
            else format(result.workload_days.normalize(), "f"),
            "tokens": result.workload_tokens,
        },
    }


def _update(run: dict[str, Any], baseline: Path) -> None:
    from costaudit.baseline import baseline_document, read_baseline
    from costaudit.render.money import signed_usd, usd

    previous = read_baseline(baseline).monthly if baseline.exists() else {}
    relative = os.path.relpath(run["scenario"], baseline.parent if str(baseline.parent) else ".")
    write_text(
        baseline,
        baseline_document(
            Path(relative).as_posix(), run["current"], run["fingerprint"], run["workload"]
        ),
    )
    console = stderr_console()
    console.print(f"baseline written to {baseline}", markup=False)
    for name, now in run["current"].items():
        before = previous.get(name)
        if name not in previous:
            console.print(f"  + {name}: {usd(now)}/month", markup=False)
        elif before != now:
            change = (
                signed_usd(now - before) if now is not None and before is not None else "changed"
            )
            console.print(f"  ~ {name}: {usd(before)} → {usd(now)}/month ({change})", markup=False)
        else:
            console.print(f"  = {name}: {usd(now)}/month (unchanged)", markup=False)
    for name in previous:
        if name not in run["current"]:
            console.print(f"  - {name}: removed", markup=False)


def _verdict(run: dict[str, Any], baseline: Path, limits: Any) -> Any:
    from costaudit.baseline import read_baseline
    from costaudit.core.regress import compare

    stored = read_baseline(baseline)
    run["baseline"] = stored
    return compare(stored.monthly, run["current"], limits, stored.fingerprint, run["fingerprint"])


def _report(
    run: dict[str, Any],
    verdict: Any,
    baseline: Path,
    output: OutputFormat,
    out: Path | None,
    junit: Path | None,
    warn_only: bool,
) -> None:
    from costaudit.render import check as render
    from costaudit.render.jsonio import dumps

    markdown = render.check_markdown(verdict, run["result"], str(baseline))
    if output is OutputFormat.json:
        emit(
            dumps(
                render.check_document(
                    verdict, run["result"], run["pricing"], str(baseline), run["baseline"].monthly
                )
            ),
            out,
        )
    elif output is OutputFormat.markdown:
        emit(markdown, out)
    elif output is OutputFormat.csv:
        raise InputError("--output", "check reports as table, json or markdown")
    else:
        emit([render.check_table(verdict)], out)
    if junit is not None:
        write_text(junit, render.junit_xml(verdict))

    _github(verdict, markdown, warn_only)
    console = stderr_console()
    breach = any(c.status == "over_budget" for c in verdict.failures)
    console.print(
        render.headline(verdict, breach)
        + (" (warn-only: exit 0)" if warn_only and not verdict.passed else ""),
        markup=False,
    )
    for reason in verdict.reasons:
        console.print(f"  {'warning' if warn_only else 'error'}: {reason}", markup=False)


def _github(verdict: Any, markdown: str, warn_only: bool) -> None:
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from costaudit.render.check import github_annotations

    for line in github_annotations(verdict, warn_only):
        typer.echo(line, err=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(markdown + "\n")
        except OSError as exc:
            raise InputError(
                summary, f"cannot append the job summary: {exc.strerror or exc}"
            ) from None
