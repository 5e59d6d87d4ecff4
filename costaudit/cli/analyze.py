"""`costaudit analyze`: what the logged traffic costs, per model and group, and how complex it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costaudit.cli.common import (
    OutputFormat,
    active_prices,
    emit,
    handle_errors,
    print_warning,
    progress,
    say,
)
from costaudit.cli.options import (
    DaysOpt,
    FormatOpt,
    GroupByOpt,
    MapOpt,
    ModelOpt,
    OutOpt,
    OutputOpt,
    PlotsOpt,
    PricingOpt,
    StrictOpt,
    parse_days,
    parse_mapping,
    split_list,
)

LogsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="LOGS...",
        help="Log files, directories, glob patterns, or - for standard input (.gz/.zst read directly).",
        show_default=False,
    ),
]
PREFIX_BLOCK_TOKENS = 64
"""Granularity of the prompt hashes saved with a workload (every provider's cache granularity is a multiple)."""

SaveWorkloadOpt = Annotated[
    Path | None,
    typer.Option(
        "--save-workload",
        metavar="FILE",
        help="Also save the request table (no prompt text) as Parquet, for `simulate --workload`.",
        dir_okay=False,
        show_default=False,
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
    plots: PlotsOpt = None,
    save_workload: SaveWorkloadOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Price every logged request and report monthly cost, per-model and per-group costs, token
    percentiles and the prompt-complexity distribution.

    Log formats are detected per file: OpenAI, Anthropic, Gemini, OpenTelemetry GenAI spans, LiteLLM,
    Langfuse, Helicone, the Azure/Mooncake/BurstGPT traces, or any JSONL/CSV/Parquet with the canonical
    column names (`costaudit formats` lists them). Bad records are skipped and counted; --strict stops
    at the first one.

    Complexity classes: simple < 0.33 ≤ medium < 0.67 ≤ complex.
    """
    from costaudit.core.analysis import IngestFacts
    from costaudit.core.analysis import analyze as run_analysis
    from costaudit.core.pricing import ModelResolver
    from costaudit.ingest.formats.generic import CANONICAL_FIELDS, DEFAULT_GROUP_FIELDS
    from costaudit.ingest.reader import ReadOptions, read_logs

    window_days = parse_days(days)
    groups = split_list(group_by)
    columns = (*CANONICAL_FIELDS, *DEFAULT_GROUP_FIELDS, *groups)
    options = ReadOptions(
        format=log_format,
        mapping=parse_mapping(mapping, columns),
        default_model=model,
        group_fields=groups,
        strict=strict,
        prefix_block_tokens=PREFIX_BLOCK_TOKENS if save_workload is not None else None,
    )
    prices = active_prices(pricing)
    resolver = ModelResolver(prices.table)
    with progress("Reading logs") as tick:
        workload = read_logs(logs, options, resolver.tokenizer_for, progress=tick)
    facts = IngestFacts(workload.records_read, workload.problems.skipped, workload.problems.notes)
    result = run_analysis(workload.columns, prices.table, facts, group_by=groups, days=window_days)
    if save_workload is not None:
        from costaudit.ingest.workload_io import save_workload as write_workload

        write_workload(
            workload.requests,
            save_workload,
            sources=[report.name for report in workload.files],
            prefix_blocks=workload.prefix_blocks,
        )
    pricing_info = _pricing_info(prices)
    _emit_report(result, workload.problems.examples, pricing_info, output, out)
    if plots is not None:
        from costaudit.render.plots import analysis_plots

        analysis_plots(result, plots)
    _summary_line(result, workload.estimated_encodings, out, plots, save_workload)


def _pricing_info(prices: Any) -> dict[str, Any]:
    return {
        "files": [str(path) for path in prices.files],
        "effective": prices.table.effective.isoformat(),
        "sha256": prices.digest,
    }


def _emit_report(
    result: Any,
    examples: dict[str, list[str]],
    pricing_info: dict[str, Any],
    output: OutputFormat,
    out: Path | None,
) -> None:
    from costaudit.render import analysis as render

    if output is OutputFormat.table:
        from costaudit.render.analysis_table import analysis_report

        emit(analysis_report(result, examples), out)
    elif output is OutputFormat.json:
        from costaudit.render.jsonio import dumps

        emit(dumps(render.analysis_document(result, pricing_info)), out)
    elif output is OutputFormat.csv:
        emit(render.models_csv(result), out)
    else:
        emit(render.analysis_markdown(result), out)


def _summary_line(
    result: Any, estimated: set[str], out: Path | None, plots: Path | None, saved: Path | None
) -> None:
    from costaudit.render.money import count, usd

    monthly = (
        f"{usd(result.monthly_cost)}/month"
        if result.monthly_cost is not None
        else "no monthly figure"
    )
    say(
        f"costaudit: {count(result.records_read)} records, {count(result.records_priced)} priced, "
        f"{count(result.records_unpriced)} unpriced, {count(result.records_skipped)} skipped — "
        f"{usd(result.total_cost)} total, {monthly}"
    )
    for problem in result.problems:
        if problem.kind in {"stale_table", "before_first_price"}:
            print_warning(problem.detail)
    for encoding in sorted(estimated):
        say(
            f"note: the {encoding} tokenizer is not available offline; its counts were estimated with "
            "cl100k_base (put the encoding file in TIKTOKEN_CACHE_DIR for exact counts)"
        )
    for label, path in (("report", out), ("plots", plots), ("workload", saved)):
        if path is not None:
            say(f"{label} written to {path}")
