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
    status,
    write_text,
)
from costaudit.cli.options import (
    AllowPathOpt,
    Engine,
    EngineOpt,
    ForceOpt,
    GroupByOpt,
    OutOpt,
    OutputOpt,
    PricingOpt,
    SchedulerOpt,
    checked_destination,
    engine_cluster,
    guard_destination,
    parse_limit_percent,
    split_list,
)
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


class MissingThreshold(typer.BadParameter):
    """`check` without any limit: a usage error (exit 2) that says how to set one."""

    def format_message(self) -> str:
        return self.message


NO_LIMIT = (
    "check needs a limit to fail on: give --max-increase PCT, --max-increase-usd USD or --budget "
    "USD, or set them in the scenario file's `check:` section (e.g. `check: {max_increase: 5%}`); "
    "use --report-only to only report the changes"
)


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
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only",
            help="Only report the changes since the baseline (no limit needed); exit 0.",
        ),
    ] = False,
    group_by: GroupByOpt = None,
    output: OutputOpt = OutputFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            help="Also write a JUnit XML report.",
            dir_okay=False,
            show_default=False,
            callback=checked_destination,
        ),
    ] = None,
    allow_path: AllowPathOpt = None,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
) -> None:
    """Recompute every scenario's monthly cost and compare it with a committed baseline.

    A scenario fails when it grows past --max-increase / --max-increase-usd, is over --budget, or
    leaves more requests unpriced than the baseline. The scenario file's `check:` section can set the
    same limits per scenario and per group (a feature, a model); the options here replace its defaults.
    Without any limit, check is a usage error unless --report-only is given. Exit codes: 0 passed (or
    --warn-only, --report-only, --update-baseline), 1 a limit was crossed, 2 usage error (no limit), 3
    bad or missing input (including a missing baseline), 4 a bug. Each change is attributed to what
    changed since the baseline (prices, traffic, prompts or the scenario file), with the models and
    groups (--group-by, `check.group_by`) whose cost moved most. Under GitHub Actions, failures become
    error annotations (::error) and the Markdown report is appended to $GITHUB_STEP_SUMMARY.
    """
    from costaudit import api

    html_destination(output, out)
    if update_baseline:
        guard_destination(baseline, force=force, option="--baseline")
    increase_pct = _parse(parse_limit_percent, max_increase, "--max-increase")
    increase_usd = _parse(_usd, max_increase_usd, "--max-increase-usd")
    budget_usd = _parse(_usd, budget, "--budget")
    keys = split_list(group_by)
    prices = active_prices(pricing)
    loaded = api.load_scenario(scenario, prices=prices, allow_paths=allow_path or ())
    limited = any(value is not None for value in (increase_pct, increase_usd, budget_usd))
    settings = loaded.config.check
    if not (update_baseline or report_only or limited or (settings and settings.any_set())):
        raise MissingThreshold(NO_LIMIT)
    with engine_cluster(engine, scheduler) as address:
        with progress("Reading logs") as tick:
            built = api.scenario_workload(
                loaded, prices=prices, logs=logs, workload=workload, group_by=keys, progress=tick
            )
        with status("Simulating scenarios") as report:
            if update_baseline:
                update = api.update_baseline(
                    loaded,
                    baseline,
                    prices=prices,
                    workload=built,
                    only=only,
                    group_by=keys,
                    report=report,
                    engine=engine.value,
                    scheduler=address,
                )
            else:
                decided = api.check(
                    loaded,
                    baseline,
                    prices=prices,
                    workload=built,
                    only=only,
                    group_by=keys,
                    max_increase_pct=increase_pct,
                    max_increase_usd=increase_usd,
                    budget_usd=budget_usd,
                    report=report,
                    engine=engine.value,
                    scheduler=address,
                )
    if update_baseline:
        for line in _update_lines(update):
            say(line)
        return
    lenient = "report-only" if report_only else "warn-only" if warn_only else None
    _report(decided, output, out, junit, lenient)
    if not decided.passed and lenient is None:
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
    lenient: str | None,
) -> None:
    """Write the report; `lenient` (`warn-only`, `report-only`) turns failures into warnings."""
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
    _github(decided, markdown, lenient is not None)
    say(
        render.headline(decided)
        + (f" ({lenient}: exit 0)" if lenient and not decided.passed else "")
    )
    for reason in decided.reasons:
        say(f"  {'warning' if lenient else 'error'}: {reason}")


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
