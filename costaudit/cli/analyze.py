"""`costaudit analyze`: what the logged traffic costs, per model and group, and how complex it is."""

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
)
from costaudit.cli.options import (
    DaysOpt,
    Engine,
    EngineOpt,
    ForceOpt,
    FormatOpt,
    MapOpt,
    ModelOpt,
    OutOpt,
    OutputOpt,
    PlotsOpt,
    PricingOpt,
    SchedulerOpt,
    StrictOpt,
    check_scheduler,
    checked_destination,
    parse_days,
    parse_mapping,
    split_list,
)
from costaudit.render.safe import terminal

if TYPE_CHECKING:
    from costaudit.core.analysis import Analysis

LogsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="LOGS...",
        help="Log files, directories, glob patterns, or - for standard input (.gz/.zst read directly).",
        show_default=False,
    ),
]
GroupByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--group-by",
        metavar="KEY",
        help="Break costs down by a key: a field of the logs (user, feature, tags, team, a metadata "
        "key…), model, provider, source (one row per input file), or hour, day, week (cost over time, "
        "UTC). Repeat or comma-separate for several; an unknown key lists the available ones.",
        show_default=False,
    ),
]
SaveWorkloadOpt = Annotated[
    Path | None,
    typer.Option(
        "--save-workload",
        metavar="FILE",
        help="Also save the request table (no prompt text) as Parquet, for `simulate --workload`.",
        dir_okay=False,
        show_default=False,
        callback=checked_destination,
    ),
]


@handle_errors
def analyze(
    logs: LogsArg,
    log_format: FormatOpt = None,
    mapping: MapOpt = None,
    model: ModelOpt = None,
    pricing: PricingOpt = None,
    days: DaysOpt = None,
    group_by: GroupByOpt = None,
    output: OutputOpt = OutputFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
    plots: PlotsOpt = None,
    save_workload: SaveWorkloadOpt = None,
    strict: StrictOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
) -> None:
    """Price every logged request and report monthly cost, per-model and per-group costs, token
    percentiles and the prompt-complexity distribution.

    Log formats are detected per file: OpenAI, Anthropic, Gemini, Amazon Bedrock, OpenTelemetry GenAI
    spans, Phoenix/OpenInference, LangSmith, MLflow, LiteLLM, Langfuse, Helicone, the
    Azure/Mooncake/BurstGPT traces, or any JSONL/CSV/Parquet with the canonical column names
    (`costaudit formats` lists them). In traces only model calls are billed: agent and chain spans
    that repeat their calls' usage are counted and set aside. Bad records are skipped and counted;
    --strict stops at the first one.

    Complexity classes: simple < 0.33 ≤ medium < 0.67 ≤ complex.
    """
    from costaudit import api

    window_days = parse_days(days)
    html_destination(output, out)
    groups = split_list(group_by)
    columns = api.mappable_columns(groups)
    prices = active_prices(pricing)
    timeline = output is OutputFormat.html or plots is not None
    check_scheduler(engine, scheduler)
    if save_workload is not None and engine is Engine.dask:
        raise typer.BadParameter(
            "--save-workload is written by --engine local", param_hint="--engine"
        )
    mapped = parse_mapping(mapping, columns)
    try:
        with progress("Reading logs") as tick:
            result = api.analyze(
                logs,
                prices=prices,
                log_format=log_format,
                mapping=mapped,
                model=model,
                strict=strict,
                group_by=groups,
                days=window_days,
                timeline=timeline,
                progress=tick,
                engine=engine.value,
                scheduler=scheduler,
                save_workload=save_workload,
            )
    except api.UnknownGroupKey as unknown:
        raise typer.BadParameter(terminal(str(unknown)), param_hint="--group-by") from None
    _emit_report(result, output, out, logs)
    if plots is not None:
        from costaudit.render.plots import analysis_plots

        analysis_plots(result, plots)
    _summary_line(result, out, plots, save_workload)


def _emit_report(result: Analysis, output: OutputFormat, out: Path | None, logs: list[str]) -> None:
    from costaudit.render import analysis as render

    if output is OutputFormat.html:
        from costaudit.render.html_analysis import analysis_html

        emit(analysis_html(result, sources=logs), out)
    elif output is OutputFormat.table:
        from costaudit.render.analysis_table import analysis_report

        emit(analysis_report(result), out)
    elif output is OutputFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(render.analysis_document(result)), out)
    elif output is OutputFormat.csv:
        emit(render.analysis_csv(result), out)
    else:
        emit(render.analysis_markdown(result), out)


def _summary_line(
    result: Analysis, out: Path | None, plots: Path | None, saved: Path | None
) -> None:
    from costaudit.render.analysis import summary_lines

    for line in summary_lines(result):
        say(line)
    for label, path in (("report", out), ("plots", plots), ("workload", saved)):
        if path is not None:
            say(f"{label} written to {path}")
