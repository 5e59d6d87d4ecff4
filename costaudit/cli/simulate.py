"""`costaudit simulate`: what this traffic would cost routed, cached, batched, fine-tuned or self-hosted."""

from __future__ import annotations

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
)
from costaudit.cli.options import (
    AllowPathOpt,
    Engine,
    EngineOpt,
    ForceOpt,
    GroupByOpt,
    OutOpt,
    OutputOpt,
    PlotsOpt,
    PricingOpt,
    SchedulerOpt,
    engine_cluster,
    split_list,
)

if TYPE_CHECKING:
    from costaudit.core.simulate.engine import SimulationResult

ScenarioOpt = Annotated[
    list[Path],
    typer.Option(
        "--scenario",
        "-s",
        metavar="FILE",
        help="Scenario YAML (workload + scenarios). Repeat to run several files; each is compared with its own baseline.",
        dir_okay=False,
        show_default=False,
    ),
]
LogsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[LOGS...]",
        help="Log files, directories or globs to simulate instead of the scenario file's workload.",
        show_default=False,
    ),
]
WorkloadOpt = Annotated[
    Path | None,
    typer.Option(
        "--workload",
        metavar="FILE",
        help="A request table saved by `analyze --save-workload`, instead of the file's workload.",
        dir_okay=False,
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Override the scenario file's random seed (0 to 2^63-1).",
        show_default=False,
        min=0,
        max=2**63 - 1,
    ),
]
MonthsOpt = Annotated[
    int | None,
    typer.Option(
        "--months",
        metavar="N",
        min=1,
        max=120,
        help="Forecast each scenario's cost over N months with the workload's growth "
        "(`growth:` in the scenario file), and the cumulative saving.",
        show_default=False,
    ),
]


@handle_errors
def simulate(
    scenario: ScenarioOpt,
    logs: LogsArg = None,
    workload: WorkloadOpt = None,
    pricing: PricingOpt = None,
    output: OutputOpt = OutputFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
    plots: PlotsOpt = None,
    seed: SeedOpt = None,
    group_by: GroupByOpt = None,
    months: MonthsOpt = None,
    allow_path: AllowPathOpt = None,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
) -> None:
    """Compare the monthly cost of every scenario in a scenario file against the baseline.

    Strategies (applied in this order in each scenario): routing (tiers by complexity share or score,
    cascades), response_cache, prompt_cache (provider rules replayed over prefix hashes), batching,
    fine_tune and hosting (self-hosted GPUs/CPUs); each may be limited to some traffic with
    `applies_to`. Any numeric parameter may be a [low, high] range: results then carry P10/P50/P90 from
    a seeded Monte Carlo. Every scenario is broken down by model and by each --group-by field. See
    examples/scenarios/ for annotated files.

    With --engine dask the workload is read here, each scenario is computed by a worker of the
    cluster and its cache replays fan out over the workers, one task per group of cache scopes; the
    report is the same.
    """
    from costaudit import api

    html_destination(output, out)
    prices = active_prices(pricing)
    keys = split_list(group_by)
    results = []
    with engine_cluster(engine, scheduler) as address:
        for path in scenario:
            loaded = api.load_scenario(path, prices=prices, seed=seed, allow_paths=allow_path or ())
            with progress("Reading logs") as tick:
                built = api.scenario_workload(
                    loaded,
                    prices=prices,
                    logs=logs,
                    workload=workload,
                    group_by=keys,
                    progress=tick,
                )
            with status("Simulating scenarios") as report:
                results.append(
                    api.simulate(
                        loaded,
                        prices=prices,
                        workload=built,
                        group_by=keys,
                        months=months,
                        report=report,
                        engine=engine.value,
                        scheduler=address,
                    )
                )
    _emit(results, output, out, [str(path) for path in scenario])
    if plots is not None:
        from costaudit.render.plots import simulation_plots

        for result in results:
            simulation_plots(result, plots)
    for line in _summary(results):
        say(line)
    for label, written in (("report", out), ("plots", plots)):
        if written is not None:
            say(f"{label} written to {written}")


def _emit(
    results: list[SimulationResult], output: OutputFormat, out: Path | None, sources: list[str]
) -> None:
    from costaudit.render import simulation as render

    if output is OutputFormat.html:
        from costaudit.render.html_simulation import simulation_html

        emit(simulation_html(results, sources), out)
    elif output is OutputFormat.json:
        from costaudit.jsonio import dumps

        documents = [render.simulation_document(result) for result in results]
        emit(dumps(documents[0] if len(documents) == 1 else documents), out)
    elif output is OutputFormat.csv:
        emit("".join(render.simulation_csv(result) for result in results), out)
    elif output is OutputFormat.markdown:
        emit("\n".join(render.simulation_markdown(result) for result in results), out)
    else:
        emit([part for result in results for part in render.simulation_report(result)], out)


def _summary(results: list[SimulationResult]) -> list[str]:
    from costaudit.render.simulation import summary_line

    return [summary_line(result) for result in results]
