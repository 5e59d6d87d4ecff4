"""The README's generated sections match the real CLI, and every command explains itself."""

from __future__ import annotations

from typer.testing import CliRunner

from costaudit.cli import docgen
from costaudit.cli.app import app


def test_generated_sections_are_up_to_date() -> None:
    for document in docgen.DOCUMENTS:
        current = document.read_text(encoding="utf-8")
        assert docgen.regenerate(current) == current, (
            f"{document} drifted: run `python -m costaudit.cli.docgen`"
        )


def test_readme_names_exactly_the_two_setup_commands() -> None:
    text = docgen.README.read_text(encoding="utf-8")
    setup = text.split("## Set-up", 1)[1].split("##", 1)[0]
    assert "make demo" in setup and "make test" in setup
    assert "pip install" not in setup


def test_every_command_has_help_text() -> None:
    for command in docgen._commands(app, []):
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage:" in result.stdout
        summary = result.stdout.split("\n\n")[1].strip()
        assert len(summary) > 20, f"`{' '.join(command)}` needs a help text"
