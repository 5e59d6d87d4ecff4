"""`costaudit simulate`: what this traffic would cost routed, cached, batched, fine-tuned or self-hosted."""

from __future__ import annotations

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
)
from costaudit.cli.options import OutOpt, OutputOpt, PlotsOpt, PricingOpt

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
    typer.Option("--seed", help="Override the scenario file's random seed.", show_default=False),
]


@handle_errors
def simulate(
    scenario: ScenarioOpt,
    logs: LogsArg = None,
    workload: WorkloadOpt = None,
    pricing: PricingOpt = None,
    output: OutputOpt = OutputFormat.table,
    out: OutOpt = None,
    plots: PlotsOpt = None,
    seed: SeedOpt = None,
) -> None:
    """Compare the monthly cost of every scenario in a scenario file against the baseline.

    Strategies (applied in this order in each scenario): routing (tiers by complexity share or score,
    cascades), response_cache, prompt_cache (provider rules replayed over prefix hashes), batching,
    fine_tune and hosting (self-hosted GPUs/CPUs). Any numeric parameter may be a [low, high] range:
    results then carry P10/P50/P90 from a seeded Monte Carlo. See examples/scenarios/ for annotated files.
    """
    from costaudit.render.jsonio import dumps
    from costaudit.render.simulation import (
        simulation_csv,
        simulation_document,
        simulation_markdown,
        simulation_report,
    )
    from costaudit.workloads import build_workload, load_scenario

    prices = active_prices(pricing)
    results = []
    for path in scenario:
        loaded = load_scenario(path, prices.table)
        config = loaded.config if seed is None else loaded.config.model_copy(update={"seed": seed})
        loaded = type(loaded)(path=loaded.path, config=config, digest=loaded.digest)
        with progress("Reading logs") as tick:
            built = build_workload(loaded, prices.table, logs=logs, saved=workload, progress=tick)
        results.append(_run(loaded, built.workload, prices.table))
    pricing_info = {
        "files": [str(p) for p in prices.files],
        "effective": prices.table.effective.isoformat(),
        "sha256": prices.digest,
    }
    if output is OutputFormat.json:
        documents = [simulation_document(result, pricing_info) for result in results]
        emit(dumps(documents[0] if len(documents) == 1 else documents), out)
    elif output is OutputFormat.csv:
        emit("".join(simulation_csv(result) for result in results), out)
    elif output is OutputFormat.markdown:
        emit("\n".join(simulation_markdown(result) for result in results), out)
    else:
        emit([part for result in results for part in simulation_report(result)], out)
    if plots is not None:
        from costaudit.render.plots import simulation_plots

        for result in results:
            simulation_plots(result, plots)
    _summary(results, out, plots)


def _run(loaded: Any, workload: Any, table: Any) -> Any:
    from costaudit.core.simulate.engine import simulate as run_simulation

    with progress("Simulating scenarios"):
        return run_simulation(workload, loaded.config, table)


def _summary(results: list[Any], out: Path | None, plots: Path | None) -> None:
    from costaudit.render.money import usd

    console = stderr_console()
    for result in results:
        cheapest = min(
            (s for s in result.scenarios if s.monthly_usd is not None),
            key=lambda s: s.monthly_usd,
            default=None,
        )
        best = (
            f"; cheapest: {cheapest.name} at {usd(cheapest.monthly_usd)}/month" if cheapest else ""
        )
        scenarios = len(result.scenarios)
        console.print(
            f"costaudit: {scenarios} scenario{'' if scenarios == 1 else 's'} on {result.workload_requests:,} requests; "
            f"baseline {result.baseline} {usd(result.baseline_monthly_usd)}/month{best}",
            markup=False,
        )
    for label, path in (("report", out), ("plots", plots)):
        if path is not None:
            console.print(f"{label} written to {path}", markup=False)
