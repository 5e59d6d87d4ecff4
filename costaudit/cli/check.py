"""`costaudit check`: the CI cost-regression gate (exit 1 on a regression or budget breach)."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costaudit.cli.common import (
    OutputFormat,
    active_prices,
    emit,
    handle_errors,
    html_destination,
    progress,
    say,
    write_text,
)
from costaudit.cli.options import OutOpt, OutputOpt, PricingOpt
from costaudit.cli.simulate import LogsArg, WorkloadOpt
from costaudit.errors import ExitCode, InputError

if TYPE_CHECKING:
    from costaudit.api import BaselineUpdate, Verdict

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
    from costaudit import api
    from costaudit.core.regress import parse_percent

    html_destination(output, out)
    increase_pct = _parse(parse_percent, max_increase, "--max-increase")
    increase_usd = _parse(_usd, max_increase_usd, "--max-increase-usd")
    budget_usd = _parse(_usd, budget, "--budget")
    prices = active_prices(pricing)
    loaded = api.load_scenario(scenario, prices=prices)
    with progress("Reading logs") as tick:
        built = api.scenario_workload(
            loaded, prices=prices, logs=logs, workload=workload, progress=tick
        )
    with progress("Simulating scenarios"):
        if update_baseline:
            update = api.update_baseline(loaded, baseline, prices=prices, workload=built, only=only)
        else:
            decided = api.check(
                loaded,
                baseline,
                prices=prices,
                workload=built,
                only=only,
                max_increase_pct=increase_pct,
                max_increase_usd=increase_usd,
                budget_usd=budget_usd,
            )
    if update_baseline:
        for line in _update_lines(update):
            say(line)
        return
    _report(decided, output, out, junit, warn_only)
    if not decided.passed and not warn_only:
        raise typer.Exit(ExitCode.REGRESSION)


def _usd(text: str) -> Decimal:
    value = Decimal(text.strip().lstrip("$").replace(",", ""))
    if not value.is_finite() or value < 0:
        raise ValueError(f"`{text}` must be a non-negative amount of dollars")
    return value


def _parse(parser: Callable[[str], Decimal], value: str | None, flag: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return parser(value)
    except (ValueError, ArithmeticError) as exc:
        message = str(exc) if "`" in str(exc) else f"`{value}` is not a number"
        raise typer.BadParameter(message, param_hint=flag) from None


def _update_lines(update: BaselineUpdate) -> list[str]:
    from costaudit.render.money import signed_usd, usd

    lines = [f"baseline written to {update.path}"]
    for name, now in update.current.items():
        before = update.previous.get(name)
        if name not in update.previous:
            lines.append(f"  + {name}: {usd(now)}/month")
        elif before != now:
            change = (
                signed_usd(now - before) if now is not None and before is not None else "changed"
            )
            lines.append(f"  ~ {name}: {usd(before)} → {usd(now)}/month ({change})")
        else:
            lines.append(f"  = {name}: {usd(now)}/month (unchanged)")
    lines += [f"  - {name}: removed" for name in update.previous if name not in update.current]
    return lines


def _report(
    decided: Verdict,
    output: OutputFormat,
    out: Path | None,
    junit: Path | None,
    warn_only: bool,
) -> None:
    from costaudit.render import check as render

    markdown = render.check_markdown(decided)
    if output is OutputFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(render.check_document(decided)), out)
    elif output is OutputFormat.markdown:
        emit(markdown, out)
    elif output is OutputFormat.html:
        from costaudit.render.html_check import check_html

        emit(check_html(decided), out)
    elif output is OutputFormat.csv:
        raise InputError("--output", "check reports as table, json, markdown or html")
    else:
        emit([render.check_table(decided)], out)
    if junit is not None:
        write_text(junit, render.junit_xml(decided))
    _github(decided, markdown, warn_only)
    say(
        render.headline(decided)
        + (" (warn-only: exit 0)" if warn_only and not decided.passed else "")
    )
    for reason in decided.reasons:
        say(f"  {'warning' if warn_only else 'error'}: {reason}")


def _github(decided: Verdict, markdown: str, warn_only: bool) -> None:
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from costaudit.render.check import github_annotations

    for line in github_annotations(decided, warn_only):
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
