"""Options shared by several commands, spelled and documented once."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from costaudit.cli.common import OutputFormat

PricingOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--pricing",
        metavar="FILE",
        help="Price table YAML; repeat to layer files (later files override earlier ones per model). "
        "Default: $COSTAUDIT_PRICING, else the bundled table.",
        show_default=False,
        dir_okay=False,
    ),
]
OutputOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        metavar="table|json|csv|markdown|html",
        help="Report format (html: one self-contained page with charts; use with --out FILE).",
        case_sensitive=False,
    ),
]
FORCE_KEY = "costaudit.force"


def _remember_force(ctx: typer.Context, value: bool) -> bool:
    """--force is read first (eager), so the output options checked after it know of it."""
    ctx.meta[FORCE_KEY] = value
    return value


def checked_destination(
    ctx: typer.Context, param: typer.CallbackParam, value: Path | None
) -> Path | None:
    """An output path, refused (exit 2) when symbolic links send it outside the working directory and
    --force was not given (costaudit.fileio.check_destination)."""
    if value is None:
        return None
    option = param.opts[0] if param.opts else "--out"
    guard_destination(value, force=bool(ctx.meta.get(FORCE_KEY)), option=option)
    return value


def guard_destination(path: Path, *, force: bool, option: str) -> None:
    """Refuse (exit 2) an output path that symbolic links send outside the working directory."""
    from costaudit.errors import InputError
    from costaudit.fileio import check_destination

    try:
        check_destination(path, force=force, option=option)
    except InputError as refused:
        raise typer.BadParameter(f"{path} {refused.message}", param_hint=option) from None


AllowPathOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-path",
        metavar="DIR",
        help="Let the scenario file name files (prompts, logs, workloads, scorers) under DIR too; by "
        "default they must lie under the scenario file's directory. Repeatable.",
        file_okay=False,
        show_default=False,
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write output files even through a symbolic link that points outside the working directory.",
        is_eager=True,
        callback=_remember_force,
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="FILE",
        help="Write the report to this file instead of stdout.",
        dir_okay=False,
        show_default=False,
        callback=checked_destination,
    ),
]
PlotsOpt = Annotated[
    Path | None,
    typer.Option(
        "--plots",
        metavar="DIR",
        help="Write PNG charts into this directory.",
        file_okay=False,
        show_default=False,
        callback=checked_destination,
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="FORMAT",
        help="Force a log format instead of detecting it per file (see `costaudit formats`).",
        show_default=False,
    ),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="COLUMN=PATH",
        help="Map a canonical column onto another field: COLUMN=dotted.path (repeatable). Implies the generic reader.",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="MODEL",
        help="Price records that name no model (token-count traces) as this model.",
        show_default=False,
    ),
]
DaysOpt = Annotated[
    str | None,
    typer.Option(
        "--days",
        metavar="N",
        help="Length of the logged period in days (overrides the span of the timestamps); monthly = total × 30 / days.",
        show_default=False,
    ),
]
GroupByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--group-by",
        metavar="KEY",
        help="Break costs down by a field: user, feature, tags, provider, a metadata key, or source (the file). "
        "Repeat or comma-separate for several.",
        show_default=False,
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Stop at the first bad record (exit 3) instead of skipping and counting it.",
    ),
]


def parse_days(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        days = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(
            f"`{value}` is not a number of days", param_hint="--days"
        ) from None
    if not days.is_finite() or days <= 0:
        raise typer.BadParameter("must be a positive number of days", param_hint="--days")
    return days


def parse_limit_percent(text: str) -> Decimal:
    """A percentage limit (`5%`, `5` or `0.5%`), read as scenario files read percentages; a limit
    cannot be negative."""
    from costaudit.config.scenario import parse_percent

    number = parse_percent(text)
    if number < 0:
        raise ValueError(f"`{text}` must be a non-negative percentage")
    return number


def parse_mapping(items: list[str] | None, allowed: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        column, sep, path = item.partition("=")
        column, path = column.strip(), path.strip()
        if not sep or not column or not path:
            raise typer.BadParameter(f"`{item}` is not COLUMN=dotted.path", param_hint="--map")
        if column not in allowed and not (
            column.startswith("quality:") and len(column) > len("quality:")
        ):
            raise typer.BadParameter(
                f"`{column}` is not a canonical column (one of: {', '.join(allowed)})",
                param_hint="--map",
            )
        mapping[column] = path
    return mapping


def split_list(items: list[str] | None) -> list[str]:
    """`--group-by a,b --group-by c` → [a, b, c]."""
    return [part.strip() for item in items or [] for part in item.split(",") if part.strip()]


class Engine(enum.StrEnum):
    local = "local"
    dask = "dask"


EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        metavar="local|dask",
        help="Where the work runs: local (this machine, every core) or dask (the workers of a Dask "
        "cluster: --scheduler ADDRESS, else a local cluster; needs the dask extra). Same results.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler to run on with --engine dask (e.g. tcp://10.0.0.5:8786); the workers "
        "read the logs `analyze` is given by their paths, so every worker must see them.",
        show_default=False,
    ),
]


def check_scheduler(engine: Engine, scheduler: str | None) -> None:
    """--scheduler means nothing without --engine dask: a usage error rather than a silent local run."""
    if scheduler is not None and engine is not Engine.dask:
        raise typer.BadParameter("--scheduler needs --engine dask", param_hint="--scheduler")


@contextlib.contextmanager
def engine_cluster(engine: Engine, scheduler: str | None) -> Iterator[str | None]:
    """The scheduler address the block's runs use: None for the local engine; with --engine dask,
    --scheduler once it answers, or a local cluster started for the block (shared by every scenario
    file of the command). A missing dask extra or an unreachable scheduler is found here, before any
    log is read."""
    check_scheduler(engine, scheduler)
    if engine is not Engine.dask:
        yield None
        return
    from costaudit import api

    with api.dask_cluster(scheduler) as address:
        yield address
