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


def test_the_limits_section_states_the_limits_in_force() -> None:
    """README's Limits section quotes each bound; each quoted bound is the one the code enforces."""
    from costaudit.api.scenarios import MAX_PROMPT_FILE_BYTES, SYSTEM_ROOTS
    from costaudit.config.base import MAX_SEED, MAX_USD
    from costaudit.config.scenario import MAX_REQUESTS_PER_DAY
    from costaudit.configfile import MAX_CONFIG_NUMBER, MAX_YAML_DEPTH, MAX_YAML_VALUES
    from costaudit.decimals import MONEY_PRECISION
    from costaudit.ingest.containers import MAX_RECORD_BYTES
    from costaudit.ingest.validation import MAX_TOKENS

    text = docgen.README.read_text(encoding="utf-8")
    section = text.split("## Limits\n", 1)[1].split("\n## ", 1)[0]
    stated = {
        "between 0 and 10^12 tokens": MAX_TOKENS == 10**12,
        "larger than 64 MiB": MAX_RECORD_BYTES == 64 << 20,
        "at 60 significant digits": MONEY_PRECISION == 60,
        "at most 10^15 in size": MAX_CONFIG_NUMBER == 10**15,
        "at most 10^9 USD": MAX_USD == 10**9,
        "`requests_per_day` at most 10^9": MAX_REQUESTS_PER_DAY == 10**9,
        "from 0 to 2^63-1": MAX_SEED == 2**63 - 1,
        "past 1,000,000 values": MAX_YAML_VALUES == 1_000_000,
        "deeper than 100": MAX_YAML_DEPTH == 100,
        "of at most 8 MiB": MAX_PROMPT_FILE_BYTES == 8 << 20,
        "`/proc`, `/sys` and `/dev`": {str(root) for root in SYSTEM_ROOTS}
        == {"/proc", "/sys", "/dev"},
    }
    for words, holds in stated.items():
        assert words in " ".join(section.split()), words
        assert holds, words
