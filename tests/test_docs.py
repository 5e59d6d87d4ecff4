"""The README's generated sections match the real CLI, and every command explains itself."""

from __future__ import annotations

import shlex
from pathlib import Path

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


def test_report_pages_are_what_their_commands_make_now(tmp_path: Path) -> None:
    """docs/reports/<name>.html, compared without the chart drawings (matplotlib's SVG differs between
    its releases; the figures the charts show are in the pages' tables)."""
    for name in docgen.REPORTS:
        committed = (docgen.REPORT_DIR / f"{name}.html").read_text(encoding="utf-8")
        fresh = docgen.report_page(name, tmp_path / f"{name}.html")
        assert docgen.chart_free(fresh) == docgen.chart_free(committed), (
            f"docs/reports/{name}.html drifted: run `python -m costaudit.cli.docgen`"
        )
        assert "<svg" in committed and str(docgen.REPO) not in committed


def test_each_screenshot_was_taken_of_its_committed_page() -> None:
    """A screenshot's pixels depend on the machine's fonts, so it is not compared byte for byte: the
    PNG carries the digest of the page it shows, which must be the committed page's."""
    from PIL import Image

    readme = docgen.README.read_text(encoding="utf-8")
    for name in docgen.REPORTS:
        page = (docgen.REPORT_DIR / f"{name}.html").read_text(encoding="utf-8")
        with Image.open(docgen.REPORT_DIR / f"{name}.png") as shot:
            assert shot.format == "PNG"
            assert shot.size == (docgen.SHOT_WIDTH, docgen.SHOT_HEIGHT)
            digest = shot.info.get(docgen.PAGE_DIGEST_KEY)
        assert digest == docgen.page_digest(page), (
            f"docs/reports/{name}.png shows an older page: run `python -m costaudit.cli.docgen`"
        )
        assert f"$ costaudit {shlex.join(docgen.report_command(name))}" in readme
        assert f"](docs/reports/{name}.png)" in readme
