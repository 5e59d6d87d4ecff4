"""`costaudit pricing`: inspect, validate, compare, describe and import price tables.

Typer wiring only: every command parses its options, calls `costaudit.api.pricing` and renders
through `costaudit.render.pricing`. Imports happen inside the commands so `costaudit --help` stays
fast.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costaudit.cli.common import (
    active_prices,
    emit,
    handle_errors,
    print_input_error,
    print_warning,
    stderr_console,
)
from costaudit.cli.options import ForceOpt, OutOpt, PricingOpt
from costaudit.errors import ExitCode, InputError
from costaudit.render.safe import log_line

if TYPE_CHECKING:
    from costaudit.api.pricing import Section, TableCheck
    from costaudit.pricetable.importers.common import ImportResult
    from costaudit.pricetable.layers import LoadedPrices

pricing_app = typer.Typer(
    name="pricing",
    help="Inspect, validate, compare and import price tables (USD per 1M tokens).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class ListingFormat(enum.StrEnum):
    table = "table"
    json = "json"


class ImportSource(enum.StrEnum):
    litellm = "litellm"
    genai_prices = "genai-prices"


ListingOutputOpt = Annotated[
    ListingFormat,
    typer.Option(
        "--output", "-o", metavar="table|json", help="Report format.", case_sensitive=False
    ),
]
ModelArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL", help="A model id, alias or logged model name.", show_default=False
    ),
]


@pricing_app.command("list")
@handle_errors
def list_models(
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            metavar="P",
            help="Only models billed by this provider (openai, bedrock, together, ...).",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="TEXT",
            help="Only entries whose id or an alias contains TEXT (any case).",
            show_default=False,
        ),
    ] = None,
    hardware: Annotated[
        bool,
        typer.Option(
            "--hardware", help="List the GPUs and CPU instances for self-hosting instead."
        ),
    ] = False,
    self_hosted: Annotated[
        bool,
        typer.Option(
            "--self-hosted", help="List the open models' architectures for self-hosting instead."
        ),
    ] = False,
    providers: Annotated[
        bool,
        typer.Option(
            "--providers", help="Count the models of each provider instead (what the table covers)."
        ),
    ] = False,
    pricing: PricingOpt = None,
    output: ListingOutputOpt = ListingFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """List every model of the active price table (layered --pricing files) with its prices.

    Prices are USD per 1M tokens as the table writes them; `costaudit pricing show MODEL` adds the
    history and the rates billed after fallbacks. --hardware and --self-hosted list the table's
    other sections: what a GPU-hour costs and what each open model needs.
    """
    from costaudit.api import pricing as api

    if hardware + self_hosted + providers > 1:
        raise _usage_error("--hardware", "give one of --hardware, --self-hosted and --providers")
    prices = active_prices(pricing)
    if hardware or self_hosted:
        if provider is not None:
            raise _usage_error("--provider", "applies to models, not --hardware or --self-hosted")
        section: Section = "hardware" if hardware else "self_hosted"
        _emit_section(prices, section, api.entry_ids(prices, section, search=search), output, out)
        return
    ids = api.model_ids(prices, provider=provider, search=search)
    if providers:
        from costaudit.render import pricing as render

        if output is ListingFormat.json:
            from costaudit.jsonio import dumps

            emit(dumps(render.providers_document(prices.table, ids, prices.files)), out)
        else:
            emit(render.providers_report(prices.table, ids, prices.files), out)
        return
    _emit_listing(prices, ids, output, out)


@pricing_app.command("show")
@handle_errors
def show(
    model: ModelArg,
    pricing: PricingOpt = None,
    output: ListingOutputOpt = ListingFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Show everything the price table says about one model: every price, tier, batch price,
    history entry, alias, source and checked date, plus the rates the engine bills after fallbacks.

    MODEL may be the id, an alias, or any name a log would carry (`openai/gpt-4o-2024-08-06`), or
    the id of a hardware or self-hosted entry (`h100`, `llama-3.1-8b`).
    """
    from costaudit.api import pricing as api

    prices = active_prices(pricing)
    section = api.section_of(prices, model)
    if section is not None:
        _emit_section(prices, section, [model], output, out, detailed=True)
        return
    resolution = api.lookup(prices, model)
    model_id = resolution.price_id
    from costaudit.render import pricing as render

    if output is ListingFormat.json:
        from costaudit.jsonio import dumps

        document = render.listing_document(prices.table, [model_id], prices.files)
        document["lookup"] = render.lookup_document(model, resolution, prices.table)
        emit(dumps(document), out)
        return

    entry = prices.table.models[model_id]
    emit(
        render.show_report(
            model_id,
            entry,
            api.rates_billed(prices, model_id),
            render.lookup_text(model, resolution, prices.table),
        ),
        out,
    )


@pricing_app.command("validate")
@handle_errors
def validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[FILE...]",
            help="Price table YAML files (default: the active tables: $COSTAUDIT_PRICING, else the bundled one).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check price tables and report EVERY problem, one line each naming file and field (exit 3).

    Beyond the schema: ids sorted, no name claimed twice, tiers ascending and complete, cached price
    not above input, history oldest first, batch prices not above standard, `match` patterns that do
    not cover other models' names, tokenizers that are tiktoken encodings, and (for several files)
    that they layer cleanly. Prints a one-line OK summary when all is well.
    """
    from costaudit.api import pricing as api

    result = api.validate_tables(files)
    if result.problems:
        _report_problems(list(result.problems), len(result.checks))
    for message in result.warnings:
        print_warning(message)
    typer.echo(log_line(_ok_summary(result)))


@pricing_app.command("diff")
@handle_errors
def diff(
    old: Annotated[
        Path, typer.Argument(metavar="OLD", help="The earlier price table.", dir_okay=False)
    ],
    new: Annotated[
        Path, typer.Argument(metavar="NEW", help="The later price table.", dir_okay=False)
    ],
    output: ListingOutputOpt = ListingFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Compare two price tables: models added and removed, every changed price with its % change,
    and changed aliases, patterns, providers and tokenizers.
    """
    from costaudit.api import pricing as api
    from costaudit.render import pricing as render

    result = api.diff_price_tables(old, new)
    if output is ListingFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(render.diff_document(result, old, new)), out)
    else:
        emit(render.diff_report(result, old, new), out)
    stderr_console().print(
        f"costaudit: {len(result.added)} added, {len(result.removed)} removed, "
        f"{len(result.changed)} changed",
        markup=False,
    )


@pricing_app.command("schema")
@handle_errors
def schema(
    out: OutOpt = None,
    force: ForceOpt = False,
    scenario: Annotated[
        bool,
        typer.Option(
            "--scenario",
            help="Write the schema of scenario files instead (pricing/scenario.schema.json).",
        ),
    ] = False,
) -> None:
    """Write the JSON Schema of price table files (pricing/price-table.schema.json).

    YAML editors use it through the first line of a table:
    `# yaml-language-server: $schema=./price-table.schema.json`.
    """
    from costaudit.api import pricing as api

    emit(api.schema(scenario=scenario), out)

    if out is not None:
        stderr_console().print(f"schema written to {out}", markup=False)


@pricing_app.command("import")
@handle_errors
def import_prices(
    source: Annotated[
        ImportSource,
        typer.Argument(metavar="SOURCE", help="litellm or genai-prices.", case_sensitive=False),
    ],
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help="litellm: its model_prices_and_context_window.json (required). genai-prices: a "
            "data.json in its published shape (default: the installed genai-prices package).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            metavar="P",
            help="genai-prices only: providers to import, in priority order (repeatable; `all` for "
            "every one). Default: the first-party providers (openai, anthropic, google, ...).",
            show_default=False,
        ),
    ] = None,
    imported: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Date recorded as the table's `effective` and each model's `checked` (default: today, UTC).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Convert another project's price data into a costaudit price table (YAML).

    Prices become exact decimals per 1M tokens; cached and cache-write prices, batch prices,
    long-context tiers and (genai-prices) dated price history are kept. Models that cannot be priced
    exactly are skipped and counted by reason on stderr. Layer corrections on top with a second
    --pricing file rather than editing the import.
    """
    from costaudit.api import pricing as api

    day = _import_day(imported)
    try:
        if source is ImportSource.litellm:
            result = api.import_litellm(from_file, day)
        else:
            result = api.import_genai_prices(from_file, provider or [], day)
    except api.UsageError as error:
        raise _usage_error(error.option, error.message) from None
    emit(api.table_yaml(result, _import_header(source, result)), out)
    _import_summary(result, out)


# ---------------------------------------------------------------------------------------- helpers


def _emit_listing(
    prices: LoadedPrices, ids: list[str], output: ListingFormat, out: Path | None
) -> None:
    from costaudit.render import pricing as render

    if output is ListingFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(render.listing_document(prices.table, ids, prices.files)), out)
    else:
        emit(render.listing_report(prices.table, ids, prices.files), out)


def _emit_section(
    prices: LoadedPrices,
    section: Section,
    names: list[str],
    output: ListingFormat,
    out: Path | None,
    *,
    detailed: bool = False,
) -> None:
    """Hardware or self-hosted entries, as a table (or one entry in full) or as JSON."""
    from costaudit.render import pricing as render

    if output is ListingFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(render.section_document(prices.table, section, names, prices.files)), out)
    elif detailed:
        emit(render.entry_report(prices.table, section, names[0]), out)
    else:
        emit(render.section_report(prices.table, section, names, prices.files), out)


def _report_problems(problems: list[InputError], files: int) -> None:
    for problem in problems:
        print_input_error(problem)
    stderr_console().print(
        f"costaudit: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
        f"in {files} price table file{'s' if files != 1 else ''}",
        markup=False,
    )
    raise typer.Exit(ExitCode.BAD_INPUT)


def _ok_summary(result: TableCheck) -> str:
    from costaudit.render.pricing import shown_path

    table = result.table
    assert table is not None, "a check without problems has its table"
    names = ", ".join(shown_path(check.path) for check in result.checks)
    layered = " layered" if len(result.checks) > 1 else ""
    return (
        f"OK: {names}{layered}: {len(table.models)} models, {len(table.hardware)} hardware, "
        f"{len(table.self_hosted)} self-hosted, effective {table.effective}"
    )


def _usage_error(option: str, message: str) -> typer.Exit:
    """A usage error (exit 2) found inside a command body.

    Raised as `typer.Exit` because `handle_errors` lets only Exit/Abort through: a `BadParameter`
    raised here would be reported as an internal error (exit 4).
    """
    stderr_console().print(f"error: invalid value for {option}: {message}", markup=False)
    return typer.Exit(ExitCode.USAGE)


def _import_day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _usage_error("--date", f"`{value}` is not a YYYY-MM-DD date") from None


def _import_header(source: ImportSource, result: ImportResult) -> list[str]:
    return [
        f"Imported by `costaudit pricing import {source.value}` from {result.source}.",
        "Do not edit by hand: re-run the import, and put corrections in an overrides file layered",
        "after this one (costaudit analyze --pricing THIS.yaml --pricing overrides.yaml).",
        f"{result.imported} models imported; {_skipped_text(result)}.",
    ]


def _skipped_text(result: ImportResult) -> str:
    if not result.skipped_total:
        return "none skipped"
    reasons = "; ".join(
        f"{count} {reason}"
        for reason, count in sorted(result.skipped.items(), key=lambda item: -item[1])
    )
    return f"{result.skipped_total} skipped: {reasons}"


def _import_summary(result: ImportResult, out: Path | None) -> None:
    console = stderr_console()
    console.print(
        f"costaudit: {result.imported} models imported; {_skipped_text(result)}", markup=False
    )
    for caveat, count in sorted(result.notes.items(), key=lambda item: -item[1]):
        console.print(f"note: {count} × {caveat}", markup=False)
    if out is not None:
        console.print(f"price table written to {out}", markup=False)
