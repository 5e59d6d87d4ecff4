"""What every command shares: consoles, error → exit-code mapping, writing the report, progress.

Reports go to stdout (or `--out`, opened only once the report exists, so a failed run never leaves an
empty file behind); progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from costaudit.errors import ExitCode, InputError
from costaudit.render.safe import log_line, no_command_lines, terminal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

    from costaudit.api import LoadedPrices

P = ParamSpec("P")
R = TypeVar("R")
REPORT_WIDTH = 120


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


def html_destination(output: OutputFormat, out: Path | None) -> None:
    """An HTML page is a file to open in a browser: refuse to pour it onto a terminal."""
    if output is OutputFormat.html and out is None and sys.stdout.isatty():
        raise typer.BadParameter(
            "an HTML report is a file to open in a browser: add --out FILE (or redirect stdout)",
            param_hint="--output html",
        )


@functools.cache
def _console_class() -> type[Console]:
    """A rich Console whose plain-string text (table cells, titles) goes through the terminal sink:
    reports put names from logs and scenario files in many cells, and this reaches every one."""
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, *args: Any, **kwargs: Any) -> Text:
            return super().render_str(terminal(text), *args, **kwargs)

    return SafeConsole


def make_console(**options: Any) -> Console:
    """A console for costaudit's output: markup and emoji codes off, so `[/x]` or `:warning:` in a
    name prints as written (styles come from `Text` objects, never markup), strings through the
    terminal sink."""
    return _console_class()(markup=False, emoji=False, highlight=False, **options)


def stderr_console() -> Console:
    return make_console(stderr=True, soft_wrap=True)


def stdout_console() -> Console:
    return make_console(width=None if sys.stdout.isatty() else REPORT_WIDTH)


def say(line: str) -> None:
    """One plain line on stderr (summaries, notes, warnings): no markup, no rich needed. The line
    may quote names from logs or files, so it goes through the log-line sink: it stays one line and
    never reads as a GitHub workflow command."""
    sys.stderr.write(log_line(line) + "\n")


def print_warning(message: str) -> None:
    say(f"warning: {message}")


def active_prices(pricing: Sequence[Path] | None) -> LoadedPrices:
    """The layered price tables of `--pricing` (or the default), their layering warnings printed."""
    from costaudit.api import load_prices

    prices = load_prices(pricing)
    for message in prices.warnings:
        print_warning(message)
    return prices


def print_input_error(error: InputError) -> None:
    """One line per problem; a message quotes file names and values from the input, so each line
    goes through the terminal sink."""
    from rich.text import Text

    console = stderr_console()
    for problem in (error, *error.also):
        line = Text("error:", style="bold red")
        line.append(" " + terminal(str(problem)))
        console.print(line, highlight=False)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Map errors to exit codes: bad input → 3 with one line per problem, anything unexpected → 4."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise

        except InputError as error:
            print_input_error(error)
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except KeyboardInterrupt:
            stderr_console().print("interrupted")
            raise typer.Exit(130) from None
        except Exception as error:
            from rich.text import Text

            console = stderr_console()
            line = Text("internal error:", style="bold red")
            line.append(" " + terminal(f"{type(error).__name__}: {error}"))
            console.print(line)
            if os.environ.get("COSTAUDIT_DEBUG"):
                import traceback

                console.print(traceback.format_exc(), markup=False)
            else:
                console.print(
                    "This is a bug in costaudit. Set COSTAUDIT_DEBUG=1 to see the traceback."
                )
            raise typer.Exit(ExitCode.INTERNAL) from None

    return wrapper


def render_to_text(parts: Sequence[RenderableType], *, width: int = REPORT_WIDTH) -> str:
    """Rich renderables as plain text (for `--out` files and non-terminal stdout)."""
    console = make_console(
        width=width,
        record=True,
        file=open(os.devnull, "w"),  # noqa: SIM115, PTH123
        color_system=None,
    )
    for part in parts:
        console.print(part)
        console.print()
    text = console.export_text()
    console.file.close()
    return no_command_lines(text)


def write_text(path: Path, text: str) -> None:
    """Write a file the user named, atomically (costaudit.fileio); failures name the file (exit 3)."""
    from costaudit.fileio import write_file

    write_file(path, text)


def emit(report: str | Sequence[RenderableType], out: Path | None) -> None:
    """Write the report to `out` (created late) or stdout."""
    if out is not None:
        write_text(out, report if isinstance(report, str) else render_to_text(report))
        return

    if isinstance(report, str):
        sys.stdout.write(no_command_lines(report))
        sys.stdout.flush()
        return
    console = stdout_console()
    if console.is_terminal:
        for part in report:
            console.print(part)
            console.print()
        return
    # Not a terminal (a CI log, a pipe): a table wraps long cells, and the runner reads every line.
    with console.capture() as captured:
        for part in report:
            console.print(part)
            console.print()
    sys.stdout.write(no_command_lines(captured.get()))
    sys.stdout.flush()


@contextlib.contextmanager
def status(label: str) -> Iterator[Callable[[str], None]]:
    """A live line on stderr saying what long work is doing, when stderr is a terminal. What the
    work says may quote names from scenario files and logs, and a `Text` skips the console's sink,
    so each line goes through the log-line sink here."""
    if not sys.stderr.isatty() or not stderr_console().is_terminal:
        yield lambda _text: None
        return
    from rich.text import Text

    with stderr_console().status(f"{label}…") as line:
        yield lambda text: line.update(Text(log_line(f"{label}… {text}")))


@contextlib.contextmanager
def progress(label: str) -> Iterator[Callable[[int], None]]:
    """A live record counter on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda _count: None
        return
    console = stderr_console()
    if not console.is_terminal:
        yield lambda _count: None
        return
    with console.status(f"{label}…") as status:
        yield lambda count: status.update(f"{label}… {count:,} records")
