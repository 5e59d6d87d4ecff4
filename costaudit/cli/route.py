"""`costaudit route fit`: fit a router on labelled logs, measure it out of fold, save it for scenarios.

Why a command of its own rather than a step inside `simulate`: fitting needs labelled prompts (a
sample someone graded), routing what-ifs run on all traffic, usually unlabelled, and often in CI.
Fitting once, reading the honest out-of-fold figure, and committing the small scorer file that
scenarios name (`routing: {scorer: router.json}`) keeps `simulate` and `check` deterministic and fast,
and makes a changed router a reviewed change of a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costaudit.cli.common import OutputFormat, active_prices, emit, handle_errors, progress, say
from costaudit.cli.options import (
    ForceOpt,
    FormatOpt,
    MapOpt,
    ModelOpt,
    OutOpt,
    OutputOpt,
    PricingOpt,
    StrictOpt,
    checked_destination,
    parse_mapping,
)
from costaudit.errors import InputError

route_app = typer.Typer(
    name="route",
    help="Fit a router on your own quality labels and measure it (APGR, CPT) against the built-in score.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

LabelledLogsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="LOGS...",
        help="Logs whose records carry per-model quality labels (`quality:<model>` fields, or "
        "--map quality:<model>=FIELD) and the prompt text.",
        show_default=False,
    ),
]
WeakOpt = Annotated[
    str | None,
    typer.Option(
        "--weak",
        metavar="NAME",
        help="The cheap model's label (`quality:NAME`). Default: of exactly two labels, the one with "
        "the lower mean.",
        show_default=False,
    ),
]
StrongOpt = Annotated[
    str | None,
    typer.Option("--strong", metavar="NAME", help="The strong model's label.", show_default=False),
]
LabelScaleOpt = Annotated[
    str | None,
    typer.Option(
        "--label-scale",
        metavar="LOW,HIGH",
        help="Scale of the labels when they are not booleans or scores in [0, 1], e.g. 1,10 for "
        "judge scores.",
        show_default=False,
    ),
]
FoldsOpt = Annotated[
    int,
    typer.Option("--folds", min=2, max=50, help="Cross-validation folds."),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed of the cross-validation folds (0 to 2^63-1).", min=0, max=2**63 - 1
    ),
]
SaveOpt = Annotated[
    Path | None,
    typer.Option(
        "--save",
        metavar="FILE",
        help="Save the scorer (fitted on every labelled prompt) as JSON, for `routing: {scorer: FILE}`.",
        dir_okay=False,
        show_default=False,
        callback=checked_destination,
    ),
]


def parse_scale(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise typer.BadParameter(
            f"`{value}` is not LOW,HIGH (e.g. 1,10)", param_hint="--label-scale"
        ) from None
    if not low < high:
        raise typer.BadParameter("LOW must be below HIGH", param_hint="--label-scale")
    return low, high


@route_app.command("fit")
@handle_errors
def fit(
    logs: LabelledLogsArg,
    weak: WeakOpt = None,
    strong: StrongOpt = None,
    label_scale: LabelScaleOpt = None,
    folds: FoldsOpt = 10,
    seed: SeedOpt = 7,
    save: SaveOpt = None,
    log_format: FormatOpt = None,
    mapping: MapOpt = None,
    model: ModelOpt = None,
    pricing: PricingOpt = None,
    output: OutputOpt = OutputFormat.table,
    out: OutOpt = None,
    force: ForceOpt = False,
    strict: StrictOpt = False,
) -> None:
    """Fit a router on labelled prompts: k-fold cross-validation, out-of-fold APGR, CPT(50%) and
    CPT(80%) next to the built-in score, prompt length, random and oracle; --save writes the scorer.

    The scorer predicts, from the prompt alone, the chance that each model answers well (logistic
    regressions over prompt length, counts, cue flags and the label value of its words and word pairs),
    and ranks prompts by the quality the strong model adds. Prompts stay in memory; the saved file
    holds weights and hashes of tokens that occur in at least 5 labelled prompts (docs/complexity.md).
    """
    from costaudit import api
    from costaudit.api.routers import save_scorer, scorer_document
    from costaudit.render import router_fit as render

    if output is OutputFormat.csv:
        raise InputError("--output", "route fit reports as table, json or markdown")
    prices = active_prices(pricing)
    with progress("Reading and fitting"):
        outcome = api.fit_router(
            logs,
            prices=prices,
            log_format=log_format,
            mapping=parse_mapping(mapping, api.mappable_columns()),
            model=model,
            strict=strict,
            weak=weak,
            strong=strong,
            label_scale=parse_scale(label_scale),
            folds=folds,
            seed=seed,
        )
    if save is not None:
        save_scorer(scorer_document(outcome), save)
    if output is OutputFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(render.fit_document(outcome, save)), out)
    elif output is OutputFormat.markdown:
        emit(render.fit_markdown(outcome, save), out)
    else:
        emit(render.fit_report(outcome, save), out)
    comparison = outcome.fit.comparison
    builtin = f"built-in {comparison.builtin.apgr:.3f}, " if comparison.builtin else ""
    say(
        f"costaudit: fitted on {outcome.fit.labelled:,} labelled prompts — out-of-fold APGR "
        f"{comparison.fitted.apgr:.3f} ({builtin}random {comparison.random.apgr:.3f})"
    )
    for label, path in (("report", out), ("scorer", save)):
        if path is not None:
            say(f"{label} written to {path}")
