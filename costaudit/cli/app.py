"""The root command: wires each command group in explicitly (no import side effects)."""

from __future__ import annotations

from typing import Annotated

import typer

from costaudit import __version__
from costaudit.cli.analyze import analyze
from costaudit.cli.check import check
from costaudit.cli.formats import formats
from costaudit.cli.pricing import pricing_app
from costaudit.cli.route import route_app
from costaudit.cli.simulate import simulate

app = typer.Typer(
    name="costaudit",
    help="What your LLM traffic costs, and what it would cost routed, cached, batched or self-hosted.\n\n"
    "Exit codes: 0 ok, 1 cost regression (check), 2 usage error, 3 bad input or config, 4 internal error.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"costaudit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """What your LLM traffic costs, and what it would cost routed, cached, batched or self-hosted."""


app.command("analyze")(analyze)
app.command("simulate")(simulate)
app.command("check")(check)
app.command("formats")(formats)


app.add_typer(pricing_app, name="pricing")
app.add_typer(route_app, name="route")
