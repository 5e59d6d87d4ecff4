"""Regenerate the README's generated sections from the real CLI (`python -m costaudit.cli.docgen`).

Sections sit between `<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->` markers: the
`--help` of every command, and the real output of example runs. A test regenerates them and fails when
the README has drifted, so the documentation cannot lie about the tool.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from typer.testing import CliRunner

from costaudit.cli.app import app

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
WIDTH = "100"
MARKER = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)",
    re.S,
)

EXAMPLE_RUNS: dict[str, list[str]] = {
    "analyze-demo": ["analyze", "examples/logs/"],
    "analyze-group": ["analyze", "examples/logs/", "--group-by", "feature", "-o", "markdown"],
}
"""Example commands whose real output the README shows (run from the repository root)."""


def _commands(group: typer.Typer, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for info in group.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        found.append([*prefix, name])
    for sub in group.registered_groups:
        if sub.typer_instance is not None and sub.name:
            found += _commands(sub.typer_instance, [*prefix, sub.name])
    return found


def _invoke(args: list[str]) -> str:
    runner = CliRunner(env={"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"})
    cwd = Path.cwd()
    os.chdir(REPO)
    try:
        result = runner.invoke(app, args)
    finally:
        os.chdir(cwd)
    lines = [line.rstrip() for line in result.stdout.rstrip().splitlines()]
    return "\n".join(lines) + "\n"


def help_section() -> str:
    parts = []
    for command in _commands(app, []):
        title = " ".join(["costaudit", *command])
        parts.append(f"#### `{title}`\n\n```text\n{_invoke([*command, '--help'])}```\n")
    return "\n".join(parts)


def example_section(name: str) -> str:
    args = EXAMPLE_RUNS[name]
    output = _invoke(args)
    if "-o" in args and args[args.index("-o") + 1] == "markdown":
        return f"```console\n$ costaudit {shlex.join(args)}\n```\n\n{output}"
    return f"```console\n$ costaudit {shlex.join(args)}\n{output}```\n"


def _example(name: str) -> Callable[[], str]:
    return lambda: example_section(name)


SECTIONS: dict[str, Callable[[], str]] = {
    "cli-help": help_section,
    **{name: _example(name) for name in EXAMPLE_RUNS},
}


def regenerate(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in SECTIONS:
            return match.group(0)
        return f"{match.group(1)}{SECTIONS[name]()}{match.group(4)}"

    return MARKER.sub(replace, text)


def main() -> None:
    current = README.read_text(encoding="utf-8")
    updated = regenerate(current)
    if "--check" in sys.argv[1:]:
        if updated != current:
            sys.stderr.write("README.md is out of date: run `python -m costaudit.cli.docgen`\n")
            raise SystemExit(1)
        return
    README.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
